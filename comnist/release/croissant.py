"""``croissant.json``: the release described in Croissant 1.1 (MLCommons), the metadata format that
the Hugging Face Hub, Kaggle and OpenML publish and that ``mlcroissant`` loads.

It names the files (``metadata.csv`` with its SHA-256, the parquet shards and PNG folders as file
sets) and the record sets a loader streams: ``splits`` (train, validation, test, as Croissant's
split convention wants), ``metadata`` (every ``metadata.csv`` column) and, per alphabet with
parquet shards, its images with their labels. Pure: a function of the plan, the options and the
hashes of files already written, so it is as reproducible as the rest of the release.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.alphabets import alphabets

from .datasheet import LICENSE_URL, PROJECT_URL, bibtex, release_date
from .records import METADATA_COLUMNS, alphabet_folder
from .split import SPLITS

if TYPE_CHECKING:
    from .plan import ExportOptions, Plan

CROISSANT = "croissant.json"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
# Croissant 1.1's standard context, as mlcroissant 1.1 expects it word for word.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
DESCRIPTIONS = {
    "id": "The drawing's UUID.",
    "alphabet": "The alphabet's id: cyrillic or latin.",
    "letter": "The capital letter the participant was asked to draw.",
    "code_point": "The letter's Unicode code point, U+XXXX.",
    "label": "The letter's position in its alphabet (stable between releases).",
    "split": "train, validation or test; whole writers go to one split.",
    "session": "A salted hash of the writer's session (16 hex digits); the group for grouped cross-validation.",
    "created": "The UTC day the drawing was stored (YYYY-MM-DD).",
    "age_group": "child or adult, as the participant said; empty if not given.",
    "status": "The sanitiser's tag: ok, unscored, suspicious, invalid or pending.",
    "verdict": "A maintainer's verdict, ok or rejected; empty if none.",
    "letter_p": "The letter classifier's probability of the asked letter.",
    "source": "The 2017 file an imported image came from; empty for drawings made on the site.",
    "same_image_as": "The id of a byte-identical drawing in another alphabet; empty if none.",
    "file_name": "The PNG's path in the release.",
}


def _field(record_set: str, name: str, data_type: str, source: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "cr:Field",
        "@id": f"{record_set}/{name}",
        "name": name,
        "description": DESCRIPTIONS.get(name, name),
        "dataType": data_type,
        "source": source,
    }


def _column(file_key: str, column: str) -> dict[str, Any]:
    return {**{file_key[0]: {"@id": file_key[1]}}, "extract": {"column": column}}


def _splits_record_set() -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": "splits",
        "name": "splits",
        "description": "The writer-independent splits.",
        "dataType": "cr:Split",
        "key": {"@id": "splits/name"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": "splits/name",
                "name": "name",
                "description": "The split's name.",
                "dataType": "sc:Text",
            }
        ],
        "data": [{"splits/name": split} for split in SPLITS],
    }


def _metadata_record_set() -> dict[str, Any]:
    source = ("fileObject", "metadata-csv")
    fields = []
    for column in METADATA_COLUMNS:
        data_type = "sc:Integer" if column == "label" else "sc:Text"
        field = _field("metadata", column, data_type, _column(source, column))
        if column == "split":
            field["references"] = {"field": {"@id": "splits/name"}}
        fields.append(field)
    return {
        "@type": "cr:RecordSet",
        "@id": "metadata",
        "name": "metadata",
        "description": "One record per drawing of every alphabet: the columns of metadata.csv.",
        "key": {"@id": "metadata/id"},
        "field": fields,
    }


def _images_record_set(alphabet_id: str) -> dict[str, Any]:
    shards = ("fileSet", f"parquet-{alphabet_id}")
    image = {**_column(shards, "image"), "transform": {"jsonPath": "bytes"}}
    fields = [
        {
            **_field(alphabet_id, "image", "sc:ImageObject", image),
            "description": "The drawing: a 278x278 greyscale PNG, black ink on white.",
        },
        _field(alphabet_id, "label", "sc:Integer", _column(shards, "label")),
    ]
    for column in ("letter", "split", "session", "id"):
        fields.append(_field(alphabet_id, column, "sc:Text", _column(shards, column)))
    fields[-3]["references"] = {"field": {"@id": "splits/name"}}
    return {
        "@type": "cr:RecordSet",
        "@id": alphabet_id,
        "name": alphabet_id,
        "description": f"The {alphabets()[alphabet_id].name} drawings with their labels, from the parquet shards.",
        "key": {"@id": f"{alphabet_id}/id"},
        "field": fields,
    }


def croissant(plan: Plan, options: ExportOptions, metadata_sha256: str) -> dict[str, Any]:
    """The Croissant description of a release."""
    names = " and ".join(alphabets()[a].name for a in plan.alphabets) or "no"
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": "metadata-csv",
            "name": "metadata.csv",
            "description": "One row per drawing.",
            "contentUrl": "metadata.csv",
            "encodingFormat": "text/csv",
            "sha256": metadata_sha256,
        }
    ]
    record_sets = [_splits_record_set(), _metadata_record_set()]
    for alphabet_id in plan.alphabets:
        if "parquet" in options.formats:
            distribution.append(
                {
                    "@type": "cr:FileSet",
                    "@id": f"parquet-{alphabet_id}",
                    "name": f"parquet-{alphabet_id}",
                    "description": f"The {alphabet_id} parquet shards, one or more per split.",
                    "encodingFormat": "application/x-parquet",
                    "includes": f"data/{alphabet_id}/*.parquet",
                }
            )
            record_sets.append(_images_record_set(alphabet_id))
        if "comnist" in options.formats:
            distribution.append(
                {
                    "@type": "cr:FileSet",
                    "@id": f"png-{alphabet_id}",
                    "name": f"png-{alphabet_id}",
                    "description": f"The {alphabet_id} PNGs, a folder per letter (file_name in metadata.csv).",
                    "encodingFormat": "image/png",
                    "includes": f"{alphabet_folder(alphabet_id)}/*/*.png",
                }
            )
    description = (
        f"Hand-drawn {names} capital letters drawn by volunteers, {sum(plan.total(a) for a in plan.alphabets)} "
        "drawings split by writer into train, validation and test; release "
        f"{plan.version}. README.md is the datasheet."
    )
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": "CoMNIST",
        "description": description,
        "conformsTo": CONFORMS_TO,
        "citeAs": bibtex(plan),
        "creator": [
            {"@type": "sc:Person", "name": "Gregory Vial"},
            {"@type": "sc:Organization", "name": "the CoMNIST contributors"},
        ],
        "keywords": ["handwriting", "letters", "Cyrillic", "Latin", "MNIST"],
        "license": LICENSE_URL,
        "url": PROJECT_URL,
        "version": plan.version,
        "distribution": distribution,
        "recordSet": record_sets,
    }
    if release_date(plan):
        document["datePublished"] = release_date(plan)
    return document


def croissant_text(plan: Plan, options: ExportOptions, metadata_sha256: str) -> str:
    """``croissant.json``'s text: indented, keys in a fixed order, UTF-8."""
    return (
        json.dumps(croissant(plan, options, metadata_sha256), ensure_ascii=False, indent=1) + "\n"
    )
