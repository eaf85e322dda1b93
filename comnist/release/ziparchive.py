"""A streaming writer of reproducible, uncompressed zip archives whose memory does not grow.

:mod:`zipfile` keeps a ``ZipInfo`` object per entry until the archive is closed, which for a
folder of 100,000 PNGs is tens of megabytes. This writer spools each entry's central-directory
record to a temporary file instead and appends it at the end. Entries are stored (PNGs are
already compressed) with a fixed timestamp (1980-01-01 00:00), UTF-8 names and ``rw-r--r--``
permissions; ZIP64 records are added when the entry count or an offset outgrows the classic
format, as ``zipfile`` and ``unzip`` expect.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zlib
from typing import BinaryIO

_DOS_TIME = 0
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_UTF8 = 0x0800
_MADE_BY = (3 << 8) | 45  # Unix, version 4.5
_NEEDED = 20
_NEEDED_ZIP64 = 45
_ATTRIBUTES = (0o100644 << 16) & 0xFFFFFFFF
_MAX32 = 0xFFFFFFFF
_MAX16 = 0xFFFF


class StoredZipWriter:
    """Appends stored entries to ``stream`` (which must start empty); call :meth:`close` once."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.offset = 0
        self.count = 0
        self.directory = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def add(self, name: str, data: bytes) -> None:
        """Append one file entry named ``name`` (``/``-separated) holding ``data``."""
        encoded = name.encode()
        crc = zlib.crc32(data)
        size = len(data)
        if size >= _MAX32:
            raise ValueError(f"{name} is too large for this writer")
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            _NEEDED,
            _UTF8,
            0,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            size,
            size,
            len(encoded),
            0,
        )
        self.stream.write(local + encoded)
        self.stream.write(data)
        extra = b""
        offset = self.offset
        if offset >= _MAX32:
            extra = struct.pack("<HHQ", 0x0001, 8, offset)
            offset = _MAX32
        central = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            _MADE_BY,
            _NEEDED_ZIP64 if extra else _NEEDED,
            _UTF8,
            0,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            size,
            size,
            len(encoded),
            len(extra),
            0,
            0,
            0,
            _ATTRIBUTES,
            offset,
        )
        self.directory.write(central + encoded + extra)
        self.offset += len(local) + len(encoded) + size
        self.count += 1

    def close(self) -> None:
        """Write the central directory and the end records."""
        start = self.offset
        size = self.directory.tell()
        self.directory.seek(0)
        shutil.copyfileobj(self.directory, self.stream, 1 << 20)
        self.directory.close()
        end = start + size
        if self.count >= _MAX16 or start >= _MAX32 or size >= _MAX32:
            self.stream.write(
                struct.pack(
                    "<IQHHIIQQQQ",
                    0x06064B50,
                    44,
                    _MADE_BY,
                    _NEEDED_ZIP64,
                    0,
                    0,
                    self.count,
                    self.count,
                    size,
                    start,
                )
            )
            self.stream.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        self.stream.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(self.count, _MAX16),
                min(self.count, _MAX16),
                min(size, _MAX32),
                min(start, _MAX32),
                0,
            )
        )
