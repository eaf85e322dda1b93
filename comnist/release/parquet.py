"""Hugging Face's format: parquet shards ``data/<alphabet>/<split>-00000-of-0000N.parquet``.

Each row holds ``image`` (an Image feature: the release PNG's bytes), ``label`` (a ClassLabel
whose names are the alphabet's letters, so label ``i`` is letter ``i`` as in ``mapping.txt``) and
the ``metadata.csv`` columns. The features are written into each file's schema metadata the way
``datasets`` writes them, so ``load_dataset("parquet", data_dir="data/cyrillic")`` and
``load_dataset(<release>)`` (through the dataset card's ``configs``) give the release's own splits
and letter names. Rows are buffered a row group at a time; a split has
``ceil(rows / SHARD_ROWS)`` shards (at least one, possibly empty, so every split exists).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.alphabets import Alphabet

from .plan import SPLITS
from .records import METADATA_COLUMNS, Row, metadata_values
from .writer import Drawing, FormatWriter

SHARD_ROWS = 50_000
ROW_GROUP = 1_000
TEXT_COLUMNS = tuple(column for column in METADATA_COLUMNS if column != "label")
DICTIONARY_COLUMNS = ("label", "alphabet", "letter", "code_point", "split", "status", "verdict")


def shard_name(alphabet_id: str, split: str, index: int, shards: int) -> str:
    return f"data/{alphabet_id}/{split}-{index:05d}-of-{shards:05d}.parquet"


def shard_count(rows: int) -> int:
    return max(1, math.ceil(rows / SHARD_ROWS))


def hf_features(alphabet: Alphabet) -> dict[str, Any]:
    """The ``datasets`` features of an alphabet's rows, as ``Features.to_dict()`` gives them."""
    features: dict[str, Any] = {
        "image": {"_type": "Image"},
        "label": {"names": list(alphabet.letters), "_type": "ClassLabel"},
    }
    features.update({column: {"dtype": "string", "_type": "Value"} for column in TEXT_COLUMNS})
    return features


def arrow_schema(alphabet: Alphabet) -> pa.Schema:
    """The parquet schema, carrying the ``datasets`` features under the ``huggingface`` key."""
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [("image", image), ("label", pa.int64())]
    fields += [(column, pa.string()) for column in TEXT_COLUMNS]
    info = {"info": {"features": hf_features(alphabet)}}
    return pa.schema(fields, metadata={"huggingface": json.dumps(info, ensure_ascii=False)})


class _Split:
    """The shards of one split, written one after the other a row group at a time."""

    def __init__(self, writer: ParquetWriter, split: str) -> None:
        self.owner = writer
        self.split = split
        self.shards = shard_count(writer.plan.total(writer.alphabet.id, split))
        self.index = -1
        self.in_shard = 0
        self.file: pq.ParquetWriter | None = None
        self.buffer: list[tuple[bytes, Row]] = []
        self.names: list[str] = []
        self._next_shard()

    def _next_shard(self) -> None:
        if self.file is not None:
            self.file.close()
        self.index += 1
        self.in_shard = 0
        name = shard_name(self.owner.alphabet.id, self.split, self.index, self.shards)
        self.names.append(name)
        self.file = pq.ParquetWriter(
            self.owner.open_file(name),
            self.owner.schema,
            # PNG bytes are unique and incompressible: no dictionary, statistics or compression.
            use_dictionary=list(DICTIONARY_COLUMNS),
            write_statistics=list(TEXT_COLUMNS),
            compression={"image": "none", **dict.fromkeys(["label", *TEXT_COLUMNS], "snappy")},
        )
        self.owner.stack.callback(self.file.close)  # before its file, should the export fail

    def add(self, png: bytes, row: Row) -> None:
        if self.in_shard == SHARD_ROWS:
            self.flush()
            self._next_shard()
        self.buffer.append((png, row))
        self.in_shard += 1
        if len(self.buffer) == ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        columns: dict[str, list[Any]] = {
            "image": [{"bytes": png, "path": f"{row.id}.png"} for png, row in self.buffer],
            "label": [row.label for _, row in self.buffer],
        }
        cells = [
            dict(zip(METADATA_COLUMNS, metadata_values(row), strict=True)) for _, row in self.buffer
        ]
        for column in TEXT_COLUMNS:
            columns[column] = [values[column] for values in cells]
        assert self.file is not None
        self.file.write_table(pa.table(columns, schema=self.owner.schema))
        self.buffer.clear()

    def close(self) -> None:
        self.flush()
        if self.file is not None:
            self.file.close()
            self.file = None


class ParquetWriter(FormatWriter):
    """Writes an alphabet's train and test parquet shards."""

    part = "parquet"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.schema = arrow_schema(self.alphabet)
        self.splits = {split: _Split(self, split) for split in SPLITS}

    def prepare(self, drawing: Drawing) -> bytes:
        return drawing.png

    def add(self, row: Row, prepared: bytes) -> None:
        self.splits[row.split].add(prepared, row)

    def close(self) -> list[str]:
        for split in self.splits.values():
            split.close()
        super().close()
        return [name for split in self.splits.values() for name in split.names]
