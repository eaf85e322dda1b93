"""The MNIST and EMNIST conventions: ``mnist/<alphabet>/`` with gzipped IDX files, ``mapping.txt`` and an npz.

Per alphabet and split (train, validation, test), as MNIST names its files: ``train-images-idx3-ubyte.gz``,
``train-labels-idx1-ubyte.gz``, ``test-images-idx3-ubyte.gz``, ``test-labels-idx1-ubyte.gz``;
``mapping.txt`` as EMNIST's (``label code-point`` in decimal, one line per letter); and
``<alphabet>.npz`` holding ``x_<split>`` and ``y_<split>`` for train, validation and test. Images are MNIST's:
28x28, white ink (255) on black (0). The item counts come from the plan, so the IDX headers are
written first and the images streamed after them.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from chalicelib.alphabets import Alphabet

from .files import atomic_file, gzip_writer
from .mnist import IdxWriter, read_idx_header
from .plan import SPLITS
from .records import Row
from .writer import Drawing, FormatWriter


def idx_names(alphabet_id: str, split: str) -> tuple[str, str]:
    """Release paths of the gzipped IDX image and label files of an alphabet and split."""
    return (
        f"mnist/{alphabet_id}/{split}-images-idx3-ubyte.gz",
        f"mnist/{alphabet_id}/{split}-labels-idx1-ubyte.gz",
    )


def mapping_name(alphabet_id: str) -> str:
    return f"mnist/{alphabet_id}/mapping.txt"


def npz_name(alphabet_id: str) -> str:
    return f"mnist/{alphabet_id}/{alphabet_id}.npz"


def mapping_text(alphabet: Alphabet) -> str:
    """EMNIST's mapping: ``label code-point`` (decimal) per letter, labels in alphabet order."""
    return "".join(f"{label} {ord(letter)}\n" for label, letter in enumerate(alphabet.letters))


def write_npz_from_idx(out: Path, alphabet_id: str) -> None:
    """Build the npz (``x_train``, ``y_train``, ``x_test``, ``y_test``) from the IDX files.

    Each array is streamed from its gzipped IDX file into its ``.npy`` member, so memory stays
    bounded whatever the size; the members are stored uncompressed like ``numpy.savez``, with
    fixed timestamps.
    """
    with (
        atomic_file(out / npz_name(alphabet_id)) as raw,
        zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive,
    ):
        for split in SPLITS:
            for prefix, name in zip(("x", "y"), idx_names(alphabet_id, split), strict=True):
                with gzip.open(out / name, "rb") as idx:
                    shape = read_idx_header(idx)
                    info = zipfile.ZipInfo(f"{prefix}_{split}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                    info.create_system = 3
                    info.external_attr = 0o644 << 16
                    with archive.open(info, "w", force_zip64=True) as member:
                        header = {"descr": "|u1", "fortran_order": False, "shape": shape}
                        np.lib.format.write_array_header_1_0(member, header)
                        shutil.copyfileobj(idx, member, 1 << 20)


class MnistWriter(FormatWriter):
    """Streams an alphabet's MNIST-style images and labels into its four IDX files."""

    part = "mnist"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.idx: dict[tuple[str, bool], IdxWriter] = {}
        for split in SPLITS:
            count = self.plan.total(self.alphabet.id, split)
            images, labels = idx_names(self.alphabet.id, split)
            for name, shape in ((images, (28, 28)), (labels, ())):
                stream = self.stack.enter_context(gzip_writer(self.open_file(name)))
                self.idx[(split, name == images)] = IdxWriter(stream, count, shape)

    def prepare(self, drawing: Drawing) -> np.ndarray:
        return drawing.mnist

    def add(self, row: Row, prepared: np.ndarray) -> None:
        self.idx[(row.split, True)].write(prepared)
        self.idx[(row.split, False)].write(row.label)

    def close(self) -> list[str]:
        for writer in self.idx.values():
            writer.close()
        super().close()
        alphabet_id = self.alphabet.id
        with atomic_file(self.out / mapping_name(alphabet_id)) as handle:
            handle.write(mapping_text(self.alphabet).encode())
        write_npz_from_idx(self.out, alphabet_id)
        idx = [name for split in SPLITS for name in idx_names(alphabet_id, split)]
        return [*idx, mapping_name(alphabet_id), npz_name(alphabet_id)]
