"""The sanitizer's evaluation on real CoMNIST drawings with injected junk (same as ``comnist evaluate``).

    .venv/bin/python benchmarks/sanitizer_eval.py --samples ../shared/data [--out build/evaluation]

Prints Ng's baseline and the final detector side by side (precision, recall, F1, ROC-AUC, overall
and per junk type), the false-positive rate per letter, and writes ``evaluation.json`` and contact
sheets of the confusion cases into ``--out``. See :mod:`comnist.evaluation` for the protocol.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from comnist.evaluation import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--out", type=Path, default=Path("build/evaluation"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contamination", type=float, default=None, help="junk share the detectors assume"
    )
    args = parser.parse_args()
    evaluate(args.samples, out_dir=args.out, seed=args.seed, contamination=args.contamination)


if __name__ == "__main__":
    main()
