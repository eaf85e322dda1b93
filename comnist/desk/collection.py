"""The collection at a glance: what the report shows, gathered from listings and small objects.

What is read, and why it stays cheap at 100,000 drawings:

* drawings per letter and their ids: one listing of ``drawings/`` (a request per 1,000 keys on S3);
* the counters ``stats/letters/...`` beside them (one small object per letter);
* suspicious drawings by reason: one listing of the review queue ``flagged/``, whose keys carry
  the reasons (:mod:`chalicelib.flagged`);
* verdicts: a listing of ``verdicts/`` and one small object per judged drawing (as many as the
  maintainer has judged by hand);
* day, country, age group and session: each drawing's record, read **once** and kept in a local
  cache file (:class:`FactsCache`), because records never change after they are written. Later
  runs read only the records of drawings that arrived since.

Never read: PNGs, and per-drawing tags (a GetObjectTagging request per drawing on S3). The price:
a drawing's status comes from the queue and the verdicts, so drawings the sanitizer has not
tagged yet (``pending``) or could not judge (``unscored``) count as not flagged; and the first
report of a large bucket reads every record once (about 100,000 GETs at 100,000 drawings).
Sessions are kept and shown only as a short hash, never beside a name or an e-mail.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import flagged
from chalicelib.alphabets import alphabets
from chalicelib.keys import DRAWINGS_PREFIX, VERDICTS_PREFIX, DrawingRef, parse_drawing_key
from chalicelib.keys import parse_verdict_key as _parse_verdict_key
from chalicelib.stats import letter_counts
from chalicelib.storage import NotFound, Storage

READERS = 16
CACHE_FORMAT = "comnist-report-facts/1"
UNKNOWN = "unknown"

Letter = tuple[str, str]  # (alphabet id, letter)


def session_label(session: Any) -> str:
    """A session as the report shows it: 10 hex digits of its SHA-256, not the session itself."""
    if not isinstance(session, str) or not session:
        return UNKNOWN
    return hashlib.sha256(session.encode()).hexdigest()[:10]


def facts_of_record(record: Any) -> list[str]:
    """``[day, country, age group, session label]`` of a drawing's record (``unknown`` if absent)."""
    record = record if isinstance(record, dict) else {}
    created = record.get("created")
    day = created[:10] if isinstance(created, str) and len(created) >= 10 else UNKNOWN
    country = record.get("country")
    country = country if isinstance(country, str) and len(country) == 2 else UNKNOWN
    age = record.get("age_group")
    age = age if age in ("child", "adult") else UNKNOWN
    return [day, country, age, session_label(record.get("session"))]


def default_cache_path(store: Storage) -> Path:
    """A cache file per store under ``$XDG_CACHE_HOME/comnist`` (default ``~/.cache/comnist``)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "comnist"
    digest = hashlib.sha256(store.name.encode()).hexdigest()[:16]
    return root / f"report-facts-{digest}.json"


class FactsCache:
    """Each drawing's record facts by id, kept in a JSON file between reports."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.facts: dict[str, list[str]] = {}
        if path is not None:
            with suppress(OSError, ValueError, AttributeError):
                document = json.loads(path.read_text(encoding="utf-8"))
                if document.get("format") == CACHE_FORMAT:
                    self.facts = dict(document["facts"])

    def save(self, keep: set[str]) -> None:
        """Write the facts of the ``keep`` ids (drawings since removed are dropped), atomically."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        facts = {i: f for i, f in self.facts.items() if i in keep}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"format": CACHE_FORMAT, "facts": facts}, handle, separators=(",", ":"))
        os.replace(tmp, self.path)


@dataclass
class Collection:
    """Everything the report shows, already counted."""

    letters: list[Letter]
    goal: int
    drawings: Counter = field(default_factory=Counter)  # (alphabet, letter) -> stored drawings
    counted: dict[Letter, int] = field(default_factory=dict)  # the counters GET /stats reads
    per_day: Counter = field(default_factory=Counter)
    suspicious: dict[Letter, Counter] = field(default_factory=dict)  # main reason -> drawings
    judged: dict[Letter, Counter] = field(default_factory=dict)  # verdict -> drawings
    countries: Counter = field(default_factory=Counter)
    age_groups: Counter = field(default_factory=Counter)
    sessions: Counter = field(default_factory=Counter)
    records_read: int = 0

    @property
    def total(self) -> int:
        return sum(self.drawings.values())


def main_reason(reasons: tuple[str, ...]) -> str:
    """The reason a suspicious drawing is counted under: its first, without the letter named."""
    return reasons[0].partition(":")[0] if reasons else "unexplained"


def _read_facts(store: Storage, ref: DrawingRef) -> list[str]:
    try:
        return facts_of_record(store.get_json(ref.record_key))
    except (NotFound, ValueError):
        return facts_of_record(None)


def gather(
    store: Storage,
    goal: int,
    cache: FactsCache,
    progress: Callable[[int], None] | None = None,
) -> Collection:
    """Count the collection from listings, counters, verdicts and (new) records; update ``cache``."""
    letters = [(a.id, letter) for a in alphabets().values() for letter in a.letters]
    result = Collection(letters, goal)
    refs: list[DrawingRef] = []
    for key in store.list_keys(DRAWINGS_PREFIX):
        with suppress(ValueError):
            refs.append(parse_drawing_key(key))
    missing = [ref for ref in refs if ref.id not in cache.facts]
    with ThreadPoolExecutor(READERS) as pool:
        for ref, facts in zip(
            missing, pool.map(lambda r: _read_facts(store, r), missing), strict=True
        ):
            cache.facts[ref.id] = facts
            if progress:
                progress(1)
    result.records_read = len(missing)
    for ref in refs:
        day, country, age, session = cache.facts[ref.id]
        result.drawings[(ref.alphabet, ref.letter)] += 1
        result.per_day[day] += 1
        result.countries[country] += 1
        result.age_groups[age] += 1
        result.sessions[session] += 1
    cache.save({ref.id for ref in refs})
    result.counted = {
        pair: int(counter.get("count", 0))
        for pair, counter in letter_counts(store, letters).items()
    }
    # Markers and verdicts of drawings no longer stored (erased on request) are not counted.
    stored = {ref.id for ref in refs}
    for marker in flagged.iter_markers(store):
        if marker.ref.id in stored:
            pair = (marker.ref.alphabet, marker.ref.letter)
            result.suspicious.setdefault(pair, Counter())[main_reason(marker.reasons)] += 1
    for ref, verdict in _verdicts(store):
        if ref.id in stored:
            result.judged.setdefault((ref.alphabet, ref.letter), Counter())[verdict] += 1
    return result


def _verdicts(store: Storage) -> list[tuple[DrawingRef, str]]:
    refs = []
    for key in store.list_keys(VERDICTS_PREFIX):
        with suppress(ValueError):
            refs.append((key, _parse_verdict_key(key)))

    def read(item: tuple[str, DrawingRef]) -> tuple[DrawingRef, str] | None:
        try:
            verdict = store.get_json(item[0]).get("verdict")
        except (NotFound, ValueError, AttributeError):
            return None
        return (item[1], verdict) if verdict in ("ok", "rejected") else None

    with ThreadPoolExecutor(READERS) as pool:
        return [row for row in pool.map(read, refs) if row is not None]


def summary(collection: Collection, top_sessions: int = 10) -> dict[str, Any]:
    """The report's numbers as plain JSON (also written beside the report)."""
    alphabet_names = {a.id: a.name for a in alphabets().values()}
    children = collection.age_groups.get("child", 0)
    told = children + collection.age_groups.get("adult", 0)
    return {
        "goal": collection.goal,
        "total": collection.total,
        "letters": [
            {
                "alphabet": alphabet,
                "alphabet_name": alphabet_names.get(alphabet, alphabet),
                "letter": letter,
                "drawings": collection.drawings.get((alphabet, letter), 0),
                "counted": collection.counted.get((alphabet, letter), 0),
                "suspicious": dict(collection.suspicious.get((alphabet, letter), {})),
                "judged": dict(collection.judged.get((alphabet, letter), {})),
            }
            for alphabet, letter in collection.letters
        ],
        "per_day": dict(sorted(collection.per_day.items())),
        "countries": dict(collection.countries.most_common()),
        "age_groups": dict(collection.age_groups),
        "child_share": children / told if told else None,
        "top_sessions": [
            [label, count]
            for label, count in collection.sessions.most_common(top_sessions + 1)
            if label != UNKNOWN
        ][:top_sessions],
        "records_read": collection.records_read,
    }
