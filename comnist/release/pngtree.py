"""The CoMNIST layout: ``Cyrillic/<LETTER>/<id>.png`` and the same folder as ``Cyrillic.zip``.

Each PNG is the drawing as an opaque 8-bit greyscale image, black ink on white, 278x278: the look
of the 2017 collection, which every image loader shows as drawn. The store keeps its RGBA masters.
The zip is stored (PNGs are compressed already), entries in byte order of their names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import atomic_file, folder_files, write_new_file
from .records import Row, alphabet_folder, png_path
from .writer import Drawing, FormatWriter
from .ziparchive import StoredZipWriter


def write_folder_zip(root: Path, folder: str, target: Path) -> None:
    """Zip ``root/folder`` (stored, entries in byte order of their names) into ``target``."""
    with atomic_file(target) as raw:
        archive = StoredZipWriter(raw)
        for name in folder_files(root, folder):
            archive.add(name, (root / name).read_bytes())
        archive.close()


class PngTreeWriter(FormatWriter):
    """Writes each drawing's PNG (in parallel, skipping those a resumed export wrote) and the zip."""

    part = "comnist"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.folder = alphabet_folder(self.alphabet.id)
        # Only letters with drawings get a folder: torchvision's ImageFolder refuses empty classes.
        for letter in self.plan.counts.get(self.alphabet.id, {}):
            (self.out / self.folder / letter).mkdir(parents=True, exist_ok=True)

    def wants(self, row: Row) -> bool:
        return not (self.out / png_path(row)).is_file()

    def prepare(self, drawing: Drawing) -> None:
        write_new_file(self.out / png_path(drawing.row), drawing.png)

    def close(self) -> list[str]:
        super().close()
        write_folder_zip(self.out, self.folder, self.out / f"{self.folder}.zip")
        return [f"{self.folder}.zip"]
