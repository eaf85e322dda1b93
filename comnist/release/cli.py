"""``comnist import`` (the 2017 images into the store) and ``comnist export`` (a dataset release)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

from chalicelib import sanitizing
from chalicelib.alphabets import alphabets
from chalicelib.storage import Storage
from comnist.progress import Progress
from comnist.sanitizing_cli import count_drawings, refit_with_estimate
from comnist.stores import add_store_arguments, drawings_store_from

from .export import FORMATS, ExportError, ExportOptions, export_release
from .importer import Outcome, import_directory
from .reference import DEFAULT_REFERENCE


def _import_into(store: Storage, args: argparse.Namespace) -> Counter[str]:
    """Import ``args.directory`` into ``store``, printing one line per file not imported."""
    alphabet = alphabets()[args.alphabet]
    counts: Counter[str] = Counter()
    bar: Progress | None = None

    def start(total: int) -> None:
        nonlocal bar
        bar = Progress(total, "importing", unit="files")

    def report(outcome: Outcome) -> None:
        counts[outcome.result] += 1
        listed = outcome.result in ("refused", "duplicate")
        if listed or (args.verbose_report and outcome.result == "present"):
            sys.stdout.write(f"{outcome.result}\t{outcome.source}\t{outcome.detail}\n")
        if bar is not None:
            bar.advance()

    try:
        for _ in import_directory(store, args.directory, alphabet, on_file=report, on_total=start):
            pass
    finally:
        if bar is not None:
            bar.close()
    return counts


def fit_and_score(store: Storage, alphabet: str) -> dict[str, int]:
    """Refit the sanitizer for ``alphabet`` if its sample changed, then rescore what the refit
    changed; return the statuses.

    An import brings in drawings that no model has judged: without this they would stay
    ``unscored`` and ``comnist export`` would refuse them. Other alphabets keep their models,
    and their drawings their tags.
    """
    refit_with_estimate(store, [alphabet])
    with Progress(count_drawings(store), "scoring", unit="drawings") as bar:
        return sanitizing.rescore(store, progress=bar.advance)


def run_import(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        sys.stderr.write(f"{args.directory} is not a directory\n")
        return 2
    if args.bucket:
        # The bucket's S3 notification delivers each new PNG to the deployed event handler.
        store = drawings_store_from(args)
        counts = _import_into(store, args)
        statuses = None if args.no_scoring else fit_and_score(store, args.alphabet)
    else:
        from comnist.local import local_system

        with local_system(args.data or Path("data")) as (drawings, _, pump, app_module):
            if not args.verbose:
                app_module.app.log.setLevel(logging.WARNING)  # one line per tagged drawing
            counts = _import_into(drawings, args)
            pump.drain()
            statuses = None if args.no_scoring else fit_and_score(drawings, args.alphabet)
    sys.stdout.write(
        f"imported {counts['imported']}, duplicates within the folder {counts['duplicate']}, "
        f"already in the store {counts['present']}, refused {counts['refused']}\n"
    )
    if statuses is not None:
        shown = ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        sys.stdout.write(f"scored: {shown}\n")
    return 0


def run_export(args: argparse.Namespace) -> int:
    formats = tuple(dict.fromkeys(f.strip() for f in args.formats.split(",") if f.strip()))
    options = ExportOptions(
        formats=formats,
        include_suspicious=args.include_suspicious,
        include_unscored=args.include_unscored,
        seed=args.seed,
        version=args.version or "",
        released=args.released or "",
        reference=args.reference,
        workers=args.workers or (16 if args.bucket else 4),
    )
    try:
        plan = export_release(
            drawings_store_from(args),
            args.out,
            options,
            lambda total, label: Progress(total, label, unit="drawings"),
        )
    except ExportError as error:
        sys.stderr.write(f"export: {error}\n")
        return 1
    totals = ", ".join(f"{a} {plan.total(a)}" for a in sorted(plan.counts)) or "no drawings"
    left_out = sum(plan.excluded.values())
    sys.stdout.write(f"release in {args.out}: {totals}; left out {left_out}\n")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    importer = subparsers.add_parser(
        "import", help="import the 2017 CoMNIST images (DIR/<letter>/*.png) into the store"
    )
    importer.add_argument("directory", type=Path, metavar="DIR")
    importer.add_argument("--alphabet", required=True, choices=sorted(alphabets()))
    importer.add_argument(
        "--no-scoring",
        action="store_true",
        help="skip refitting and rescoring after the import (do it once after several imports)",
    )
    importer.add_argument(
        "--verbose-report",
        action="store_true",
        help="also list the files that were imported before",
    )
    add_store_arguments(importer)
    importer.set_defaults(run=run_import)

    exporter = subparsers.add_parser("export", help="build a dataset release from the store")
    exporter.add_argument("--out", type=Path, required=True, metavar="DIR")
    exporter.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help=f"comma-separated, from {','.join(FORMATS)} (default: all)",
    )
    exporter.add_argument(
        "--include-suspicious",
        action="store_true",
        help="also release suspicious, invalid and not yet tagged drawings (never rejected ones)",
    )
    exporter.add_argument(
        "--include-unscored",
        action="store_true",
        help="release drawings no model has scored instead of refusing to export",
    )
    exporter.add_argument(
        "--version",
        help="the release's name, e.g. 2026.11 (default: the date of the latest drawing)",
    )
    exporter.add_argument(
        "--released",
        metavar="YYYY-MM-DD",
        help="the day the release is published (CITATION.cff, croissant.json, BibTeX); "
        "default: the version if it is a date, else unsaid",
    )
    exporter.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        metavar="FILE",
        help="the reference CNN's figures (comnist baseline --cnn --out FILE) for the datasheet "
        "(default: those measured on the 2017 sample)",
    )
    exporter.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    exporter.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel reads and conversions (default 16 on S3, where reads wait on the network; 4 locally)",
    )
    add_store_arguments(exporter)
    exporter.set_defaults(run=run_export)
