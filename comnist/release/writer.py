"""The one interface every release format implements, and the drawing each of them is handed.

The exporter streams an alphabet's rows in ``metadata.csv`` order. For each row it asks every
open writer whether it :meth:`~FormatWriter.wants` it, loads the drawing once on a worker thread
(PNG decoded to ink, strokes read) and lets each interested writer :meth:`~FormatWriter.prepare`
it there (conversions, independent files); then, back on the main thread and in row order, it
hands each writer its prepared value with :meth:`~FormatWriter.add`. :meth:`~FormatWriter.close`
finishes the files and names them. A writer used as a context manager removes its unfinished
files if the export fails.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import numpy as np
from PIL import Image

from chalicelib.alphabets import Alphabet

from .files import atomic_file
from .mnist import mnist_image
from .records import Row

if TYPE_CHECKING:
    from .plan import Plan


def release_png(ink: np.ndarray) -> bytes:
    """The release PNG of an ink map (0-255): opaque 8-bit greyscale, black ink on white.

    Every loader shows such a file as it looks: ``convert("RGB")``, ``convert("L")`` and
    torchvision's default loader give dark ink on a light background.
    """
    grey = 255 - np.clip(np.rint(ink), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class Drawing:
    """One drawing loaded for the writers: its row, ink (0-255 ``float32``) and raw strokes."""

    row: Row
    ink: np.ndarray | None = None
    strokes: list[Any] | None = field(default=None)

    @cached_property
    def png(self) -> bytes:
        """The release PNG, encoded once however many writers ask."""
        assert self.ink is not None
        return release_png(self.ink)

    @cached_property
    def mnist(self) -> np.ndarray:
        """The 28x28 MNIST-style image, ink 255 on 0."""
        assert self.ink is not None
        return mnist_image(self.ink)


class FormatWriter:
    """Writes one release format of one alphabet; subclasses override what they need.

    ``part`` names the format (``--formats`` and resuming use it); ``needs_ink`` and
    ``needs_strokes`` say what the drawings handed to :meth:`prepare` must carry.
    """

    part: ClassVar[str]
    needs_ink: ClassVar[bool] = True
    needs_strokes: ClassVar[bool] = False

    def __init__(self, out: Path, alphabet: Alphabet, plan: Plan) -> None:
        self.out = out
        self.alphabet = alphabet
        self.plan = plan
        self.stack = contextlib.ExitStack()

    def open_file(self, relative: str) -> BinaryIO:
        """A release file written atomically: it appears under its name when the writer closes."""
        return self.stack.enter_context(atomic_file(self.out / relative))

    def wants(self, row: Row) -> bool:
        """Whether this writer takes ``row`` (main thread, in row order)."""
        return True

    def prepare(self, drawing: Drawing) -> Any:
        """Convert one drawing for :meth:`add`; runs on a worker thread."""
        return None

    def add(self, row: Row, prepared: Any) -> None:
        """Append one prepared drawing (main thread, in row order)."""

    def close(self) -> list[str]:
        """Finish every file and return their release paths."""
        self.stack.close()
        return []

    def __enter__(self) -> FormatWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stack.__exit__(*exc)
