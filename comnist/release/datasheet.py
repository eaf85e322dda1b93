"""The release's ``README.md`` (a datasheet and Hugging Face dataset card) and ``CITATION.cff``.

Rendering is pure: the text depends only on the plan and options, so it is byte-identical for the
same store and options (it names the release's version and the date of the latest drawing, never
the time of the export). The YAML header is what the Hugging Face Hub and ``datasets`` read: the
license, the task, one config per alphabet whose ``data_files`` point at the parquet shards (so
``load_dataset(<release>)`` never guesses splits from other file names) and the features.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from chalicelib.alphabets import alphabets
from chalicelib.raster import SIZE

from .baselines import PCA_DIMS, TRAIN_SAMPLE, K
from .idxfiles import mapping_name, npz_name
from .parquet import TEXT_COLUMNS
from .preview import preview_name
from .records import METADATA_COLUMNS, alphabet_folder
from .reference import mean_and_range
from .split import GAP_SECONDS, SPLITS, TEST_FRACTION, VALIDATION_FRACTION
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
    """The dataset card's YAML front matter (the Hugging Face Hub's metadata fields)."""
    total = sum(plan.total(a) for a in plan.alphabets)
    size = "n<1K" if total < 1000 else "1K<n<10K" if total < 10_000 else "10K<n<100K"
    if total >= 100_000:
        size = "100K<n<1M"
    lines = [
        "---",
        "license: cc-by-sa-4.0",
        "pretty_name: CoMNIST",
        "annotations_creators:",
        "- crowdsourced",  # each participant drew the letter asked for: the label is the ask
        "language_creators:",
        "- crowdsourced",
        "multilinguality:",
        "- multilingual" if len(plan.alphabets) > 1 else "- monolingual",
        "source_datasets:",
        "- original",
        "task_categories:",
        "- image-classification",
        "task_ids:",
        "- multi-class-image-classification",
        "language:",
        *(f"- {LANGUAGES.get(a, 'und')}" for a in plan.alphabets),
        "size_categories:",
        f"- {size}",
        "tags:",
        "- handwriting",
        "- letters",
        "- mnist",
        "- croissant",
    ]
    if "parquet" not in options.formats or not plan.alphabets:
        return [*lines, "---", ""]
    lines.append("configs:")
    for index, alphabet_id in enumerate(plan.alphabets):
        lines.append(f"- config_name: {alphabet_id}")
        if index == 0:
            lines.append("  default: true")
        lines.append("  data_files:")
        for split in SPLITS:
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
            "  splits:",
            *(
                f"  - name: {split}\n    num_bytes: {plan.shard_bytes.get((alphabet_id, split), 0)}"
                f"\n    num_examples: {plan.total(alphabet_id, split)}"
                for split in SPLITS
            ),
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
release = load_dataset(here, "{alphabet_id}")  # the card's config: its three splits, labels named
same = load_dataset("parquet", data_dir="data/{alphabet_id}")  # without the card
names = release["train"].features["label"].names  # names[label] is the letter
print(release, names[release["train"][0]["label"]])
'''


def counts_table(plan: Plan, alphabet_id: str) -> str:
    """Drawings per letter and split, with the class index torchvision's ``ImageFolder`` gives."""
    letters = alphabets()[alphabet_id].letters
    present = sorted(plan.counts.get(alphabet_id, {}))  # ImageFolder sorts folder names
    lines = [
        "| label | letter | code point | ImageFolder index | " + " | ".join(SPLITS) + " | total |",
        "| ---: | :---: | --- | ---: | " + "---: | " * len(SPLITS) + "---: |",
    ]
    for label, letter in enumerate(letters):
        per = plan.counts.get(alphabet_id, {}).get(letter, {})
        counts = [per.get(split, 0) for split in SPLITS]
        folder_index = str(present.index(letter)) if letter in present else "-"
        cells = " | ".join(str(n) for n in counts)
        lines.append(
            f"| {label} | {letter} | U+{ord(letter):04X} | {folder_index} | {cells} | {sum(counts)} |"
        )
    totals = [plan.total(alphabet_id, split) for split in SPLITS]
    cells = " | ".join(f"**{n}**" for n in totals)
    lines.append(f"| | **all** | | | {cells} | **{sum(totals)}** |")
    return "\n".join(lines)


def _files_section(plan: Plan, options: ExportOptions) -> list[str]:
    lines = ["## Files", "", "| path | what |", "| --- | --- |"]
    lines += [
        "| `metadata.csv` | one row per drawing (see below) |",
        "| `SHA256SUMS` | the SHA-256 of every other file: `sha256sum -c SHA256SUMS` |",
        "| `CITATION.cff` | how to cite this release |",
        "| `croissant.json` | Croissant 1.1 metadata (MLCommons): the files, the fields, the splits |",
    ]
    for alphabet_id in plan.alphabets:
        folder = alphabet_folder(alphabet_id)
        if "comnist" in options.formats:
            lines.append(
                f"| `{folder}/<LETTER>/<id>.png`, `{folder}.zip` | {SIZE}x{SIZE} PNGs, 8-bit greyscale, black ink on white, as the 2017 CoMNIST looks |"
            )
        if "parquet" in options.formats:
            lines.append(
                f"| `data/{alphabet_id}/{{train,validation,test}}-*.parquet` | Hugging Face shards: `image` (the PNG), `label` (ClassLabel named by letter) and the metadata columns |"
            )
        if "mnist" in options.formats:
            lines += [
                f"| `mnist/{alphabet_id}/{{train,validation,test}}-{{images-idx3,labels-idx1}}-ubyte.gz` | MNIST-style 28x28 images (white ink on black, as MNIST) and labels, gzipped IDX |",
                f"| `{mapping_name(alphabet_id)}` | EMNIST's mapping: `label code-point` (decimal) per line |",
                f"| `{npz_name(alphabet_id)}` | the same arrays: `x_train`, `y_train`, `x_validation`, `y_validation`, `x_test`, `y_test` |",
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
        out += [f"The numpy baselines were not computed: {why}.", ""]
    else:
        out += [
            "Accuracy on the writer-independent test split, computed by the export from the",
            "MNIST-style files in numpy: a multinomial logistic regression on the 784 pixels, and a",
            f"k-NN (k = {K}) on the first {PCA_DIMS} principal components. Both train on at most",
            f"{TRAIN_SAMPLE:,} training images (evenly spaced through the file), with the split's seed.",
            "They need nothing but numpy: a check that a pipeline reads the files right.",
            "",
            "| alphabet | trained on | tested on | logistic regression | k-NN |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for alphabet_id, result in sorted(plan.baselines.items()):
            out.append(
                f"| {alphabet_id} | {result.train_images} | {result.test_images} | "
                f"{100 * result.logistic_regression:.1f} % | {100 * result.knn:.1f} % |"
            )
        out.append("")
    return out + _reference_section(plan)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _reference_section(plan: Plan) -> list[str]:
    """The reference CNN's figures: spread over the seeds, per-letter accuracy, top confusions."""
    reference = plan.reference
    out = ["### Reference CNN", ""]
    if not reference or not reference.get("alphabets"):
        return [
            *out,
            "Not measured for this release: `comnist baseline --cnn <release> --out cnn.json`",
            "measures it (PyTorch) and `comnist export --reference cnn.json` prints it here.",
            "",
        ]
    measured_here = reference.get("split_fingerprint") == plan.split_fingerprint
    note = f" ({reference['note']})" if reference.get("note") else ""
    where = (
        f"this release{note}"
        if measured_here
        else f"release {reference.get('release', '?')}{note}, **not this one** (its split fingerprint "
        f"`{str(reference.get('split_fingerprint', ''))[:12]}`, this release's "
        f"`{plan.split_fingerprint[:12]}`): rerun `comnist baseline --cnn` on this release for its own"
    )
    out += [
        f"The figure to beat: {reference.get('model', '')}. It trains on the training split only,",
        "and nothing was tuned on the validation or test split. "
        f"Measured on {reference.get('measured', '?')} on {where}, with PyTorch "
        f"{reference.get('torch', '?')} on the CPU, one run per seed; "
        "`comnist baseline --cnn` reruns it.",
        "",
        "| alphabet | trained on | validation | test | test accuracy: mean (min-max) | per seed | validation accuracy |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    alphabets_measured = reference["alphabets"]
    for alphabet_id, figures in sorted(alphabets_measured.items()):
        accuracies = figures["test_accuracy"]
        mean, low, high = mean_and_range(accuracies)
        validation = mean_and_range(figures["validation_accuracy"])[0]
        images = figures["images"]
        seeds = ", ".join(
            f"{_percent(a)} (seed {s})" for s, a in zip(figures["seeds"], accuracies, strict=True)
        )
        out.append(
            f"| {alphabet_id} | {images.get('train', 0)} | {images.get('validation', 0)} | "
            f"{images.get('test', 0)} | **{_percent(mean)}** ({_percent(low)}-{_percent(high)}) "
            f"| {seeds} | {_percent(validation)} |"
        )
    out.append("")
    for alphabet_id, figures in sorted(alphabets_measured.items()):
        per_letter = figures.get("per_letter", {})
        confusions = figures.get("top_confusions", [])
        if per_letter:
            ordered = sorted(per_letter.items(), key=lambda item: (item[1]["accuracy"], item[0]))
            shown = ", ".join(
                f"{letter} {_percent(v['accuracy'])} ({v['test_images']})" for letter, v in ordered
            )
            out += [
                f"**{alphabet_id}, test accuracy per letter** (pooled over the seeds, weakest first;",
                f"test images in brackets): {shown}.",
                "",
            ]
        if confusions:
            shown = "; ".join(
                f"{c['letter']} taken for {c['taken_for']} ({c['per_run']:g})" for c in confusions
            )
            out += [
                f"**{alphabet_id}, most frequent confusions** (test drawings per run): {shown}.",
                "",
            ]
    return out


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


def release_date(plan: Plan) -> str:
    """The release's date: ``--released``, else its version when that is a date (the default)."""
    if plan.released:
        return plan.released
    return plan.version if re.fullmatch(r"\d{4}-\d\d-\d\d", plan.version) else ""


def release_year(plan: Plan) -> str:
    """The year to cite: the release date's, else the latest drawing's."""
    return (release_date(plan) or plan.latest)[:4] or "2017"


def bibtex(plan: Plan) -> str:
    return "\n".join(
        [
            "@misc{comnist,",
            "  title = {{CoMNIST}: Cyrillic-oriented {MNIST}, hand-drawn letters},",
            f"  author = {{{AUTHOR[0]}, {AUTHOR[1]} and {{the CoMNIST contributors}}}},",
            f"  year = {{{release_year(plan)}}},",
            f"  version = {{{plan.version}}},",
            f"  howpublished = {{\\url{{{PROJECT_URL}}}}},",
            "  note = {CC BY-SA 4.0},",
            "}",
        ]
    )


def citation(plan: Plan) -> str:
    """``CITATION.cff`` (Citation File Format 1.2.0) of the release.

    ``date-released`` is :func:`release_date`, written only when known: the export cannot know
    when a release is published, and the day of the latest drawing would contradict a version
    named after a later month.
    """
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite it as below."',
        "type: dataset",
        "title: CoMNIST",
        f"version: {_quoted(plan.version)}",
    ]
    if release_date(plan):
        lines.append(f"date-released: {_quoted(release_date(plan))}")
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


def _share(fraction: float) -> int:
    return round(100 * fraction)


def _split_sentence(options: ExportOptions) -> str:
    train = 1 - TEST_FRACTION - VALIDATION_FRACTION
    return (
        f"split {_share(train)}/{_share(VALIDATION_FRACTION)}/{_share(TEST_FRACTION)} "
        f"train/validation/test by writer with seed {options.seed}"
    )


def _letters_without(plan: Plan, alphabet_id: str, split: str | None) -> list[str]:
    """The letters with no drawing in ``split`` (of those in the release), or in none."""
    counts = plan.counts.get(alphabet_id, {})
    letters = alphabets()[alphabet_id].letters
    if split is None:
        return [letter for letter in letters if not sum(counts.get(letter, {}).values())]
    return [letter for letter in letters if letter in counts and not counts[letter].get(split)]


def _limitations_section(plan: Plan) -> list[str]:
    """What a user must know before trusting a figure measured on this release."""
    out = ["## Limitations", ""]
    writers = "; ".join(
        f"{a}: {plan.total(a)} drawings by {plan.writers.get(a, 0)} writers "
        f"({plan.total(a) / max(plan.writers.get(a, 1), 1):.1f} drawings each)"
        for a in plan.alphabets
    )
    out += [
        f"- **Few hands.** {writers}. A writer is a session or, for the 2017 images, a",
        "  pseudo-session (see the split): a model meets few handwritings, and test figures on",
        "  a few dozen writers move by several points from one split to another.",
    ]
    shared = [(a, plan.same_image[a]) for a in plan.alphabets if plan.same_image[a]]
    if shared:
        counts = " and ".join(f"{n} of the {plan.total(a)} {a} drawings" for a, n in shared)
        out += [
            f"- **The same image in two alphabets.** {counts} are byte-identical copies",
            "  of each other: the 2017 collection drew each shape both alphabets share (A and",
            "  А, O and О...) once and filed it in both. `same_image_as` names the other copy's",
            "  id: drop the rows where it is set from one alphabet before pooling the alphabets,",
            "  or a model is tested on drawings it trained on.",
        ]
    for alphabet_id in plan.alphabets:
        absent = _letters_without(plan, alphabet_id, None)
        if absent:
            out.append(f"- **{alphabet_id}: no drawing at all** of {', '.join(absent)}.")
        for split in ("test", "validation"):
            missing = _letters_without(plan, alphabet_id, split)
            if missing:
                out.append(
                    f"- **{alphabet_id}: no {split} drawing** of {', '.join(missing)}: their "
                    f"{split} accuracy is undefined, and an overall {split} accuracy says nothing "
                    "about them."
                )
        few = [
            letter
            for letter, per in sorted(plan.counts.get(alphabet_id, {}).items())
            if sum(per.values()) < 20
        ]
        if few:
            out.append(
                f"- **{alphabet_id}: fewer than 20 drawings** of {', '.join(few)}: too few for"
                " a shape model of their own (the letter classifier still judges them), and a"
                " per-letter figure on so few is noise."
            )
    if plan.pseudo_sessions:
        out += [
            "- **Cursive and variant forms.** The 2017 participants drew some capitals in cursive",
            "  or lowercase-like forms (т as a cursive т that looks like an m, Ж as ж, Д with or",
            "  without its tail). A label is the letter the participant was asked for, not the",
            "  form drawn: expect such drawings among any model's confusions.",
        ]
    out += [
        "- **Labels are asks.** Each drawing's label is the letter the site asked for. The",
        "  sanitiser keeps out what it judges blank, junk or another letter, and maintainers",
        "  review what it flags, but some drawings of the wrong letter remain.",
        "",
    ]
    return out


def _metadata_section(plan: Plan) -> list[str]:
    """``metadata.csv``'s columns, describing only what this release fills."""
    filled = plan.filled
    total = sum(plan.total(a) for a in plan.alphabets)

    def empty_note(column: str) -> str:
        if filled[column] == 0:
            return " Empty for every drawing of this release."
        if filled[column] < total:
            return f" Set for {filled[column]} of the {total} drawings."
        return ""

    return [
        "## Metadata and split",
        "",
        "`metadata.csv` has one row per drawing, with the columns "
        + ", ".join(f"`{c}`" for c in METADATA_COLUMNS)
        + ":",
        "",
        "- `id`: the drawing's UUID; `alphabet`, `letter`, `code_point`, `label` (the letter's",
        "  position in its alphabet), `split` (`train`, `validation` or `test`), `file_name` (the",
        "  PNG in the CoMNIST layout).",
        "- `session`: the writer's salted hash (see below).",
        "- `created`: the UTC day the drawing was stored (`YYYY-MM-DD`, never finer).",
        "- `age_group`: `child` or `adult`, as the participant said." + empty_note("age_group"),
        "- `status`: the sanitiser's tag (see above); `verdict`: a maintainer's `ok` or `rejected`."
        + empty_note("verdict"),
        "- `letter_p`: the letter classifier's probability of the asked letter."
        + empty_note("letter_p"),
        "- `source`: the 2017 file an imported image came from." + empty_note("source"),
        "- `same_image_as`: the id of a byte-identical drawing in another alphabet."
        + empty_note("same_image_as"),
        "",
        "Every value is checked against its documented form before release, and no cell starts",
        "with `=`, `+`, `-` or `@`, so the file opens safely in a spreadsheet.",
        "",
        "`session` is a salted one-way hash (HMAC-SHA256, 16 hex digits) of the session that drew",
        "the drawing: drawings with the same value come from the same participant and device. The",
        "salt derives from the seed and a secret kept with the collection, so the hashes cannot be",
        "recomputed from a session id and differ between releases made with different seeds.",
        "",
        "The split is writer-independent: all drawings of a session fall in the same split, so no",
        "participant's hand is in two of `train`, `validation` and `test`. Sessions are visited in",
        "an order fixed by the seed, larger first, and each goes to the split that keeps every",
        f"letter's shares closest to {_share(1 - TEST_FRACTION - VALIDATION_FRACTION)} %,",
        f"{_share(VALIDATION_FRACTION)} % and {_share(TEST_FRACTION)} % (a greedy stratification per letter).",
        "Tune on `validation` and report `test` once. For grouped cross-validation, pool `train`",
        "and `validation` and use `session` as the group (scikit-learn's",
        "`GroupKFold(n_splits=5).split(x, y, groups=session)`), so that no writer is on both",
        "sides of a fold; keep `test` out of it.",
        "",
        "The 2017 images kept no session. Their file names are PHP `uniqid()` values whose first 8",
        "hex digits are the Unix time in seconds, and a participant draws letter after letter a few",
        f"seconds apart, so images saved no more than {GAP_SECONDS} s after the previous one form one",
        f"pseudo-session ({plan.pseudo_sessions} in this release, {plan.sessions} sessions and",
        "pseudo-sessions in all). Two people drawing in the same minute merge, which only makes the",
        "split stricter; one person pausing longer splits in two.",
        "",
    ]


def _privacy_section(plan: Plan) -> list[str]:
    """What the release says about the people who drew, and at what resolution."""
    lines = [
        "## What is published about the people who drew",
        "",
        "| published | resolution |",
        "| --- | --- |",
        "| when a drawing was stored (`created`) | the UTC day |",
        "| which drawings share a writer (`session`) | a hash, salted per release seed |",
        "| `age_group` | `child` or `adult`, as told |",
    ]
    if plan.filled["source"]:
        lines.append(
            "| the 2017 file's name (`source`) | the file name the 2017 collection already "
            "publishes: its `uniqid()` is the time the 2017 site saved it, to the microsecond |"
        )
    if any(plan.with_strokes.values()):
        lines.append(
            "| stroke timing (`strokes/*-raw.ndjson`) | milliseconds since the drawing's first "
            "point, never a clock time |"
        )
    lines += [
        "",
        "Not published: names, e-mail addresses, IP addresses, countries, devices, languages,",
        "session ids, the time of day, and the device's own clock time of drawing (its offset",
        "from the server's clock would link one device's drawings across sessions). Archives and",
        "parquet files carry no time of export.",
        "",
    ]
    return lines


def render(plan: Plan, options: ExportOptions) -> str:
    """The datasheet of a release, with its dataset card header."""
    names = [alphabets()[a].name for a in plan.alphabets]
    total = sum(plan.total(a) for a in plan.alphabets)
    out = card_header(plan, options)
    span = f" drawn from {plan.earliest} to {plan.latest}" if plan.earliest and plan.latest else ""
    out += [
        f"# CoMNIST release {plan.version}",
        "",
        f"Hand-drawn {' and '.join(names) or 'no'} capital letters, drawn by volunteers on phones,",
        "tablets and computers, published as a machine-learning dataset in the formats of the",
        "2017 CoMNIST, Hugging Face `datasets`, MNIST/EMNIST and Quick, Draw!, described for",
        "machines in `croissant.json`.",
        "",
        f"**{total} drawings**{span} ("
        + ", ".join(f"{a}: {plan.total(a)}" for a in plan.alphabets)
        + f"), {_split_sentence(options)}.",
        "",
    ]
    out += [f"![{a} preview]({preview_name(a)})" for a in plan.alphabets] + [""]
    out += _files_section(plan, options)
    if not plan.alphabets:
        return "\n".join([*out, "This release holds no drawings.", ""])
    out += _loading_section(plan, options)
    out += _baselines_section(plan, options)
    out += _limitations_section(plan)
    out += ["## Counts per letter", ""]
    for alphabet_id in plan.alphabets:
        out += [f"### {alphabet_id}", "", counts_table(plan, alphabet_id), ""]
    out += _collection_section(plan, options)
    out += _sanitising_section(plan, options)
    out += _metadata_section(plan)
    out += _privacy_section(plan)
    out += [
        "## Images",
        "",
        f"The PNGs (and the parquet `image` column) are {SIZE}x{SIZE}, opaque 8-bit greyscale, black",
        'ink (0) on white (255): `Image.open(p).convert("RGB")`, `convert("L")` and torchvision\'s',
        "default loader all show the letter as drawn.",
        "",
        "The MNIST-style arrays keep MNIST's convention instead: white ink (255) on black (0). They",
        "follow MNIST's procedure: the ink's bounding box is size-normalised into a 20x20 box",
        "keeping its aspect ratio (area-averaged, hence grey anti-aliased edges), then placed in a",
        "28x28 field so its centre of mass lies on pixel (14, 14).",
    ]
    if any(plan.with_strokes.values()):
        out += [
            "The simplified strokes follow Quick, Draw!: shifted to 0, scaled so the larger extent",
            "is 255, resampled every pixel, Ramer-Douglas-Peucker with epsilon 2.",
        ]
    out += [
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


def _collection_section(plan: Plan, options: ExportOptions) -> list[str]:
    """How the drawings were made: on the site (with strokes), imported from 2017, or both."""
    with_strokes = sum(plan.with_strokes.values())
    imported = plan.filled["source"]
    out = ["## How it was collected", ""]
    if with_strokes:
        out += [
            f"{with_strokes} drawings were made on the CoMNIST site: participants draw the capital",
            "letter they are asked for with a finger, pen or mouse, and send it. The collector",
            "validates each drawing, stores its strokes (Quick, Draw!'s raw format: canvas pixels",
            f"and milliseconds) and rasterizes them into a {SIZE}x{SIZE} image like the 2017 site",
            "did: black ink, stroke width 15 px, round caps.",
            "",
        ]
    if imported:
        out += [
            f"{imported} drawings come from the 2017 CoMNIST collection, drawn with a finger on",
            "the 2017 site and imported from its PNG files (black on white or on transparent,",
            "normalised to the same form). They have no strokes, and their `source` column names",
            "the original file.",
            "",
        ]
    out += [
        "No name, e-mail address or IP address is in this release.",
        "",
        *_strokes_note(plan, options),
    ]
    return out
