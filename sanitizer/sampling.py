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
import uuid
from collections.abc import Hashable, Iterable

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
