"""The writer-independent train/test split and the pseudo-writers of imported images.

Every drawing belongs to a *group*: the session that drew it (one participant on one device) or,
for the 2017 images, which kept no session, a pseudo-session of drawings made a few seconds apart
(:func:`pseudo_sessions`). Whole groups go to one side, so no writer's hand is in both train and
test. Groups are visited in an order fixed by the seed (larger groups first, ties by a seeded
hash) and each goes to the side that keeps every letter's test share closest to the target:
a greedy stratification per letter, deterministic for a seed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping

from comnist import uniqid

TEST_FRACTION = 0.2
TRAIN = "train"
TEST = "test"
GAP_SECONDS = uniqid.GAP_SECONDS


def _seeded_rank(seed: int, group: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{group}".encode()).digest()


def assign_splits(
    groups: Mapping[str, Counter[str]], seed: int, test_fraction: float = TEST_FRACTION
) -> dict[str, str]:
    """Map each group to ``"train"`` or ``"test"``.

    ``groups`` maps a group id to its drawings per letter. The same groups and seed always give
    the same answer, whatever the mapping's order.
    """
    order = sorted(groups, key=lambda g: (-sum(groups[g].values()), _seeded_rank(seed, g)))
    seen: Counter[str] = Counter()
    in_test: Counter[str] = Counter()
    result: dict[str, str] = {}
    for group in order:
        counts = groups[group]
        deviation_test = deviation_train = 0.0
        for letter, n in counts.items():
            target = test_fraction * (seen[letter] + n)
            deviation_test += abs(in_test[letter] + n - target)
            deviation_train += abs(in_test[letter] - target)
        if deviation_test != deviation_train:
            side = TEST if deviation_test < deviation_train else TRAIN
        else:
            side = TEST if _seeded_rank(seed, group)[-1] < 256 * test_fraction else TRAIN
        result[group] = side
        seen.update(counts)
        if side == TEST:
            in_test.update(counts)
    return result


def pseudo_sessions(times: Iterable[int], gap: int = GAP_SECONDS) -> dict[int, int]:
    """Map each Unix time to the first time of its run of times no more than ``gap`` seconds apart.

    The 2017 site kept no session, but a participant draws letter after letter a few seconds
    apart; a pause longer than ``gap`` starts a new pseudo-session.
    """
    result: dict[int, int] = {}
    previous: int | None = None
    start = 0
    for t in sorted(set(times)):
        if previous is None or t - previous > gap:
            start = t
        result[t] = start
        previous = t
    return result
