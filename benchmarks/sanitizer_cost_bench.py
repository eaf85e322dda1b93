"""What the sanitizer costs on the event path: scoring a drawing against decoding its PNG, and the
event function's cold start (imports plus loading the model) against a bare ``import numpy``.

    python benchmarks/sanitizer_cost_bench.py --samples ../shared/data

The model is as large as a refit's on the 2017 Cyrillic drawings: a shape model for each of the
33 letters and three letter classifiers of the deployed size (the starter's weights, repeated,
stand in for the fitted ones: inference costs the same, and nothing has to be trained here).
Every figure is a ratio against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sanitizer_bench import event_path_seconds

from comnist.evaluation import load_genuine
from sanitizer import extract, starter_model
from sanitizer.augment import VIEWS
from sanitizer.model import FOLDS, ModelSet, _fit_letter


def deployed_size_model(genuine: list[tuple[str, str, bytes]]) -> ModelSet:
    samples = [extract(png, name, "cyrillic", letter) for name, letter, png in genuine]
    by_letter: dict[str, list] = {}
    for sample in samples:
        if sample is not None:
            by_letter.setdefault(sample.letter, []).append(sample)
    starter = starter_model()
    model = ModelSet("m-bench", "2026-01-01T00:00:00Z")
    for letter, group in by_letter.items():
        model.letters[("cyrillic", letter)] = _fit_letter(group, 0.02)
    model.classifiers["cyrillic"] = list(starter.classifiers["cyrillic"]) * FOLDS
    return model


def wall_seconds(code: str, repeats: int) -> float:
    """Median wall time of a fresh interpreter running ``code``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--drawings", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    genuine = load_genuine(args.samples / "comnist-sample" / "cyrillic")
    model = deployed_size_model(genuine)
    subset = genuine[:: max(1, len(genuine) // args.drawings)][: args.drawings]

    decode, scoring = event_path_seconds(subset, model)
    n = len(subset)
    print(
        f"event-path scoring (decode, features, limits, shape model, letter check over"
        f" {VIEWS + 1} views by {FOLDS} classifiers), one thread: {n / scoring:,.0f}/s; PNG decode alone {n / decode:,.0f}/s"
        f" -> scoring costs {scoring / decode:.1f}x a decode"
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        path.write_bytes(model.to_json())
        bare = wall_seconds("import numpy", args.repeats)
        cold = wall_seconds(
            "from pathlib import Path\n"
            "from chalicelib import sanitizing\n"
            "from sanitizer import ModelSet, score_drawing\n"
            f"ModelSet.from_json(Path({str(path)!r}).read_bytes())",
            args.repeats,
        )
        size = path.stat().st_size / 1e6
    print(
        f"cold start (interpreter, imports, loading a {size:.1f} MB model): {cold:.2f} s;"
        f" bare `import numpy` {bare:.2f} s -> {cold / bare:.1f}x"
    )


if __name__ == "__main__":
    main()
