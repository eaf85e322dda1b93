"""The scheduled job's cost beside its Lambda's budget: the refit at the 2017 sample and at 1,000
drawings a letter, and the rescore per drawing, modelled for a million drawings.

    python benchmarks/scheduled_loop_bench.py --samples ../shared/data [--steps ...]

Budget. ``refit_and_rescore`` has 3,008 MB and 900 s. Lambda gives a function CPU in proportion
to its memory, one vCPU at 1,769 MB (AWS Lambda Developer Guide, "Configuring Lambda function
memory": "At 1,769 MB, a function has the equivalent of one vCPU"), so 3,008 MB is about
1.70 vCPU. The refit may take half of the invocation (the late count and sending the rescore
out take the rest): 450 s, which is 765 CPU-seconds if both vCPUs are busy. The refit decodes
and trains on forked processes, one a CPU (``sanitizer.parallel``), so a step fits when its
CPU seconds are within 765 and its seconds here, scaled by this machine's CPUs over the
function's 1.70 vCPUs, within 450. Seconds here mean something only on a quiet machine: the
load average is printed first.

Sizes. ``sample``: the 2017 drawings (4,470 Cyrillic and 179 Latin) in a local store, a refit
from nothing (``cold``: the first refit, or new code), a daily refit after 2 % new drawings
(``warm``: previous weights and decoded sample reused), and a refit of an unchanged sample.
``full``: 1,000 drawings of each of the 59 letters (59,000), synthesised by distorting the real
drawings' pictures (Latin letters have only 3-13 real drawings each, so many copies come from
one); the previous refit's decoded sample is synthesised the same way, and its classifiers are
the ``sample`` step's, so nothing has to be trained to set it up. Its ``warm`` refit decodes
the 2 % new drawings for real. A cold refit at this size is modelled
(:func:`sanitizer.model.fit_cost`, from the constants this benchmark measures) unless
``--steps full-cold`` asks for it (about 11 CPU-minutes, 6 minutes on two CPUs).

Each step runs in its own process: CPU seconds (every thread's and every forked process's,
``resource.getrusage``) and peak memory (the proportional set sizes of the step's process and
the processes it forks, sampled) are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

LAMBDA_MEMORY_MB = 3008
VCPU_AT_MB = 1769
TIMEOUT_S = 900
REFIT_SHARE = 0.5
NEW_SHARE = 0.02
PER_LETTER = 1000
# The rescore function (``rescore_drawings``): its memory, its threads, and an S3 request's
# latency from Lambda in the same region (an assumption: small GETs and PUTs take 10-50 ms).
RESCORE_MEMORY_MB = 1024
THREADS = 8
S3_LATENCY_S = 0.03


def budget() -> tuple[float, float]:
    """``(CPU seconds on every vCPU, on one)`` of the refit's half of the invocation."""
    vcpus = LAMBDA_MEMORY_MB / VCPU_AT_MB
    wall = TIMEOUT_S * REFIT_SHARE
    return wall * vcpus, wall


def cpu_seconds() -> float:
    """CPU seconds of this process's threads and of the processes it forked and waited for."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )


class MemoryWatch:
    """The peak memory of this process and the processes it forks, sampled every 0.2 s.

    Proportional set sizes (Linux ``smaps_rollup``): a page that forked processes still share
    with their parent counts once, as it does against a Lambda function's memory.
    """

    def __init__(self) -> None:
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def _watch(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, sum(map(_pss_kb, _tree(os.getpid()))))
            if self._done.wait(0.2):
                return


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = task.read_text().split()
        except OSError:
            continue
        for child in children:
            found += _tree(int(child))
    return found


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def real_drawings(samples: Path) -> list[tuple[str, str, str, bytes]]:
    from comnist.evaluation import load_genuine

    return [
        (alphabet, name, letter, png)
        for alphabet in ("cyrillic", "latin")
        for name, letter, png in load_genuine(samples / "comnist-sample" / alphabet)
    ]


def new_id(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def fill_sample(root: Path, samples: Path, seed: int = 0) -> list:
    """The 2017 drawings under random ids in a local store; returns their refs."""
    from chalicelib.keys import DrawingRef
    from chalicelib.storage import LocalStorage

    store = LocalStorage(root)
    rng = random.Random(seed)
    refs = []
    for alphabet, _, letter, png in real_drawings(samples):
        ref = DrawingRef(alphabet, letter, new_id(rng))
        store.put(ref.png_key, png, content_type="image/png")
        refs.append(ref)
    return refs


def add_new(root: Path, samples: Path, share: float, seed: int) -> int:
    """``share`` of the store's drawings again, as new drawings (real PNGs, new ids)."""
    from chalicelib.keys import DrawingRef
    from chalicelib.storage import LocalStorage

    store = LocalStorage(root)
    rng = random.Random(seed)
    drawings = real_drawings(samples)
    count = int(share * sum(1 for _ in store.list_keys("drawings/")))
    for alphabet, _, letter, png in rng.choices(drawings, k=count):
        store.put(DrawingRef(alphabet, letter, new_id(rng)).png_key, png, content_type="image/png")
    return count


def refit_step(root: Path) -> dict:
    """Plan and run the refit on the store at ``root``; CPU seconds and peak memory."""
    from chalicelib import sanitizing
    from chalicelib.storage import LocalStorage

    store = LocalStorage(root)
    before = cpu_seconds()
    start = time.perf_counter()
    with MemoryWatch() as memory:
        plan = sanitizing.plan_refit(store)
        estimate = sanitizing.estimated_refit_seconds(plan)
        outcome = sanitizing.run_refit(store, plan)
    return {
        "cpu": cpu_seconds() - before,
        "wall": time.perf_counter() - start,
        "peak_mb": memory.peak_mb,
        "estimate": estimate,
        "decoded": outcome.decoded,
        "refitted": outcome.refitted,
        "changed": outcome.changed,
        "drawings": {a: plan.drawings(a) for a in plan.refs},
    }


def synthesise_full(root: Path, sample_root: Path, samples: Path, seed: int = 1) -> dict:
    """1,000 drawings a letter, as a previous refit left them: PNG objects, the decoded sample
    (distorted pictures of the real drawings) and the ``sample`` step's model as the current
    one, under other sample digests so that every alphabet's sample counts as changed."""
    from chalicelib import sanitizing
    from chalicelib.alphabets import alphabets
    from chalicelib.keys import MODELS_CURRENT_KEY, DrawingRef, model_key
    from chalicelib.storage import LocalStorage
    from sanitizer import extract
    from sanitizer.augment import distorted_copies
    from sanitizer.features import letter_picture
    from sanitizer.model import ModelSet

    store = LocalStorage(root)
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    by_letter: dict[tuple[str, str], list] = {}
    for alphabet, name, letter, png in real_drawings(samples):
        sample = extract(png, name, alphabet, letter)
        if sample is not None:
            by_letter.setdefault((alphabet, letter), []).append((png, sample))
    for alphabet in alphabets().values():
        entries = {}
        for letter in alphabet.letters:
            real = by_letter[(alphabet.id, letter)]
            picks = [real[i % len(real)] for i in range(PER_LETTER)]
            canvases = distorted_copies(np.stack([s.picture for _, s in picks]), nprng)
            for (png, sample), canvas in zip(picks, canvases, strict=True):
                ref = DrawingRef(alphabet.id, letter, new_id(rng))
                store.put(ref.png_key, png, content_type="image/png")
                picture = letter_picture(canvas.astype(np.float32) / 255.0)
                entries[ref.png_key] = (sample.features, picture)
        sanitizing._write_cache(store, alphabet.id, entries)
    previous_store = LocalStorage(sample_root)
    version = previous_store.get_json(MODELS_CURRENT_KEY)["version"]
    model = ModelSet.from_json(previous_store.get(model_key(version)).data)
    model.sample_digests = {a: "synthesised" for a in model.sample_digests}
    store.put(model_key(model.version), model.to_json(), content_type="application/json")
    store.put_json(MODELS_CURRENT_KEY, {"version": model.version, "key": model_key(model.version)})
    return {"drawings": PER_LETTER * sum(len(a.letters) for a in alphabets().values())}


def counting(store):
    """``store`` with a count of its requests (``requests``), as S3 would bill them."""
    store.requests = 0
    for name in ("get", "put", "get_tags", "put_tags", "head", "exists"):
        method = getattr(store, name)

        def counted(*args, _method=method, **kwargs):
            store.requests += 1
            return _method(*args, **kwargs)

        setattr(store, name, counted)
    return store


def rescore_step(root: Path, count: int) -> dict:
    """Rescore ``count`` drawings through the queue function's code; CPU seconds and storage
    requests per drawing."""
    from chalicelib import events, sanitizing
    from chalicelib.storage import LocalStorage

    store = counting(LocalStorage(root))
    keys = [k for k in store.list_keys("drawings/cyrillic/") if k.endswith(".png")][:count]
    message = {"alphabet": "cyrillic", "part": None, "keys": keys}
    model = sanitizing.model_in_force(store)
    message["part"] = sanitizing.model_part(model, "cyrillic")
    # As the event path left them: tagged and counted. Then the rescore of a new model.
    for key in keys:
        events.process_new_drawing(store, key)
    before = cpu_seconds()
    store.requests = 0
    start = time.perf_counter()
    counts = sanitizing.rescore_batch(store, message, workers=1)
    return {
        "cpu_per_drawing": (cpu_seconds() - before) / len(keys),
        "requests_per_drawing": store.requests / len(keys),
        "wall_per_drawing": (time.perf_counter() - start) / len(keys),
        "drawings": len(keys),
        "counts": counts,
    }


STEPS = {
    "sample-cold": lambda a: refit_step(a.work / "sample"),
    "sample-unchanged": lambda a: refit_step(a.work / "sample"),
    "sample-warm": lambda a: refit_step(a.work / "sample"),
    "full-unchanged": lambda a: refit_step(a.work / "full"),
    "full-warm": lambda a: refit_step(a.work / "full"),
    "full-cold": lambda a: refit_step(a.work / "full"),
    "rescore": lambda a: rescore_step(a.work / "sample", a.rescore),
}


def run_step(args: argparse.Namespace, step: str) -> dict:
    """``step`` in a fresh process, so that its CPU and peak memory are its own."""
    command = [sys.executable, __file__, "--samples", str(args.samples), "--work", str(args.work)]
    command += ["--rescore", str(args.rescore), "--child", step]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def lambda_wall(wall: float) -> float:
    """The refit's seconds in the function, from its seconds here: no faster than here, and
    slower by this machine's CPUs over the function's vCPUs where it keeps every CPU busy."""
    from sanitizer.parallel import available_cpus

    return wall * max(1.0, available_cpus() / (LAMBDA_MEMORY_MB / VCPU_AT_MB))


def line(name: str, figures: dict, cpu_budget: float) -> str:
    cpu, wall = figures["cpu"], lambda_wall(figures["wall"])
    verdict = "fits" if cpu <= cpu_budget and wall <= TIMEOUT_S * REFIT_SHARE else "OVER"
    return (
        f"  {name:18} {cpu:7.1f} CPU-s (estimated {figures['estimate']:6.1f}),"
        f" {figures['wall']:6.1f} s here, {wall:6.1f} s modelled in the function, peak"
        f" {figures['peak_mb']:5.0f} MB, {figures['decoded']:6,} decoded, refitted"
        f" {','.join(figures['refitted']) or 'nothing'} -> {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep the stores here")
    parser.add_argument(
        "--steps",
        nargs="+",
        default=["sample-cold", "sample-unchanged", "sample-warm", "rescore", "full-warm"],
        choices=list(STEPS),
    )
    parser.add_argument("--rescore", type=int, default=300, help="drawings rescored")
    parser.add_argument("--concurrency", type=int, default=20, help="rescore invocations")
    parser.add_argument("--child", choices=list(STEPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(STEPS[args.child](args)))
        return
    if args.work is None:
        args.work = Path(tempfile.mkdtemp(prefix="comnist-loop-"))
    cpu_budget, one_vcpu = budget()
    print(f"load average here: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"refit budget: half of {TIMEOUT_S} s on {LAMBDA_MEMORY_MB} MB"
        f" ({LAMBDA_MEMORY_MB / VCPU_AT_MB:.2f} vCPU): {cpu_budget:.0f} CPU-s on every vCPU,"
        f" {one_vcpu:.0f} on one; memory {LAMBDA_MEMORY_MB} MB"
    )
    figures: dict[str, dict] = {}
    if not (args.work / "sample").exists():
        fill_sample(args.work / "sample", args.samples)
    for step in args.steps:
        if step == "sample-warm":
            add_new(args.work / "sample", args.samples, NEW_SHARE, seed=2)
        if step.startswith("full") and not (args.work / "full").exists():
            print("  (synthesising 1,000 drawings a letter)", flush=True)
            synthesise_full(args.work / "full", args.work / "sample", args.samples)
        if step == "full-warm":
            add_new(args.work / "full", args.samples, NEW_SHARE, seed=3)
        if step == "full-cold":
            # Nothing of a previous refit: no decoded sample, no model in force or stored.
            for kept in (args.work / "full" / "models").glob("samples/*.npz"):
                kept.unlink()
            for kept in (args.work / "full" / "models").glob("m*.json"):
                kept.unlink()
            (args.work / "full" / "models" / "current.json").unlink(missing_ok=True)
        figures[step] = run_step(args, step)
        if step == "rescore":
            continue
        print(line(step, figures[step], cpu_budget), flush=True)
    if "rescore" in figures:
        rescored = figures["rescore"]
        cpu, requests = rescored["cpu_per_drawing"], rescored["requests_per_drawing"]
        # In the function: its CPU share, or S3's latency spread over its threads, whichever
        # is slower.
        seconds = max(cpu / (RESCORE_MEMORY_MB / VCPU_AT_MB), requests * S3_LATENCY_S / THREADS)
        hours = 1_000_000 * seconds / args.concurrency / 3600
        print(
            f"rescore: {cpu * 1000:.1f} ms CPU and {requests:.1f} storage requests a drawing"
            f" ({rescored['drawings']} drawings, {rescored['counts']}); in a {RESCORE_MEMORY_MB} MB"
            f" function ({RESCORE_MEMORY_MB / VCPU_AT_MB:.2f} vCPU, {THREADS} threads,"
            f" {S3_LATENCY_S * 1000:.0f} ms a request) {seconds * 1000:.0f} ms a drawing:"
            f" 1,000,000 drawings at {args.concurrency} invocations at once in {hours:.2f} h"
            f" (target: under 1 h)"
        )
    if "full-warm" in figures and "full-cold" not in figures:
        from sanitizer.model import fit_cost

        drawings = figures["full-warm"]["drawings"]
        cold = fit_cost(sum(drawings.values()), drawings)
        print(f"  {'full-cold':18} {cold:7.1f} CPU-s modelled (sanitizer.model.fit_cost)")


if __name__ == "__main__":
    main()
