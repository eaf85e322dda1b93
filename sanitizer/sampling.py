"""The bounded, reproducible sample of a collection that a refit learns from.

A refit that decodes every stored drawing grows with the collection: 138 s and 400 MB at
100,000 drawings, past Lambda's limits at a few million. Models of a letter gain little from
its ten-thousandth drawing, so a refit learns from at most ``per_letter`` drawings of each
letter (plus every drawing the maintainer has judged). Which ones is decided by a hash of the
drawing's id, not by chance or by upload order:

- the same collection always gives the same sample (refits are reproducible);
- a drawing, once in the sample, leaves it only for a drawing of lower rank, so a growing
  collection changes the sample slowly and evenly across time (a bottom-k sample by hash is a
  uniform random sample of the letter's drawings, whatever their order);
- choosing needs only the ids, which a store lists without reading any drawing.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")

# Drawings per letter a refit learns from. The letter classifier's training set is capped at
# about 100,000 rows of which distorted copies fill most (sanitizer.model.TARGET_ROWS), and
# a Gaussian of 21 features is well estimated from a thousand drawings.
PER_LETTER = 1000


def sample_rank(drawing_id: str) -> int:
    """A drawing's 64-bit rank in the sample: lower ranks are chosen first."""
    # Salted so that the sample does not line up with the cross-fitting folds (sanitizer.model).
    return int.from_bytes(hashlib.sha256(b"sample:" + drawing_id.encode()).digest()[:8], "big")


def bounded_sample(items: Iterable[tuple[Hashable, str]], per_letter: int = PER_LETTER) -> set[str]:
    """The ids of the ``per_letter`` lowest-ranked drawings of each group, from one pass.

    ``items`` are ``(group, drawing_id)`` pairs, a group being typically ``(alphabet, letter)``;
    see :func:`bounded_sample_of`.
    """
    return set(bounded_sample_of(((group, i, i) for group, i in items), per_letter))


def bounded_sample_of(
    items: Iterable[tuple[Hashable, str, T]], per_letter: int = PER_LETTER
) -> list[T]:
    """The values of the ``per_letter`` lowest-ranked drawings of each group, from one pass.

    ``items`` are ``(group, drawing_id, value)`` triples, read once, in any order; only
    ``per_letter`` of them per group are held at a time (a max-heap per group), so choosing from
    millions of listed keys takes little memory. The values (a key, a reference) come back
    without a second listing.
    """
    if per_letter < 1:
        raise ValueError("per_letter must be at least 1")
    heaps: dict[Hashable, list[tuple[int, str, int, T]]] = {}
    for order, (group, drawing_id, value) in enumerate(items):
        heap = heaps.setdefault(group, [])
        # The listing order breaks ties between repeated ids: values are never compared.
        entry = (-sample_rank(drawing_id), drawing_id, -order, value)
        if len(heap) < per_letter:
            heapq.heappush(heap, entry)
        elif entry[:3] > heap[0][:3]:
            heapq.heapreplace(heap, entry)
    return [entry[3] for heap in heaps.values() for entry in heap]
