"""``comnist baseline RELEASE [--cnn]``: measure a release's reference figures on its own files.

Without ``--cnn``, the numpy baselines the export prints (logistic regression, k-NN). With
``--cnn``, the reference CNN (:mod:`comnist.release.cnn`, PyTorch) once per seed; ``--out``
writes the figures file that ``comnist export --reference`` renders into the datasheet.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib.alphabets import alphabets

from . import baselines, cnn
from .idxfiles import idx_names
from .reference import mean_and_range, release_version, split_fingerprint
from .split import TEST, TRAIN

METADATA = "metadata.csv"


def measured_alphabets(release: Path, wanted: list[str] | None) -> list[str]:
    """The alphabets whose MNIST-style files the release holds (of ``wanted``, if given)."""
    present = [a for a in sorted(alphabets()) if (release / idx_names(a, TRAIN)[0]).is_file()]
    return [a for a in present if wanted is None or a in wanted]


def cnn_figures(
    release: Path,
    alphabet_ids: list[str],
    seeds: list[int],
    epochs: int,
    threads: int,
    note: str = "",
) -> dict[str, Any]:
    """The figures file of the reference CNN on ``release``."""
    measured: dict[str, Any] = {}
    for alphabet_id in alphabet_ids:
        letters = alphabets()[alphabet_id].letters
        figures = cnn.evaluate_alphabet(release, alphabet_id, letters, seeds, epochs, threads)
        if figures is not None:
            measured[alphabet_id] = figures.to_json()
    return {
        "measured": cnn.measured_on(),
        "release": release_version(release),
        **({"note": note} if note else {}),
        "split_fingerprint": split_fingerprint(release / METADATA),
        "torch": cnn.torch_version(),
        "model": cnn.DESCRIPTION
        if epochs == cnn.EPOCHS
        else f"{cnn.DESCRIPTION} ({epochs} epochs here)",
        "epochs": epochs,
        "alphabets": measured,
    }


def run_baseline(args: argparse.Namespace) -> int:
    release: Path = args.release
    if not (release / METADATA).is_file():
        sys.stderr.write(f"baseline: {release} holds no release (no {METADATA})\n")
        return 2
    wanted = [a.strip() for a in args.alphabets.split(",")] if args.alphabets else None
    alphabet_ids = measured_alphabets(release, wanted)
    if not alphabet_ids:
        sys.stderr.write(f"baseline: {release} has no MNIST-style files (export --formats mnist)\n")
        return 2
    if not args.cnn:
        for alphabet_id in alphabet_ids:
            files = [release / n for split in (TRAIN, TEST) for n in idx_names(alphabet_id, split)]
            classes = len(alphabets()[alphabet_id].letters)
            result = baselines.evaluate(*files, classes=classes, seed=args.seeds[0])
            if result is None:
                sys.stdout.write(f"{alphabet_id}: a split is empty\n")
                continue
            sys.stdout.write(
                f"{alphabet_id}: logistic regression {100 * result.logistic_regression:.1f} %, "
                f"k-NN {100 * result.knn:.1f} % on {result.test_images} test images\n"
            )
        return 0
    try:
        figures = cnn_figures(
            release, alphabet_ids, args.seeds, args.epochs, args.threads, args.note or ""
        )
    except cnn.TorchMissing as error:
        sys.stderr.write(f"baseline: {error}\n")
        return 2
    for alphabet_id, measured in sorted(figures["alphabets"].items()):
        mean, low, high = mean_and_range(measured["test_accuracy"])
        sys.stdout.write(
            f"{alphabet_id}: CNN test accuracy {100 * mean:.1f} % ({100 * low:.1f}-{100 * high:.1f}) "
            f"over seeds {measured['seeds']}, {sum(measured['cpu_seconds']):.0f} CPU s\n"
        )
    if args.out:
        args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return 0


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("seeds are integers, e.g. 0,1,2") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "baseline", help="measure a release's reference accuracies on its own files"
    )
    parser.add_argument("release", type=Path, metavar="RELEASE", help="a release directory")
    parser.add_argument(
        "--cnn", action="store_true", help="the reference CNN (PyTorch: the cnn extra)"
    )
    parser.add_argument("--seeds", type=_seeds, default=[0, 1, 2], help="default 0,1,2")
    parser.add_argument("--epochs", type=int, default=cnn.EPOCHS, help=f"default {cnn.EPOCHS}")
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads for PyTorch (default 1)"
    )
    parser.add_argument("--alphabets", help="comma-separated (default: every one in the release)")
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write the figures for export --reference"
    )
    parser.add_argument("--note", help="what the release is, for the datasheet (with --out)")
    parser.set_defaults(run=run_baseline)
