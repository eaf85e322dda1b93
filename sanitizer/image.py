"""Decoding stored drawings into ink maps, refusing what is not a sane drawing PNG."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image

SIZE = 278
MAX_PNG_BYTES = 4 * 1024 * 1024
MAX_SIDE = 4096


class InvalidDrawing(ValueError):
    """The object is not a decodable drawing; ``reason`` is a short tag value such as ``corrupt-png``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_ink(png: bytes, size: int = SIZE) -> np.ndarray:
    """Return the ink of a drawing PNG as a ``size`` x ``size`` float32 array in [0, 1].

    Ink is opacity times darkness: the collector's black-on-transparent PNGs and the 2017
    black-on-white images give the same map. The header is checked before any pixel is decoded,
    so a decompression bomb costs nothing. Raises :class:`InvalidDrawing`.
    """
    if not png or len(png) > MAX_PNG_BYTES:
        raise InvalidDrawing("too-large" if png else "empty")
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InvalidDrawing("not-png")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(png))
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width < 8 or height < 8:
                raise InvalidDrawing("bad-size")
            image.load()
    except InvalidDrawing:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidDrawing("decompression-bomb") from None
    except Exception:  # Pillow raises many types for broken files
        raise InvalidDrawing("corrupt-png") from None
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    darkness = 1.0 - (0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2])
    ink = rgba[..., 3] * darkness
    if (width, height) != (size, size):
        resized = Image.fromarray((ink * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
        ink = np.asarray(resized, dtype=np.float32) / 255.0
    return ink
