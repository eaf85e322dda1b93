"""``comnist evaluate``: the sanitizer measured on real CoMNIST drawings with injected junk.

Genuine drawings are the real 2017 images of a sample folder; they are dealt by pseudo-writer
(:mod:`comnist.uniqid`) into ``FOLDS`` folds. Into each fold, junk is injected at 5 % per letter:
Quick, Draw! doodles rendered through the collector's rasterizer, blank/dot/scribble marks, and real
drawings of another letter by the fold's writers. Each fold in turn is the test set: Ng's baseline
(independent Gaussian, epsilon at the same quantile) and the final detector are fitted on the
other folds (contaminated, without labels) and score it. Every drawing is thus scored exactly once,
by models that never saw it nor its writer, and the figures are pooled over all folds.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from chalicelib.raster import render_png

from .uniqid import group_by_time

JUNK_SHARE = 0.05
FOLDS = 5
JUNK_TYPES = ("doodle", "mark", "wrong-letter")


@dataclass
class Item:
    id: str
    letter: str
    png: bytes
    kind: str  # "genuine" or a junk type


def load_genuine(root: Path) -> list[tuple[str, str, bytes]]:
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.png")):
            items.append((path.stem, folder.name.upper(), path.read_bytes()))
    return items


def load_doodles(path: Path) -> list[list]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["strokes"] for line in handle if line.strip()]


def render_doodle(strokes: list) -> bytes:
    xs = [x for s in strokes for x in s[0]]
    ys = [y for s in strokes for y in s[1]]
    x0, y0 = min(xs), min(ys)
    side = max(max(xs) - x0, max(ys) - y0, 1) * 1.2
    shifted = [
        [[x - x0 + side * 0.08 for x in s[0]], [y - y0 + side * 0.08 for y in s[1]], s[2]]
        for s in strokes
    ]
    return render_png(shifted, side, side)


def render_mark(rng: random.Random) -> bytes:
    kind = rng.choice(["blank", "dot", "scribble", "tiny"])
    if kind == "blank":
        buffer = io.BytesIO()
        Image.new("RGBA", (278, 278)).save(buffer, "PNG")
        return buffer.getvalue()
    if kind == "dot":
        return render_png([[[rng.uniform(50, 250)], [rng.uniform(50, 250)], [0]]], 300, 300)
    if kind == "tiny":
        x, y = rng.uniform(50, 250), rng.uniform(50, 250)
        return render_png(
            [[[x, x + rng.uniform(-15, 15)], [y, y + rng.uniform(-15, 15)], [0, 50]]], 300, 300
        )
    points = rng.randint(15, 60)
    xs = [rng.uniform(30, 270) for _ in range(points)]
    ys = [rng.uniform(30, 270) for _ in range(points)]
    return render_png([[xs, ys, list(range(points))]], 300, 300)


def inject_junk(genuine: list[Item], doodles: list[list], rng: random.Random) -> list[Item]:
    by_letter: dict[str, list[Item]] = {}
    for item in genuine:
        by_letter.setdefault(item.letter, []).append(item)
    junk = []
    for letter, items in sorted(by_letter.items()):
        count = max(1, round(JUNK_SHARE / (1 - JUNK_SHARE) * len(items)))
        others = [g for g in genuine if g.letter != letter]
        for i in range(count):
            kind = JUNK_TYPES[(i + len(junk)) % len(JUNK_TYPES)]
            if kind == "doodle":
                png = render_doodle(rng.choice(doodles))
            elif kind == "mark":
                png = render_mark(rng)
            else:
                png = rng.choice(others).png
            junk.append(Item(f"junk-{letter}-{i}-{rng.getrandbits(32):08x}", letter, png, kind))
    return junk


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with ties shared)."""
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    values = np.concatenate([pos, neg])
    for value in np.unique(values):
        tie = values == value
        ranks[tie] = ranks[tie].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def metrics(flagged: np.ndarray, scores: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    tp = float((flagged & positive).sum())
    precision = tp / max(flagged.sum(), 1)
    recall = tp / max(positive.sum(), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "auc": roc_auc(scores, positive)}


def split_by_writer(
    genuine: list[tuple[str, str, bytes]], seed: int, folds: int = FOLDS
) -> list[list[Item]]:
    """Deal the pseudo-writers, shuffled by ``seed``, into ``folds`` lists of their drawings."""
    groups = group_by_time([name + ".png" for name, _, _ in genuine])
    writers = sorted(set(groups.values()))
    random.Random(seed).shuffle(writers)
    fold_of_writer = {writer: i % folds for i, writer in enumerate(writers)}
    dealt: list[list[Item]] = [[] for _ in range(folds)]
    for name, letter, png in genuine:
        dealt[fold_of_writer[groups[name + ".png"]]].append(Item(name, letter, png, "genuine"))
    return dealt


def contact_sheet(items: list[Item], path: Path, columns: int = 12) -> None:
    if not items:
        return
    cell = 96
    rows = (len(items) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell, rows * cell), "white")
    for i, item in enumerate(items):
        image = Image.open(io.BytesIO(item.png)).convert("RGBA").resize((cell - 4, cell - 4))
        tile = Image.new("RGB", image.size, "white")
        tile.paste(image, mask=image.getchannel("A"))
        sheet.paste(tile, ((i % columns) * cell + 2, (i // columns) * cell + 2))
    sheet.save(path)


def evaluate(
    samples: Path, out_dir: Path | None = None, seed: int = 0, contamination: float | None = None
) -> dict:
    """Run the evaluation, print the side-by-side table and return the figures.

    ``contamination`` is the junk share both detectors assume (default: the sanitizer's own
    default, which knows nothing of the 5 % injected here).
    """
    from sanitizer import extract, fit_models, score_drawing

    rng = random.Random(seed)
    genuine = load_genuine(samples / "comnist-sample" / "cyrillic")
    doodles = load_doodles(samples / "quickdraw-sample" / "doodles.ndjson")
    folds = [fold + inject_junk(fold, doodles, rng) for fold in split_by_writer(genuine, seed)]
    extracted = {
        item.id: extract(item.png, item.id, "cyrillic", item.letter)
        for fold in folds
        for item in fold
    }
    options = {"contamination": contamination} if contamination else {}

    test: list[Item] = []
    base_flag, base_score, final_flag, final_score, letter_flag = [], [], [], [], []
    reasons: list[list[str]] = []
    # The two pieces of evidence behind each final verdict, for the per-drawing table.
    shape_margins: list[float] = []
    letter_probabilities: list[float] = []
    for k, held_out in enumerate(folds):
        training = [
            s
            for j, fold in enumerate(folds)
            if j != k
            for item in fold
            if (s := extracted[item.id]) is not None
        ]
        model = fit_models(training, **options)
        print(f"fold {k + 1}/{len(folds)}: fitted on {len(training)}, scoring {len(held_out)}")
        for item in held_out:
            test.append(item)
            verdict = score_drawing(
                item.png, None, model, alphabet="cyrillic", letter=item.letter, drawing_id=item.id
            )
            reasons.append(verdict.reasons)
            letter_probabilities.append(
                np.nan if verdict.letter_probability is None else verdict.letter_probability
            )
            final_flag.append(verdict.status in ("suspicious", "invalid"))
            letter_flag.append(any(r.startswith("wrong-letter") for r in verdict.reasons))
            final_score.append(np.inf if verdict.score is None else verdict.score)
            letter_model = model.letters.get(("cyrillic", item.letter))
            sample = extracted[item.id]
            if sample is None or letter_model is None:
                base_flag.append(True)
                base_score.append(np.inf)
                shape_margins.append(np.nan)
                continue
            shape_margins.append(float(letter_model.shape_margin(sample.features)))
            logp = float(letter_model.baseline.log_density(sample.features))
            base_flag.append(logp < letter_model.baseline_epsilon)
            base_score.append(-logp)

    kinds = np.array([item.kind for item in test])
    positive = kinds != "genuine"
    results: dict = {"folds": len(folds), "test": len(test), "junk_in_test": int(positive.sum())}
    for name, flags, scores in (
        ("ng_baseline", base_flag, base_score),
        ("final", final_flag, final_score),
    ):
        flags_a, scores_a = (
            np.array(flags),
            np.nan_to_num(np.array(scores, dtype=float), posinf=1e9),
        )
        table = {"overall": metrics(flags_a, scores_a, positive)}
        for kind in JUNK_TYPES:
            keep = (kinds == kind) | ~positive
            table[kind] = metrics(flags_a[keep], scores_a[keep], positive[keep])
        genuine_mask = ~positive
        letters = np.array([item.letter for item in test])
        table["fpr_per_letter"] = {
            letter: float(flags_a[genuine_mask & (letters == letter)].mean())
            for letter in sorted(set(letters[genuine_mask]))
        }
        results[name] = table
        if name == "final":
            # The wrong-letter reason alone, as a maintainer reads it: how many drawings it names
            # are of another letter, and how many of those it names.
            keep = (kinds == "wrong-letter") | ~positive
            check = np.array(letter_flag)
            table["letter_check"] = metrics(check[keep], scores_a[keep], positive[keep])
        if out_dir is not None and name == "final":
            out_dir.mkdir(parents=True, exist_ok=True)
            contact_sheet(
                [t for t, f in zip(test, flags_a, strict=True) if f and t.kind == "genuine"],
                out_dir / "false_positives.png",
            )
            contact_sheet(
                [t for t, f in zip(test, flags_a, strict=True) if not f and t.kind != "genuine"],
                out_dir / "missed_junk.png",
            )
    false_reasons: dict[str, int] = {}
    for item, why, flagged in zip(test, reasons, final_flag, strict=True):
        if flagged and item.kind == "genuine":
            for reason in why:
                short = reason.split(":")[0]
                false_reasons[short] = false_reasons.get(short, 0) + 1
    results["final"]["false_positive_reasons"] = dict(sorted(false_reasons.items()))
    print_table(results)
    if out_dir is not None:
        (out_dir / "evaluation.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        with open(out_dir / "verdicts.csv", "w", encoding="utf-8") as handle:
            handle.write("id,letter,kind,flagged,score,shape_margin,letter_p,reasons\n")
            for row in zip(
                test,
                final_flag,
                final_score,
                shape_margins,
                letter_probabilities,
                reasons,
                strict=True,
            ):
                item, flagged, value, shape, letter_p, why = row
                handle.write(
                    f"{item.id},{item.letter},{item.kind},{int(flagged)},{value:.3f},"
                    f"{shape:.3f},{letter_p:.3g},{' '.join(why)}\n"
                )
    return results


def print_table(results: dict) -> None:
    print(
        f"{results['folds']} writer folds, {results['test']} drawings scored once each"
        f" ({results['junk_in_test']} junk)"
    )
    print(f"{'':16}{'Ng baseline':>36}   {'final detector':>36}")
    print(f"{'':16}" + ("  prec  recall     F1    AUC" + " " * 9) * 2)
    for row in ("overall", *JUNK_TYPES):
        cells = []
        for name in ("ng_baseline", "final"):
            m = results[name][row]
            cells.append(
                f"{m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['auc']:6.3f}" + " " * 9
            )
        print(f"{row:16}" + "".join(cells))
    check = results["final"]["letter_check"]
    print(
        f"{'letter check':16}{'':36}   {check['precision']:6.3f} {check['recall']:6.3f} "
        f"{check['f1']:6.3f}   (drawings tagged wrong-letter, against wrong-letter junk)"
    )
    print(
        "false positives by reason (final):",
        " ".join(f"{k}:{v}" for k, v in results["final"]["false_positive_reasons"].items()),
    )
    for name in ("ng_baseline", "final"):
        fpr = results[name]["fpr_per_letter"]
        print(
            f"false-positive rate per letter ({name}):",
            " ".join(f"{k}:{v:.2f}" for k, v in fpr.items()),
        )
