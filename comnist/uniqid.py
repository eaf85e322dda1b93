"""Pseudo-writers for the 2017 images, from the time in their PHP ``uniqid()`` file names.

The 2017 site named each drawing with ``uniqid()``: 8 hex digits of Unix seconds, then 5 of
microseconds. It kept no session, but a participant draws letter after letter a few seconds
apart, so drawings whose times are within ``GAP_SECONDS`` of the previous one (in time order)
are taken as one writer. Two people drawing in the same minute may merge; one person pausing
longer than the gap splits in two. Both errors only make a writer-independent split stricter or
slightly leakier, never mix the dataset itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GAP_SECONDS = 60
_UNIQID = re.compile(r"^([0-9a-f]{8})[0-9a-f]{5}")


def uniqid_seconds(name: str) -> int | None:
    """The Unix time of a ``uniqid()`` file name such as ``58a1b2c3d4e5f.png``, or ``None``."""
    match = _UNIQID.match(name.lower())
    return int(match.group(1), 16) if match else None


def group_by_time(names: Iterable[str], gap: int = GAP_SECONDS) -> dict[str, str]:
    """Map each name to a pseudo-writer id (``t<first seconds>``); names without a time stand alone."""
    names = list(names)
    timed = sorted((t, name) for name in names if (t := uniqid_seconds(name)) is not None)
    groups: dict[str, str] = {}
    previous = None
    current = ""
    for seconds, name in timed:
        if previous is None or seconds - previous > gap:
            current = f"t{seconds}"
        groups[name] = current
        previous = seconds
    for name in names:
        groups.setdefault(name, f"n{name}")
    return groups
