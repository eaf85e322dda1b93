"""The release's ``README.md`` (a datasheet and Hugging Face dataset card) and ``CITATION.cff``.

Rendering is pure: the text depends only on the plan and options, so it is byte-identical for the
same store and options (it names the release's version and the date of the latest drawing, never
the time of the export). The YAML header is what the Hugging Face Hub and ``datasets`` read: the
license, the task, one config per alphabet whose ``data_files`` point at the parquet shards (so
``load_dataset(<release>)`` never guesses splits from other file names) and the features.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from chalicelib.alphabets import alphabets
from chalicelib.raster import SIZE

from .baselines import PCA_DIMS, TRAIN_SAMPLE, K
from .idxfiles import mapping_name, npz_name
from .parquet import TEXT_COLUMNS
from .preview import preview_name
from .records import METADATA_COLUMNS, alphabet_folder
from .split import GAP_SECONDS, TEST_FRACTION
from .strokefiles import strokes_name

if TYPE_CHECKING:
    from .plan import ExportOptions, Plan

LICENSE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
PROJECT_URL = "https://github.com/GregVial/CoMNIST"
AUTHOR = ("Vial", "Gregory")
LANGUAGES = {"cyrillic": "ru", "latin": "en"}


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def card_header(plan: Plan, options: ExportOptions) -> list[str]:
    """The dataset card's YAML front matter."""
    total = sum(plan.total(a) for a in plan.alphabets)
    size = "n<1K" if total < 1000 else "1K<n<10K" if total < 10_000 else "10K<n<100K"
    if total >= 100_000:
        size = "100K<n<1M"
    lines = [
        "---",
        "license: cc-by-sa-4.0",
        "pretty_name: CoMNIST",
        "task_categories:",
        "- image-classification",
        "language:",
        *(f"- {LANGUAGES.get(a, 'und')}" for a in plan.alphabets),
        "size_categories:",
        f"- {size}",
        "tags:",
        "- handwriting",
        "- letters",
        "- mnist",
    ]
    if "parquet" not in options.formats or not plan.alphabets:
        return [*lines, "---", ""]
    lines.append("configs:")
    for index, alphabet_id in enumerate(plan.alphabets):
        lines.append(f"- config_name: {alphabet_id}")
        if index == 0:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in ("train", "test"):
            lines += [f"  - split: {split}", f"    path: data/{alphabet_id}/{split}-*.parquet"]
    lines.append("dataset_info:")
    for alphabet_id in plan.alphabets:
        letters = alphabets()[alphabet_id].letters
        lines += [
            f"- config_name: {alphabet_id}",
            "  features:",
            "  - name: image",
            "    dtype: image",
            "  - name: label",
            "    dtype:",
            "      class_label:",
            "        names:",
            *(f"          '{label}': {_quoted(letter)}" for label, letter in enumerate(letters)),
            *(f"  - name: {column}\n    dtype: string" for column in TEXT_COLUMNS),
        ]
    return [*lines, "---", ""]


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


x_train = read_idx("mnist/{alphabet_id}/train-images-idx3-ubyte.gz")  # (n, 28, 28), ink 255 on 0
y_train = read_idx("mnist/{alphabet_id}/train-labels-idx1-ubyte.gz")  # (n,) labels
mapping = dict(np.loadtxt("mnist/{alphabet_id}/mapping.txt", dtype=int))  # EMNIST: label -> code point
letters = [chr(mapping[label]) for label in sorted(mapping)]

data = np.load("mnist/{alphabet_id}/{alphabet_id}.npz")  # the same arrays in one file
x_test, y_test = data["x_test"], data["y_test"]
print(x_train.shape, x_test.shape, letters[y_train[0]])
'''


def dataset_snippet(alphabet_id: str) -> str:
    """A ten-line map-style ``Dataset`` over the PNGs, for ``torch.utils.data.DataLoader``."""
    return f'''import csv

from PIL import Image


class CoMNIST:  # torch.utils.data.DataLoader takes it as it is: len() and [i]
    def __init__(self, root=".", alphabet="{alphabet_id}", split="train", transform=None):
        with open(f"{{root}}/metadata.csv", encoding="utf-8", newline="") as f:
            self.rows = [r for r in csv.DictReader(f) if (r["alphabet"], r["split"]) == (alphabet, split)]
        self.root, self.transform = root, transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        image = Image.open(f"{{self.root}}/{{self.rows[i]['file_name']}}").convert("L")
        return (self.transform(image) if self.transform else image), int(self.rows[i]["label"])


train = CoMNIST(split="train")  # e.g. transform=torchvision.transforms.ToTensor()
image, label = train[0]
'''


def datasets_snippet(alphabet_id: str) -> str:
    """Python that loads the parquet shards with Hugging Face ``datasets``, in one line each."""
    return f'''from pathlib import Path

from datasets import load_dataset

here = str(Path.cwd())  # the release's folder, by name: datasets cannot name a dataset "."
release = load_dataset(here, "{alphabet_id}")  # the card's config: train and test, labels named
same = load_dataset("parquet", data_dir="data/{alphabet_id}")  # without the card
names = release["train"].features["label"].names  # names[label] is the letter
print(release, names[release["train"][0]["label"]])
'''


def counts_table(plan: Plan, alphabet_id: str) -> str:
    """Drawings per letter and split, with the class index torchvision's ``ImageFolder`` gives."""
    letters = alphabets()[alphabet_id].letters
    present = sorted(plan.counts.get(alphabet_id, {}))  # ImageFolder sorts folder names
    lines = [
        "| label | letter | code point | ImageFolder index | train | test | total |",
        "| ---: | :---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, letter in enumerate(letters):
        per = plan.counts.get(alphabet_id, {}).get(letter, {})
        train, test = per.get("train", 0), per.get("test", 0)
        folder_index = str(present.index(letter)) if letter in present else "-"
        lines.append(
            f"| {label} | {letter} | U+{ord(letter):04X} | {folder_index} | {train} | {test} | {train + test} |"
        )
    train, test = plan.total(alphabet_id, "train"), plan.total(alphabet_id, "test")
    lines.append(f"| | **all** | | | **{train}** | **{test}** | **{train + test}** |")
    return "\n".join(lines)


def _files_section(plan: Plan, options: ExportOptions) -> list[str]:
    lines = ["## Files", "", "| path | what |", "| --- | --- |"]
    lines += [
        "| `metadata.csv` | one row per drawing (see below) |",
        "| `SHA256SUMS` | the SHA-256 of every other file: `sha256sum -c SHA256SUMS` |",
        "| `CITATION.cff` | how to cite this release |",
    ]
    for alphabet_id in plan.alphabets:
        folder = alphabet_folder(alphabet_id)
        if "comnist" in options.formats:
            lines.append(
                f"| `{folder}/<LETTER>/<id>.png`, `{folder}.zip` | {SIZE}x{SIZE} PNGs, 8-bit greyscale, black ink on white, as the 2017 CoMNIST looks |"
            )
        if "parquet" in options.formats:
            lines.append(
                f"| `data/{alphabet_id}/{{train,test}}-*.parquet` | Hugging Face shards: `image` (the PNG), `label` (ClassLabel named by letter) and the metadata columns |"
            )
        if "mnist" in options.formats:
            lines += [
                f"| `mnist/{alphabet_id}/{{train,test}}-{{images-idx3,labels-idx1}}-ubyte.gz` | MNIST-style 28x28 images (white ink on black, as MNIST) and labels, gzipped IDX |",
                f"| `{mapping_name(alphabet_id)}` | EMNIST's mapping: `label code-point` (decimal) per line |",
                f"| `{npz_name(alphabet_id)}` | the same arrays: `x_train`, `y_train`, `x_test`, `y_test` |",
            ]
        if "strokes" in options.formats and plan.with_strokes[alphabet_id]:
            lines.append(
                f"| `{strokes_name(alphabet_id, 'raw')}`, `{strokes_name(alphabet_id, 'simplified')}` | Quick, Draw!-style strokes of the {plan.with_strokes[alphabet_id]} drawings made on the site |"
            )
        lines.append(
            f"| `{preview_name(alphabet_id)}` | contact sheet: a row per letter (label, code point, drawings) |"
        )
    return [*lines, ""]


def _strokes_note(plan: Plan, options: ExportOptions) -> list[str]:
    if "strokes" not in options.formats:
        return []
    notes = []
    for alphabet_id in plan.alphabets:
        with_strokes, total = plan.with_strokes[alphabet_id], plan.total(alphabet_id)
        if with_strokes < total:
            notes.append(
                f"{alphabet_id}: {total - with_strokes} of {total} drawings have no strokes "
                "(images imported from the 2017 collection)"
                + ("; no stroke files." if not with_strokes else ".")
            )
    return ["**Strokes.** " + " ".join(notes), ""] if notes else []


def _snippet(title: str, code: str) -> list[str]:
    """A loading snippet's lines: its heading and its code in a Python block."""
    return [f"### {title}", "", "```python", code.rstrip(), "```", ""]


def _loading_section(plan: Plan, options: ExportOptions) -> list[str]:
    first = plan.alphabets[0]
    out = ["## Loading", "", "Run the snippets from the release's directory.", ""]
    if "parquet" in options.formats:
        out += _snippet("Hugging Face `datasets`", datasets_snippet(first))
    if "comnist" in options.formats:
        out += _snippet("PyTorch `Dataset`", dataset_snippet(first))
        out += [
            "torchvision's `ImageFolder(\""
            + alphabet_folder(first)
            + '")` reads the same PNGs; its class',
            "indices come from the folder names sorted by code point, which is not always the",
            "release's label order: the tables below give both (`dataset.classes[i]` is the letter).",
            "",
        ]
    if "mnist" in options.formats:
        out += _snippet("numpy (IDX, EMNIST mapping)", numpy_snippet(first))
    out += [
        "Labels are a letter's position in its alphabet (`mapping.txt`, the ClassLabel names);",
        "they are stable from one release to the next. Items are in the order of `metadata.csv`",
        "(by letter, then id): shuffle them before training.",
        "",
    ]
    return out


def _baselines_section(plan: Plan, options: ExportOptions) -> list[str]:
    out = ["## Baselines", ""]
    if not plan.baselines:
        why = (
            "the MNIST-style files were not built"
            if "mnist" not in options.formats
            else ("a split is empty or holds one letter only")
        )
        return [*out, f"Not computed: {why}.", ""]
    out += [
        "Accuracy on the writer-independent test split, computed by the export from the",
        "MNIST-style files in numpy: a multinomial logistic regression on the 784 pixels, and a",
        f"k-NN (k = {K}) on the first {PCA_DIMS} principal components. Both train on at most",
        f"{TRAIN_SAMPLE:,} training images (evenly spaced through the file).",
        "",
        "| alphabet | trained on | tested on | logistic regression | k-NN |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for alphabet_id, result in sorted(plan.baselines.items()):
        out.append(
            f"| {alphabet_id} | {result.train_images} | {result.test_images} | "
            f"{100 * result.logistic_regression:.1f} % | {100 * result.knn:.1f} % |"
        )
    return [*out, ""]


def _sanitising_section(plan: Plan, options: ExportOptions) -> list[str]:
    statuses = sorted({status for status, _ in plan.statuses})
    lines = [
        "## How it was sanitised",
        "",
        "Drawings are scored by per-letter anomaly models on image features and a letter",
        "classifier and tagged `ok`, `suspicious` (blank, improbable shape or likelier another",
        "letter), `invalid` (not a decodable drawing) or `unscored` (no model for its letter yet);",
        "`pending` means not tagged yet. The maintainer's verdicts (`ok`, `rejected`) override the",
        "tags: a rejected drawing is never released.",
        "",
        "| status | released | left out |",
        "| --- | ---: | ---: |",
    ]
    for status in statuses:
        released, left = plan.statuses[(status, "released")], plan.statuses[(status, "left out")]
        lines.append(f"| `{status}` | {released} | {left} |")
    released_unscored = plan.statuses[("unscored", "released")]
    if released_unscored:
        lines += [
            "",
            f"**{released_unscored} released drawings were never checked by a model** "
            "(`--include-unscored`): their `status` column says `unscored`.",
        ]
    if options.include_suspicious:
        lines += [
            "",
            "Suspicious, invalid and pending drawings are included (`--include-suspicious`);",
            "each row's `status` says which.",
        ]
    excluded = ", ".join(f"{why}: {n}" for why, n in sorted(plan.excluded.items())) or "none"
    lines += [
        "",
        f"Left out, by reason: {excluded}. (`invalid-record`: a record whose values do not have",
        "their documented form; `undecodable`: a PNG that does not decode.)",
        "",
    ]
    return lines


def bibtex(plan: Plan) -> str:
    year = plan.latest[:4] or "2017"
    return "\n".join(
        [
            "@misc{comnist,",
            "  title = {{CoMNIST}: Cyrillic-oriented {MNIST}, hand-drawn letters},",
            f"  author = {{{AUTHOR[0]}, {AUTHOR[1]} and {{the CoMNIST contributors}}}},",
            f"  year = {{{year}}},",
            f"  version = {{{plan.version}}},",
            f"  howpublished = {{\\url{{{PROJECT_URL}}}}},",
            "  note = {CC BY-SA 4.0},",
            "}",
        ]
    )


def citation(plan: Plan) -> str:
    """``CITATION.cff`` (Citation File Format 1.2.0) of the release."""
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        "title: CoMNIST",
        f"version: {_quoted(plan.version)}",
    ]
    if plan.latest:
        lines.append(f"date-released: {_quoted(plan.latest[:10])}")
    lines += [
        "authors:",
        f"  - family-names: {AUTHOR[0]}",
        f"    given-names: {AUTHOR[1]}",
        "  - name: the CoMNIST contributors",
        "license: CC-BY-SA-4.0",
        f"repository-code: {_quoted(PROJECT_URL)}",
        "keywords:",
        "  - handwriting",
        "  - Cyrillic",
        "  - MNIST",
    ]
    return "\n".join(lines) + "\n"


def render(plan: Plan, options: ExportOptions) -> str:
    """The datasheet of a release, with its dataset card header."""
    names = [alphabets()[a].name for a in plan.alphabets]
    total = sum(plan.total(a) for a in plan.alphabets)
    out = card_header(plan, options)
    out += [
        f"# CoMNIST release {plan.version}",
        "",
        f"Hand-drawn {' and '.join(names) or 'no'} capital letters, drawn by volunteers on phones,",
        "tablets and computers, published as a machine-learning dataset in the formats of the",
        "2017 CoMNIST, Hugging Face `datasets`, MNIST/EMNIST and Quick, Draw!.",
        "",
        f"**{total} drawings** ("
        + ", ".join(f"{a}: {plan.total(a)}" for a in plan.alphabets)
        + f"), split {round((1 - TEST_FRACTION) * 100)}/{round(TEST_FRACTION * 100)} train/test "
        + f"by writer with seed {options.seed}.",
        "",
    ]
    out += [f"![{a} preview]({preview_name(a)})" for a in plan.alphabets] + [""]
    out += _files_section(plan, options)
    if not plan.alphabets:
        return "\n".join([*out, "This release holds no drawings.", ""])
    out += _loading_section(plan, options)
    out += _baselines_section(plan, options)
    out += ["## Counts per letter", ""]
    for alphabet_id in plan.alphabets:
        out += [f"### {alphabet_id}", "", counts_table(plan, alphabet_id), ""]
    out += [
        "## How it was collected",
        "",
        "Participants open the CoMNIST site, draw the capital letter they are asked for with a",
        "finger, pen or mouse, and send it. The collector validates each drawing, stores its strokes",
        f"(Quick, Draw!'s raw format: canvas pixels and milliseconds) and rasterizes them into a {SIZE}x{SIZE}",
        "image like the 2017 site did: black ink, stroke width 15 px, round caps. Drawings of the",
        "2017 CoMNIST collection were imported from their PNG files (black on white or on",
        "transparent, normalised to the same form); they have no strokes and their `source` column",
        "names the original file. No name, e-mail address or IP address is in this release.",
        "",
        *_strokes_note(plan, options),
    ]
    out += _sanitising_section(plan, options)
    out += [
        "## Metadata and split",
        "",
        "`metadata.csv` columns: " + ", ".join(f"`{c}`" for c in METADATA_COLUMNS) + ".",
        "`created` is when the drawing was stored (UTC), `drawn_at` when the participant drew it",
        "and `age_group` (`child` or `adult`) what they said, both empty when not given;",
        "`letter_p` is the letter classifier's probability of the asked letter; `source` names the",
        "2017 file an image came from; `file_name` is the PNG in the CoMNIST layout. Every value is",
        "checked against its documented form before release, and no cell starts with `=`, `+`,",
        "`-` or `@`, so the file opens safely in a spreadsheet.",
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
        "## Images",
        "",
        f"The PNGs (and the parquet `image` column) are {SIZE}x{SIZE}, opaque 8-bit greyscale, black",
        'ink (0) on white (255): `Image.open(p).convert("RGB")`, `convert("L")` and torchvision\'s',
        "default loader all show the letter as drawn.",
        "",
        "The MNIST-style arrays keep MNIST's convention instead: white ink (255) on black (0). They",
        "follow MNIST's procedure: the ink's bounding box is size-normalised into a 20x20 box",
        "keeping its aspect ratio (area-averaged, hence grey anti-aliased edges), then placed in a",
        "28x28 field so its centre of mass lies on pixel (14, 14). The simplified strokes follow",
        "Quick, Draw!: shifted to 0, scaled so the larger extent is 255, resampled every pixel,",
        "Ramer-Douglas-Peucker with epsilon 2.",
        "",
        "## License",
        "",
        f"[CC BY-SA 4.0]({LICENSE_URL}). Attribution: \u201cCoMNIST, \u00a9 Gregory Vial and the CoMNIST",
        f"contributors ({PROJECT_URL})\u201d. Share adaptations under the same license.",
        "",
        "## Citation",
        "",
        "```bibtex",
        bibtex(plan),
        "```",
        "",
    ]
    return "\n".join(out)
