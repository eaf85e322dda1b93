"""Building a release from the drawings store, in two streaming passes.

Pass one lists the drawings and reads their tags and records (in parallel), validates and keeps
those the release includes and writes one compact row per drawing to a work file; the
writer-independent split and ``metadata.csv`` follow from those rows. Pass two streams each
alphabet's drawings in key order (PNG reads in parallel, bounded in flight) into every format's
:class:`~comnist.release.writer.FormatWriter` at once. Then the baselines are computed from the
MNIST-style files, and the datasheet, ``CITATION.cff`` and ``SHA256SUMS`` written. Memory holds a
bounded window of drawings, never the collection.

Everything written is a function of the store, the seed and the version: files are sorted,
archives carry fixed timestamps, gzip streams ``mtime=0``, so the same store and options give the
same bytes. The export's own state (work file, finished parts) lives beside the release, in
``.<name>.export/``, and is removed when the release is complete: nothing internal ships. A
second run after an interruption, with the same fingerprint, keeps the finished parts.

The contributors store is never opened: names and e-mails cannot reach a release.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.alphabets import Alphabet, alphabets
from chalicelib.keys import DRAWING_SUFFIX, DRAWINGS_PREFIX, DrawingRef, parse_drawing_key
from chalicelib.sanitizing import verdict_of
from chalicelib.storage import NotFound, PreconditionFailed, Storage
from comnist import uniqid

from . import baselines, datasheet
from .croissant import CROISSANT, croissant_text
from .files import atomic_file, folder_files, ordered_map, sha256_file
from .idxfiles import MnistWriter, idx_names
from .parquet import ParquetWriter
from .plan import FORMATS, ExportOptions, Plan
from .pngtree import PngTreeWriter
from .preview import PreviewWriter
from .records import (
    FILLED_COLUMNS,
    Row,
    alphabet_folder,
    is_included,
    release_day,
    session_hash,
    text_of,
    validate_row,
    write_metadata,
)
from .reference import load_reference, split_fingerprint
from .split import SPLITS, TEST, TRAIN, assign_splits, pseudo_sessions
from .strokefiles import StrokesWriter
from .writer import Drawing, FormatWriter

__all__ = ["FORMATS", "ExportError", "ExportOptions", "Plan", "export_release"]

FORMAT_VERSION = 3  # 3: validation split, days not times, same_image_as
SECRET_KEY = "releases/secret.json"
METADATA = "metadata.csv"
README = "README.md"
CITATION = "CITATION.cff"
CHECKSUMS = "SHA256SUMS"
LEGACY_MANIFEST = ".manifest.json"  # releases of format 1 kept their state inside
WRITERS: tuple[type[FormatWriter], ...] = (
    PngTreeWriter,
    MnistWriter,
    ParquetWriter,
    StrokesWriter,
    PreviewWriter,
)
VERSION_FORM = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,39}")
ProgressFactory = Callable[[int | None, str], Any]


class ExportError(Exception):
    """The release cannot be built as asked; the message says why."""


def owned_paths() -> list[str]:
    """Top-level names a release directory may hold; only these are ever removed."""
    folders = [alphabet_folder(a) for a in alphabets()]
    return [
        *folders,
        *(f"{name}.zip" for name in folders),
        "data",
        "mnist",
        "strokes",
        "preview",
        METADATA,
        README,
        CITATION,
        CROISSANT,
        CHECKSUMS,
        LEGACY_MANIFEST,
    ]


def state_dir(out: Path) -> Path:
    """Where an export of ``out`` keeps its work file and finished parts: beside it, hidden."""
    out = out.absolute()
    return out.parent / f".{out.name}.export"


# -------------------------------------------------------------------------------- store access


def release_salt(store: Storage, seed: int) -> bytes:
    """The salt of session hashes for ``seed``: HMAC of the seed under a secret kept in the store.

    The secret (``releases/secret.json``, 256 random bits) is created by the first export and
    never published, so a session's hash cannot be recomputed from a known session id; the same
    store and seed give the same salt, another seed an unrelated one.
    """
    try:
        secret = store.get_json(SECRET_KEY)["secret"]
    except NotFound:
        with contextlib.suppress(PreconditionFailed):
            store.put_json(SECRET_KEY, {"secret": secrets.token_hex(32)}, if_none_match=True)
        secret = store.get_json(SECRET_KEY)["secret"]
    return hmac.new(bytes.fromhex(secret), f"seed:{seed}".encode(), hashlib.sha256).digest()


def decode_stored(png: bytes) -> np.ndarray:
    """The ink (0-255 ``float32``) of a stored drawing PNG; raises ``ValueError`` if undecodable."""
    from sanitizer.image import decode_ink

    return decode_ink(png) * np.float32(255.0)


def describe(
    store: Storage, key: str, salt: bytes, options: ExportOptions
) -> tuple[Row | None, str, str]:
    """Pass one for one key: its :class:`Row` if included (else ``None`` and why), and its tags."""
    try:
        ref = parse_drawing_key(key)
        tags = store.get_tags(key)
    except (ValueError, NotFound):
        return None, "gone", "gone"
    status = tags.get("status", "pending")
    verdict = verdict_of(store, key) or ""
    shown = f"{status}, verdict {verdict}" if verdict else status
    if not is_included(status, verdict, options.include_suspicious, options.include_unscored):
        return None, "rejected" if verdict == "rejected" else status, shown
    if status in ("invalid", "pending"):
        try:
            decode_stored(store.get(key).data)
        except (ValueError, NotFound):
            return None, "undecodable", shown
    try:
        record = store.get_json(ref.record_key)
    except (NotFound, ValueError):
        record = {}
    letters = alphabets()[ref.alphabet].letters if ref.alphabet in alphabets() else ()
    if ref.letter not in letters:
        return None, "unknown-letter", shown
    session = record.get("session")
    source = text_of(record.get("source"))
    uniqid_time = uniqid.uniqid_seconds(Path(source).name) if source else None
    if session:
        label = session_hash(salt, f"session:{session}")
    elif uniqid_time is None:
        label = session_hash(salt, f"drawing:{ref.id}")
    else:
        label = ""
    row = Row(
        key=key,
        alphabet=ref.alphabet,
        letter=ref.letter,
        code_point=ref.code_point,
        id=ref.id,
        label=letters.index(ref.letter),
        status=status,
        verdict=verdict,
        letter_p=text_of(tags.get("letter_p")),
        created=release_day(text_of(record.get("created"))),
        age_group=text_of(record.get("age_group")),
        source=source,
        session=label,
        image_sha256=text_of(record.get("body_sha256")) if source else "",
        uniqid_time=uniqid_time if not session else None,
        has_strokes=bool(record.get("strokes")),
    )
    if validate_row(row) is not None:
        return None, "invalid-record", shown
    return row, "included", shown


# --------------------------------------------------------------------------------- the export


class _NoProgress:
    def advance(self, amount: int = 1) -> None:
        pass


class Exporter:
    """Builds one release directory from a store; see the module docstring for the passes."""

    def __init__(
        self,
        store: Storage,
        out: Path,
        options: ExportOptions,
        progress: ProgressFactory | None = None,
    ) -> None:
        unknown = set(options.formats) - set(FORMATS)
        if unknown or not options.formats:
            raise ExportError(
                f"unknown formats {sorted(unknown)}; choose from {', '.join(FORMATS)}"
            )
        if options.released and not re.fullmatch(r"\d{4}-\d\d-\d\d", options.released):
            raise ExportError(f"--released {options.released!r}: give a day, YYYY-MM-DD")
        if options.version and not VERSION_FORM.fullmatch(options.version):
            raise ExportError(
                f"--version {options.version!r}: use letters, digits and . + _ - (at most 40)"
            )
        self.store = store
        self.out = Path(out)
        self.options = options
        self.progress = progress or (lambda total, label: contextlib.nullcontext(_NoProgress()))
        self.state = state_dir(self.out)
        self.manifest: dict[str, Any] = {}
        self._splits: dict[str, str] = {}  # session hash -> split, set by _split
        self._starts: dict[int, int] = {}  # 2017 time -> first time of its pseudo-session
        self._same_image: dict[str, str] = {}  # id -> the id of the same image in another alphabet
        self._salt = b""

    # ---- the steps

    def run(self) -> Plan:
        """Build (or finish) the release and return its plan."""
        self._check_out_dir()
        resuming = self.state.is_dir()
        self.state.mkdir(parents=True, exist_ok=True)
        self._salt = release_salt(self.store, self.options.seed)
        plan = Plan()
        self._pass_one(plan)
        try:
            self._refuse_unscored(plan)
        except ExportError:
            if not resuming:
                shutil.rmtree(self.state, ignore_errors=True)
            raise
        self._split(plan)
        self._find_same_images(plan)
        self._write_metadata(plan)
        self._load_manifest(plan)
        for alphabet_id in plan.alphabets:
            self._pass_two(alphabets()[alphabet_id], plan)
        self._measure_shards(plan)
        self._baselines(plan)
        self._write_text(README, datasheet.render(plan, self.options))
        self._write_text(CITATION, datasheet.citation(plan))
        metadata_sha256 = sha256_file(self.out / METADATA)
        self._write_text(CROISSANT, croissant_text(plan, self.options, metadata_sha256))
        self._write_checksums()
        shutil.rmtree(self.state, ignore_errors=True)
        return plan

    def _check_out_dir(self) -> None:
        if not self.out.exists():
            return
        if not self.out.is_dir():
            raise ExportError(f"{self.out} is not a directory")
        entries = {entry.name for entry in self.out.iterdir()}
        if entries and not entries & {CHECKSUMS, LEGACY_MANIFEST} and not self.state.is_dir():
            raise ExportError(f"{self.out} is not empty and holds no release; choose another --out")

    @property
    def rows_path(self) -> Path:
        return self.state / "rows.jsonl"

    def _rows(self) -> Iterator[Row]:
        with open(self.rows_path, encoding="utf-8") as handle:
            for line in handle:
                yield Row(**json.loads(line))

    def _pass_one(self, plan: Plan) -> None:
        """List and describe every drawing; write the included ones to the work file."""
        keys = (
            key for key in self.store.list_keys(DRAWINGS_PREFIX) if key.endswith(DRAWING_SUFFIX)
        )
        describe_key = lambda key: describe(self.store, key, self._salt, self.options)  # noqa: E731
        workers, window = self.options.workers, self.options.window
        with (
            self.progress(None, "reading metadata") as bar,
            open(self.rows_path, "w", encoding="utf-8") as handle,
        ):
            for row, why, status in ordered_map(describe_key, keys, workers, window):
                bar.advance()
                plan.statuses[(status, "left out" if row is None else "released")] += 1
                if row is None:
                    plan.excluded[why] += 1
                    continue
                handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")

    def _refuse_unscored(self, plan: Plan) -> None:
        """Stop before writing anything while drawings wait for a model, unless they are asked for."""
        unscored = plan.excluded["unscored"]
        if unscored and not self.options.include_unscored:
            raise ExportError(
                f"{unscored} drawings are unscored: no sanitizer model has judged them. Run "
                "`comnist refit` then `comnist rescore` to score them (letters with fewer "
                "drawings than refit's --min-drawings stay unscored), or pass --include-unscored "
                "to release them unchecked."
            )

    def _split(self, plan: Plan) -> None:
        """Group the 2017 images into pseudo-sessions, then split all groups train/test."""
        times = [row.uniqid_time for row in self._rows() if row.uniqid_time is not None]
        self._starts = pseudo_sessions(times)
        plan.pseudo_sessions = len(set(self._starts.values()))
        groups: dict[str, Counter[str]] = {}
        for row in self._rows():
            groups.setdefault(self._group(row), Counter())[f"{row.alphabet}:{row.letter}"] += 1
        plan.sessions = len(groups)
        self._splits = assign_splits(groups, self.options.seed)

    def _find_same_images(self, plan: Plan) -> None:
        """Pair the imported images whose pixels are identical in two alphabets.

        The 2017 collection filed each shape both alphabets share (A and А...) in both: each
        copy names the other in ``same_image_as``, so users combining alphabets can drop one.
        """
        by_image: dict[str, list[Row]] = {}
        for row in self._rows():
            if row.image_sha256:
                by_image.setdefault(row.image_sha256, []).append(row)
        for copies in by_image.values():
            for row in copies:
                others = sorted(o.id for o in copies if o.alphabet != row.alphabet)
                if others:
                    self._same_image[row.id] = others[0]
                    plan.same_image[row.alphabet] += 1

    def _group(self, row: Row) -> str:
        if row.session:
            return row.session
        assert row.uniqid_time is not None
        return session_hash(self._salt, f"pseudo:{self._starts[row.uniqid_time]}")

    def _final_rows(self, alphabet_id: str | None = None) -> Iterator[Row]:
        """The work file's rows (of one alphabet, or all) with their session hash and split."""
        for row in self._rows():
            if alphabet_id in (None, row.alphabet):
                row.session = self._group(row)
                row.split = self._splits[row.session]
                row.same_image_as = self._same_image.get(row.id, "")
                yield row

    def _write_metadata(self, plan: Plan) -> None:
        """Write ``metadata.csv``, count the drawings per alphabet, letter and split, fingerprint."""

        writers: dict[str, set[str]] = {}

        def counted() -> Iterator[Row]:
            for row in self._final_rows():
                per_split = plan.counts.setdefault(row.alphabet, {}).setdefault(row.letter, {})
                per_split[row.split] = per_split.get(row.split, 0) + 1
                plan.latest = max(plan.latest, row.created)
                plan.earliest = min(plan.earliest or row.created, row.created)
                plan.with_strokes[row.alphabet] += row.has_strokes
                writers.setdefault(row.alphabet, set()).add(row.session)
                for column in FILLED_COLUMNS:
                    plan.filled[column] += bool(getattr(row, column))
                yield row

        with atomic_file(self.state / METADATA) as raw:
            try:
                write_metadata(raw, counted())
            except ValueError as error:
                raise ExportError(str(error)) from None
        plan.writers = {alphabet: len(groups) for alphabet, groups in writers.items()}
        plan.split_fingerprint = split_fingerprint(self.state / METADATA)
        plan.reference = load_reference(self.options.reference)
        plan.version = self.options.version or plan.latest[:10] or "empty"
        plan.released = self.options.released
        if plan.released and plan.released < plan.latest:
            raise ExportError(
                f"--released {plan.released} is before the latest drawing ({plan.latest})"
            )
        identity = {
            "version": FORMAT_VERSION,
            "release": plan.version,
            "released": plan.released,
            "formats": sorted(self.options.formats),
            "include_suspicious": self.options.include_suspicious,
            "include_unscored": self.options.include_unscored,
            "seed": self.options.seed,
            "metadata": sha256_file(self.state / METADATA),
        }
        plan.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    # ---- resuming

    def _load_manifest(self, plan: Plan) -> None:
        """Keep the finished parts of the same release; otherwise clear the previous release."""
        try:
            manifest = json.loads((self.state / "manifest.json").read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            manifest = {}
        if manifest.get("fingerprint") != plan.fingerprint:
            for name in owned_paths():
                target = self.out / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            manifest = {"fingerprint": plan.fingerprint, "parts": {}}
        self.manifest = manifest
        self.out.mkdir(parents=True, exist_ok=True)
        os.replace(self.state / METADATA, self.out / METADATA)
        self._save_manifest()

    def _save_manifest(self) -> None:
        with atomic_file(self.state / "manifest.json") as raw:
            raw.write(json.dumps(self.manifest, indent=1, sort_keys=True).encode() + b"\n")

    def _done(self, part: str, alphabet_id: str) -> bool:
        recorded = self.manifest["parts"].get(f"{part}:{alphabet_id}")
        if recorded is None:
            return False
        return all(
            (self.out / name).is_file() and (self.out / name).stat().st_size == size
            for name, size in recorded.items()
        )

    def _finish(self, part: str, alphabet_id: str, files: list[str]) -> None:
        self.manifest["parts"][f"{part}:{alphabet_id}"] = {
            name: (self.out / name).stat().st_size for name in files
        }
        self._save_manifest()

    # ---- pass two

    def _pass_two(self, alphabet: Alphabet, plan: Plan) -> None:
        """Stream one alphabet's drawings into every unfinished format."""
        wanted = (*self.options.formats, "preview")
        kinds = [w for w in WRITERS if w.part in wanted and not self._done(w.part, alphabet.id)]
        if not kinds:
            return
        with contextlib.ExitStack() as stack:
            writers = [stack.enter_context(kind(self.out, alphabet, plan)) for kind in kinds]

            def tasks() -> Iterator[tuple[Row, list[FormatWriter]]]:
                for row in self._final_rows(alphabet.id):
                    yield row, [writer for writer in writers if writer.wants(row)]

            load = lambda task: self._load(*task)  # noqa: E731
            workers, window = self.options.workers, self.options.window
            with self.progress(plan.total(alphabet.id), f"writing {alphabet.id}") as bar:
                for row, chosen, prepared in ordered_map(load, tasks(), workers, window):
                    for writer, value in zip(chosen, prepared, strict=True):
                        writer.add(row, value)
                    bar.advance()
            for writer in writers:
                self._finish(writer.part, alphabet.id, writer.close())

    def _load(
        self, row: Row, chosen: list[FormatWriter]
    ) -> tuple[Row, list[FormatWriter], list[Any]]:
        """Read one drawing and let each writer that wants it prepare it (on a worker thread)."""
        drawing = Drawing(row)
        if any(writer.needs_ink for writer in chosen):
            try:
                drawing.ink = decode_stored(self.store.get(row.key).data)
            except (ValueError, NotFound) as error:
                raise ExportError(
                    f"{row.key} cannot be read ({error}); the store changed during the export"
                ) from None
        if any(writer.needs_strokes for writer in chosen):
            ref = DrawingRef(row.alphabet, row.letter, row.id)
            drawing.strokes = self.store.get_json(ref.record_key).get("strokes") or []
        return row, chosen, [writer.prepare(drawing) for writer in chosen]

    # ---- the finishing files

    def _measure_shards(self, plan: Plan) -> None:
        """The bytes of each alphabet's and split's parquet shards, for the card's split sizes."""
        for alphabet_id in plan.alphabets:
            folder = self.out / "data" / alphabet_id
            for split in SPLITS:
                shards = sorted(folder.glob(f"{split}-*.parquet")) if folder.is_dir() else []
                plan.shard_bytes[(alphabet_id, split)] = sum(p.stat().st_size for p in shards)

    def _baselines(self, plan: Plan) -> None:
        """Reference accuracies from each alphabet's MNIST-style files, if they were built."""
        if "mnist" not in self.options.formats:
            return
        for alphabet_id in plan.alphabets:
            files = [
                self.out / name for split in (TRAIN, TEST) for name in idx_names(alphabet_id, split)
            ]
            classes = len(alphabets()[alphabet_id].letters)
            with self.progress(None, f"baselines {alphabet_id}"):
                result = baselines.evaluate(*files, classes=classes, seed=self.options.seed)
            if result is not None:
                plan.baselines[alphabet_id] = result

    def _write_text(self, name: str, text: str) -> None:
        with atomic_file(self.out / name) as handle:
            handle.write(text.encode())

    def _write_checksums(self) -> None:
        """``SHA256SUMS`` in ``sha256sum``'s format for every file of the release, in path order.

        Streamed: folders are walked one directory at a time, entries ordered as whole paths
        sort (a folder as its name and ``/``), so no list of every file is held.
        """
        entries = sorted(
            (name + "/" if (self.out / name).is_dir() else name)
            for name in os.listdir(self.out)
            if name != CHECKSUMS and not name.startswith(".")
        )
        with atomic_file(self.out / CHECKSUMS) as handle:
            for entry in entries:
                names = folder_files(self.out, entry[:-1]) if entry.endswith("/") else [entry]
                for name in names:
                    handle.write(f"{sha256_file(self.out / name)}  {name}\n".encode())


def export_release(
    store: Storage,
    out: Path,
    options: ExportOptions | None = None,
    progress: ProgressFactory | None = None,
) -> Plan:
    """Build the release of ``store`` in ``out``; see :class:`Exporter`."""
    return Exporter(store, out, options or ExportOptions(), progress).run()
