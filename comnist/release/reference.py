"""The reference CNN's figures file: what ``comnist baseline --cnn`` measured, on which release, when.

Training the network takes minutes and PyTorch, so the export does not train it: it renders the
figures of a file that ``comnist baseline --cnn`` wrote (``--reference``, by default the one
committed beside this module, measured on the 2017 sample). The file names the release it was
measured on by its *split fingerprint*, the SHA-256 of every drawing's id and split, so the
datasheet can say whether the figures are this release's own or another's.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path
from typing import Any

DEFAULT_REFERENCE = Path(__file__).with_name("reference_cnn.json")


def split_fingerprint(metadata_csv: Path) -> str:
    """The SHA-256 of the ``id split`` lines of a release's ``metadata.csv``, sorted by id."""
    with open(metadata_csv, encoding="utf-8", newline="") as handle:
        pairs = sorted((row["id"], row["split"]) for row in csv.DictReader(handle))
    digest = hashlib.sha256()
    for identifier, split in pairs:
        digest.update(f"{identifier} {split}\n".encode())
    return digest.hexdigest()


def load_reference(path: Path | None) -> dict[str, Any] | None:
    """The figures of ``path`` (``None``: none, a missing default is no error)."""
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        if Path(path) == DEFAULT_REFERENCE:
            return None
        raise


def mean_and_range(values: list[float]) -> tuple[float, float, float]:
    """The mean, minimum and maximum of a seed's accuracies."""
    return sum(values) / len(values), min(values), max(values)


def release_version(release: Path) -> str:
    """The version ``CITATION.cff`` gives a release, or its folder's name."""
    try:
        text = (release / "CITATION.cff").read_text(encoding="utf-8")
    except FileNotFoundError:
        return release.name
    found = re.search(r'^version: "?([^"\n]+?)"?$', text, re.MULTILINE)
    return found.group(1) if found else release.name
