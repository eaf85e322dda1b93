"""The alphabets CoMNIST collects, read from ``alphabets.json``.

Adding an alphabet (Ukrainian, Kazakh, ...) is an edit of that file: an id made of lower-case
ASCII letters, a display name and the string of its capital letters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_CONFIG = Path(__file__).with_name("alphabets.json")
_ALPHABET_ID = re.compile(r"^[a-z]{2,20}$")


@dataclass(frozen=True)
class Alphabet:
    """One alphabet: its id (``"cyrillic"``), display name and ordered capital letters."""

    id: str
    name: str
    letters: tuple[str, ...]
    locales: tuple[str, ...] = ()

    def __contains__(self, letter: object) -> bool:
        return letter in self.letters


@cache
def alphabets() -> dict[str, Alphabet]:
    """Return every configured alphabet keyed by id, validated once per process."""
    raw = json.loads(_CONFIG.read_text(encoding="utf-8"))
    result: dict[str, Alphabet] = {}
    for alphabet_id, spec in raw.items():
        if not _ALPHABET_ID.match(alphabet_id):
            raise ValueError(f"alphabet id {alphabet_id!r} must be 2-20 lower-case ASCII letters")
        letters = tuple(spec["letters"])
        if len(set(letters)) != len(letters) or not all(ch.isalpha() for ch in letters):
            raise ValueError(f"alphabet {alphabet_id!r} must list distinct letters")
        result[alphabet_id] = Alphabet(
            alphabet_id, spec["name"], letters, tuple(spec.get("locales", ()))
        )
    return result


def code_point(letter: str) -> str:
    """Return the Unicode code point label of one letter, e.g. ``"U+0416"`` for ``"Ж"``.

    Object keys use this label rather than the letter so that a key never holds a client string.
    """
    if len(letter) != 1:
        raise ValueError("expected exactly one character")
    return f"U+{ord(letter):04X}"


def letter_from_code_point(label: str) -> str:
    """Invert :func:`code_point`: ``"U+0416"`` -> ``"Ж"``."""
    if not re.fullmatch(r"U\+[0-9A-F]{4,6}", label):
        raise ValueError(f"not a code point label: {label!r}")
    return chr(int(label[2:], 16))


def find_letter(alphabet_id: str, letter: str) -> Alphabet:
    """Return the alphabet if ``letter`` belongs to it, else raise ``KeyError`` saying which part is wrong."""
    alphabet = alphabets().get(alphabet_id)
    if alphabet is None:
        # A prefix only: the whole value could be as long as the request.
        shown = alphabet_id[:40] + ("..." if len(alphabet_id) > 40 else "")
        raise KeyError(f"unknown alphabet {shown!r}; known: {', '.join(sorted(alphabets()))}")
    if letter not in alphabet:
        raise KeyError(f"letter is not a capital of the {alphabet_id} alphabet")
    return alphabet
