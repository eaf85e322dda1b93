"""The starter letter check on real drawings nobody trained on, beside the font-only starter.

    .venv/bin/python benchmarks/starter_eval.py --samples ../shared/data [--folds 3] [--seed 0]
        [--alphabet cyrillic] [--font-starter PATH] [--out build/starter-eval.json]

The 2017 drawings of the alphabet are dealt by pseudo-writer into folds
(:func:`comnist.evaluation.split_by_writer`). For each fold a starter is trained as ``make
starter`` trains the shipped one (:func:`sanitizer.starter.train_starter`: the committed font
letters and the drawings), without that fold's writers, and judges the fold. The font-only
starter (the committed font letters alone, or the model file ``--font-starter``) judges every
drawing. Printed per letter, for both:

- the guess as the site makes it (its file: one classifier, int8 weights): top-1 and top-3;
- the share of the genuine drawings that the sanitizer's starter check flags (its false
  positives), at the shipped odds and at others.

Then forms that are not in the sample: every Cyrillic capital's plain and common handwritten
forms (``tests/letterstrokes.py``), each drawn by a wobbling hand 10 times and read through the
site's stroke path (:func:`sanitizer.recognizer.classify_strokes`).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chalicelib.alphabets import alphabets  # noqa: E402
from comnist.evaluation import load_genuine, split_by_writer  # noqa: E402
from sanitizer import ModelSet, score_drawing  # noqa: E402
from sanitizer.augment import views  # noqa: E402
from sanitizer.features import letter_picture, picture_descriptors  # noqa: E402
from sanitizer.image import decode_ink  # noqa: E402
from sanitizer.model import judged_probabilities  # noqa: E402
from sanitizer.recognizer import classify_strokes, export_recognizer, load_recognizer  # noqa: E402
from sanitizer.starter import (  # noqa: E402
    STARTER_ODDS,
    LetterPictures,
    shipped_font_letters,
    train_starter,
)

ODDS = (50.0, STARTER_ODDS, 500.0)
SYNTHETIC_COPIES = 10


def guess_ranks(model: ModelSet, alphabet: str, letters: list[str], rows: list[np.ndarray]):
    """The rank of each drawing's letter in the site's guess (0: named first)."""
    recognizer = load_recognizer(export_recognizer(model, alphabet))
    ranks = []
    for letter, descriptors in zip(letters, rows, strict=True):
        probabilities = judged_probabilities(recognizer.judges, descriptors)
        order = [recognizer.labels[i] for i in np.argsort(-probabilities, kind="stable")]
        ranks.append(order.index(letter))
    return np.array(ranks)


def claimed_odds(model: ModelSet, alphabet: str, ids, letters, rows) -> np.ndarray:
    """``P(claimed letter)`` under the model's full classifiers (the sanitizer's letter check)."""
    out = []
    for drawing, letter, descriptors in zip(ids, letters, rows, strict=True):
        labels, probabilities = model.letter_probabilities(alphabet, drawing, descriptors)
        out.append(float(probabilities[labels.index(letter)]))
    return np.array(out)


def flagged(model: ModelSet, alphabet: str, items) -> np.ndarray:
    return np.array(
        [
            score_drawing(
                item.png, None, model, alphabet=alphabet, letter=item.letter, drawing_id=item.id
            ).status
            in ("suspicious", "invalid")
            for item in items
        ]
    )


def synthetic_forms(models: dict[str, ModelSet], alphabet: str, seed: int) -> dict:
    from letterstrokes import CYRILLIC, template_strokes

    recognizers = {
        name: load_recognizer(export_recognizer(model, alphabet)) for name, model in models.items()
    }
    out = {}
    for (letter, form), template in CYRILLIC.items():
        rng = random.Random(f"{seed}-{letter}-{form}")
        right = {name: 0 for name in models}
        for _ in range(SYNTHETIC_COPIES):
            canvas = rng.choice([300.0, 366.0, 480.0])
            strokes = template_strokes(template, rng, canvas)
            for name, recognizer in recognizers.items():
                guess = classify_strokes(recognizer, strokes, canvas, canvas)
                right[name] += bool(guess) and guess[0][0] == letter
        out[f"{letter} {form}"] = {name: n / SYNTHETIC_COPIES for name, n in right.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=Path("../shared/data"))
    parser.add_argument("--alphabet", default="cyrillic")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--font-starter", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("build/starter-eval.json"))
    args = parser.parse_args(argv)
    alphabet = args.alphabet
    configured = {alphabet: alphabets()[alphabet].letters}
    genuine = load_genuine(args.samples / "comnist-sample" / alphabet)
    folds = split_by_writer(genuine, args.seed, args.folds)
    fonts = shipped_font_letters()
    started = time.process_time()
    pictures = {}
    for fold in folds:
        for item in fold:
            pictures[item.id] = letter_picture(decode_ink(item.png))
    if args.font_starter:
        font_model = ModelSet.from_json(args.font_starter.read_bytes())
    else:
        font_model = train_starter(configured, fonts)
    print(f"font starter ready ({time.process_time() - started:.0f} s CPU)", flush=True)
    names = ("fonts", "hands")
    rank = {name: [] for name in names}
    odds = {name: [] for name in names}
    flags = {name: [] for name in names}
    letters, tested, hand_models = [], [], []
    for k, held_out in enumerate(folds):
        training = [item for j, fold in enumerate(folds) if j != k for item in fold]
        drawn = LetterPictures(
            np.stack([pictures[item.id] for item in training]),
            tuple(alphabet for _ in training),
            tuple(item.letter for item in training),
        )
        hand_model = train_starter(configured, fonts, drawn)
        hand_models.append(hand_model)
        print(
            f"fold {k + 1}/{len(folds)}: starter trained without {len(held_out)} drawings "
            f"({time.process_time() - started:.0f} s CPU)",
            flush=True,
        )
        ids = [item.id for item in held_out]
        fold_letters = [item.letter for item in held_out]
        rows = [picture_descriptors(views(pictures[i])) for i in ids]
        for name, model in (("fonts", font_model), ("hands", hand_model)):
            rank[name].append(guess_ranks(model, alphabet, fold_letters, rows))
            odds[name].append(claimed_odds(model, alphabet, ids, fold_letters, rows))
            flags[name].append(flagged(model, alphabet, held_out))
        letters += fold_letters
        tested += held_out
    letters_a = np.array(letters)
    figures: dict = {
        "alphabet": alphabet,
        "folds": args.folds,
        "seed": args.seed,
        "drawings": len(letters),
    }
    for name in names:
        r = np.concatenate(rank[name])
        p = np.concatenate(odds[name])
        f = np.concatenate(flags[name])
        figures[name] = {
            "top1": float((r == 0).mean()),
            "top3": float((r < 3).mean()),
            "flagged": float(f.mean()),
            "flagged_at_odds": {str(o): float((p < 1 / o).mean()) for o in ODDS},
            "per_letter": {
                letter: {
                    "n": int((letters_a == letter).sum()),
                    "top1": float((r[letters_a == letter] == 0).mean()),
                    "top3": float((r[letters_a == letter] < 3).mean()),
                    "flagged": float(f[letters_a == letter].mean()),
                }
                for letter in sorted(set(letters))
            },
        }
    if alphabet == "cyrillic":
        figures["synthetic"] = synthetic_forms(
            {"fonts": font_model, "hands": hand_models[0]}, alphabet, args.seed
        )
    print_figures(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"{args.out} written ({time.process_time() - started:.0f} s CPU)")
    return 0


def print_figures(figures: dict) -> None:
    fonts, hands = figures["fonts"], figures["hands"]
    print(
        f"\n{figures['alphabet']}: {figures['drawings']} drawings, {figures['folds']} writer folds "
        f"(seed {figures['seed']}); fonts = font-only starter, hands = starter with the other "
        "folds' drawings"
    )
    print(
        f"{'letter':<7}{'n':>5}  {'top-1 fonts/hands':>18}  {'top-3 fonts/hands':>18}  {'flagged fonts/hands':>20}"
    )
    for letter, row in fonts["per_letter"].items():
        other = hands["per_letter"][letter]
        print(
            f"{letter:<7}{row['n']:>5}  {row['top1']:>8.1%} {other['top1']:>8.1%}  "
            f"{row['top3']:>8.1%} {other['top3']:>8.1%}  {row['flagged']:>9.1%} {other['flagged']:>9.1%}"
        )
    print(
        f"{'all':<7}{figures['drawings']:>5}  {fonts['top1']:>8.1%} {hands['top1']:>8.1%}  "
        f"{fonts['top3']:>8.1%} {hands['top3']:>8.1%}  {fonts['flagged']:>9.1%} {hands['flagged']:>9.1%}"
    )
    for odds in fonts["flagged_at_odds"]:
        print(
            f"letter check alone at odds 1 in {float(odds):g}: flags "
            f"{fonts['flagged_at_odds'][odds]:.1%} (fonts) / {hands['flagged_at_odds'][odds]:.1%} (hands)"
        )
    if "synthetic" in figures:
        print(
            f"\nforms not in the sample, {SYNTHETIC_COPIES} hand-drawn copies each: top-1 fonts/hands"
        )
        rows = figures["synthetic"]
        for form, row in rows.items():
            print(f"  {form:<20} {row['fonts']:>6.0%} {row['hands']:>6.0%}")
        for name in ("fonts", "hands"):
            mean = sum(row[name] for row in rows.values()) / len(rows)
            print(f"  all forms, {name}: {mean:.1%}")


if __name__ == "__main__":
    sys.exit(main())
