"""``comnist refit | rescore | review | mark | evaluate``: the maintainer's sanitizer commands."""

from __future__ import annotations

import argparse
import base64
import html
import json
import sys
from pathlib import Path
from typing import Any

from chalicelib import sanitizing
from chalicelib.alphabets import alphabets
from chalicelib.keys import DRAWINGS_PREFIX
from chalicelib.storage import NotFound, Storage

from .inventory import iter_drawings
from .progress import Progress
from .report import add_cache_arguments
from .stores import add_store_arguments, drawings_store_from

FLAGGED = ("suspicious", "invalid")


def count_drawings(store: Storage) -> int:
    return sum(1 for key in store.list_keys(DRAWINGS_PREFIX) if key.endswith(".png"))


def refit_with_estimate(
    store: Storage, alphabets_wanted: list[str] | None = None, **options: Any
) -> sanitizing.RefitOutcome:
    """Plan the refit, say what it will fit and about how long it takes, then run it."""
    letters = sum(len(alphabet.letters) for alphabet in alphabets().values())
    with Progress(letters, "choosing each letter's sample", unit="letters") as progress:
        plan = sanitizing.plan_refit(
            store, progress=progress.advance, alphabets_wanted=alphabets_wanted, **options
        )
    fit_options = {k: v for k, v in options.items() if k != "per_letter"}
    if not plan.changed:
        print(f"model {plan.version}: the samples have not changed, nothing to refit")
    elif plan.refitted:
        drawings = ", ".join(f"{a} {plan.drawings(a):,}" for a in plan.refitted)
        seconds = sanitizing.estimated_refit_seconds(plan, fit_options)
        print(
            f"refitting {drawings} drawings ({plan.to_decode:,} to decode):"
            f" about {seconds / 60:.0f} min of CPU",
            flush=True,
        )
    return sanitizing.run_refit(store, plan, **fit_options)


def run_refit(args: argparse.Namespace) -> int:
    store = drawings_store_from(args)
    outcome = refit_with_estimate(
        store,
        contamination=args.contamination,
        min_drawings=args.min_drawings,
        per_letter=args.per_letter,
    )
    model = outcome.model
    print(
        f"model {model.version}: {len(model.letters)} letters fitted, classifiers for {sorted(model.classifiers)}"
    )
    return 0


def run_rescore(args: argparse.Namespace) -> int:
    store = drawings_store_from(args)
    with Progress(count_drawings(store), "rescoring", unit="drawings") as progress:
        counts = sanitizing.rescore(
            store, workers=args.workers, resume=not args.all, progress=progress.advance
        )
    print(json.dumps(counts, sort_keys=True))
    return 0


def run_mark(args: argparse.Namespace) -> int:
    store = drawings_store_from(args)
    if args.csv:
        try:
            print(json.dumps(sanitizing.mark_csv(store, args.csv)))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise SystemExit(f"comnist mark: {error}") from None
        return 0
    if not args.id or not args.verdict:
        raise SystemExit("comnist mark: give ID and ok|rejected, or --csv FILE")
    try:
        sanitizing.mark(store, args.id, args.verdict)
    except NotFound:
        raise SystemExit(f"comnist mark: no drawing with id {args.id}") from None
    print(f"{args.id}: {args.verdict}")
    return 0


def review_page(store: Storage, rows: list[dict]) -> str:
    """A self-contained HTML contact sheet of flagged drawings, grouped per letter."""
    by_letter: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_letter.setdefault((row["alphabet"], row["letter"]), []).append(row)
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>CoMNIST review</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}figure{display:inline-block;margin:4px;"
        "width:140px;vertical-align:top;font-size:11px}img{width:139px;height:139px;border:1px solid #999;"
        "background:#fff}code{word-break:break-all}</style>",
        f"<h1>Flagged drawings: {len(rows)}</h1>",
        "<p>Record a verdict with <code>comnist mark ID ok|rejected</code> or a CSV of id,verdict.</p>",
    ]
    for (alphabet, letter), group in sorted(by_letter.items()):
        parts.append(f"<h2>{html.escape(alphabet)} {html.escape(letter)} ({len(group)})</h2>")
        for row in group:
            try:
                data = base64.b64encode(store.get(row["key"]).data).decode()
            except NotFound:
                continue
            parts.append(
                f"<figure><img alt='drawing {html.escape(row['id'])}' src='data:image/png;base64,{data}'>"
                f"<figcaption><code>{html.escape(row['id'])}</code><br>{html.escape(row['status'])}: "
                f"{html.escape(row['reasons'] or '')} (score {html.escape(str(row['score']))})</figcaption></figure>"
            )
    parts.append("</html>")
    return "\n".join(parts)


def run_review(args: argparse.Namespace) -> int:
    store = drawings_store_from(args)
    if args.reindex or args.serve:
        from .desk.cli import reindex, serve_desk

        return reindex(store) if args.reindex else serve_desk(store, args)
    rows = [
        row
        for row in iter_drawings(store, letter=args.letter)
        if row["status"] in FLAGGED and not row["verdict"]
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(review_page(store, rows), encoding="utf-8")
    print(f"{len(rows)} flagged drawings in {args.out}")
    return 0


def _share(text: str) -> float:
    from .evaluation import training_share

    try:
        share = float(text)
        training_share([], share)  # the range check evaluate applies
    except ValueError:
        raise argparse.ArgumentTypeError(f"a share in (0, 1] is needed, not {text!r}") from None
    return share


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    evaluate(
        args.samples,
        out_dir=args.out,
        seed=args.seed,
        contamination=args.contamination,
        alphabet=args.alphabet,
        current=args.current,
        starter_only=args.starter_only,
        pooled=not args.no_pools,
        train_fraction=args.train_fraction,
    )
    return 0


def run_nonletters(args: argparse.Namespace) -> int:
    from chalicelib.raster import render_alpha
    from sanitizer.nonletters import build

    if args.quickdraw is not None and not args.quickdraw.is_file():
        print(f"comnist nonletters: no Quick, Draw! file at {args.quickdraw}", file=sys.stderr)
        return 2
    count = build(args.fonts, args.out, doodles=args.quickdraw, rasterize=render_alpha)
    doodles = f" and the doodles of {args.quickdraw}" if args.quickdraw else ""
    print(f"{args.out}: {count} pictures from {len(args.fonts)} fonts{doodles}")
    return 0


def run_starter(args: argparse.Namespace) -> int:
    from chalicelib.alphabets import alphabets
    from chalicelib.raster import render_alpha
    from sanitizer.starter import build

    if args.drawings is not None and not args.drawings.is_dir():
        print(f"comnist starter: no folder of drawings at {args.drawings}", file=sys.stderr)
        return 2
    letters = {a.id: a.letters for a in alphabets().values()}
    model = build(
        args.fonts, letters, render_alpha, args.out, drawings=args.drawings, epochs=args.epochs
    )
    drawn = f" and {len(model.members)} drawings" if len(model.members) else ""
    print(
        f"{args.out}: starter classifiers for {sorted(model.classifiers)} from "
        f"{len(args.fonts)} fonts{drawn}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "refit", help="fit new sanitizer models from a bounded sample of the stored drawings"
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--contamination", type=float, default=0.02, help="share of junk assumed without labels"
    )
    parser.add_argument(
        "--min-drawings", type=int, default=20, help="letters with fewer get no shape model"
    )
    parser.add_argument(
        "--per-letter",
        type=int,
        default=None,
        help="drawings a letter learned from (default 1,000; judged ones always)",
    )
    parser.set_defaults(run=run_refit)

    parser = subparsers.add_parser(
        "rescore", help="re-tag the drawings the current model has not rescored yet"
    )
    add_store_arguments(parser)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--all", action="store_true", help="every drawing, also those rescored by this model"
    )
    parser.set_defaults(run=run_rescore)

    parser = subparsers.add_parser("review", help="write an HTML contact sheet of flagged drawings")
    add_store_arguments(parser)
    parser.add_argument("--letter", help="only this letter (or code point)")
    parser.add_argument("--out", type=Path, default=Path("review/index.html"))
    parser.add_argument(
        "--serve", action="store_true", help="open the review desk in the browser (127.0.0.1 only)"
    )
    parser.add_argument("--port", type=int, default=8765, help="the desk's port (0: any free one)")
    parser.add_argument(
        "--reindex", action="store_true", help="rebuild the review queue from every drawing's tags"
    )
    add_cache_arguments(parser)
    parser.set_defaults(run=run_review)

    parser = subparsers.add_parser("mark", help="record your verdict on a drawing")
    add_store_arguments(parser)
    parser.add_argument("id", nargs="?", help="drawing id")
    parser.add_argument("verdict", nargs="?", choices=sanitizing.VERDICTS)
    parser.add_argument("--csv", type=Path, help="a CSV with columns id,verdict")
    parser.set_defaults(run=run_mark)

    parser = subparsers.add_parser(
        "evaluate", help="measure the sanitizer on real drawings with injected junk"
    )
    parser.add_argument("--samples", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("build/evaluation"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contamination", type=float, default=None, help="junk share the detectors assume"
    )
    parser.add_argument("--alphabet", default="cyrillic", help="the sample folder measured")
    parser.add_argument(
        "--current",
        type=Path,
        default=None,
        help="a sanitizer package folder to compare against (e.g. the last release's)",
    )
    parser.add_argument(
        "--starter-only", action="store_true", help="measure the starter letter check alone"
    )
    parser.add_argument(
        "--no-pools",
        action="store_true",
        help="skip the pools: every judged doodle and every drawing claimed as another letter",
    )
    parser.add_argument(
        "--train-fraction",
        type=_share,
        default=1.0,
        help="fit on this share of each fold's training drawings (by id hash), e.g. 0.5",
    )
    parser.set_defaults(run=run_evaluate)

    parser = subparsers.add_parser(
        "nonletters",
        help="render the letter classifier's not-a-letter pictures from fonts and doodles",
    )
    parser.add_argument("fonts", nargs="+", type=Path, help="TrueType fonts to render")
    parser.add_argument(
        "--quickdraw",
        type=Path,
        default=None,
        help="Quick, Draw! .ndjson doodles (only the categories kept for teaching are used)",
    )
    parser.add_argument("--out", type=Path, default=Path("sanitizer/nonletters.npz"))
    parser.set_defaults(run=run_nonletters)

    parser = subparsers.add_parser(
        "starter", help="train the starter letter classifiers from font letters and drawings"
    )
    parser.add_argument("fonts", nargs="+", type=Path, help="TrueType fonts to draw letters in")
    parser.add_argument(
        "--drawings",
        type=Path,
        default=None,
        help="hand-drawn letters in ALPHABET/LETTER/*.png folders (the 2017 CoMNIST drawings)",
    )
    parser.add_argument("--out", type=Path, default=Path("sanitizer"), help="package data folder")
    parser.add_argument("--epochs", type=int, default=None)
    parser.set_defaults(run=run_starter)
