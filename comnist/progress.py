"""A dependency-free progress bar for long commands, drawn on standard error."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts work done out of ``total`` and redraws a one-line bar at most ten times a second."""

    def __init__(self, total: int | None, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._drawn = 0.0

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self._drawn >= 0.1 or (self.total is not None and self.done >= self.total):
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            filled = int(30 * self.done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            line = f"\r{self.label} [{bar}] {self.done}/{self.total} ({rate:.0f}/s)"
        else:
            line = f"\r{self.label} {self.done} ({rate:.0f}/s)"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
