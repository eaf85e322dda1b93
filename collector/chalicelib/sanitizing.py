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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import flagged
from .alphabets import alphabets
from .intake import utc_now
from .keys import (
    DRAWINGS_PREFIX,
    MODELS_CURRENT_KEY,
    RESCORE_CURSOR_KEY,
    SAMPLE_START_KEY,
    VERDICTS_PREFIX,
    DrawingRef,
    model_key,
    parse_drawing_key,
    parse_verdict_key,
    sample_cache_key,
)
from .stats import count_drawing
from .storage import NotFound, PreconditionFailed, Storage

VERDICTS = ("ok", "rejected")
# Drawings per rescore message (about 8 KB of keys), and messages per send: SQS takes ten at a
# time. One message is a few seconds of work for one invocation.
RESCORE_BATCH = 100
MESSAGES_PER_SEND = 10
# Threads rescoring one batch: a drawing waits on about eight storage requests for every 20 ms
# of CPU, so threads keep the function's CPU busy.
RESCORE_THREADS = 8
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


ORIGIN_READERS = 32


def _origin(store: Storage, ref: DrawingRef) -> Any:
    """The drawing's :class:`sanitizer.sampling.Origin`: its record's session, its tags' status
    and reasons."""
    from sanitizer.limits import MARK_REASONS
    from sanitizer.sampling import FLAGGED_STATUSES, Origin

    session = (_record(store, ref) or {}).get("session")
    try:
        tags = store.get_tags(ref.png_key)
    except NotFound:
        tags = {}
    return Origin(
        session if isinstance(session, str) else None,
        tags.get("status") in FLAGGED_STATUSES,
        bool(MARK_REASONS & set(tags.get("reasons", "").split())),
    )


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


@dataclass
class RefitPlan:
    """What a refit will do, decided from listings and verdicts before any drawing is decoded."""

    previous: Any
    refs: dict[str, list[DrawingRef]]
    verdicts: dict[DrawingRef, str | None]
    digests: dict[str, str]
    refitted: list[str]
    version: str
    cached: dict[str, dict[str, Any]]
    to_decode: int

    @property
    def changed(self) -> bool:
        return self.previous is None or self.previous.version != self.version

    def drawings(self, alphabet: str) -> int:
        return len(self.refs.get(alphabet, []))


@dataclass
class RefitOutcome:
    """The model in force after a refit, whether it is new, what was fitted and decoded, and
    whether the refit was done or stopped decoding at its deadline."""

    model: Any
    changed: bool
    refitted: list[str]
    decoded: int
    # False when decoding stopped at its deadline: what was decoded is kept for the next refit.
    complete: bool = True


def _judged(store: Storage) -> set[DrawingRef]:
    judged = set()
    for key in store.list_keys(VERDICTS_PREFIX):
        with suppress(ValueError):
            judged.add(parse_verdict_key(key))
    return judged


def _read_cache(store: Storage, alphabet: str) -> dict[str, Any]:
    """The decoded sample the last refit of ``alphabet`` left, by PNG key (empty if none or stale).

    Each entry is ``(features, picture)``, or ``None`` for a drawing that could not be decoded.
    A cache made by other decoding code is ignored: what a drawing decodes to may have changed.
    """
    from sanitizer.model import extraction_fingerprint

    try:
        data = store.get(sample_cache_key(alphabet)).data
        with np_load(data) as cache:
            if str(cache["code"]) != extraction_fingerprint():
                return {}
            keys, valid = cache["keys"].tolist(), cache["valid"]
            features, pictures = cache["features"], cache["pictures"]
    except (NotFound, ValueError, KeyError, OSError):
        return {}
    return {key: (features[i], pictures[i]) if valid[i] else None for i, key in enumerate(keys)}


def _write_cache(store: Storage, alphabet: str, entries: dict[str, Any]) -> None:
    import io

    import numpy as np

    from sanitizer.features import FEATURE_NAMES, PICTURE_SIDE
    from sanitizer.model import extraction_fingerprint

    keys = sorted(entries)
    valid = np.array([entries[key] is not None for key in keys], dtype=bool)
    features = np.zeros((len(keys), len(FEATURE_NAMES)))
    pictures = np.zeros((len(keys), PICTURE_SIDE, PICTURE_SIDE), dtype=np.uint8)
    for i, key in enumerate(keys):
        if entries[key] is not None:
            features[i], pictures[i] = entries[key]
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        code=np.array(extraction_fingerprint()),
        keys=np.array(keys, dtype=str),
        valid=valid,
        features=features,
        pictures=pictures,
    )
    store.put(
        sample_cache_key(alphabet), buffer.getvalue(), content_type="application/octet-stream"
    )


def np_load(data: bytes) -> Any:
    import io

    import numpy as np

    return np.load(io.BytesIO(data), allow_pickle=False)


def plan_refit(
    store: Storage,
    *,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
    per_letter: int | None = None,
    alphabets_wanted: Iterable[str] | None = None,
    **fit_options: Any,
) -> RefitPlan:
    """Choose each alphabet's sample and see which alphabets' samples changed since the model in
    force was fitted: only those are refitted (of ``alphabets_wanted``, default all).

    The sample holds at most ``per_letter`` drawings of each configured letter (default
    :data:`sanitizer.sampling.PER_LETTER`), the first after the collection's sample start in
    id order (:func:`letter_sample`), plus every drawing the maintainer has judged (listed from
    their verdict objects, whose verdicts are read). Nothing else is listed or read; no drawing
    is decoded. An alphabet's digest covers its sample's keys, their verdicts, the sanitizer's
    code and the options (:func:`sanitizer.model.sample_digest`); the version is named by the
    digests (:func:`sanitizer.model.content_version`). :func:`run_refit` screens the sample so
    that no single session can poison it. ``progress`` is called once per letter.
    """
    from sanitizer.model import content_version, sample_digest
    from sanitizer.sampling import PER_LETTER

    judged = _judged(store)
    start = sample_start(store)
    per_letter = per_letter or PER_LETTER
    refs: dict[str, list[DrawingRef]] = {}
    for alphabet in alphabets().values():
        chosen: set[DrawingRef] = {ref for ref in judged if ref.alphabet == alphabet.id}
        for letter in alphabet.letters:
            chosen.update(letter_sample(store, alphabet.id, letter, start, per_letter))
            if progress:
                progress(1)
        refs[alphabet.id] = sorted(chosen, key=lambda ref: ref.png_key)
    wanted_judged = [ref for chosen_refs in refs.values() for ref in chosen_refs if ref in judged]
    with ThreadPoolExecutor(workers) as pool:
        read = pool.map(lambda ref: verdict_of(store, ref.png_key), wanted_judged)
        verdicts: dict[DrawingRef, str | None] = dict(zip(wanted_judged, read, strict=True))
    options = {"per_letter": per_letter, **fit_options}
    digests = {
        alphabet: sample_digest(((r.png_key, verdicts.get(r)) for r in chosen), options)
        for alphabet, chosen in refs.items()
    }
    previous = load_current_model(store)
    known = previous.sample_digests if previous is not None else {}
    wanted = set(refs if alphabets_wanted is None else alphabets_wanted)
    refitted = sorted(a for a in refs if a in wanted and known.get(a) != digests[a])
    # What the model will be named: the refitted alphabets' new digests, the others' kept ones.
    named = {a: digests[a] if a in refitted or a not in known else known[a] for a in refs}
    cached = {alphabet: _read_cache(store, alphabet) for alphabet in refitted}
    to_decode = sum(
        1 for alphabet in refitted for ref in refs[alphabet] if ref.png_key not in cached[alphabet]
    )
    return RefitPlan(
        previous, refs, verdicts, digests, refitted, content_version(named), cached, to_decode
    )


def estimated_refit_seconds(plan: RefitPlan, fit_options: dict[str, Any] | None = None) -> float:
    """CPU seconds the refit of ``plan`` will take here, from :func:`sanitizer.model.fit_cost`."""
    from sanitizer.model import fit_cost

    options = fit_options or {}
    return fit_cost(
        plan.to_decode,
        {a: plan.drawings(a) for a in plan.refitted},
        warm={a for a in plan.refitted if plan.previous and a in plan.previous.classifier_epochs},
        epochs=options.get("classifier_epochs"),
        rows=options.get("classifier_rows"),
    )


def run_refit(
    store: Storage,
    plan: RefitPlan,
    *,
    workers: int = 8,
    should_stop: Callable[[], bool] | None = None,
    **fit_options: Any,
) -> RefitOutcome:
    """Carry out ``plan``: decode what the sample cache lacks, fit the changed alphabets
    (warm-started from the model in force), keep the rest of it; store and make current.

    A version already stored (the same inputs fitted before) is made current without fitting.
    Decoding goes in chunks of :data:`DECODE_CHUNK` drawings over every CPU
    (:func:`sanitizer.parallel.fork_map`); once ``should_stop()`` is true after a chunk, it
    stops, keeps what it decoded in the sample cache and fits nothing: the next refit goes on
    from there. A refit too large for one invocation is finished by the next, never killed.
    """
    import numpy as np

    from sanitizer import Sample, fit_models
    from sanitizer.model import ModelSet, id_hash, merged_models
    from sanitizer.sampling import screen

    if not plan.changed:
        return RefitOutcome(plan.previous, False, [], 0)
    with suppress(NotFound, ValueError, KeyError, TypeError):
        stored = ModelSet.from_json(store.get(model_key(plan.version)).data)
        _make_current(store, stored.version)
        return RefitOutcome(stored, True, [], 0)
    missing = [
        ref
        for alphabet in plan.refitted
        for ref in plan.refs[alphabet]
        if ref.png_key not in plan.cached[alphabet]
    ]
    decoded = decode_drawings(store, missing, workers=workers, should_stop=should_stop)
    samples = []
    for alphabet in plan.refitted:
        entries = {}
        for ref in plan.refs[alphabet]:
            if ref in decoded:
                entries[ref.png_key] = decoded[ref]
            elif ref.png_key in plan.cached[alphabet]:
                entries[ref.png_key] = plan.cached[alphabet][ref.png_key]
            else:
                continue
            if entries[ref.png_key] is not None:
                features, picture = entries[ref.png_key]
                verdict = plan.verdicts.get(ref)
                samples.append(Sample(ref.id, ref.alphabet, ref.letter, features, picture, verdict))
        _write_cache(store, alphabet, entries)
    if len(decoded) < len(missing):
        return RefitOutcome(plan.previous, False, [], len(decoded), complete=False)
    # Screened after the cache: a drawing's session never changes, but its tags do. Two small
    # reads a sampled drawing (its record and its tags) that wait on the network, not the CPU:
    # at 59,000 drawings and about 25 ms a request, 32 threads take about 90 s.
    with ThreadPoolExecutor(max(workers, ORIGIN_READERS)) as pool:
        origins = dict(
            zip(
                (s.id for s in samples),
                pool.map(lambda s: _origin(store, DrawingRef(s.alphabet, s.letter, s.id)), samples),
                strict=True,
            )
        )
    screened = screen(samples, origins)
    fresh = fit_models(
        screened.kept,
        previous=plan.previous,
        version=plan.version,
        junk=screened.junk,
        **fit_options,
    )
    fresh.sample_digests = {a: plan.digests[a] for a in plan.refitted}
    kept = [ref for a, refs in plan.refs.items() if a not in plan.refitted for ref in refs]
    kept_members = np.unique(np.array([id_hash(ref.id) for ref in kept], dtype=np.uint32))
    model = merged_models(fresh, plan.previous, set(plan.refitted), kept_members)
    model.version = plan.version
    store.put(model_key(model.version), model.to_json(), content_type="application/json")
    _make_current(store, model.version)
    return RefitOutcome(model, True, plan.refitted, len(missing))


def _make_current(store: Storage, version: str) -> None:
    store.put_json(MODELS_CURRENT_KEY, {"version": version, "key": model_key(version)})


# Drawings read, then decoded on every CPU, at a time: about 40 MB of PNGs in memory, and a
# deadline is checked between chunks (a chunk decodes in about 30 CPU-seconds).
DECODE_CHUNK = 5000


def decode_drawings(
    store: Storage,
    refs: list[DrawingRef],
    *,
    workers: int = 8,
    should_stop: Callable[[], bool] | None = None,
) -> dict[DrawingRef, Any]:
    """``(features, picture)`` of each drawing, or ``None`` if it is blank, invalid or gone.

    Each chunk of :data:`DECODE_CHUNK` is read by ``workers`` threads (waiting on storage) and
    decoded by forked processes (Python decodes on one CPU a process). Stops before the next
    chunk once ``should_stop()`` is true: drawings not reached are absent from the result.
    """
    from sanitizer.parallel import fork_map

    decoded: dict[DrawingRef, Any] = {}
    for begin in range(0, len(refs), DECODE_CHUNK):
        if begin and should_stop is not None and should_stop():
            break
        chunk = refs[begin : begin + DECODE_CHUNK]
        with ThreadPoolExecutor(workers) as pool:
            pngs = list(pool.map(lambda ref: _png_or_none(store, ref), chunk))
        entries = fork_map(_decoded, list(zip(chunk, pngs, strict=True)))
        decoded.update(zip(chunk, entries, strict=True))
    return decoded


def _png_or_none(store: Storage, ref: DrawingRef) -> bytes | None:
    try:
        return store.get(ref.png_key).data
    except NotFound:
        return None


def _decoded(item: tuple[DrawingRef, bytes | None]) -> Any:
    """``(features, picture)`` of one drawing's PNG, or ``None`` if blank, invalid or gone."""
    from sanitizer import extract

    ref, png = item
    if png is None:
        return None
    try:
        sample = extract(png, ref.id, ref.alphabet, ref.letter)
    except ValueError:
        return None
    return None if sample is None else (sample.features, sample.picture)


def refit_outcome(
    store: Storage,
    *,
    workers: int = 8,
    progress: Callable[[int], None] | None = None,
    per_letter: int | None = None,
    alphabets_wanted: Iterable[str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **fit_options: Any,
) -> RefitOutcome:
    """:func:`plan_refit`, then :func:`run_refit` (``should_stop``: its decoding deadline)."""
    plan = plan_refit(
        store,
        workers=workers,
        progress=progress,
        per_letter=per_letter,
        alphabets_wanted=alphabets_wanted,
        **fit_options,
    )
    return run_refit(store, plan, workers=workers, should_stop=should_stop, **fit_options)


def refit(store: Storage, **options: Any) -> Any:
    """Refit what changed (:func:`refit_outcome`); return the model in force."""
    return refit_outcome(store, **options).model


def _cursor(store: Storage) -> dict[str, Any]:
    try:
        cursor = store.get_json(RESCORE_CURSOR_KEY)
    except (NotFound, ValueError):
        return {}
    return cursor if isinstance(cursor, dict) else {}


def model_part(model: Any, alphabet: str) -> str | None:
    """What names ``alphabet``'s part of ``model``: its sample digest, else the model's version."""
    if model is None:
        return None
    return model.sample_digests.get(alphabet) or model.version


def enqueue_rescore(
    store: Storage,
    send: Callable[[list[dict[str, Any]]], None],
    *,
    restart: bool = False,
    should_stop: Callable[[], bool] | None = None,
    batch: int = RESCORE_BATCH,
    messages_per_send: int = MESSAGES_PER_SEND,
) -> dict[str, Any]:
    """Send out, in batches of keys, the drawings of each alphabet whose part of the model in
    force (:func:`model_part`) has not been sent out for yet.

    Each message is ``{"version", "alphabet", "part", "keys": [PNG keys]}`` for
    :func:`rescore_batch`; ``send`` takes up to ``messages_per_send`` of them (an SQS
    ``SendMessageBatch`` in the cloud, the same function in process locally). A cursor
    (:data:`RESCORE_CURSOR_KEY`: per alphabet, the part and the last key sent) is written after
    each send, so a run that ``should_stop`` ends is continued by the next one; once every
    drawing of an alphabet has been sent for its part, nothing of it is listed again until
    that part changes, so a refit of one alphabet rescores that alphabet only. ``restart``
    sends everything again. No drawing's tags are read. Returns counts.
    """
    model = model_in_force(store)
    state = {} if restart else _cursor(store).get("alphabets", {})
    totals = {"version": model.version if model is not None else None, "sent": 0, "messages": 0}
    pending: list[dict[str, Any]] = []

    def flush(entry: dict[str, Any]) -> None:
        if pending:
            send(list(pending))
            totals["messages"] += len(pending)
            totals["sent"] += sum(len(message["keys"]) for message in pending)
            entry["after"] = pending[-1]["keys"][-1]
            pending.clear()
        store.put_json(RESCORE_CURSOR_KEY, {"alphabets": state})

    for alphabet in sorted(alphabets()):
        part = model_part(model, alphabet)
        entry = state.get(alphabet)
        if not isinstance(entry, dict) or entry.get("part") != part:
            entry = state[alphabet] = {"part": part, "after": "", "done": False}
        if entry.get("done"):
            continue
        folder = f"{DRAWINGS_PREFIX}{alphabet}/"
        keys: list[str] = []
        for key in store.list_keys(folder, start_after=entry["after"] or ""):
            if not key.endswith(".png"):
                continue
            keys.append(key)
            if len(keys) == batch:
                pending.append(_message(model, alphabet, part, keys))
                keys = []
                if len(pending) == messages_per_send:
                    flush(entry)
                    if should_stop and should_stop():
                        return {**totals, "done": False}
        if keys:
            pending.append(_message(model, alphabet, part, keys))
        entry["done"] = True
        flush(entry)
    return {**totals, "done": True}


def _message(model: Any, alphabet: str, part: str | None, keys: list[str]) -> dict[str, Any]:
    version = model.version if model is not None else None
    return {"version": version, "alphabet": alphabet, "part": part, "keys": list(keys)}


def rescore_batch(
    store: Storage, message: dict[str, Any], *, workers: int = RESCORE_THREADS
) -> dict[str, int]:
    """Re-tag the drawings of one :func:`enqueue_rescore` message; return counts per status.

    A message for a part of the model no longer in force is skipped (``stale``): the newer
    part's own rescore covers its drawings. Keys that are not drawing PNG keys of the message's
    alphabet are ``ignored``. Human verdicts live apart from the tags (:func:`verdict_of`) and
    are never touched.
    """
    model = model_in_force(store)
    alphabet = message.get("alphabet")
    keys = [key for key in message.get("keys", []) if isinstance(key, str)]
    if not isinstance(alphabet, str) or message.get("part") != model_part(model, alphabet):
        return {"stale": len(keys)}
    counts: dict[str, int] = {}
    lock = threading.Lock()

    now = utc_now()

    def one(key: str) -> None:
        try:
            ref = parse_drawing_key(key)
            if ref.alphabet != alphabet:
                raise ValueError(key)
            status = tag_drawing(store, key, model)["status"]
            # A drawing the new model flags, or no longer flags, leaves or joins the goal's count.
            count_drawing(store, ref, now)
        except ValueError:
            status = "ignored"
        except NotFound:
            status = "missing"
        with lock:
            counts[status] = counts.get(status, 0) + 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, keys))
    return counts


def rescore(
    store: Storage,
    *,
    workers: int = 4,
    resume: bool = True,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Re-tag the drawings the model in force has not rescored, in this process; return counts.

    The same work as the cloud's queue, through the same functions: :func:`enqueue_rescore`
    hands each batch straight to :func:`rescore_batch`. With ``resume`` (the default) a second
    run for the same model does nothing; without it, every drawing is rescored again.
    """
    counts: dict[str, int] = {}

    def send(messages: list[dict[str, Any]]) -> None:
        for message in messages:
            for status, n in rescore_batch(store, message, workers=workers).items():
                counts[status] = counts.get(status, 0) + n
                if progress:
                    progress(n)

    enqueue_rescore(store, send, restart=not resume, should_stop=should_stop)
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
    count_drawing(store, ref, utc_now())
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
            count_drawing(store, ref, utc_now())
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
