"""Pages of the review queue: a letter's flagged drawings, worst first, a listing request a page.

A page is read from the queue's markers (:mod:`chalicelib.flagged`): one listing that starts
after the previous page's last marker, then the tags of the drawings on the page only, to drop
markers that a rescore or a verdict made elsewhere has overtaken. Its cost does not grow with
the number of flagged drawings on S3 (a listing request returns up to 1,000 keys); on a local
store a listing reads the letter's folder.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib import flagged
from chalicelib.alphabets import alphabets, code_point, letter_from_code_point
from chalicelib.storage import NotFound, Storage

PAGE_SIZE = 40
TAG_READERS = 16


@dataclass(frozen=True)
class Card:
    """One flagged drawing as the desk shows it."""

    marker: flagged.Marker
    tags: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        ref = self.marker.ref
        return {
            "id": ref.id,
            "key": ref.png_key,
            "alphabet": ref.alphabet,
            "letter": ref.letter,
            "code_point": ref.code_point,
            "status": self.tags.get("status"),
            "score": self.marker.score,
            "reasons": list(self.marker.reasons),
            "likeliest": likeliest_letter(ref.letter, self.marker.reasons, self.tags),
            "letter_p": self.tags.get("letter_p"),
        }


def likeliest_letter(claimed: str, reasons: Iterable[str], tags: dict[str, str]) -> str | None:
    """The letter the sanitizer thinks was drawn: named by ``wrong-letter``, else the claimed one.

    ``not-a-letter`` means its likeliest class is no letter at all. ``None`` when no letter
    check judged the drawing (blank, undecodable, or no classifier for its alphabet).
    """
    for reason in reasons:
        if reason.startswith("wrong-letter:"):
            try:
                return letter_from_code_point(reason.partition(":")[2])
            except ValueError:
                return None
        if reason == "not-a-letter":
            return "not-a-letter"
    return claimed if tags.get("letter_p") else None


def _tags(store: Storage, marker: flagged.Marker) -> dict[str, str] | None:
    try:
        return store.get_tags(marker.ref.png_key)
    except NotFound:
        return None


def _current(store: Storage, markers: list[flagged.Marker], pool: ThreadPoolExecutor) -> list[Card]:
    """The cards of ``markers`` that still match their drawings; stale markers are removed."""
    cards = []
    for marker, tags in zip(markers, pool.map(lambda m: _tags(store, m), markers), strict=True):
        if tags is not None and flagged.marker_matches(marker, tags):
            cards.append(Card(marker, tags))
        else:
            store.delete(marker.key)
    return cards


def review_page(
    store: Storage, alphabet: str, letter: str, after: str = "", size: int = PAGE_SIZE
) -> tuple[list[Card], str | None]:
    """Up to ``size`` cards of a letter after the marker key ``after``, and the next page's cursor.

    The cursor is ``None`` when the letter's queue ends with this page.
    """
    prefix = flagged.letter_prefix(alphabet, code_point(letter))
    if after and not after.startswith(prefix):
        raise ValueError("the cursor is not a marker of this letter")
    markers: Iterator[flagged.Marker] = flagged.iter_markers(store, prefix, after)
    cards: list[Card] = []
    last = after
    with ThreadPoolExecutor(TAG_READERS) as pool:
        while len(cards) < size:
            batch = list(itertools.islice(markers, size - len(cards)))
            if not batch:
                return cards, None
            last = batch[-1].key
            cards += _current(store, batch, pool)
    more = next(flagged.iter_markers(store, prefix, last), None)
    return cards, (last if more is not None else None)


def letters_in_queue(store: Storage) -> list[dict[str, str]]:
    """The configured letters with at least one flagged drawing: one short listing per letter."""
    letters = [(a.id, letter) for a in alphabets().values() for letter in a.letters]

    def has_markers(pair: tuple[str, str]) -> bool:
        prefix = flagged.letter_prefix(pair[0], code_point(pair[1]))
        return next(flagged.iter_markers(store, prefix), None) is not None

    with ThreadPoolExecutor(TAG_READERS) as pool:
        present = list(pool.map(has_markers, letters))
    return [
        {"alphabet": alphabet, "letter": letter, "code_point": code_point(letter)}
        for (alphabet, letter), queued in zip(letters, present, strict=True)
        if queued
    ]
