"""The writer-independent train/validation/test split and the pseudo-writers of imported images.

Every drawing belongs to a *group*: the session that drew it (one participant on one device) or,
for the 2017 images, which kept no session, a pseudo-session of drawings made a few seconds apart
(:func:`pseudo_sessions`). Whole groups go to one side, so no writer's hand is in two splits.
Groups are visited in an order fixed by the seed (larger groups first, ties by a seeded
hash) and each goes to the side (train, validation or test) that keeps every letter's shares
closest to their targets: a greedy stratification per letter, deterministic for a seed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping

from comnist import uniqid

TEST_FRACTION = 0.2
VALIDATION_FRACTION = 0.1
TRAIN = "train"
VALIDATION = "validation"
TEST = "test"
SPLITS = (TRAIN, VALIDATION, TEST)
GAP_SECONDS = uniqid.GAP_SECONDS


def _seeded_rank(seed: int, group: str) -> bytes:
    return hashlib.sha256(f"{seed}\0{group}".encode()).digest()


def assign_splits(
    groups: Mapping[str, Counter[str]],
    seed: int,
    test_fraction: float = TEST_FRACTION,
    validation_fraction: float = VALIDATION_FRACTION,
) -> dict[str, str]:
    """Map each group to ``"train"``, ``"validation"`` or ``"test"``.

    ``groups`` maps a group id to its drawings per letter. Each group goes to the side whose
    choice keeps every letter's shares closest to the targets (the sum of the distances of each
    side's count from its target); a tie goes by a seeded draw. The same groups and seed always
    give the same answer, whatever the mapping's order.
    """
    targets = {
        TRAIN: 1 - test_fraction - validation_fraction,
        VALIDATION: validation_fraction,
        TEST: test_fraction,
    }
    order = sorted(groups, key=lambda g: (-sum(groups[g].values()), _seeded_rank(seed, g)))
    seen: Counter[str] = Counter()
    placed = {side: Counter[str]() for side in SPLITS}
    result: dict[str, str] = {}
    for group in order:
        counts = groups[group]

        def deviation(chosen: str, counts: Counter[str] = counts) -> float:
            total = 0.0
            for letter, n in counts.items():
                for side, fraction in targets.items():
                    count = placed[side][letter] + (n if side == chosen else 0)
                    total += abs(count - fraction * (seen[letter] + n))
            return total

        deviations = {side: deviation(side) for side in SPLITS}
        best = min(deviations.values())
        tied = [side for side in SPLITS if deviations[side] - best < 1e-9]
        if len(tied) == 1:
            side = tied[0]
        else:
            # A tie (a group whose letters are new) goes by a seeded draw weighted by the targets.
            draw = int.from_bytes(_seeded_rank(seed, group)[-4:], "big") / 2**32
            weights = [targets[t] for t in tied]
            side, edge = tied[-1], 0.0
            for candidate, weight in zip(tied, weights, strict=True):
                edge += weight / sum(weights)
                if draw < edge:
                    side = candidate
                    break
        result[group] = side
        seen.update(counts)
        placed[side].update(counts)
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
