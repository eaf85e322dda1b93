"""``comnist evaluate``: the sanitizer measured on real CoMNIST drawings with injected junk.

Genuine drawings are the real 2017 images of a sample folder; they are split by pseudo-writer
(:mod:`comnist.uniqid`) into a training half and a test half, so no figure is measured on drawings
the models were fitted on, nor on their writers. Into each half, junk is injected at 5 % per letter:
Quick, Draw! doodles rendered through the collector's rasterizer, blank/dot/scribble marks, and real
drawings of another letter. Ng's baseline (independent Gaussian, epsilon at the same quantile) and
the final detector are then fitted on the (contaminated) training half, without labels, and
scored on the test half.
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
    genuine: list[tuple[str, str, bytes]], seed: int
) -> tuple[list[Item], list[Item]]:
    groups = group_by_time([name + ".png" for name, _, _ in genuine])
    writers = sorted(set(groups.values()))
    random.Random(seed).shuffle(writers)
    test_writers = set(writers[: len(writers) // 2])
    train, test = [], []
    for name, letter, png in genuine:
        (test if groups[name + ".png"] in test_writers else train).append(
            Item(name, letter, png, "genuine")
        )
    return train, test


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
    from sanitizer.features import feature_vector, image_features
    from sanitizer.image import InvalidDrawing, decode_ink

    rng = random.Random(seed)
    genuine = load_genuine(samples / "comnist-sample" / "cyrillic")
    doodles = load_doodles(samples / "quickdraw-sample" / "doodles.ndjson")
    train, test = split_by_writer(genuine, seed)
    train += inject_junk(train, doodles, rng)
    test += inject_junk(test, doodles, rng)

    training = [
        s
        for item in train
        if (s := extract(item.png, item.id, "cyrillic", item.letter)) is not None
    ]
    model = fit_models(training, **({"contamination": contamination} if contamination else {}))

    kinds = np.array([item.kind for item in test])
    positive = kinds != "genuine"
    base_flag, base_score, final_flag, final_score, letter_flag = [], [], [], [], []
    for item in test:
        verdict = score_drawing(
            item.png, None, model, alphabet="cyrillic", letter=item.letter, drawing_id=item.id
        )
        final_flag.append(verdict.status in ("suspicious", "invalid"))
        letter_flag.append(any(r.startswith("wrong-letter") for r in verdict.reasons))
        final_score.append(np.inf if verdict.score is None else verdict.score)
        letter_model = model.letters.get(("cyrillic", item.letter))
        try:
            features = image_features(decode_ink(item.png))
        except InvalidDrawing:
            features = None
        if features is None or letter_model is None:
            base_flag.append(True)
            base_score.append(np.inf)
            continue
        logp = float(letter_model.baseline.log_density(feature_vector(features)))
        base_flag.append(logp < letter_model.baseline_epsilon)
        base_score.append(-logp)
    results: dict = {"train": len(train), "test": len(test), "junk_in_test": int(positive.sum())}
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
            # The letter check alone: its flags (wrong-letter reasons) against wrong-letter junk.
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
    print_table(results)
    if out_dir is not None:
        (out_dir / "evaluation.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return results


def print_table(results: dict) -> None:
    print(
        f"train {results['train']} drawings, test {results['test']} ({results['junk_in_test']} junk)"
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
        f"{check['f1']:6.3f}   (drawings flagged wrong-letter, against wrong-letter junk)"
    )
    for name in ("ng_baseline", "final"):
        fpr = results[name]["fpr_per_letter"]
        print(
            f"false-positive rate per letter ({name}):",
            " ".join(f"{k}:{v:.2f}" for k, v in fpr.items()),
        )
