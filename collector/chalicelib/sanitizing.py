"""Store-level sanitizer jobs: tag one drawing, refit the models, rescore everything, record verdicts.

They work on any :class:`Storage`, so the same code runs in Lambda, in ``comnist serve`` and in
the ``comnist`` command on a local store or a bucket. numpy arrives with ``sanitizer``, which is
imported inside the functions: the upload path imports this package's modules without paying
for numpy.
"""

from __future__ import annotations

import csv
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any

from . import flagged
from .alphabets import alphabets
from .keys import (
    DRAWINGS_PREFIX,
    MODELS_CURRENT_KEY,
    SAMPLE_START_KEY,
    VERDICTS_PREFIX,
    DrawingRef,
    model_key,
    parse_drawing_key,
    parse_verdict_key,
)
from .storage import NotFound, PreconditionFailed, Storage

VERDICTS = ("ok", "rejected")
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def load_current_model(store: Storage) -> Any:
    """The :class:`sanitizer.ModelSet` in force, or ``None``; cached per version in the process."""
    from sanitizer import ModelSet

    try:
        pointer = store.get_json(MODELS_CURRENT_KEY)
    except (NotFound, ValueError):
        return None
    version = pointer.get("version")
    with _cache_lock:
        cached = _cache.get(store.name)
        if cached is not None and cached.version == version:
            return cached
        try:
            model = ModelSet.from_json(store.get(model_key(version)).data)
        except (NotFound, ValueError, KeyError, TypeError):
            return None
        _cache[store.name] = model
        return model


def model_in_force(store: Storage) -> Any:
    """The current model, or the shipped starter letter check while the store has none."""
    from sanitizer import starter_model

    model = load_current_model(store)
    return model if model is not None else starter_model()


def _record(store: Storage, ref: DrawingRef) -> dict[str, Any] | None:
    try:
        record = store.get_json(ref.record_key)
    except (NotFound, ValueError):
        return None
    return record if isinstance(record, dict) else None


def verdict_of(store: Storage, key: str) -> str | None:
    """The maintainer's verdict (``ok`` or ``rejected``) on the drawing at PNG ``key``, or ``None``.

    Verdicts live in their own objects (``verdicts/...``), which only :func:`mark` writes, so no
    machine job that rewrites a drawing's tags can lose one.
    """
    try:
        value = store.get_json(parse_drawing_key(key).verdict_key)
    except (NotFound, ValueError):
        return None
    verdict = value.get("verdict") if isinstance(value, dict) else None
    return verdict if verdict in VERDICTS else None


def _put_tags_with_verdict(store: Storage, key: str, tags: dict[str, str]) -> dict[str, str]:
    """Write ``tags`` with a copy of the drawing's verdict; return what was written.

    The copy serves tools that read tags only. S3 cannot write tags conditionally, so the verdict
    is read again after the write: a :func:`mark` that landed meanwhile is copied by another write.
    """
    try:
        before = store.get_tags(key)
    except NotFound:
        before = {}
    verdict = verdict_of(store, key)
    while True:
        written = {**tags, "verdict": verdict} if verdict else dict(tags)
        store.put_tags(key, written)
        latest = verdict_of(store, key)
        if latest == verdict:
            flagged.sync_marker(store, parse_drawing_key(key), before, written)
            return written
        verdict = latest


def tag_drawing(store: Storage, key: str, model: Any = None) -> dict[str, str]:
    """Score the drawing at ``key`` with ``model`` (default: :func:`model_in_force`); write its tags.

    The tags carry a copy of the maintainer's verdict, if any. Returns the tags written; raises
    :class:`NotFound` if the drawing does not exist.
    """
    from sanitizer import score_drawing

    ref = parse_drawing_key(key)
    png = store.get(key).data
    model = model if model is not None else model_in_force(store)
    verdict = score_drawing(
        png, _record(store, ref), model, alphabet=ref.alphabet, letter=ref.letter, drawing_id=ref.id
    )
    return _put_tags_with_verdict(store, key, verdict.to_tags())


def drawing_keys(store: Storage) -> Iterable[str]:
    return (key for key in store.list_keys(DRAWINGS_PREFIX) if key.endswith(".png"))


def _sample(store: Storage, ref: DrawingRef, judged: bool) -> Any:
    """The training sample of one drawing; its verdict is read only if it has one (``judged``)."""
    from sanitizer import extract

    try:
        verdict = verdict_of(store, ref.png_key) if judged else None
        return extract(store.get(ref.png_key).data, ref.id, ref.alphabet, ref.letter, verdict)
    except (ValueError, NotFound):
        return None


def _origin(store: Storage, ref: DrawingRef) -> Any:
    """The drawing's :class:`sanitizer.sampling.Origin`: its record's session, its tags' status."""
    from sanitizer.sampling import FLAGGED_STATUSES, Origin

    session = (_record(store, ref) or {}).get("session")
    try:
        status = store.get_tags(ref.png_key).get("status")
    except NotFound:
        status = None
    return Origin(session if isinstance(session, str) else None, status in FLAGGED_STATUSES)


def sample_start(store: Storage) -> str:
    """The collection's sample start (:mod:`sanitizer.sampling`): made at random once, then kept.

    Two refits starting at once both try to create it; the second keeps the first one's.
    """

    def kept() -> str:
        return str(uuid.UUID(store.get_json(SAMPLE_START_KEY)["start"]))

    with suppress(NotFound):
        return kept()
    start = str(uuid.uuid4())
    try:
        store.put_json(SAMPLE_START_KEY, {"start": start}, if_none_match=True)
    except PreconditionFailed:
        return kept()
    return start


def letter_sample(
    store: Storage, alphabet: str, letter: str, start: str, per_letter: int
) -> list[DrawingRef]:
    """The ``per_letter`` drawings of a letter whose ids come first after ``start``, circularly.

    The letter's keys are listed from ``start`` on, then from the folder's beginning up to it,
    and only until ``per_letter`` are found: about ``per_letter`` keys are listed however many
    drawings the letter holds. The same as :func:`sanitizer.sampling.bounded_sample` over all.
    """
    marker = DrawingRef(alphabet, letter, start).png_key
    folder = marker.rpartition("/")[0] + "/"
    after_start = store.list_keys(folder, start_after=marker)
    up_to_start = itertools.takewhile(lambda key: key <= marker, store.list_keys(folder))
    chosen: list[DrawingRef] = []
    for key in itertools.chain(after_start, up_to_start):
        if len(chosen) >= per_letter:
            break
        with suppress(ValueError):
            chosen.append(parse_drawing_key(key))
    return chosen


def refit(
    store: Storage,
    *,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
    per_letter: int | None = None,
    **fit_options: Any,
) -> Any:
    """Fit new models from a bounded sample of the stored drawings; store them, make them current.

    The sample holds at most ``per_letter`` drawings of each configured letter (default
    :data:`sanitizer.sampling.PER_LETTER`), the first after the collection's sample start in
    id order (:func:`letter_sample`), plus every drawing the maintainer has judged (listed from
    their verdict objects). Nothing else is listed or read. The sample is then screened so that
    no single session can poison it (:func:`sanitizer.sampling.screen`, from each drawing's
    session and tags). ``progress`` is called once per letter. Returns the model.
    """
    from sanitizer import fit_models
    from sanitizer.sampling import PER_LETTER, screen

    judged = set()
    for key in store.list_keys(VERDICTS_PREFIX):
        with suppress(ValueError):
            judged.add(parse_verdict_key(key))
    start = sample_start(store)
    per_letter = per_letter or PER_LETTER
    chosen: set[DrawingRef] = set()
    for alphabet in alphabets().values():
        for letter in alphabet.letters:
            chosen.update(letter_sample(store, alphabet.id, letter, start, per_letter))
            if progress:
                progress(1)
    wanted = sorted(judged | chosen, key=lambda ref: ref.png_key)
    samples, origins = [], {}
    with ThreadPoolExecutor(workers) as pool:
        read = pool.map(
            lambda ref: (_sample(store, ref, ref in judged), _origin(store, ref)), wanted
        )
        for sample, origin in read:
            if sample is not None:
                samples.append(sample)
                origins[sample.id] = origin
    model = fit_models(screen(samples, origins).kept, **fit_options)
    store.put(model_key(model.version), model.to_json(), content_type="application/json")
    store.put_json(MODELS_CURRENT_KEY, {"version": model.version, "key": model_key(model.version)})
    return model


def rescore(
    store: Storage,
    *,
    workers: int = 4,
    resume: bool = True,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Re-tag every drawing with the current model; return counts per status.

    With ``resume``, drawings already tagged by the current model version are skipped, so an
    interrupted run (or a Lambda reaching its time limit, via ``should_stop``) continues where it
    stopped. Human verdicts live apart from the tags (:func:`verdict_of`) and are never touched.
    """
    model = model_in_force(store)
    version = model.version if model is not None else None
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def one(key: str) -> None:
        if should_stop and should_stop():
            return
        try:
            if resume and version and store.get_tags(key).get("model") == version:
                status = "skipped"
            else:
                status = tag_drawing(store, key, model)["status"]
        except NotFound:
            status = "missing"
        with lock:
            counts[status] = counts.get(status, 0) + 1
        if progress:
            progress(1)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, drawing_keys(store)))
    return counts


def find_drawing(store: Storage, drawing_id: str) -> str:
    """The PNG key of a drawing id, from its idempotency claim or, failing that, a listing."""
    key = _claimed_key(store, drawing_id)
    if key is not None:
        return key
    for key in drawing_keys(store):
        if key.endswith(f"/{drawing_id}.png"):
            return key
    raise NotFound(drawing_id)


def mark(store: Storage, drawing_id: str, verdict: str) -> dict[str, str]:
    """Record the maintainer's verdict (``ok`` or ``rejected``) on a drawing; return its tags."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    return mark_drawing(store, find_drawing(store, drawing_id), verdict)


def mark_drawing(store: Storage, key: str, verdict: str) -> dict[str, str]:
    """Record the verdict on the drawing at PNG ``key``; return its tags.

    The verdict object is the record; the ``verdict`` tag is a copy for tools that read tags.
    The drawing leaves the review queue (:mod:`chalicelib.flagged`).
    """
    from .intake import utc_now

    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}")
    ref = parse_drawing_key(key)
    if not store.exists(key):
        raise NotFound(key)
    store.put_json(ref.verdict_key, {"verdict": verdict, "marked": utc_now()})
    before = store.get_tags(key)
    tags = {**before, "verdict": verdict}
    store.put_tags(key, tags)
    flagged.sync_marker(store, ref, before, tags)
    return tags


def unmark_drawing(store: Storage, key: str) -> dict[str, str]:
    """Take back the verdict on the drawing at PNG ``key``; return its tags.

    The verdict object goes, then its tag copy, and a flagged drawing returns to the review
    queue. Like :func:`_put_tags_with_verdict`, the verdict is read again after the tags are
    written, so a verdict recorded meanwhile is kept in the copy.
    """
    ref = parse_drawing_key(key)
    store.delete(ref.verdict_key)
    while True:
        before = store.get_tags(key)
        latest = verdict_of(store, key)
        tags = {name: value for name, value in before.items() if name != "verdict"}
        if latest:
            tags["verdict"] = latest
        store.put_tags(key, tags)
        if verdict_of(store, key) == latest:
            flagged.sync_marker(store, ref, before, tags)
            return tags


def mark_csv(store: Storage, path: Path) -> dict[str, int]:
    """Record verdicts from a CSV with columns ``id`` and ``verdict``; return counts.

    Excel's "CSV UTF-8" starts with a byte-order mark, which is read past (``utf-8-sig``), so the
    first column is ``id`` and not ``\ufeffid``. Ids without an idempotency claim are looked up
    in one listing of the store, made the first time one is needed, not one per row.
    """
    counts = {"marked": 0, "unknown": 0, "invalid": 0}
    listed: dict[str, str] | None = None
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"id", "verdict"} <= {
            (name or "").strip().lower() for name in reader.fieldnames
        }:
            raise ValueError(f"{path}: the first row must name the columns id and verdict")
        for row in reader:
            row = {(name or "").strip().lower(): value for name, value in row.items()}
            drawing_id = (row.get("id") or "").strip()
            verdict = (row.get("verdict") or "").strip().lower()
            if verdict not in VERDICTS:
                counts["invalid"] += 1
                continue
            key = _claimed_key(store, drawing_id)
            if key is None:
                if listed is None:
                    listed = _keys_by_id(drawing_keys(store))
                key = listed.get(drawing_id)
            if key is None:
                counts["unknown"] += 1
                continue
            try:
                mark_drawing(store, key, verdict)
                counts["marked"] += 1
            except NotFound:
                counts["unknown"] += 1
    return counts


def _keys_by_id(keys: Iterable[str]) -> dict[str, str]:
    """Drawing PNG keys by drawing id."""
    found = {}
    for key in keys:
        with suppress(ValueError):
            found[parse_drawing_key(key).id] = key
    return found


def _claimed_key(store: Storage, drawing_id: str) -> str | None:
    """The PNG key named by a drawing id's idempotency claim, if both exist."""
    from .keys import request_key

    try:
        key = store.get_json(request_key(drawing_id)).get("key", "")
        parse_drawing_key(key)
    except (NotFound, ValueError, AttributeError):
        return None
    return key if store.exists(key) else None
