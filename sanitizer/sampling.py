"""The bounded, reproducible sample of a collection that a refit learns from.

A refit that decodes every stored drawing grows with the collection: 138 s and 400 MB at
100,000 drawings, past Lambda's limits at a few million. Models of a letter gain little from
its ten-thousandth drawing, so a refit learns from at most ``per_letter`` drawings of each
letter (plus every drawing the maintainer has judged).

Which ones is decided by the ids alone: a letter's sample is the ``per_letter`` drawings whose
ids come first after a fixed *start* id, in the circular order of ids (:func:`sample_rank`).
Drawing ids are random UUIDs (the site's ``crypto.randomUUID()``, the importer's hashes), so:

- the sample is a uniform random sample of the letter's drawings, whatever their upload order;
- the same collection and start always give the same sample (refits are reproducible);
- a drawing, once in the sample, leaves it only for a drawing of lower rank, so a growing
  collection changes the sample slowly and evenly across time;
- a store lists keys in id order from any point (S3's ``StartAfter``), so choosing a letter's
  sample lists about ``per_letter`` keys, not the letter's whole folder: the refit's time and
  memory stay flat however large the collection grows;
- the start is each collection's own random id, kept privately with its models: someone who
  chooses the ids they send cannot aim their drawings at the sample without knowing it.
"""

from __future__ import annotations

import heapq
import math
import uuid
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .features import picture_descriptors
from .model import Sample

# Drawings per letter a refit learns from. The letter classifier's training set is capped at
# about 100,000 rows of which distorted copies fill most (sanitizer.model.TARGET_ROWS), and
# a Gaussian of 21 features is well estimated from a thousand drawings.
PER_LETTER = 1000
_ID_SPACE = 1 << 128


def sample_rank(drawing_id: str, start: str) -> int:
    """How far ``drawing_id`` follows ``start`` in the circular order of ids; lowest first.

    Both are UUIDs. The order is the one a store lists keys in after ``start`` and then from
    the beginning: ``start`` itself comes last.
    """
    return (uuid.UUID(drawing_id).int - uuid.UUID(start).int - 1) % _ID_SPACE


def bounded_sample(
    items: Iterable[tuple[Hashable, str]], start: str, per_letter: int = PER_LETTER
) -> set[str]:
    """The ids of the ``per_letter`` lowest-ranked drawings of each group, from one pass.

    ``items`` are ``(group, drawing_id)`` pairs of distinct ids in any order, a group being typically
    ``(alphabet, letter)``; ranks are :func:`sample_rank` from ``start``. Only ``per_letter``
    ids per group are held at a time (a max-heap per group). A store gives the same sample
    while listing only about ``per_letter`` keys a letter (``chalicelib.sanitizing``).
    """
    if per_letter < 1:
        raise ValueError("per_letter must be at least 1")
    heaps: dict[Hashable, list[tuple[int, str]]] = {}
    for group, drawing_id in items:
        heap = heaps.setdefault(group, [])
        entry = (-sample_rank(drawing_id, start), drawing_id)
        if len(heap) < per_letter:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    return {drawing_id for heap in heaps.values() for _, drawing_id in heap}


# What one session may teach a refit. A participant of the site draws each letter a few times
# in a session; a flood of one session draws it hundreds of times. No session keeps more than
# SESSION_CAP drawings of a letter in its sample, or SESSION_SHARE of the letter's sample when
# that is larger.
SESSION_CAP = 5
SESSION_SHARE = 0.02
# A session whose sampled drawings (at least FLAGGED_SESSION_MIN of them) the sanitizer flagged
# more often than not leaves the sample whole: its drawings the checks let through are the
# same hand's.
FLAGGED_SESSION_SHARE = 0.5
FLAGGED_SESSION_MIN = 5
# Near-identical drawings claimed as many letters: a mark or a doodle sent under every letter.
# Drawings are near-identical when their direction histograms (sanitizer.features), projected
# on NEAR_DIMENSIONS fixed random directions, lie within NEAR_DISTANCE of each other. A drawing
# whose near-identical drawings are claimed as MANY_LETTERS letters or more (its own included)
# leaves the sample, unless its own letter is claimed there by at least MIN_SUPPORT sessions
# and by DOMINANCE times as many sessions as any other letter: a genuine O among circles sent
# as every letter is drawn as an O by many participants, each other letter by the flood alone.
# Measured on the 4,470 real 2017 Cyrillic drawings (pseudo-writers as sessions) with 300
# lines and 300 circles of one session claimed as every letter: at distance 4.0 the rule takes
# 0.3 % of the genuine drawings (13) and 88 % of the lines, 98 % of the circles out of the
# sample; at 3.5, 0.1 %, 73 % and 97 %; at 3.0, 0.1 %, 39 % and 79 %. A larger flood is
# denser, so more of it is caught.
NEAR_DIMENSIONS = 48
NEAR_DISTANCE = 4.0
MANY_LETTERS = 4
MIN_SUPPORT = 3
DOMINANCE = 1.5
FLAGGED_STATUSES = frozenset({"suspicious", "invalid"})
# What left the sample as a mark (sanitizer.limits) or as claimed-as-many is junk for certain,
# and the letter classifiers learn it as not-a-letter: leaving the sample keeps a dash from
# teaching the letters that it is one of them, but only learning it teaches them that it is
# none. Each session gives at most JUNK_PER_SESSION of it, its lowest ids first, so that no
# session can teach that a letter's shape is not a letter by sending it under other letters.
JUNK_PER_SESSION = SESSION_CAP


@dataclass(frozen=True)
class Origin:
    """Where a sampled drawing came from: its session (``None`` if unknown, as for the 2017
    drawings), whether the sanitizer's tags flag it, and whether they name a mark
    (:data:`sanitizer.limits.MARK_REASONS`)."""

    session: str | None
    flagged: bool = False
    marked: bool = False


@dataclass
class Screening:
    """The samples a refit may learn from, how many left the sample for each reason, and the
    junk it learns as not-a-letter (:data:`JUNK_PER_SESSION`)."""

    kept: list[Sample]
    left: dict[str, int] = field(default_factory=dict)
    junk: list[Sample] = field(default_factory=list)


def screen(
    samples: Sequence[Sample],
    origins: Mapping[str, Origin],
    descriptors: np.ndarray | None = None,
) -> Screening:
    """The samples no single session can poison, from a refit's sample and the drawings' origins.

    Drawings the maintainer judged always stay (their verdicts decide). Of the others, in turn:
    marks leave (``mark``: tagged with a reason of :data:`sanitizer.limits.MARK_REASONS`); the
    drawings of mostly flagged sessions leave (``flagged-session``); near-identical drawings
    claimed as many letters leave (``claimed-as-many``, :func:`claimed_as_many`); and each
    session keeps at most its share of each letter (``session-share``), its drawings of lowest
    id first. Marks and drawings claimed as many letters are also the screening's ``junk``, at
    most :data:`JUNK_PER_SESSION` of each session. ``descriptors`` are the samples'
    :func:`sanitizer.features.picture_descriptors` when the caller has them. A drawing of
    unknown session is its own session.
    """
    samples = list(samples)
    session = [_session_of(s, origins) for s in samples]
    judged = np.array([s.verdict in ("ok", "rejected") for s in samples], dtype=bool)
    origin = [origins.get(s.id, Origin(None)) for s in samples]
    left: dict[str, int] = {}

    marked = np.array([o.marked for o in origin], dtype=bool) & ~judged
    keep = ~marked
    left["mark"] = int(marked.sum())

    flagged_sessions = mostly_flagged_sessions(
        (session[i], o.flagged) for i, o in enumerate(origin)
    )
    in_flagged = np.array([sess in flagged_sessions for sess in session], dtype=bool)
    left["flagged-session"] = int((keep & ~judged & in_flagged).sum())
    keep &= judged | ~in_flagged

    many = claimed_as_many(samples, session, descriptors) & ~judged
    left["claimed-as-many"] = int((many & keep).sum())
    keep &= ~many

    by_letter: dict[tuple[str, str], list[int]] = {}
    for i in np.flatnonzero(keep & ~judged):
        by_letter.setdefault((samples[i].alphabet, samples[i].letter), []).append(int(i))
    capped = 0
    for members in by_letter.values():
        cap = max(SESSION_CAP, math.floor(SESSION_SHARE * len(members)))
        within = set(_within_session_cap(members, samples, session, cap))
        for i in members:
            if i not in within:
                keep[i] = False
                capped += 1
    left["session-share"] = capped
    junk = _within_session_cap(np.flatnonzero(marked | many), samples, session, JUNK_PER_SESSION)
    return Screening(
        [s for s, k in zip(samples, keep, strict=True) if k], left, [samples[i] for i in junk]
    )


def _within_session_cap(
    indices: Iterable[int], samples: Sequence[Sample], session: Sequence[str], cap: int
) -> list[int]:
    """Of ``indices`` into ``samples``, each session's ``cap`` of lowest drawing id, in id order."""
    taken: dict[str, int] = {}
    kept = []
    for i in sorted(indices, key=lambda i: samples[i].id):
        taken[session[i]] = taken.get(session[i], 0) + 1
        if taken[session[i]] <= cap:
            kept.append(int(i))
    return kept


def _session_of(sample: Sample, origins: Mapping[str, Origin]) -> str:
    origin = origins.get(sample.id)
    return f"session:{origin.session}" if origin and origin.session else f"drawing:{sample.id}"


def mostly_flagged_sessions(drawings: Iterable[tuple[str, bool]]) -> set[str]:
    """Sessions with at least :data:`FLAGGED_SESSION_MIN` drawings, more than
    :data:`FLAGGED_SESSION_SHARE` of them flagged, from ``(session, flagged)`` pairs."""
    counts: dict[str, list[int]] = {}
    for session, flagged in drawings:
        tally = counts.setdefault(session, [0, 0])
        tally[0] += 1
        tally[1] += bool(flagged)
    return {
        session
        for session, (total, flagged) in counts.items()
        if total >= FLAGGED_SESSION_MIN and flagged > FLAGGED_SESSION_SHARE * total
    }


def near_identity_keys(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors projected on :data:`NEAR_DIMENSIONS` fixed random directions (float32).

    A Gaussian projection keeps distances within a few per cent (Johnson and Lindenstrauss)
    while the pairwise search costs an eighth of the full descriptors'.
    """
    rng = np.random.default_rng(1984)
    projection = rng.normal(
        0, 1 / math.sqrt(NEAR_DIMENSIONS), (descriptors.shape[1], NEAR_DIMENSIONS)
    )
    return (np.asarray(descriptors, dtype=np.float64) @ projection).astype(np.float32)


def claimed_as_many(
    samples: Sequence[Sample],
    sessions: Sequence[str],
    descriptors: np.ndarray | None = None,
    chunk: int = 1024,
) -> np.ndarray:
    """Which samples are near-identical to drawings claimed as many letters (see
    :data:`MANY_LETTERS`), and not their own letter's by a clear majority of sessions.

    Compared within each alphabet, ``chunk`` rows of pairwise distances at a time.
    """
    out = np.zeros(len(samples), dtype=bool)
    if not len(samples):
        return out
    if descriptors is None:
        descriptors = picture_descriptors(np.stack([s.picture for s in samples]))
    keys = near_identity_keys(descriptors)
    session_code = {name: i for i, name in enumerate(sorted(set(sessions)))}
    session_of = np.array([session_code[name] for name in sessions], dtype=np.int64)
    for alphabet in sorted({s.alphabet for s in samples}):
        members = np.flatnonzero([s.alphabet == alphabet for s in samples])
        letters = sorted({samples[i].letter for i in members})
        if len(letters) < MANY_LETTERS:
            continue
        letter_of = np.array([letters.index(samples[i].letter) for i in members], dtype=np.int64)
        onehot = np.eye(len(letters), dtype=np.float32)[letter_of]
        points = keys[members]
        squares = (points.astype(np.float64) ** 2).sum(axis=1)
        for start in range(0, len(members), chunk):
            rows = slice(start, start + chunk)
            distance2 = squares[rows, None] + squares[None, :] - 2.0 * (points[rows] @ points.T)
            near = distance2 < NEAR_DISTANCE**2
            letters_near = ((near.astype(np.float32) @ onehot) > 0).sum(axis=1)
            for r in np.flatnonzero(letters_near >= MANY_LETTERS):
                row = start + int(r)
                neighbours = np.flatnonzero(near[r])
                pairs = np.unique(
                    letter_of[neighbours] * len(session_code) + session_of[neighbours]
                )
                support = np.bincount(pairs // len(session_code), minlength=len(letters))
                own = support[letter_of[row]]
                others = np.delete(support, letter_of[row]).max()
                out[members[row]] = own < max(MIN_SUPPORT, DOMINANCE * others)
    return out
