"""``comnist evaluate``: the sanitizer measured on real CoMNIST drawings with injected junk.

Genuine drawings are the real 2017 images of a sample folder; they are dealt by pseudo-writer
(:mod:`comnist.uniqid`) into ``FOLDS`` folds. Into each fold, junk is injected at 5 % per letter:
Quick, Draw! doodles rendered through the collector's rasterizer, blank/dot/scribble marks, and real
drawings of another letter by the fold's writers. Each fold in turn is the test set: Ng's baseline
(independent Gaussian, epsilon at the same quantile) and the final detector are fitted on the
other folds (contaminated, without labels) and score it. Every drawing is thus scored exactly once,
by models that never saw it nor its writer, and the figures are pooled over all folds.

The mix holds about 80 junk drawings of each kind, too few to measure a recall within a few
points; the final detector also scores pools (:func:`pool_trials`) of every judged doodle and of
every genuine drawing claimed as another letter, reported with 95 % intervals.
"""

from __future__ import annotations

import importlib.util
import io
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from chalicelib.raster import render_png
from sanitizer.features import letter_picture
from sanitizer.image import decode_ink
from sanitizer.model import Starter, id_hash
from sanitizer.nonletters import framed_doodle, tuning_category
from sanitizer.starter import starter_alphabets, starter_fill

from .uniqid import group_by_time

JUNK_SHARE = 0.05
FOLDS = 5
JUNK_TYPES = ("doodle", "mark", "wrong-letter")
# The junk kinds :func:`pool_trials` draws by the thousand.
POOL_KINDS = ("doodle", "wrong-letter")


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
    """The strokes of the doodles of :func:`judged_category` categories only."""
    with open(path, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [row["strokes"] for row in rows if judged_category(row.get("label", ""))]


def judged_category(label: str) -> bool:
    """Whether doodles of this Quick, Draw! category may judge the detector.

    The categories are split once, by a hash of their names, into two halves: the detector's
    choices (thresholds, limits, the not-a-letter pictures) may learn from or be tried on the
    other half (:func:`sanitizer.nonletters.tuning_category`), and only this half is ever
    reported, so the doodles it is judged on come from categories it was never taught or tuned
    on.
    """
    return not tuning_category(label)


def render_doodle(strokes: list) -> bytes:
    framed, side = framed_doodle(strokes)
    return render_png(framed, side, side)


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


def pool_trials(folds: list[list[Item]], doodles: list[list], seed: int) -> list[list[Item]]:
    """Per writer fold, junk trials beyond the 5 % mix: recall measured on thousands, not 80.

    Every judged doodle once (doodle ``i`` in fold ``i mod len(folds)``), claimed as a random
    letter, and every genuine drawing of a fold claimed as a random other letter. Each fold's
    trials are scored by the models that never saw that fold's writers, like the mix.
    """
    rng = random.Random(f"pool-{seed}")
    letters = sorted({item.letter for fold in folds for item in fold if item.kind == "genuine"})
    trials: list[list[Item]] = [[] for _ in folds]
    for i, strokes in enumerate(doodles):
        claimed = rng.choice(letters)
        trials[i % len(folds)].append(
            Item(f"pool-doodle-{i}", claimed, render_doodle(strokes), "doodle")
        )
    for k, fold in enumerate(folds):
        for item in fold:
            others = [letter for letter in letters if letter != item.letter]
            if item.kind == "genuine" and others:
                claimed = rng.choice(others)
                trials[k].append(Item(f"pool-wrong-{item.id}", claimed, item.png, "wrong-letter"))
    return trials


def wilson_interval(caught: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion ``caught / trials`` ((0, 1) if no trials)."""
    if trials == 0:
        return 0.0, 1.0
    share = caught / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z / (1 + z * z / trials) * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials**2))
    )
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def pool_figures(
    kinds: list[str],
    flagged: list[bool],
    mix_junk: dict[str, int],
    mix_caught: dict[str, int],
    mix_false_positives: int,
) -> dict:
    """Recall and its interval per pool kind, and the mix's figures with the pools' recalls.

    The mix holds ``mix_junk[kind]`` junk drawings of each kind, of which it caught
    ``mix_caught[kind]``, and flagged ``mix_false_positives`` genuine drawings. Replacing the
    caught doodles and wrong letters by the pools' recall times the mix's count keeps the
    mix's share and its genuine drawings but draws the junk by the thousand: the wrong-letter
    row precision ``r W / (r W + FP)`` and the overall precision, recall and F1.
    """
    kinds_a, flagged_a = np.array(kinds), np.array(flagged, dtype=bool)
    figures: dict = {}
    expected = dict(mix_caught)
    for kind in POOL_KINDS:
        trials = int((kinds_a == kind).sum())
        caught = int((flagged_a & (kinds_a == kind)).sum())
        low, high = wilson_interval(caught, trials)
        recall = caught / trials if trials else float("nan")
        figures[kind] = {
            "trials": trials,
            "caught": caught,
            "recall": recall,
            "interval": [low, high],
        }
        if trials:
            expected[kind] = recall * mix_junk.get(kind, 0)
    wrong = expected.get("wrong-letter", 0.0)
    figures["wrong_letter_row_precision"] = precision_recall_f1(
        wrong, wrong + mix_false_positives, mix_junk.get("wrong-letter", 0)
    )["precision"]
    caught_all = sum(expected.values())
    figures["overall"] = precision_recall_f1(
        caught_all, caught_all + mix_false_positives, sum(mix_junk.values())
    )
    return figures


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


def precision_recall_f1(caught: float, flagged: float, positives: float) -> dict[str, float]:
    """Precision, recall and F1 from counts (which may be expected, fractional counts)."""
    precision = caught / flagged if flagged else 0.0
    recall = caught / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def metrics(flagged: np.ndarray, scores: np.ndarray, positive: np.ndarray) -> dict[str, float]:
    tp = float((flagged & positive).sum())
    counts = precision_recall_f1(tp, flagged.sum(), positive.sum())
    return counts | {"auc": roc_auc(scores, positive)}


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


def load_package(path: Path, name: str):
    """Import the sanitizer package at ``path`` under another ``name`` (the detector compared)."""
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a sanitizer package")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _class_probabilities(package, models, alphabet: str, item: Item, sample) -> dict[str, float]:
    """``P(label | drawing)`` of every label, as the letter check saw them ({} for a blank)."""
    if sample is None:
        return {}
    descriptors = package.features.picture_descriptors(package.augment.views(sample.picture))
    judged = models.letter_probabilities(alphabet, item.id, descriptors)
    if judged is None:
        return {}
    labels, probs = judged
    return dict(zip(labels, probs.tolist(), strict=True))


def training_share(samples: list, fraction: float) -> list:
    """The samples whose id hashes fall in the first ``fraction`` of the hash range.

    Reproducible and nested: a smaller share is part of every larger one, and junk is kept in
    the same proportion as the genuine drawings.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"a training share must be in (0, 1], not {fraction}")
    if fraction == 1.0:
        return samples
    return [s for s in samples if id_hash(s.id) < fraction * 2**32]


def fold_starters(starter, folds: list[list[Item]], alphabet: str) -> list:
    """The starter each fold is judged by: one that never saw the fold's writers.

    The shipped starter learned from the 2017 drawings (its ``members``); if it saw any drawing
    of these folds, each fold gets one trained from the other folds (:func:`starter_from`, a
    few minutes each). Otherwise the shipped one judges every fold.
    """
    if starter is None or not any(
        starter.was_trained_on(item.id) for fold in folds for item in fold
    ):
        return [starter for _ in folds]
    out = []
    for k in range(len(folds)):
        others = [item for j, fold in enumerate(folds) if j != k for item in fold]
        out.append(starter_from(starter, others, alphabet))
        print(f"fold {k + 1}/{len(folds)}: a starter trained without its writers")
    return out


def starter_from(starter, drawings: list[Item], alphabet: str):
    """A starter trained as ``make starter`` trains it, from the committed font letters and the
    genuine ``drawings`` only, so it never saw any other writer; ``starter``'s other alphabets
    are kept."""
    from sanitizer.starter import LetterPictures, shipped_font_letters, train_starter

    letters = {alphabet: starter.classifiers[alphabet][0].labels[:-1]}
    pictures = [
        (item, picture)
        for item in drawings
        if item.kind == "genuine" and (picture := letter_picture(decode_ink(item.png))) is not None
    ]
    drawn = LetterPictures(
        np.stack([picture for _, picture in pictures]),
        tuple(alphabet for _ in pictures),
        tuple(item.letter for item, _ in pictures),
        tuple(item.id for item, _ in pictures),
    )
    trained = train_starter(letters, shipped_font_letters(), drawn)
    for other, classifiers in starter.classifiers.items():
        if other != alphabet:
            trained.classifiers[other] = classifiers
            trained.letter_thresholds[other] = starter.letter_thresholds[other]
    return trained


def _score(package, models, alphabet: str, item: Item):
    """``package``'s verdict on ``item`` as a new drawing of its claimed letter."""
    return package.score_drawing(
        item.png, None, models, alphabet=alphabet, letter=item.letter, drawing_id=item.id
    )


def _flagged(verdict) -> bool:
    return verdict.status in ("suspicious", "invalid")


def evaluate(
    samples: Path,
    out_dir: Path | None = None,
    seed: int = 0,
    contamination: float | None = None,
    *,
    alphabet: str = "cyrillic",
    current: Path | None = None,
    starter_only: bool = False,
    pooled: bool = True,
    train_fraction: float = 1.0,
) -> dict:
    """Run the evaluation, print the side-by-side table and return the figures.

    Detectors, each scoring every drawing once: Ng's baseline (fitted with the new models),
    ``current`` (the sanitizer package at that path, e.g. a checkout of the last release,
    fitted and scoring the same way, when given), ``starter`` (the shipped starter letter check
    alone, fitted on nothing: an alphabet's first day) and ``new`` (this package, fitted on the
    other folds). ``contamination`` is the junk share the detectors assume (default: the
    sanitizer's own default, which knows nothing of the 5 % injected here). ``starter_only``
    measures the starter alone, which needs no fitting (minutes instead of an hour).
    ``pooled`` also scores :func:`pool_trials` with the final detector (:func:`pool_figures`).
    ``train_fraction`` fits every detector on that share of each fold's training drawings
    (:func:`training_share`), to see how the figures move with the collection's size.
    """
    import sanitizer

    packages = {} if starter_only else {"new": sanitizer}
    if current is not None and not starter_only:
        packages["current"] = load_package(current, "sanitizer_current")
    rng = random.Random(seed)
    genuine = load_genuine(samples / "comnist-sample" / alphabet)
    doodles = load_doodles(samples / "quickdraw-sample" / "doodles.ndjson")
    folds = [fold + inject_junk(fold, doodles, rng) for fold in split_by_writer(genuine, seed)]
    pools = pool_trials(folds, doodles, seed) if pooled else [[] for _ in folds]
    pool_kinds: list[str] = []
    pool_flags: list[bool] = []
    options = {"contamination": contamination} if contamination else {}
    names = (
        ["starter"]
        if starter_only
        else ["ng_baseline", *packages.keys() - {"new"}, "starter", "new"]
    )
    flags: dict[str, list[bool]] = {name: [] for name in names}
    scores: dict[str, list[float]] = {name: [] for name in names}
    letter_flag: dict[str, list[bool]] = {name: [] for name in names}
    reasons: dict[str, list[list[str]]] = {name: [] for name in names}
    shape_margins: list[float] = []
    letter_probabilities: list[float] = []
    class_probabilities: list[dict[str, float]] = []
    test: list[Item] = []

    def record(name: str, verdict) -> None:
        flags[name].append(_flagged(verdict))
        scores[name].append(np.inf if verdict.score is None else verdict.score)
        reasons[name].append(verdict.reasons)
        letter_flag[name].append(any(r.startswith("wrong-letter") for r in verdict.reasons))

    extracted = {
        name: {
            item.id: package.extract(item.png, item.id, alphabet, item.letter)
            for fold in folds
            for item in fold
        }
        for name, package in packages.items()
    }

    def training_of(name: str, k: int) -> list:
        return [
            s
            for j, fold in enumerate(folds)
            if j != k
            for item in fold
            if (s := extracted[name][item.id]) is not None
        ]

    # A starter that learned from these drawings would judge its own writers: each fold is
    # judged, and the new detector fitted, with a starter trained without the fold.
    starters = fold_starters(sanitizer.starter_model(), folds, alphabet)
    for k, held_out in enumerate(folds):
        starter = starters[k]
        models = {}
        for name, package in packages.items():
            if name == "new":
                kit = Starter(starter, starter_fill, starter_alphabets())
                models[name] = package.fit_models(
                    training_share(training_of(name, k), train_fraction), starter=kit, **options
                )
                continue
            models[name] = package.fit_models(
                training_share(training_of(name, k), train_fraction), **options
            )
        print(f"fold {k + 1}/{len(folds)}: scoring {len(held_out)}")
        for item in held_out:
            test.append(item)
            for name, package in packages.items():
                verdict = _score(package, models[name], alphabet, item)
                record(name, verdict)
                if name == "new":
                    letter_probabilities.append(
                        np.nan if verdict.letter_probability is None else verdict.letter_probability
                    )
                    class_probabilities.append(
                        _class_probabilities(
                            package, models[name], alphabet, item, extracted[name][item.id]
                        )
                    )
            record("starter", _score(sanitizer, starter, alphabet, item))
            if starter_only:
                continue
            letter_model = models["new"].letters.get((alphabet, item.letter))
            sample = extracted["new"][item.id]
            if sample is None or letter_model is None:
                # No baseline for this letter (too few drawings) or a blank: it flags only blanks.
                record(
                    "ng_baseline", sanitizer.Verdict("suspicious" if sample is None else "unscored")
                )
                shape_margins.append(np.nan)
                continue
            shape_margins.append(float(letter_model.shape_margin(sample.features)))
            logp = float(letter_model.baseline.log_density(sample.features))
            flagged = logp < letter_model.baseline_epsilon
            record(
                "ng_baseline",
                sanitizer.Verdict("suspicious" if flagged else "ok", -logp, ["baseline"] * flagged),
            )

        final_model = starter if starter_only else models["new"]
        for item in pools[k]:
            pool_kinds.append(item.kind)
            pool_flags.append(_flagged(_score(sanitizer, final_model, alphabet, item)))

    kinds = np.array([item.kind for item in test])
    positive = kinds != "genuine"
    letters = np.array([item.letter for item in test])
    results: dict = {
        "alphabet": alphabet,
        "seed": seed,
        "train_fraction": train_fraction,
        "folds": len(folds),
        "test": len(test),
        "junk_in_test": int(positive.sum()),
        "junk_by_kind": {kind: int((kinds == kind).sum()) for kind in JUNK_TYPES},
        "detectors": names,
    }
    for name in names:
        flags_a = np.array(flags[name], dtype=bool)
        scores_a = np.nan_to_num(np.array(scores[name], dtype=float), posinf=1e9)
        table = {"overall": metrics(flags_a, scores_a, positive)}
        for kind in JUNK_TYPES:
            keep = (kinds == kind) | ~positive
            table[kind] = metrics(flags_a[keep], scores_a[keep], positive[keep])
        table["fpr_per_letter"] = {
            letter: float(flags_a[~positive & (letters == letter)].mean())
            for letter in sorted(set(letters[~positive]))
        }
        # The wrong-letter reason alone, as a maintainer reads it: how many drawings it names
        # are of another letter, and how many of those it names.
        keep = (kinds == "wrong-letter") | ~positive
        check = np.array(letter_flag[name], dtype=bool)
        table["letter_check"] = metrics(check[keep], scores_a[keep], positive[keep])
        false_reasons: dict[str, int] = {}
        for item, why, flagged in zip(test, reasons[name], flags_a, strict=True):
            if flagged and item.kind == "genuine":
                for reason in why:
                    short = reason.split(":")[0]
                    false_reasons[short] = false_reasons.get(short, 0) + 1
        table["false_positive_reasons"] = dict(sorted(false_reasons.items()))
        results[name] = table
    final = "starter" if starter_only else "new"
    results["final"] = results[final]
    final_flag = flags[final]
    if pooled:
        final_flags = np.array(final_flag, dtype=bool)
        results["pool"] = pool_figures(
            pool_kinds,
            pool_flags,
            {kind: int((kinds == kind).sum()) for kind in JUNK_TYPES},
            {kind: int((final_flags & (kinds == kind)).sum()) for kind in JUNK_TYPES},
            int(final_flags[~positive].sum()),
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        contact_sheet(
            [t for t, f in zip(test, final_flag, strict=True) if f and t.kind == "genuine"],
            out_dir / "false_positives.png",
        )
        contact_sheet(
            [t for t, f in zip(test, final_flag, strict=True) if not f and t.kind != "genuine"],
            out_dir / "missed_junk.png",
        )
    print_table(results)
    if out_dir is not None:
        (out_dir / "evaluation.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
        with open(out_dir / "verdicts.csv", "w", encoding="utf-8") as handle:
            handle.write("id,letter,kind,flagged,score,shape_margin,letter_p,reasons\n")
            for row in zip(
                test,
                final_flag,
                scores[final],
                shape_margins if shape_margins else [np.nan] * len(test),
                letter_probabilities if letter_probabilities else [np.nan] * len(test),
                reasons[final],
                strict=True,
            ):
                item, flagged, value, shape, letter_p, why = row
                handle.write(
                    f"{item.id},{item.letter},{item.kind},{int(flagged)},{value:.3f},"
                    f"{shape:.3f},{letter_p:.3g},{' '.join(why)}\n"
                )
        if class_probabilities:
            write_probabilities(out_dir / "probabilities.npz", test, class_probabilities)
    return results


def write_probabilities(
    path: Path, test: list[Item], probabilities: list[dict[str, float]]
) -> None:
    """Every scored drawing's class probabilities, to study the letter check's decision rules.

    Arrays ``id``, ``letter``, ``kind``, ``labels`` and ``probabilities`` (one row per drawing,
    one column per label; NaN where the letter check had no opinion).
    """
    labels = sorted({label for row in probabilities for label in row})
    table = np.full((len(test), len(labels)), np.nan)
    for i, row in enumerate(probabilities):
        for label, p in row.items():
            table[i, labels.index(label)] = p
    np.savez_compressed(
        path,
        id=np.array([item.id for item in test]),
        letter=np.array([item.letter for item in test]),
        kind=np.array([item.kind for item in test]),
        labels=np.array(labels),
        probabilities=table,
    )


def print_table(results: dict) -> None:
    """The detectors side by side: precision, recall, F1 overall and per junk type, and the
    worst false-positive rate of any letter."""
    names = results["detectors"]
    print(
        f"{results['alphabet']}, seed {results['seed']}: {results['folds']} writer folds,"
        f" {results['test']} drawings scored once each ({results['junk_in_test']} junk:"
        + ", ".join(f" {n} {kind}" for kind, n in results["junk_by_kind"].items())
        + "; doodles only from categories never tuned on)"
        + (
            f"; fitted on {results['train_fraction'] * 100:g} % of each fold's training drawings"
            if results["train_fraction"] < 1.0
            else ""
        )
    )
    print(f"{'':14}" + "".join(f"{name:>22}" for name in names))
    print(f"{'':14}" + "   prec recall     F1" * len(names))
    for row in ("overall", *JUNK_TYPES, "letter_check"):
        cells = "".join(
            f"{results[n][row]['precision']:7.3f}{results[n][row]['recall']:7.3f}"
            f"{results[n][row]['f1']:7.3f}"
            for n in names
        )
        print(f"{row:14}{cells}")
    worst = "".join(
        f"{max(results[n]['fpr_per_letter'].values()):>15.3f} ({max(results[n]['fpr_per_letter'], key=results[n]['fpr_per_letter'].get)})"
        for n in names
    )
    print(f"{'worst FP rate':14}{worst}")
    for name in names:
        print(
            f"{name}: false positives by reason",
            " ".join(f"{k}:{v}" for k, v in results[name]["false_positive_reasons"].items()),
        )
        print(
            f"{name}: false-positive rate per letter",
            " ".join(f"{k}:{v:.2f}" for k, v in results[name]["fpr_per_letter"].items()),
        )
    pool = results.get("pool")
    if pool:
        final = results["detectors"][-1]
        for kind, what in (
            ("doodle", "every judged doodle, claimed as a random letter"),
            ("wrong-letter", "every genuine drawing, claimed as another letter"),
        ):
            figures = pool[kind]
            low, high = figures["interval"]
            print(
                f"{final}, pool of {what}: {figures['caught']} of {figures['trials']}"
                f" caught, recall {figures['recall']:.3f} (95 % interval {low:.3f}-{high:.3f})"
            )
        overall = pool["overall"]
        print(
            f"{final}, this mix with the pools' recalls: F1 {overall['f1']:.3f}"
            f" (P {overall['precision']:.3f} / R {overall['recall']:.3f}),"
            f" wrong-letter row precision {pool['wrong_letter_row_precision']:.3f}"
        )
