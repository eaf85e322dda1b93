"""The reveal's gallery: a few real drawings of each letter, as other people drew them.

    python site_gallery.py ../shared/data/comnist-sample     # make gallery

After every ten letters, and on the thanks page, the site shows how others drew the same
letters. The pictures come from a sample shipped with the site, committed in ``site/gallery/``:
per alphabet one PNG sheet (a row per letter, ``PER_LETTER`` thumbnails of ``CELL`` pixels,
4 grey levels) and ``gallery.json``, which says how many thumbnails each row holds. The source is
the 2017 CoMNIST collection (CC BY-SA 4.0, Gregory Vial and the CoMNIST contributors): only
drawings that the sanitizer's starter check scores ``ok``, each of a letter's from a different
writer (:func:`comnist.uniqid.group_by_time`), cropped to their ink. A thumbnail of a letter
carries no name, session or time: nothing about the person who drew it.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from chalicelib.alphabets import alphabets

GALLERY_DIR = Path(__file__).resolve().parent / "site" / "gallery"
PER_LETTER = 4
CELL = 48
LEVELS = 4
CREDIT = "CoMNIST 2017, © Gregory Vial and the CoMNIST contributors, CC BY-SA 4.0"
SOURCE = "https://github.com/GregVial/CoMNIST"


def thumbnail(png: bytes, cell: int = CELL) -> Image.Image:
    """The drawing's ink, cropped with a margin, centred in a ``cell`` square: black on white."""
    from sanitizer.image import decode_ink

    ink = decode_ink(png, size=278)
    rows, columns = np.nonzero(ink > 0.1)
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    side = max(bottom - top, right - left) + 24
    square = np.zeros((side, side), dtype=np.float32)
    y, x = (side - (bottom - top)) // 2, (side - (right - left)) // 2
    square[y : y + bottom - top, x : x + right - left] = ink[top:bottom, left:right]
    picture = Image.fromarray(np.uint8(255 - 255 * np.clip(square, 0, 1)))
    return picture.resize((cell, cell), Image.Resampling.LANCZOS)


def pick(folder: Path, alphabet: str, letter: str, writers: dict[str, str]) -> list[bytes]:
    """Up to ``PER_LETTER`` drawings of ``folder`` the starter check scores ``ok``, one a writer."""
    from sanitizer import score_drawing, starter_model

    model = starter_model()
    chosen: list[bytes] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.png")):
        if len(chosen) == PER_LETTER:
            break
        if writers[path.name] in seen:
            continue
        png = path.read_bytes()
        verdict = score_drawing(png, None, model, alphabet=alphabet, letter=letter)
        if verdict.status == "ok":
            chosen.append(png)
            seen.add(writers[path.name])
    return chosen


def sheet(rows: list[list[bytes]]) -> bytes:
    """One PNG: a row of thumbnails per letter, in 4 grey levels (2 bits a pixel)."""
    picture = Image.new("L", (PER_LETTER * CELL, max(1, len(rows)) * CELL), 255)
    for r, drawings in enumerate(rows):
        for c, png in enumerate(drawings):
            picture.paste(thumbnail(png), (c * CELL, r * CELL))
    step = 255 // (LEVELS - 1)
    palette = [v for level in range(LEVELS) for v in (level * step,) * 3]
    grey = Image.new("P", (1, 1))
    grey.putpalette(palette)
    quantized = picture.convert("RGB").quantize(palette=grey, dither=Image.Dither.NONE)
    out = io.BytesIO()
    quantized.save(out, "PNG", optimize=True, bits=2)
    return out.getvalue()


def build_gallery(sample: Path, out_dir: Path = GALLERY_DIR) -> dict[str, Any]:
    """Write each alphabet's sheet and ``gallery.json`` into ``out_dir``; return the index."""
    from comnist.uniqid import group_by_time

    out_dir.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {"cell": CELL, "credit": CREDIT, "source": SOURCE, "alphabets": {}}
    for alphabet in alphabets().values():
        root = sample / alphabet.id
        if not root.is_dir():
            continue
        writers = group_by_time(p.name for p in root.glob("*/*.png"))
        rows = [pick(root / letter, alphabet.id, letter, writers) for letter in alphabet.letters]
        (out_dir / f"{alphabet.id}.png").write_bytes(sheet(rows))
        index["alphabets"][alphabet.id] = {
            "letters": "".join(alphabet.letters),
            "counts": [len(r) for r in rows],
        }
    (out_dir / "gallery.json").write_text(json.dumps(index, ensure_ascii=False) + "\n")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", type=Path, help="comnist-sample: <alphabet>/<LETTER>/*.png")
    parser.add_argument("--out", type=Path, default=GALLERY_DIR)
    args = parser.parse_args(argv)
    index = build_gallery(args.sample, args.out)
    for alphabet, entry in index["alphabets"].items():
        size = (args.out / f"{alphabet}.png").stat().st_size
        print(f"{alphabet}: {sum(entry['counts'])} drawings, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
