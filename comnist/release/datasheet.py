"""The release's ``README.md``: a datasheet with counts, provenance, license and loading snippets.

Rendering is pure: the text depends only on the plan and options, so it is byte-identical for the
same store and seed (it names the date of the latest drawing, never the time of the export).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.alphabets import alphabets
from chalicelib.raster import SIZE

from .split import GAP_SECONDS, TEST_FRACTION

if TYPE_CHECKING:
    from .export import ExportOptions, Plan

LICENSE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
PROJECT_URL = "https://github.com/GregVial/CoMNIST"


def numpy_snippet(alphabet_id: str) -> str:
    """Python that loads the MNIST-style files of ``alphabet_id`` with numpy alone."""
    return f'''import gzip

import numpy as np


def read_idx(path):
    """Read a gzipped IDX file: magic, big-endian dimensions, then unsigned bytes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


x_train = read_idx("mnist/{alphabet_id}-train-images-idx3-ubyte.gz")  # (n, 28, 28) uint8
y_train = read_idx("mnist/{alphabet_id}-train-labels-idx1-ubyte.gz")  # (n,) labels
letters = np.loadtxt(
    "mnist/{alphabet_id}-mapping.csv", delimiter=",", skiprows=1, usecols=2, dtype=str, encoding="utf-8"
)

# The same arrays in one file:
data = np.load("mnist/{alphabet_id}.npz")
x_test, y_test = data["x_test"], data["y_test"]
print(x_train.shape, x_test.shape, letters[y_train[0]])
'''


def torch_snippet(alphabet_id: str) -> str:
    """Python that wraps the ``.npz`` arrays of ``alphabet_id`` in a PyTorch ``DataLoader``."""
    return f"""import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

data = np.load("mnist/{alphabet_id}.npz")
train = TensorDataset(
    torch.from_numpy(data["x_train"]).float().div(255).unsqueeze(1),  # (n, 1, 28, 28) in [0, 1]
    torch.from_numpy(data["y_train"]).long(),
)
loader = DataLoader(train, batch_size=64, shuffle=True)
images, labels = next(iter(loader))
"""


def datasets_snippet(
    alphabet_id: str, folder: str, formats: tuple[str, ...], strokes: bool = True
) -> str:
    """Python that loads the release with Hugging Face ``datasets``."""
    parts = ["import numpy as np", "from datasets import Dataset, DatasetDict, load_dataset", ""]
    if "mnist" in formats:
        parts += [
            f'data = np.load("mnist/{alphabet_id}.npz")',
            "mnist = DatasetDict(",
            "    {",
            '        split: Dataset.from_dict({"image": data[f"x_{split}"], "label": data[f"y_{split}"]})',
            '        for split in ("train", "test")',
            "    }",
            ")",
            "",
        ]
    parts += [
        "# One row per drawing: id, letter, split, session hash, status, score, source...",
        'metadata = load_dataset("csv", data_files="metadata.csv", split="train")',
    ]
    if "comnist" in formats:
        parts += [
            "",
            f"# The {SIZE}x{SIZE} PNGs; imagefolder labels them by folder name in sorted order",
            "# (pngs.features['label'].names), not by the release's labels:",
            f'pngs = load_dataset("imagefolder", data_files={{"train": "{folder}/*/*.png"}}, split="train")',
        ]
    if "strokes" in formats and strokes:
        parts += [
            "",
            "# Quick, Draw!-style strokes (drawings made on the site; imported images have none):",
            f'strokes = load_dataset("json", data_files="strokes/{alphabet_id}-simplified.ndjson", split="train")',
        ]
    return "\n".join(parts) + "\n"


def counts_table(plan: Plan, alphabet_id: str) -> str:
    """A Markdown table of drawings per letter and split for one alphabet."""
    letters = alphabets()[alphabet_id].letters
    lines = [
        "| label | letter | code point | train | test | total |",
        "| ---: | :---: | --- | ---: | ---: | ---: |",
    ]
    for label, letter in enumerate(letters):
        per = plan.counts.get(alphabet_id, {}).get(letter, {})
        train, test = per.get("train", 0), per.get("test", 0)
        lines.append(
            f"| {label} | {letter} | U+{ord(letter):04X} | {train} | {test} | {train + test} |"
        )
    train, test = plan.total(alphabet_id, "train"), plan.total(alphabet_id, "test")
    lines.append(f"| | **all** | | **{train}** | **{test}** | **{train + test}** |")
    return "\n".join(lines)


def _files_section(plan: Plan, options: ExportOptions) -> list[str]:
    lines = ["## Files", "", "| path | what |", "| --- | --- |"]
    lines.append("| `metadata.csv` | one row per drawing (see below) |")
    for alphabet_id in sorted(plan.counts):
        folder = alphabet_id.capitalize()
        if "comnist" in options.formats:
            lines.append(
                f"| `{folder}/<LETTER>/<id>.png`, `{folder}.zip` | {SIZE}x{SIZE} RGBA PNGs, black ink on transparent, as in the 2017 CoMNIST |"
            )
        if "mnist" in options.formats:
            lines.append(
                f"| `mnist/{alphabet_id}-{{train,test}}-{{images-idx3,labels-idx1}}-ubyte.gz` | MNIST-style 28x28 images and labels, gzipped IDX |"
            )
            lines.append(
                f"| `mnist/{alphabet_id}.npz` | the same arrays: `x_train`, `y_train`, `x_test`, `y_test` |"
            )
            lines.append(f"| `mnist/{alphabet_id}-mapping.csv` | label -> code point -> letter |")
        if "strokes" in options.formats:
            lines.append(
                f"| `strokes/{alphabet_id}-raw.ndjson`, `strokes/{alphabet_id}-simplified.ndjson` | Quick, Draw!-style strokes, one drawing per line |"
            )
        lines.append(f"| `preview/{alphabet_id}.png` | contact sheet: one row per letter |")
    return [*lines, ""]


def render(plan: Plan, options: ExportOptions) -> str:
    """The datasheet of a release."""
    alphabet_ids = sorted(plan.counts)
    first = alphabet_ids[0] if alphabet_ids else "cyrillic"
    total = sum(plan.total(a) for a in alphabet_ids)
    date = plan.latest[:10] or "empty"
    out = [
        f"# CoMNIST release ({date})",
        "",
        "Hand-drawn Cyrillic and Latin capital letters, drawn by volunteers on phones, tablets and",
        "computers, published as a machine-learning dataset in the formats of the 2017 CoMNIST,",
        "MNIST and Quick, Draw!.",
        "",
        f"**{total} drawings** ("
        + ", ".join(f"{a}: {plan.total(a)}" for a in alphabet_ids)
        + f"), split {round((1 - TEST_FRACTION) * 100)}/{round(TEST_FRACTION * 100)} train/test "
        + f"by writer with seed {options.seed}.",
        "",
    ]
    out += [f"![{a} preview](preview/{a}.png)" for a in alphabet_ids] + [""]
    out += _files_section(plan, options)
    if not alphabet_ids:
        return "\n".join([*out, "This release holds no drawings.", ""])
    out += ["## Loading", ""]
    if "mnist" in options.formats:
        out += ["### numpy", "", "```python", numpy_snippet(first).rstrip(), "```", ""]
        out += ["### PyTorch", "", "```python", torch_snippet(first).rstrip(), "```", ""]
    out += [
        "### Hugging Face `datasets`",
        "",
        "```python",
        datasets_snippet(
            first, first.capitalize(), options.formats, plan.with_strokes[first] > 0
        ).rstrip(),
        "```",
        "",
        "Run the snippets from the release's directory. Labels are a letter's position in its",
        "alphabet (the mapping files); they are stable from one release to the next. Items are in",
        "the order of `metadata.csv` (by letter, then id): shuffle them before training.",
        "",
    ]
    out += ["## Counts per letter", ""]
    for alphabet_id in alphabet_ids:
        out += [f"### {alphabet_id}", "", counts_table(plan, alphabet_id), ""]
    excluded = ", ".join(f"{why}: {n}" for why, n in sorted(plan.excluded.items())) or "none"
    flagged = (
        "Suspicious, invalid and not yet tagged (`pending`) drawings are included (`--include-suspicious`); each row's `status` says which."
        if options.include_suspicious
        else "Drawings the sanitizer flagged as suspicious or invalid, and drawings it has not tagged yet (`pending`), are left out; `unscored` ones (no model for their letter yet) are in."
    )
    out += [
        "## How it was collected",
        "",
        "Participants open the CoMNIST site, draw the capital letter they are asked for with a",
        "finger, pen or mouse, and send it. The collector validates each drawing, stores its strokes",
        f"(Quick, Draw!'s raw format: canvas pixels and milliseconds) and rasterizes them into a {SIZE}x{SIZE}",
        "PNG like the 2017 site did: black ink, stroke width 15 px, round caps, on transparent.",
        "Drawings of the 2017 CoMNIST collection were imported from their PNG files (black on white",
        "or on transparent, normalised to the same form); they have no strokes and their `source`",
        "column names the original file. No name, e-mail address or IP address is in this release.",
        "",
        "## How it was sanitised",
        "",
        "Every drawing, new or imported, is scored by per-letter anomaly models on image features",
        "and a letter classifier, and tagged `ok`, `suspicious` (blank, improbable shape or likelier",
        "another letter), `invalid` (not a decodable drawing) or `unscored` (no model for its letter",
        "yet); the maintainer's verdicts (`ok`, `rejected`) override the tags. Rejected drawings are",
        f"never released. {flagged} Left out of this release: {excluded}.",
        "",
        "## Metadata and split",
        "",
        "`metadata.csv` columns: `id`, `alphabet`, `letter`, `code_point`, `label`, `split`,",
        "`session`, `created` (UTC), `drawn_at` (UTC by the drawing device's clock, when sent),",
        "`age_group` (`child` or `adult`, when the participant said so), `status`, `verdict`,",
        "`score` (> 0 means flagged), `source` (the 2017 file the image came from) and `file_name`",
        "(the PNG in the CoMNIST layout).",
        "",
        "`session` is a salted one-way hash (HMAC-SHA256, 16 hex digits) of the session that drew",
        "the drawing: drawings with the same value come from the same participant and device. The",
        "salt derives from the seed and a secret kept with the collection, so the hashes cannot be",
        "recomputed from a session id and differ between releases made with different seeds.",
        "",
        "The split is writer-independent: all drawings of a session fall on the same side, so no",
        "participant's hand is in both train and test. Sessions are visited in an order fixed by the",
        "seed, larger first, and each goes to the side that keeps every letter's test share closest",
        f"to {round(TEST_FRACTION * 100)} % (a greedy stratification per letter).",
        "",
        "The 2017 images kept no session. Their file names are PHP `uniqid()` values whose first 8",
        "hex digits are the Unix time in seconds, and a participant draws letter after letter a few",
        f"seconds apart, so images saved no more than {GAP_SECONDS} s after the previous one form one",
        f"pseudo-session ({plan.pseudo_sessions} in this release, {plan.sessions} sessions and",
        "pseudo-sessions in all). Two people drawing in the same minute merge, which only makes the",
        "split stricter; one person pausing longer splits in two.",
        "",
        "MNIST-style images follow MNIST's procedure: the ink's bounding box is size-normalised into",
        "a 20x20 box keeping its aspect ratio (area-averaged, hence grey anti-aliased edges), then",
        "placed in a 28x28 field so its centre of mass lies on pixel (14, 14), ink 255 on 0. The",
        "simplified strokes follow Quick, Draw!: shifted to 0, scaled so the larger extent is 255,",
        "resampled every pixel, Ramer-Douglas-Peucker with epsilon 2.",
        "",
        "## License",
        "",
        f"[CC BY-SA 4.0]({LICENSE_URL}). Attribution: \u201cCoMNIST, \u00a9 Gregory Vial and the CoMNIST",
        f"contributors ({PROJECT_URL})\u201d. Share adaptations under the same license.",
        "",
    ]
    return "\n".join(out)
