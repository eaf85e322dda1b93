"""Building a release from the drawings store, in two streaming passes.

Pass one lists the drawings and reads their tags and records (in parallel), keeps those the
release includes and writes one compact row per drawing to a work file; the writer-independent
split and ``metadata.csv`` follow from those rows. Pass two streams each alphabet's drawings in
key order (PNG reads in parallel, bounded in flight) into every format at once: the CoMNIST PNG
folders, the MNIST-style IDX files (whose item counts pass one fixed), the strokes and the preview.
Memory holds a bounded window of drawings, never the collection.

Everything written is a function of the store and the seed: files are sorted, archives carry
fixed timestamps, gzip streams ``mtime=0``, so the same store and seed give the same bytes. Each
finished part is recorded in ``.manifest.json`` with the fingerprint of the release it belongs to;
a second run with the same fingerprint skips finished parts and PNG files already written.

The contributors store is never opened: names and e-mails cannot reach a release.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np
from PIL import Image

from chalicelib.alphabets import Alphabet, alphabets
from chalicelib.keys import DRAWING_SUFFIX, DRAWINGS_PREFIX, DrawingRef, parse_drawing_key
from chalicelib.storage import NotFound, PreconditionFailed, Storage
from comnist import uniqid

from . import datasheet
from .mnist import IdxWriter, mnist_image
from .split import TEST, TRAIN, assign_splits, pseudo_sessions
from .strokes import simplify
from .ziparchive import StoredZipWriter

FORMAT_VERSION = 1
FORMATS = ("comnist", "mnist", "strokes")
SPLITS = (TRAIN, TEST)
SECRET_KEY = "releases/secret.json"
MANIFEST = ".manifest.json"
WORK = ".work"
METADATA = "metadata.csv"
README = "README.md"
METADATA_COLUMNS = (
    "id",
    "alphabet",
    "letter",
    "code_point",
    "label",
    "split",
    "session",
    "created",
    "drawn_at",
    "age_group",
    "status",
    "verdict",
    "score",
    "source",
    "file_name",
)
INCLUDED_STATUSES = ("ok", "unscored")
FLAGGED_STATUSES = ("suspicious", "invalid", "pending")
PREVIEW_PER_LETTER = 12
THUMB = 48
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

T = TypeVar("T")
R = TypeVar("R")
ProgressFactory = Callable[[int | None, str], Any]


class ExportError(Exception):
    """The release cannot be built as asked; the message says why."""


@dataclass(frozen=True)
class ExportOptions:
    """What to build: formats, whether flagged drawings go in, the seed and the parallelism."""

    formats: tuple[str, ...] = FORMATS
    include_suspicious: bool = False
    seed: int = 0
    workers: int = 8
    window: int = 64


@dataclass
class Row:
    """One included drawing as pass one knows it (no PNG, no strokes, no raw session id)."""

    key: str
    alphabet: str
    letter: str
    code_point: str
    id: str
    label: int
    status: str
    verdict: str
    score: str
    created: str
    source: str
    session: str  # salted hash of the session, filled for imported images after pass one
    uniqid_time: int | None = None
    has_strokes: bool = False
    split: str = ""
    drawn_at: str = ""
    age_group: str = ""


@dataclass
class Plan:
    """What pass one found: counts per alphabet, letter and split, exclusions and the fingerprint."""

    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    excluded: Counter[str] = field(default_factory=Counter)
    sessions: int = 0
    pseudo_sessions: int = 0
    with_strokes: Counter[str] = field(default_factory=Counter)
    latest: str = ""
    fingerprint: str = ""

    def total(self, alphabet: str, split: str | None = None) -> int:
        letters = self.counts.get(alphabet, {})
        return sum(n for per in letters.values() for s, n in per.items() if split in (None, s))


# ---------------------------------------------------------------------------------- pure helpers


def is_included(status: str, verdict: str | None, include_suspicious: bool) -> bool:
    """Whether a drawing with these tags goes into the release.

    A maintainer's ``rejected`` verdict always excludes and an ``ok`` verdict always includes.
    Otherwise ``ok`` and ``unscored`` drawings go in; ``suspicious``, ``invalid`` and untagged
    (``pending``) ones only with ``include_suspicious``.
    """
    if verdict == "rejected":
        return False
    if verdict == "ok" or status in INCLUDED_STATUSES:
        return True
    return include_suspicious and status in FLAGGED_STATUSES


def session_hash(salt: bytes, label: str) -> str:
    """The salted one-way hash of a session label (HMAC-SHA256, 16 hex digits)."""
    return hmac.new(salt, label.encode(), hashlib.sha256).hexdigest()[:16]


def alphabet_folder(alphabet_id: str) -> str:
    """The CoMNIST layout's folder of an alphabet: ``cyrillic`` -> ``Cyrillic``."""
    return alphabet_id.capitalize()


def png_path(row: Row) -> str:
    """The release path of a drawing's PNG, ``Cyrillic/Ж/<id>.png``."""
    return f"{alphabet_folder(row.alphabet)}/{row.letter}/{row.id}.png"


def mnist_names(alphabet_id: str, split: str) -> tuple[str, str]:
    """Paths of the gzipped IDX image and label files of an alphabet and split."""
    base = f"mnist/{alphabet_id}-{split}"
    return f"{base}-images-idx3-ubyte.gz", f"{base}-labels-idx1-ubyte.gz"


def part_files(part: str, alphabet_id: str) -> list[str]:
    """The files a finished part consists of (the PNG folder is checked by its zip)."""
    if part == "comnist":
        return [f"{alphabet_folder(alphabet_id)}.zip"]
    if part == "mnist":
        idx = [name for split in SPLITS for name in mnist_names(alphabet_id, split)]
        return [*idx, f"mnist/{alphabet_id}-mapping.csv", f"mnist/{alphabet_id}.npz"]
    if part == "strokes":
        return [f"strokes/{alphabet_id}-raw.ndjson", f"strokes/{alphabet_id}-simplified.ndjson"]
    if part == "preview":
        return [f"preview/{alphabet_id}.png"]
    raise ValueError(part)


def owned_paths() -> list[str]:
    """Top-level names a release directory may hold; only these are ever removed."""
    folders = [alphabet_folder(a) for a in alphabets()]
    return [
        *folders,
        *(f"{name}.zip" for name in folders),
        "mnist",
        "strokes",
        "preview",
        METADATA,
        README,
        WORK,
        MANIFEST,
    ]


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], workers: int, window: int
) -> Iterator[R]:
    """``map`` on a thread pool that yields in input order with at most ``window`` items in flight."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Any] = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


# ----------------------------------------------------------------------------------- file output


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file renamed into place only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (whose folder exists) atomically: a temporary name, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def gzip_writer(raw: BinaryIO) -> gzip.GzipFile:
    """A gzip stream with no file name and ``mtime=0``, so equal content gives equal bytes."""
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)


def zip_info(name: str, compress: int) -> zipfile.ZipInfo:
    """A zip entry with a fixed timestamp, permissions and system, for reproducible archives."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = compress
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def folder_files(root: Path, folder: str) -> Iterator[str]:
    """The files under ``root/folder`` as ``/``-paths in byte order, one directory in memory at a time."""

    def walk(relative: str) -> Iterator[str]:
        with os.scandir(root / relative) as entries:
            names = sorted(
                (e.name + "/" if e.is_dir() else e.name, e.is_dir())
                for e in entries
                if not e.name.startswith(".")
            )
        for name, is_dir in names:
            if is_dir:
                yield from walk(f"{relative}/{name[:-1]}")
            else:
                yield f"{relative}/{name}"

    yield from walk(folder)


def write_folder_zip(root: Path, folder: str, target: Path) -> None:
    """Zip ``root/folder`` (stored, entries in byte order of their names) into ``target``."""
    with atomic_file(target) as raw:
        archive = StoredZipWriter(raw)
        for name in folder_files(root, folder):
            archive.add(name, (root / name).read_bytes())
        archive.close()


def write_npz_from_idx(out: Path, alphabet_id: str, target: Path) -> None:
    """Build ``<alphabet>.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``) from the IDX files.

    Each array is streamed from its gzipped IDX file into its ``.npy`` member, so memory stays
    bounded whatever the size; the members are written uncompressed like ``numpy.savez``.
    """
    with atomic_file(target) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        for split in SPLITS:
            for prefix, name in zip(("x", "y"), mnist_names(alphabet_id, split), strict=True):
                with gzip.open(out / name, "rb") as idx:
                    head = idx.read(4)
                    shape = tuple(int.from_bytes(idx.read(4), "big") for _ in range(head[3]))
                    info = zip_info(f"{prefix}_{split}.npy", zipfile.ZIP_STORED)
                    with archive.open(info, "w", force_zip64=True) as member:
                        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
                        np.lib.format.write_array_header_1_0(member, header)
                        shutil.copyfileobj(idx, member, 1 << 20)


def write_mapping(alphabet: Alphabet, target: Path) -> None:
    """``label,code_point,letter`` for every letter of the alphabet, labels in alphabet order."""
    with atomic_file(target) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["label", "code_point", "letter"])
        for label, letter in enumerate(alphabet.letters):
            writer.writerow([label, f"U+{ord(letter):04X}", letter])
        text.flush()
        text.detach()


def contact_sheet(alphabet: Alphabet, thumbnails: dict[str, list[np.ndarray]]) -> bytes:
    """A PNG grid of thumbnails: one row per letter in alphabet order, black ink on white."""
    gap = 2
    columns = PREVIEW_PER_LETTER
    width = columns * (THUMB + gap) + gap
    height = len(alphabet.letters) * (THUMB + gap) + gap
    sheet = np.full((height, width), 255, dtype=np.uint8)
    for row, letter in enumerate(alphabet.letters):
        for column, thumb in enumerate(thumbnails.get(letter, [])[:columns]):
            top, left = gap + row * (THUMB + gap), gap + column * (THUMB + gap)
            sheet[top : top + THUMB, left : left + THUMB] = 255 - thumb
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def thumbnail(ink: np.ndarray) -> np.ndarray:
    """A ``THUMB`` x ``THUMB`` ``uint8`` reduction of an ink map (0-255)."""
    image = Image.fromarray(ink.astype(np.float32)).resize((THUMB, THUMB), Image.Resampling.BOX)
    return np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _describe(
    store: Storage, key: str, salt: bytes, include_suspicious: bool
) -> tuple[Row | None, str]:
    """Pass one for one key: its :class:`Row` if included, else ``None`` and why."""
    try:
        ref = parse_drawing_key(key)
        tags = store.get_tags(key)
    except (ValueError, NotFound):
        return None, "gone"
    status = tags.get("status", "pending")
    verdict = tags.get("verdict") or ""
    if not is_included(status, verdict, include_suspicious):
        return None, "rejected" if verdict == "rejected" else status
    if status in ("invalid", "pending"):
        try:
            decode_stored(store.get(key).data)
        except (ValueError, NotFound):
            return None, "undecodable"
    try:
        record = store.get_json(ref.record_key)
    except (NotFound, ValueError):
        record = {}
    session = record.get("session")
    source = record.get("source") or ""
    uniqid_time = uniqid.uniqid_seconds(Path(source).name) if source else None
    if session:
        label = session_hash(salt, f"session:{session}")
    elif uniqid_time is None:
        label = session_hash(salt, f"drawing:{ref.id}")
    else:
        label = ""
    letters = alphabets()[ref.alphabet].letters if ref.alphabet in alphabets() else ()
    if ref.letter not in letters:
        return None, "unknown-letter"
    row = Row(
        key=key,
        alphabet=ref.alphabet,
        letter=ref.letter,
        code_point=ref.code_point,
        id=ref.id,
        label=letters.index(ref.letter),
        status=status,
        verdict=verdict,
        score=tags.get("score") or "",
        created=record.get("created") or "",
        source=source,
        session=label,
        uniqid_time=uniqid_time if not session else None,
        has_strokes=bool(record.get("strokes")),
        drawn_at=record.get("drawn_at") or "",
        age_group=record.get("age_group") or "",
    )
    return row, "included"


# --------------------------------------------------------------------------------- the export


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
        self.store = store
        self.out = Path(out)
        self.options = options
        self.progress = progress or (lambda total, label: contextlib.nullcontext(_NoProgress()))
        self.work = self.out / WORK
        self.manifest: dict[str, Any] = {}
        self._splits: dict[str, str] = {}  # session hash -> split, set by _split
        self._starts: dict[int, int] = {}  # 2017 time -> first time of its pseudo-session
        self._salt = b""

    # ---- the steps

    def run(self) -> Plan:
        """Build (or finish) the release and return its plan."""
        self._check_out_dir()
        self.work.mkdir(parents=True, exist_ok=True)
        salt = release_salt(self.store, self.options.seed)
        plan = Plan()
        self._pass_one(salt, plan)
        self._split(salt, plan)
        self._write_metadata(plan)
        self._load_manifest(plan)
        for alphabet_id in sorted(plan.counts):
            self._pass_two(alphabets()[alphabet_id], plan)
        self._write_readme(plan)
        shutil.rmtree(self.work, ignore_errors=True)
        return plan

    def _check_out_dir(self) -> None:
        if not self.out.exists():
            return
        if not self.out.is_dir():
            raise ExportError(f"{self.out} is not a directory")
        entries = [entry.name for entry in self.out.iterdir()]
        if set(entries) - {WORK} and MANIFEST not in entries:
            raise ExportError(f"{self.out} is not empty and holds no release; choose another --out")

    @property
    def rows_path(self) -> Path:
        return self.work / "rows.jsonl"

    def _rows(self) -> Iterator[Row]:
        with open(self.rows_path, encoding="utf-8") as handle:
            for line in handle:
                yield Row(**json.loads(line))

    def _pass_one(self, salt: bytes, plan: Plan) -> None:
        """List and describe every drawing; write the included ones to the work file."""
        keys = (
            key for key in self.store.list_keys(DRAWINGS_PREFIX) if key.endswith(DRAWING_SUFFIX)
        )
        include = self.options.include_suspicious
        describe = lambda key: _describe(self.store, key, salt, include)  # noqa: E731
        with (
            self.progress(None, "reading metadata") as bar,
            open(self.rows_path, "w", encoding="utf-8") as handle,
        ):
            for row, why in ordered_map(describe, keys, self.options.workers, self.options.window):
                bar.advance()
                if row is None:
                    plan.excluded[why] += 1
                    continue
                handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")

    def _split(self, salt: bytes, plan: Plan) -> None:
        """Group the 2017 images into pseudo-sessions, then split all groups train/test."""
        times = [row.uniqid_time for row in self._rows() if row.uniqid_time is not None]
        starts = pseudo_sessions(times)
        plan.pseudo_sessions = len(set(starts.values()))
        groups: dict[str, Counter[str]] = {}
        for row in self._rows():
            group = self._group(row, starts, salt)
            groups.setdefault(group, Counter())[f"{row.alphabet}:{row.letter}"] += 1
        plan.sessions = len(groups)
        self._splits = assign_splits(groups, self.options.seed)
        self._starts = starts
        self._salt = salt

    @staticmethod
    def _group(row: Row, starts: dict[int, int], salt: bytes) -> str:
        if row.session:
            return row.session
        assert row.uniqid_time is not None
        return session_hash(salt, f"pseudo:{starts[row.uniqid_time]}")

    def _final_rows(self) -> Iterator[Row]:
        """The work file's rows with their session hash and split filled in."""
        for row in self._rows():
            row.session = self._group(row, self._starts, self._salt)
            row.split = self._splits[row.session]
            yield row

    def _write_metadata(self, plan: Plan) -> None:
        """Write ``metadata.csv`` and count the drawings per alphabet, letter and split."""
        digest = hashlib.sha256()
        with atomic_file(self.work / METADATA) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(METADATA_COLUMNS)
            for row in self._final_rows():
                per_split = plan.counts.setdefault(row.alphabet, {}).setdefault(row.letter, {})
                per_split[row.split] = per_split.get(row.split, 0) + 1
                plan.latest = max(plan.latest, row.created)
                plan.with_strokes[row.alphabet] += row.has_strokes
                values = {**asdict(row), "file_name": png_path(row)}
                writer.writerow([values[column] for column in METADATA_COLUMNS])
            text.flush()
            text.detach()
        digest.update((self.work / METADATA).read_bytes())
        identity = {
            "version": FORMAT_VERSION,
            "formats": sorted(self.options.formats),
            "include_suspicious": self.options.include_suspicious,
            "seed": self.options.seed,
            "metadata": digest.hexdigest(),
        }
        plan.fingerprint = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    # ---- resuming

    def _load_manifest(self, plan: Plan) -> None:
        """Keep the finished parts of the same release; otherwise clear the previous release."""
        path = self.out / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            manifest = {}
        if manifest.get("fingerprint") != plan.fingerprint:
            for name in owned_paths():
                if name in (WORK, MANIFEST):
                    continue
                target = self.out / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
            manifest = {"fingerprint": plan.fingerprint, "parts": {}}
        self.manifest = manifest
        os.replace(self.work / METADATA, self.out / METADATA)
        self._save_manifest()

    def _save_manifest(self) -> None:
        with atomic_file(self.out / MANIFEST) as raw:
            raw.write(json.dumps(self.manifest, indent=1, sort_keys=True).encode() + b"\n")

    def _done(self, part: str, alphabet_id: str) -> bool:
        recorded = self.manifest["parts"].get(f"{part}:{alphabet_id}")
        if recorded is None:
            return False
        return all(
            (self.out / name).is_file() and (self.out / name).stat().st_size == size
            for name, size in recorded.items()
        )

    def _finish(self, part: str, alphabet_id: str) -> None:
        files = part_files(part, alphabet_id)
        self.manifest["parts"][f"{part}:{alphabet_id}"] = {
            name: (self.out / name).stat().st_size for name in files
        }
        self._save_manifest()

    # ---- pass two

    def _pass_two(self, alphabet: Alphabet, plan: Plan) -> None:
        """Stream one alphabet's drawings into every unfinished part."""
        wanted = (*self.options.formats, "preview")
        todo = [part for part in wanted if not self._done(part, alphabet.id)]
        if not todo:
            return
        rows = (row for row in self._final_rows() if row.alphabet == alphabet.id)
        with contextlib.ExitStack() as stack:
            sinks = self._open_sinks(stack, alphabet, plan, todo)
            shown: Counter[str] = Counter()

            def tasks() -> Iterator[tuple[Row, bool]]:
                for row in rows:
                    preview = "preview" in todo and shown[row.letter] < PREVIEW_PER_LETTER
                    shown[row.letter] += preview
                    yield row, preview

            load = lambda task: self._load(task[0], task[1], todo)  # noqa: E731
            total = plan.total(alphabet.id)
            with self.progress(total, f"writing {alphabet.id}") as bar:
                for loaded in ordered_map(load, tasks(), self.options.workers, self.options.window):
                    self._write(loaded, sinks)
                    bar.advance()
            for writer in sinks.get("idx", {}).values():
                writer.close()
        self._complete(alphabet, todo, sinks)

    def _open_sinks(
        self, stack: contextlib.ExitStack, alphabet: Alphabet, plan: Plan, todo: list[str]
    ) -> dict[str, Any]:
        sinks: dict[str, Any] = {"todo": todo, "alphabet": alphabet, "thumbs": {}}
        if "comnist" in todo:
            for letter in alphabet.letters:
                (self.out / alphabet_folder(alphabet.id) / letter).mkdir(
                    parents=True, exist_ok=True
                )
        if "mnist" in todo:
            sinks["idx"] = {}
            for split in SPLITS:
                count = plan.total(alphabet.id, split)
                images, labels = mnist_names(alphabet.id, split)
                for name, shape in ((images, (28, 28)), (labels, ())):
                    raw = stack.enter_context(atomic_file(self.out / name))
                    stream = stack.enter_context(gzip_writer(raw))
                    sinks["idx"][(split, name == images)] = IdxWriter(stream, count, shape)
        if "strokes" in todo:
            for kind in ("raw", "simplified"):
                raw = stack.enter_context(
                    atomic_file(self.out / f"strokes/{alphabet.id}-{kind}.ndjson")
                )
                sinks[kind] = raw
        return sinks

    def _load(self, row: Row, preview: bool, todo: list[str]) -> dict[str, Any]:
        """Read and convert one drawing (runs on a worker thread)."""
        target = self.out / png_path(row)
        need_png = "mnist" in todo or preview or ("comnist" in todo and not target.is_file())
        loaded: dict[str, Any] = {"row": row, "target": target}
        if need_png:
            png = self.store.get(row.key).data
            try:
                ink = decode_stored(png)
            except ValueError as error:
                raise ExportError(
                    f"{row.key} cannot be decoded ({error}); the store changed during the export"
                ) from None
            if "comnist" in todo and not target.is_file():
                write_new_file(target, png)
            if "mnist" in todo:
                loaded["mnist"] = mnist_image(ink)
            if preview:
                loaded["thumb"] = thumbnail(ink)
        if "strokes" in todo and row.has_strokes:
            ref = DrawingRef(row.alphabet, row.letter, row.id)
            strokes = self.store.get_json(ref.record_key)
            loaded["strokes"] = strokes.get("strokes") or []
            loaded["simplified"] = simplify(loaded["strokes"])
        return loaded

    def _write(self, loaded: dict[str, Any], sinks: dict[str, Any]) -> None:
        """Append one loaded drawing to every open output (main thread, in key order)."""
        row: Row = loaded["row"]
        if "mnist" in loaded:
            sinks["idx"][(row.split, True)].write(loaded["mnist"])
            sinks["idx"][(row.split, False)].write(row.label)
        if "thumb" in loaded:
            sinks["thumbs"].setdefault(row.letter, []).append(loaded["thumb"])
        if "strokes" in loaded:
            common = {
                "key_id": row.id,
                "word": row.letter,
                "alphabet": row.alphabet,
                "code_point": row.code_point,
                "label": row.label,
                "split": row.split,
                "session": row.session,
                "timestamp": row.created,
            }
            for kind, drawing in (
                ("raw", loaded["strokes"]),
                ("simplified", loaded["simplified"]),
            ):
                line = json.dumps({**common, "drawing": drawing}, ensure_ascii=False)
                sinks[kind].write(line.encode() + b"\n")

    def _complete(self, alphabet: Alphabet, todo: list[str], sinks: dict[str, Any]) -> None:
        """Finish the parts written by pass two: archives, npz, mapping, preview; record them."""
        if "comnist" in todo:
            folder = alphabet_folder(alphabet.id)
            write_folder_zip(self.out, folder, self.out / f"{folder}.zip")
        if "mnist" in todo:
            write_mapping(alphabet, self.out / f"mnist/{alphabet.id}-mapping.csv")
            write_npz_from_idx(self.out, alphabet.id, self.out / f"mnist/{alphabet.id}.npz")
        if "preview" in todo:
            with atomic_file(self.out / f"preview/{alphabet.id}.png") as handle:
                handle.write(contact_sheet(alphabet, sinks["thumbs"]))
        for part in todo:
            self._finish(part, alphabet.id)

    def _write_readme(self, plan: Plan) -> None:
        text = datasheet.render(plan, self.options)
        with atomic_file(self.out / README) as handle:
            handle.write(text.encode())


class _NoProgress:
    def advance(self, amount: int = 1) -> None:
        pass


def export_release(
    store: Storage,
    out: Path,
    options: ExportOptions | None = None,
    progress: ProgressFactory | None = None,
) -> Plan:
    """Build the release of ``store`` in ``out``; see :class:`Exporter`."""
    return Exporter(store, out, options or ExportOptions(), progress).run()
