"""The sanitizer's evaluation on real CoMNIST drawings with injected junk (same as ``comnist evaluate``).

    .venv/bin/python benchmarks/sanitizer_eval.py --samples ../shared/data [--out build/evaluation]
        [--seed N] [--alphabet latin] [--current PATH] [--starter-only] [--no-pools]

Prints the detectors side by side (Ng's baseline, a given ``--current`` sanitizer package, the
starter letter check alone, the new detector): precision, recall and F1 overall, per junk type
and for the wrong-letter tag, and the false-positive rate per letter; then the new detector's
recall on the pools (every judged doodle, every drawing claimed as another letter) with 95 %
intervals; writes ``evaluation.json``,
a per-drawing CSV and contact sheets of the confusion cases into ``--out``. See
:mod:`comnist.evaluation` for the protocol.
"""

from __future__ import annotations

import sys

from comnist.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
