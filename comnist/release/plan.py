"""What an export is asked to build (:class:`ExportOptions`) and what its first pass found (:class:`Plan`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .reference import DEFAULT_REFERENCE
from .split import SPLITS

FORMATS = ("comnist", "mnist", "parquet", "strokes")
__all__ = ["FORMATS", "SPLITS", "ExportOptions", "Plan"]


@dataclass(frozen=True)
class ExportOptions:
    """What to build: formats, which drawings go in, the seed, the release's name, the parallelism.

    ``version`` names the release (``CITATION.cff``, the datasheet's title); empty means the date
    of the latest drawing. ``released`` is the day of publication (``YYYY-MM-DD``), if known. ``reference`` is the reference CNN's figures file the datasheet
    renders (``None``: none).
    """

    formats: tuple[str, ...] = FORMATS
    include_suspicious: bool = False
    include_unscored: bool = False
    seed: int = 0
    version: str = ""
    released: str = ""
    workers: int = 8
    window: int = 64
    reference: Path | None = DEFAULT_REFERENCE


@dataclass
class Plan:
    """What pass one found: counts per alphabet, letter and split, statuses, exclusions and more.

    ``statuses`` counts every listed drawing by ``(status, "released" | "left out")``;
    ``excluded`` counts the left-out ones by reason. ``baselines`` holds the reference
    accuracies per alphabet once the export computed them.
    """

    counts: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    excluded: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    sessions: int = 0
    pseudo_sessions: int = 0
    with_strokes: Counter[str] = field(default_factory=Counter)
    same_image: Counter[str] = field(default_factory=Counter)  # per alphabet
    latest: str = ""
    earliest: str = ""
    writers: dict[str, int] = field(default_factory=dict)  # sessions and pseudo-sessions
    filled: Counter[str] = field(default_factory=Counter)  # rows with a value, per column
    split_fingerprint: str = ""
    shard_bytes: dict[tuple[str, str], int] = field(default_factory=dict)  # parquet, per split
    reference: dict[str, Any] | None = None  # the reference CNN's figures file
    version: str = ""
    released: str = ""
    fingerprint: str = ""
    baselines: dict[str, Any] = field(default_factory=dict)

    def total(self, alphabet: str, split: str | None = None) -> int:
        """Drawings of ``alphabet`` in the release, in ``split`` or in all."""
        letters = self.counts.get(alphabet, {})
        return sum(n for per in letters.values() for s, n in per.items() if split in (None, s))

    @property
    def alphabets(self) -> list[str]:
        """The ids of the alphabets this release holds drawings of, sorted."""
        return sorted(a for a in self.counts if self.total(a))
