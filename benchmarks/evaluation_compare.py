"""Several ``comnist evaluate`` results side by side: the sanitizer before and after a change.

    .venv/bin/python benchmarks/evaluation_compare.py NAME=DIR [NAME=DIR ...]

Each ``DIR`` is an evaluation's ``--out`` folder (its ``evaluation.json``); ``NAME`` heads its
column, for instance ``before-0=build/eval-before-0 after-0=build/eval-after-0``. Printed for
the final detector of each: F1, precision and recall overall and per junk kind, genuine
drawings flagged, the worst letter's false-positive rate, the pools' recalls and the F1 of
the mix with the pools' recalls (the README's table).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = ("overall", "doodle", "mark", "wrong-letter")


def figures(result: dict) -> dict[str, str]:
    """The compared cells of one evaluation, formatted."""
    final = result["final"]
    cells = {}
    for row in ROWS:
        m = final[row]
        cells[f"{row} F1 (P / R)"] = f"{m['f1']:.3f} ({m['precision']:.3f} / {m['recall']:.3f})"
    genuine = result["test"] - result["junk_in_test"]
    false_positives = sum(final["false_positive_reasons"].values())
    cells["genuine flagged (by reason)"] = f"{false_positives} of {genuine}"
    rates = final["fpr_per_letter"]
    worst = max(rates, key=rates.get)
    cells["worst letter's FP rate"] = f"{rates[worst]:.3f} ({worst})"
    pool = result.get("pool")
    if pool:
        for kind in ("doodle", "wrong-letter"):
            p = pool[kind]
            cells[f"pool: {kind}s caught"] = f"{p['caught']} of {p['trials']} ({p['recall']:.3f})"
        m = pool["overall"]
        cells["mix with the pools' recalls: F1"] = (
            f"{m['f1']:.3f} ({m['precision']:.3f} / {m['recall']:.3f})"
        )
    return cells


def main(argv: list[str]) -> int:
    if not argv or any("=" not in arg for arg in argv):
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    columns = {}
    for arg in argv:
        name, folder = arg.split("=", 1)
        result = json.loads((Path(folder) / "evaluation.json").read_text(encoding="utf-8"))
        columns[f"{name} (seed {result['seed']})"] = figures(result)
    rows = list(next(iter(columns.values())))
    width = max(len(row) for row in rows)
    cell = max(26, *(len(name) for name in columns))
    print(f"{'':{width}}" + "".join(f"  {name:>{cell}}" for name in columns))
    for row in rows:
        print(f"{row:{width}}" + "".join(f"  {c.get(row, '-'):>{cell}}" for c in columns.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
