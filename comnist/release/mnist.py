"""MNIST-style images and IDX files, without I/O beyond the file objects handed in.

The preprocessing follows MNIST's documented procedure: the ink is size-normalised to fit a
20x20 box with its aspect ratio kept, the reduction anti-aliasing it into grey levels, then
placed in a 28x28 field so that its centre of mass falls on the field's centre, pixel (14, 14).
The result is ``uint8`` with ink 255 on background 0.

IDX is the format MNIST ships in: a big-endian header of two zero bytes, a type byte (``0x08``,
unsigned byte), the number of dimensions, then each dimension as a big-endian 32-bit integer,
then the data in C order. Image files have magic 2051 (three dimensions), label files 2049 (one).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np
from PIL import Image

SIDE = 28
BOX = 20
CENTRE = 14.0
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08


def centre_of_mass(image: np.ndarray) -> tuple[float, float] | None:
    """The ``(row, column)`` centre of mass of a 2-D intensity array, or ``None`` if it is blank."""
    weights = image.astype(np.float64)
    total = weights.sum()
    if total <= 0:
        return None
    rows = np.arange(image.shape[0], dtype=np.float64)
    cols = np.arange(image.shape[1], dtype=np.float64)
    return float(weights.sum(axis=1) @ rows / total), float(weights.sum(axis=0) @ cols / total)


def _fit(ink: np.ndarray, box: int) -> np.ndarray:
    """Resize the cropped ``ink`` (float32) so its longer side is ``box`` pixels, keeping the aspect.

    Pillow's box filter averages every source pixel that falls in a target pixel: the area
    anti-aliasing that turns thin black strokes into MNIST's grey edges.
    """
    height, width = ink.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink).resize(size, Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32)


def _place(glyph: np.ndarray) -> np.ndarray | None:
    """Put ``glyph`` in a 28x28 field with its centre of mass on (14, 14), or ``None`` if it cannot fit."""
    com = centre_of_mass(glyph)
    assert com is not None
    top = round(CENTRE - com[0])
    left = round(CENTRE - com[1])
    height, width = glyph.shape
    if top < 0 or left < 0 or top + height > SIDE or left + width > SIDE:
        return None
    field = np.zeros((SIDE, SIDE), dtype=np.float32)
    field[top : top + height, left : left + width] = glyph
    return field


def mnist_image(ink: np.ndarray) -> np.ndarray:
    """Turn an ink map (any size, 0 = no ink, 255 = full ink) into a 28x28 MNIST-style ``uint8`` image.

    The ink's bounding box is size-normalised into a 20x20 box (aspect ratio kept, anti-aliased)
    and translated by whole pixels so its centre of mass lies within half a pixel of (14, 14) on
    each axis. A lopsided glyph whose centred 20-pixel box would cross the field's edge (rare:
    MNIST's 4-pixel margin is there for this shift) is reduced one pixel at a time until it fits,
    so the centring always holds and no ink is cut. A blank image stays blank.
    """
    mask = ink > 0
    if not mask.any():
        return np.zeros((SIDE, SIDE), dtype=np.uint8)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    for box in range(BOX, 0, -1):
        glyph = _fit(crop, box)
        if glyph.max() <= 0:
            continue
        field = _place(glyph)
        if field is not None:
            return np.clip(np.rint(field), 0, 255).astype(np.uint8)
    return np.zeros((SIDE, SIDE), dtype=np.uint8)  # unreachable: a 1-pixel glyph always fits


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """Ink (0-255 ``float32``) of an ``(h, w, 4)`` RGBA array: opacity times darkness.

    Black on transparent (the collector's PNGs) and black on white (opaque) give the same ink.
    """
    pixels = rgba.astype(np.float32)
    luminance = (299 * pixels[..., 0] + 587 * pixels[..., 1] + 114 * pixels[..., 2]) / 1000
    return pixels[..., 3] * (255.0 - luminance) / 255.0


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header of unsigned-byte data of ``shape`` (magic 2049 for 1-D, 2051 for 3-D)."""
    magic = (_UBYTE << 8) | len(shape)
    return struct.pack(f">I{len(shape)}I", magic, *shape)


class IdxWriter:
    """Writes one IDX file of ``count`` items of ``item_shape`` unsigned bytes, item by item.

    The count is written first, so it must be known in advance; :meth:`close` raises
    ``ValueError`` if a different number of items was written.
    """

    def __init__(self, stream: BinaryIO, count: int, item_shape: tuple[int, ...] = ()) -> None:
        self.stream = stream
        self.count = count
        self.item_shape = item_shape
        self.item_size = int(np.prod(item_shape, dtype=np.int64)) if item_shape else 1
        self.written = 0
        stream.write(idx_header((count, *item_shape)))

    def write(self, item: np.ndarray | int) -> None:
        """Append one item: an array of ``item_shape`` or, for labels, an integer 0-255."""
        data = np.asarray(item, dtype=np.uint8)
        if data.shape != self.item_shape:
            raise ValueError(f"expected an item of shape {self.item_shape}, got {data.shape}")
        if self.written >= self.count:
            raise ValueError(f"more than the announced {self.count} items")
        self.stream.write(data.tobytes())
        self.written += 1

    def close(self) -> None:
        if self.written != self.count:
            raise ValueError(f"announced {self.count} items but wrote {self.written}")


def read_idx_header(stream: BinaryIO) -> tuple[int, ...]:
    """Read an IDX header of unsigned bytes (magic, big-endian dimensions); return the shape.

    The stream is left at the first data byte.
    """
    head = stream.read(4)
    if len(head) != 4 or head[0] != 0 or head[1] != 0:
        raise ValueError("not an IDX file")
    if head[2] != _UBYTE:
        raise ValueError(f"unsupported IDX data type 0x{head[2]:02x}")
    ndim = head[3]
    return struct.unpack(f">{ndim}I", stream.read(4 * ndim))


def read_idx(stream: BinaryIO) -> np.ndarray:
    """Read a whole IDX file of unsigned bytes (the format's spec: magic, big-endian dimensions)."""
    shape = read_idx_header(stream)
    data = np.frombuffer(stream.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape, dtype=np.int64)):
        raise ValueError(f"IDX data holds {data.size} bytes, the header announces {shape}")
    return data.reshape(shape)
