"""Quick, Draw!'s format: ``strokes/<alphabet>-raw.ndjson`` and ``...-simplified.ndjson``.

Only drawings made on the site have strokes; images imported from the 2017 collection have none,
so an alphabet without any drawing that has strokes gets no stroke files (the datasheet says so).
"""

from __future__ import annotations

import json
from typing import Any, BinaryIO

from .records import Row
from .strokes import simplify
from .writer import Drawing, FormatWriter

KINDS = ("raw", "simplified")


def strokes_name(alphabet_id: str, kind: str) -> str:
    return f"strokes/{alphabet_id}-{kind}.ndjson"


class StrokesWriter(FormatWriter):
    """Writes one line per drawing with strokes to the raw and the simplified file."""

    part = "strokes"
    needs_ink = False
    needs_strokes = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.files: dict[str, BinaryIO] = {}
        if self.plan.with_strokes[self.alphabet.id]:
            self.files = {k: self.open_file(strokes_name(self.alphabet.id, k)) for k in KINDS}

    def wants(self, row: Row) -> bool:
        return row.has_strokes

    def prepare(self, drawing: Drawing) -> tuple[bytes, bytes]:
        row = drawing.row
        raw = drawing.strokes or []
        common = {
            "key_id": row.id,
            "word": row.letter,
            "alphabet": row.alphabet,
            "code_point": row.code_point,
            "label": row.label,
            "split": row.split,
            "session": row.session,
            "timestamp": row.created,
        }
        return tuple(  # type: ignore[return-value]
            json.dumps({**common, "drawing": strokes}, ensure_ascii=False).encode() + b"\n"
            for strokes in (raw, simplify(raw))
        )

    def add(self, row: Row, prepared: tuple[bytes, bytes]) -> None:
        for kind, line in zip(KINDS, prepared, strict=True):
            self.files[kind].write(line)

    def close(self) -> list[str]:
        super().close()
        return [strokes_name(self.alphabet.id, kind) for kind in self.files]
