"""The refit's work on every CPU: forked processes give the same results, in order, as one."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from chalicelib.raster import render_png
from letterstrokes import hand_drawn_strokes
from sanitizer import extract, fit_models
from sanitizer.parallel import fork_map


def test_forked_processes_return_every_result_in_order_and_really_fork():
    parent = os.getpid()
    results = fork_map(lambda n: (n * n, os.getpid()), list(range(11)), processes=3)
    assert [square for square, _ in results] == [n * n for n in range(11)]
    pids = {pid for _, pid in results}
    assert len(pids) == 3 and parent not in pids, "three processes, none of them this one"
    assert fork_map(lambda n: os.getpid(), [1, 2], processes=1) == [parent, parent]
    assert fork_map(str, [], processes=4) == []


def test_a_failure_in_a_forked_process_is_raised_with_its_traceback():
    def fail_on_three(n: int) -> int:
        if n == 3:
            raise ValueError("three is not allowed")
        return n

    with pytest.raises(RuntimeError, match="three is not allowed"):
        fork_map(fail_on_three, [1, 2, 3, 4], processes=2)


def test_a_process_that_dies_without_a_result_fails_the_map():
    with pytest.raises(RuntimeError, match="without a result"):
        fork_map(lambda n: os._exit(1) if n == 2 else n, [1, 2], processes=2)


def test_classifiers_trained_on_several_processes_are_those_trained_on_one():
    rng = random.Random(11)
    samples = []
    for alphabet in ("latin", "cyrillic"):
        for letter in "TLOX":
            for _ in range(24):
                png = render_png(hand_drawn_strokes(letter, rng), 300, 300)
                drawing = str(rng.getrandbits(64))
                samples.append(extract(png, drawing, alphabet, letter))
    options = {"classifier_epochs": 2, "classifier_rows": 3000, "version": "same"}
    alone = fit_models(samples, processes=1, **options)
    spread = fit_models(samples, processes=2, **options)
    assert sorted(alone.classifiers) == sorted(spread.classifiers) == ["cyrillic", "latin"]
    for alphabet, folds in alone.classifiers.items():
        for one, other in zip(folds, spread.classifiers[alphabet], strict=True):
            assert one.labels == other.labels
            for name in ("w1", "b1", "w2", "b2"):
                assert np.array_equal(getattr(one, name), getattr(other, name)), name
    assert alone.letter_thresholds == spread.letter_thresholds
