"""A dependency-free progress report for long commands, written to standard error.

On a terminal it is a bar redrawn in place (carriage returns) at most ten times a second. Into a
log file or CI output, where redraws would pile up on one line, it writes whole lines instead:
one when at least a tenth of the work *and* at least 30 seconds have passed since the last line
(whichever comes later), and one at the end, so a long command logs a dozen lines at most.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_SECONDS = 0.1
LOG_SECONDS = 30.0
LOG_FRACTION = 0.1


class Progress:
    """Counts ``unit`` done out of ``total`` (``None`` if unknown) and reports it on ``stream``.

    ``interactive`` says whether to redraw a bar in place; by default, whether the stream is a
    terminal. ``clock`` returns seconds (``time.monotonic``; tests pass their own).
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        stream: TextIO | None = None,
        unit: str = "",
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self.done = 0
        self.stream = stream or sys.stderr
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.clock = clock
        self.started = clock()
        self._reported_at = self.started if not interactive else float("-inf")
        self._reported_done = 0

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = self.clock()
        if self.interactive:
            finished = self.total is not None and self.done >= self.total
            if now - self._reported_at >= REDRAW_SECONDS or finished:
                self._reported_at = now
                self._redraw(now)
        elif self.total and self.done >= self.total:
            pass  # the closing line says it
        elif now - self._reported_at >= LOG_SECONDS and (
            not self.total or self.done - self._reported_done >= LOG_FRACTION * self.total
        ):
            self._log_line(now)

    def _counted(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.done}/{self.total}{unit}" if self.total else f"{self.done}{unit}"

    def _rate(self, now: float) -> str:
        return f"{self.done / max(now - self.started, 1e-9):.0f}/s"

    def _redraw(self, now: float) -> None:
        if self.total:
            filled = min(30, int(30 * self.done / self.total))
            bar = "#" * filled + "-" * (30 - filled)
            line = f"\r{self.label} [{bar}] {self._counted()} ({self._rate(now)})"
        else:
            line = f"\r{self.label} {self._counted()} ({self._rate(now)})"
        self.stream.write(line)
        self.stream.flush()

    def _log_line(self, now: float, final: bool = False) -> None:
        share = f", {100 * self.done / self.total:.0f} %" if self.total else ""
        when = f"done in {now - self.started:.0f} s" if final else f"{now - self.started:.0f} s"
        if self.total is None and self.done == 0:  # a step that counts nothing: its time only
            self.stream.write(f"{self.label}: {when}\n")
        else:
            counted = f"{self._counted()}{share} ({self._rate(now)}, {when})"
            self.stream.write(f"{self.label}: {counted}\n")
        self.stream.flush()
        self._reported_at = now
        self._reported_done = self.done

    def close(self) -> None:
        now = self.clock()
        if self.interactive:
            self._redraw(now)
            self.stream.write("\n")
            self.stream.flush()
        else:
            self._log_line(now, final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
