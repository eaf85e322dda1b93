"""Fitted models for every letter, as versioned JSON (never pickle), and how a drawing is scored."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from .augment import ELASTIC_SHIFT, distorted_copies, views
from .classifier import EPOCHS, LetterClassifier
from .features import FEATURE_NAMES, picture_descriptors
from .gaussian import (
    IndependentGaussian,
    MultivariateGaussian,
    threshold_by_f1,
    threshold_by_quantile,
)
from .nonletters import NOT_A_LETTER, choose_nonletters, hand_drawn_nonletters, nonletter_pictures
from .parallel import fork_map

# Version 4: the letter classifiers have a not-a-letter class (the last label, NOT_A_LETTER).
FORMAT = "comnist-sanitizer/4"
MIN_DRAWINGS = 20
CONTAMINATION = 0.02
FOLDS = 3
# Without the maintainer's verdicts, the letter check flags a drawing when the classifiers give
# its claimed letter less than one chance in 10,000 (a surprise above log 10000). Chosen on a
# writer split tuned on (seed 0 of comnist evaluate), among 1 in 5,000 to 1 in 200,000: the best
# F1 (0.938 against 0.931 at 1 in 5,000, for 6 fewer genuine drawings flagged).
LETTER_SURPRISE = math.log(10_000.0)
# Distorted copies are added until a fold's training set has about this many rows (at most
# MAX_COPIES per drawing): small collections need them, large ones already hold many writers.
# On the 2017 drawings (about 2,400 per fold, as many not-a-letter pictures), 50,000 rows rather
# than 25,000 raised the evaluation's F1 from 0.89 to 0.90-0.91 on both writer splits tried, and
# 100,000 rows (twenty copies) by another 0.004-0.007.
TARGET_ROWS = 100_000
MAX_COPIES = 20
# At most this many not-a-letter pictures per training drawing, so that a young collection's
# classifier still learns mostly letters.
NONLETTERS_PER_DRAWING = 1.0
# A refit whose alphabet already has classifiers of the same labels starts from them and trains
# this many epochs on fresh distorted copies of its sample, instead of EPOCHS from random
# weights: the daily refit of a grown collection must fit in half of a Lambda invocation.
WARM_EPOCHS = 5
# CPU seconds of a refit's parts on the benchmark machine (benchmarks/sanitizer_refit_bench.py):
# decoding one stored drawing; distorting one training row and taking its descriptor; one row
# through one training epoch. fit_cost adds them up to say beforehand how long a refit takes.
DECODE_SECONDS = 0.006
DISTORTED_ROW_SECONDS = 0.0004
ROW_EPOCH_SECONDS = 0.000012
# Package files whose content decides what a refit makes: a change to any of them is new code.
CODE_SUFFIXES = (".py", ".json", ".npz")
EXTRACTION_FILES = ("image.py", "features.py")


@dataclass(frozen=True)
class Starter:
    """What a refit takes from a starter letter check (:mod:`sanitizer.starter` ships one).

    ``model`` holds classifiers for alphabets with none of their own; ``fill(alphabet, counts)``
    gives the pictures (and their letters) that teach the drawn letters of a covered alphabet
    besides their drawings; ``alphabets`` are the alphabets it covers.
    """

    model: ModelSet | None
    fill: Callable[[str, Mapping[str, int]], tuple[np.ndarray, list[str]]]
    alphabets: frozenset[str]


def id_hash(drawing_id: str) -> int:
    """A drawing id's 32-bit hash: its cross-fitting fold and its entry in a model's member list."""
    return int(hashlib.sha256(drawing_id.encode()).hexdigest()[:8], 16)


def fold_of(drawing_id: str) -> int:
    """The cross-fitting fold of a drawing: its classifier is the one trained without that fold."""
    return id_hash(drawing_id) % FOLDS


@dataclass
class LetterModel:
    """The fitted statistics of one (alphabet, letter)."""

    count: int
    baseline: IndependentGaussian
    baseline_epsilon: float
    gaussian: MultivariateGaussian
    epsilon: float
    spread: float
    epsilon_rule: str

    def shape_margin(self, x: np.ndarray) -> np.ndarray:
        """How far below epsilon ``log p(x)`` is, in units of the training spread (> 0: improbable)."""
        return (self.epsilon - self.gaussian.log_density(x)) / self.spread


@dataclass
class Sample:
    """One training drawing: identity, feature vector, classifier picture, human verdict.

    ``picture`` is :func:`sanitizer.features.letter_picture`: the letter classifier's descriptor
    is taken from it, after distortion for the augmented copies.
    """

    id: str
    alphabet: str
    letter: str
    features: np.ndarray
    picture: np.ndarray
    verdict: str | None = None


@dataclass
class ModelSet:
    """Every letter model and each alphabet's cross-fitted classifiers, under one version."""

    version: str
    created: str
    letters: dict[tuple[str, str], LetterModel] = field(default_factory=dict)
    classifiers: dict[str, list[LetterClassifier]] = field(default_factory=dict)
    contamination: float = CONTAMINATION
    letter_thresholds: dict[str, float] = field(default_factory=dict)
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    # Per alphabet: the digest of the sample it was fitted from (:func:`sample_digest`), and the
    # epochs its own classifiers have trained in all (absent: the starter's, or none).
    sample_digests: dict[str, str] = field(default_factory=dict)
    classifier_epochs: dict[str, int] = field(default_factory=dict)

    def was_trained_on(self, drawing_id: str) -> bool:
        """Whether the drawing was in the training set (by 32-bit hash: a rare false yes is harmless)."""
        key = id_hash(drawing_id)
        position = np.searchsorted(self.members, key)
        return bool(position < len(self.members) and self.members[position] == key)

    def letter_probabilities(
        self, alphabet: str, drawing_id: str, descriptors: np.ndarray
    ) -> tuple[list[str], np.ndarray] | None:
        """``(labels, P(label | drawing))`` from the descriptor rows of one drawing's views.

        A drawing the models were trained on is judged by the one classifier whose training
        left out its fold; any other drawing by all of them. See :func:`judged_probabilities`.
        """
        folds = self.classifiers.get(alphabet)
        if not folds:
            return None
        if self.was_trained_on(drawing_id):
            judges = [folds[fold_of(drawing_id) % len(folds)]]
        else:
            judges = folds
        return folds[0].labels, judged_probabilities(judges, descriptors)

    def letter_margin(
        self, alphabet: str, letter: str, drawing_id: str, descriptors: np.ndarray
    ) -> tuple[float, str, float] | None:
        """``(margin, likeliest label, P(claimed letter))``; margin > 0: not the claimed letter.

        ``descriptors`` are the rows of :func:`sanitizer.features.letter_descriptors`. The
        margin is the surprise ``-log P(claimed)`` less the alphabet's threshold.
        """
        judged = self.letter_probabilities(alphabet, drawing_id, descriptors)
        if judged is None or letter not in judged[0]:
            return None
        labels, probs = judged
        claimed = float(probs[labels.index(letter)])
        threshold = self.letter_thresholds.get(alphabet, LETTER_SURPRISE)
        return surprise(claimed) - threshold, labels[int(np.argmax(probs))], claimed

    def to_json(self) -> bytes:
        def arr(a: np.ndarray) -> Any:
            return np.round(np.asarray(a, dtype=np.float64), 7).tolist()

        doc = {
            "format": FORMAT,
            "version": self.version,
            "created": self.created,
            "features": list(FEATURE_NAMES),
            "contamination": self.contamination,
            "letter_thresholds": dict(sorted(self.letter_thresholds.items())),
            "members": base64.b64encode(self.members.astype("<u4").tobytes()).decode(),
            "sample_digests": dict(sorted(self.sample_digests.items())),
            "classifier_epochs": dict(sorted(self.classifier_epochs.items())),
            "letters": [
                {
                    "alphabet": alphabet,
                    "letter": letter,
                    "count": m.count,
                    "baseline": {
                        "mean": arr(m.baseline.mean),
                        "var": arr(m.baseline.var),
                        "epsilon": m.baseline_epsilon,
                    },
                    "gaussian": {
                        "mean": arr(m.gaussian.mean),
                        "precision": arr(m.gaussian.precision),
                        "log_det": m.gaussian.log_det,
                    },
                    "epsilon": m.epsilon,
                    "spread": m.spread,
                    "epsilon_rule": m.epsilon_rule,
                }
                for (alphabet, letter), m in sorted(self.letters.items())
            ],
            "classifiers": {
                alphabet: [
                    {
                        "labels": c.labels,
                        "w1": arr(c.w1),
                        "b1": arr(c.b1),
                        "w2": arr(c.w2),
                        "b2": arr(c.b2),
                    }
                    for c in folds
                ]
                for alphabet, folds in sorted(self.classifiers.items())
            },
        }
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode()

    @classmethod
    def from_json(cls, data: bytes) -> ModelSet:
        doc = json.loads(data)
        if doc.get("format") != FORMAT or doc.get("features") != list(FEATURE_NAMES):
            raise ValueError("model file of another format or feature set")
        letters = {}
        for item in doc["letters"]:
            letters[(item["alphabet"], item["letter"])] = LetterModel(
                count=item["count"],
                baseline=IndependentGaussian(
                    np.array(item["baseline"]["mean"]), np.array(item["baseline"]["var"])
                ),
                baseline_epsilon=item["baseline"]["epsilon"],
                gaussian=MultivariateGaussian(
                    np.array(item["gaussian"]["mean"]),
                    np.array(item["gaussian"]["precision"]),
                    item["gaussian"]["log_det"],
                ),
                epsilon=item["epsilon"],
                spread=item["spread"],
                epsilon_rule=item["epsilon_rule"],
            )
        classifiers = {
            alphabet: [
                LetterClassifier(
                    c["labels"],
                    np.array(c["w1"]),
                    np.array(c["b1"]),
                    np.array(c["w2"]),
                    np.array(c["b2"]),
                )
                for c in folds
            ]
            for alphabet, folds in doc.get("classifiers", {}).items()
        }
        return cls(
            doc["version"],
            doc["created"],
            letters,
            classifiers,
            doc.get("contamination", CONTAMINATION),
            {a: float(t) for a, t in doc.get("letter_thresholds", {}).items()},
            np.frombuffer(base64.b64decode(doc.get("members", "")), dtype="<u4").astype(np.uint32),
            {str(a): str(d) for a, d in doc.get("sample_digests", {}).items()},
            {str(a): int(e) for a, e in doc.get("classifier_epochs", {}).items()},
        )


def _fit_letter(samples: list[Sample], contamination: float) -> LetterModel:
    train = [s for s in samples if s.verdict != "rejected"]
    x = np.stack([s.features for s in train])
    baseline = IndependentGaussian.fit(x)
    gaussian = MultivariateGaussian.fit_robust(x)
    all_x = np.stack([s.features for s in samples])
    labelled = np.array([s.verdict in ("ok", "rejected") for s in samples])
    is_anomaly = np.array([s.verdict == "rejected" for s in samples])
    logp = gaussian.log_density(all_x)
    base_logp = baseline.log_density(all_x)
    epsilon = (
        threshold_by_f1(logp[labelled], is_anomaly[labelled]) if labelled.sum() >= 10 else None
    )
    base_epsilon = (
        threshold_by_f1(base_logp[labelled], is_anomaly[labelled]) if labelled.sum() >= 10 else None
    )
    rule = "f1" if epsilon is not None else "quantile"
    train_logp = gaussian.log_density(x)
    if epsilon is None:
        epsilon = threshold_by_quantile(train_logp, contamination)
    if base_epsilon is None:
        base_epsilon = threshold_by_quantile(baseline.log_density(x), contamination)
    spread = float(np.subtract(*np.quantile(train_logp, [0.75, 0.25]))) or 1.0
    return LetterModel(
        len(samples), baseline, float(base_epsilon), gaussian, float(epsilon), spread, rule
    )


def fit_models(
    samples: list[Sample],
    *,
    contamination: float = CONTAMINATION,
    min_drawings: int = MIN_DRAWINGS,
    version: str | None = None,
    classifier_epochs: int | None = None,
    classifier_rows: int = TARGET_ROWS,
    starter: Starter | None = None,
    previous: ModelSet | None = None,
    warm_epochs: int = WARM_EPOCHS,
    junk: Sequence[Sample] = (),
    processes: int | None = None,
) -> ModelSet:
    """Fit a :class:`ModelSet` from samples; letters with fewer than ``min_drawings`` stay unfitted.

    Human verdicts are used twice: rejected drawings never train a model, and once a letter has
    at least ten labelled drawings of both kinds, epsilon is chosen by F1 on them (Ng's rule);
    otherwise epsilon is the ``contamination`` quantile of the training scores.

    Each alphabet with two fitted letters or more also gets :data:`FOLDS` letter classifiers,
    each trained without one fold of the drawings (by :func:`fold_of`), on the pictures of
    :mod:`sanitizer.nonletters` as one more class (at most :data:`NONLETTERS_PER_DRAWING` per
    drawing) and on distorted copies of both (:data:`TARGET_ROWS`). The hashes of the drawings
    they were trained on are kept in :attr:`ModelSet.members`, so that rescoring judges a
    drawing by the classifier that never saw it. ``junk`` are drawings known not to be
    letters (the refit's screen finds them, :func:`sanitizer.sampling.screen`): every fold's
    classifier learns them as not-a-letter, whatever letter they were sent as, so they are
    not members: all the classifiers judge them, as they judge a new drawing.

    The classifiers of every alphabet train at once on ``processes`` forked processes (default:
    every CPU, :func:`sanitizer.parallel.fork_map`); each is the same as trained alone.

    Alphabets the ``starter`` covers (:mod:`sanitizer.starter`) also learn from every drawn letter
    with fewer than 20 drawings, and from font pictures of each drawn letter, fewer as its
    drawings accumulate (``starter.fill``). An alphabet that gets no
    classifier of its own keeps the starter's, with the starter's threshold.
    """
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    version = version or datetime.now(UTC).strftime("m%Y%m%dT%H%M%S")
    models = ModelSet(version, created, contamination=contamination)
    by_letter: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        if np.all(np.isfinite(sample.features)):
            by_letter.setdefault((sample.alphabet, sample.letter), []).append(sample)
    for key, group in by_letter.items():
        if len([s for s in group if s.verdict != "rejected"]) >= min_drawings:
            models.letters[key] = _fit_letter(group, contamination)
    trained: list[Sample] = []
    nonletters = nonletter_pictures()
    nonletter_descriptors = picture_descriptors(nonletters)
    tasks: list[Callable[[], LetterClassifier]] = []
    fitted: dict[str, list[Sample]] = {}
    for alphabet in sorted({a for a, _ in models.letters}):
        judged = [s for (a, _), g in by_letter.items() if a == alphabet for s in g]
        started = starter is not None and alphabet in starter.alphabets
        trainable = np.array(
            [
                ((alphabet, s.letter) in models.letters or started) and s.verdict != "rejected"
                for s in judged
            ],
            dtype=bool,
        )
        group = [s for s, keep in zip(judged, trainable, strict=True) if keep]
        counts: dict[str, int] = {}
        for s in group:
            counts[s.letter] = counts.get(s.letter, 0) + 1
        fill, fill_letters = starter.fill(alphabet, counts) if started else (nonletters[:0], [])
        labels = sorted(set(counts) | set(fill_letters))
        if len(labels) < 2:
            continue
        if len(nonletters):
            labels.append(NOT_A_LETTER)
        own = np.stack([s.picture for s in judged])[trainable]
        taught_junk = [s for s in junk if s.alphabet == alphabet] if len(nonletters) else []
        junk_pictures = np.stack([s.picture for s in taught_junk]) if taught_junk else fill[:0]
        parts = (
            FoldPictures(
                own,
                np.array([labels.index(s.letter) for s in group], dtype=np.int64),
                picture_descriptors(own),
                np.array([fold_of(s.id) for s in group], dtype=np.int64),
            ),
            # The screen's junk, in every fold: no classifier is left to judge it as unseen.
            FoldPictures(
                junk_pictures,
                np.full(len(taught_junk), len(labels) - 1, dtype=np.int64),
                picture_descriptors(junk_pictures),
                np.full(len(taught_junk), -1, dtype=np.int64),
            ),
            FoldPictures(
                fill,
                np.array([labels.index(letter) for letter in fill_letters], dtype=np.int64),
                picture_descriptors(fill),
                np.full(len(fill), -1, dtype=np.int64),
            ),
        )
        starts = warm_start(previous, alphabet, labels)
        epochs = warm_epochs if starts else (classifier_epochs or EPOCHS)
        tasks += [
            partial(
                train_fold,
                parts,
                labels,
                fold,
                nonletter_descriptors=nonletter_descriptors,
                target_rows=classifier_rows,
                epochs=epochs,
                start=starts[fold] if starts else None,
            )
            for fold in range(FOLDS)
        ]
        models.classifier_epochs[alphabet] = epochs + (
            previous.classifier_epochs[alphabet] if starts and previous else 0
        )
        trained += group
        fitted[alphabet] = judged
    # Every alphabet's folds at once, on every CPU there is: the same classifiers as one by one.
    classifiers = fork_map(lambda task: task(), tasks, processes)
    for i, (alphabet, judged) in enumerate(fitted.items()):
        folds = classifiers[i * FOLDS : (i + 1) * FOLDS]
        models.classifiers[alphabet] = folds
        models.letter_thresholds[alphabet] = _letter_threshold(folds, judged)
    shipped = starter.model if starter is not None else None
    for alphabet, starter_folds in (shipped.classifiers if shipped else {}).items():
        # No classifiers of this alphabet's own yet: the shipped starter's judge it.
        if alphabet not in models.classifiers:
            models.classifiers[alphabet] = starter_folds
            models.letter_thresholds[alphabet] = shipped.letter_thresholds.get(
                alphabet, LETTER_SURPRISE
            )
    models.members = np.unique(np.array([id_hash(s.id) for s in trained], dtype=np.uint32))
    return models


@dataclass(frozen=True)
class FoldPictures:
    """Training pictures with their label indices, descriptors and cross-fitting folds
    (:func:`fold_of`; -1 for pictures every fold learns from, such as the starter's fill)."""

    pictures: np.ndarray
    labels: np.ndarray
    descriptors: np.ndarray
    folds: np.ndarray

    def outside(self, fold: int) -> FoldPictures:
        """The pictures the classifier of ``fold`` learns from: those not in that fold."""
        keep = self.folds != fold
        return FoldPictures(
            self.pictures[keep], self.labels[keep], self.descriptors[keep], self.folds[keep]
        )


def train_fold(
    parts: Sequence[FoldPictures], labels: list[str], fold: int, **options: Any
) -> LetterClassifier:
    """The classifier of ``fold``: :func:`train_classifier` on the ``parts`` outside it, joined
    in order and seeded by the fold. Its rows are built where it trains, one fold at a time."""
    chosen = [part.outside(fold) for part in parts]
    return train_classifier(
        np.concatenate([part.pictures for part in chosen]),
        np.concatenate([part.labels for part in chosen]),
        labels,
        seed=fold,
        known=[part.descriptors for part in chosen],
        **options,
    )


def train_classifier(
    pictures: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    *,
    seed: int,
    known: Sequence[np.ndarray] | None = None,
    nonletter_descriptors: np.ndarray | None = None,
    epochs: int | None = None,
    target_rows: int = TARGET_ROWS,
    elastic: float = ELASTIC_SHIFT,
    doodles_first: bool = True,
    start: LetterClassifier | None = None,
) -> LetterClassifier:
    """One letter classifier from letter pictures, the not-a-letter pictures and distorted copies.

    ``pictures`` are :func:`sanitizer.features.letter_picture` arrays with label indices ``y``
    into ``labels``, whose last entry is :data:`NOT_A_LETTER` when the not-a-letter pictures are
    shipped: at most :data:`NONLETTERS_PER_DRAWING` of them per picture are added, the hand-drawn
    doodles first (:func:`sanitizer.nonletters.choose_nonletters`), or all at random if
    ``doodles_first`` is false. Distorted copies of both fill the training set up to about
    ``target_rows`` rows (at most :data:`MAX_COPIES` per picture), their strokes bent by
    ``elastic`` pixels (:func:`sanitizer.augment.elastic_warp`). ``known`` (the pictures'
    descriptors, in parts joined in order) and ``nonletter_descriptors`` are given when the
    caller has them already. ``start`` is a classifier to warm-start from
    (:meth:`LetterClassifier.train`).
    Deterministic for a given ``seed``.
    """
    if labels[-1] != NOT_A_LETTER:
        nonletters, doodles_first = nonletter_pictures()[:0], False
    else:
        nonletters = nonletter_pictures()
    hand_drawn = hand_drawn_nonletters() if doodles_first else np.zeros(len(nonletters), dtype=bool)
    if known is None:
        known = [picture_descriptors(pictures)]
    if nonletter_descriptors is None:
        nonletter_descriptors = picture_descriptors(nonletters)
    rng = np.random.default_rng(seed)
    most = min(len(nonletters), int(NONLETTERS_PER_DRAWING * len(pictures)))
    shown = choose_nonletters(hand_drawn, most, rng)
    y = np.concatenate([y, np.full(len(shown), len(labels) - 1)]).astype(np.int64)
    rows = [nonletter_descriptors[shown]]
    copies = min(MAX_COPIES, max(0, target_rows // len(y) - 1))
    if copies:
        both = np.concatenate([pictures, nonletters[shown]])
        rows += [picture_descriptors(distorted_copies(both, rng, elastic)) for _ in range(copies)]
    # Filled in place: a large collection's descriptors are not concatenated and then copied.
    x = np.empty((len(y) * (copies + 1), rows[0].shape[1]), dtype=rows[0].dtype)
    np.concatenate(known, out=x[: len(pictures)])
    np.concatenate(rows, out=x[len(pictures) :])
    kwargs = {"epochs": epochs} if epochs else {}
    return LetterClassifier.train(
        x, np.tile(y, copies + 1), labels, seed=seed, start=start, **kwargs
    )


def surprise(probability: float) -> float:
    """``-log probability``, finite even for a probability of zero."""
    return -math.log(max(probability, 1e-12))


def judged_probabilities(judges: list[LetterClassifier], descriptors: np.ndarray) -> np.ndarray:
    """``P(label | drawing)``: the normalised geometric mean over judges and views.

    ``descriptors`` holds one row per view of a single drawing. Averaging log-probabilities
    over several classifiers and several slightly distorted views is both more accurate and
    more cautious than one classifier on one view: a writer's unusual slant or proportions no
    longer decide alone that a letter is another one.
    """
    log_p = np.mean([judge.log_probabilities(descriptors) for judge in judges], axis=(0, 1))
    probs = np.exp(log_p - log_p.max())
    return probs / probs.sum()


def out_of_fold_surprises(folds: list[LetterClassifier], samples: list[Sample]) -> np.ndarray:
    """``-log P(claimed letter)`` of each sample under the classifier that never saw it."""
    labels = folds[0].labels
    surprises = np.zeros(len(samples))
    for i, sample in enumerate(samples):
        if sample.letter in labels:
            judge = folds[fold_of(sample.id) % len(folds)]
            probs = judged_probabilities([judge], picture_descriptors(views(sample.picture)))
            surprises[i] = surprise(float(probs[labels.index(sample.letter)]))
    return surprises


def _letter_threshold(folds: list[LetterClassifier], samples: list[Sample]) -> float:
    """The surprise ``-log P(claimed)`` above which the letter check flags a drawing, per alphabet.

    Ng's rule when the maintainer has judged at least ten drawings of each kind in the alphabet:
    the threshold maximising F1 on their out-of-fold surprises. Otherwise
    :data:`LETTER_SURPRISE`, fixed odds rather than a quantile, so that a clean collection is
    not made to yield a quota of suspects.
    """
    labelled = [s for s in samples if s.verdict in ("ok", "rejected")]
    rejected = np.array([s.verdict == "rejected" for s in labelled], dtype=bool)
    if rejected.sum() >= 10 and (~rejected).sum() >= 10:
        surprises = out_of_fold_surprises(folds, labelled)
        # threshold_by_f1 flags low scores: negate to flag high surprises.
        best = threshold_by_f1(-surprises, rejected)
        if best is not None:
            return float(-best - 1e-9)
    return LETTER_SURPRISE


def warm_start(
    previous: ModelSet | None, alphabet: str, labels: list[str]
) -> list[LetterClassifier] | None:
    """The previous model's fold classifiers of ``alphabet`` to start from, or ``None``.

    Only classifiers trained on the collection's drawings (recorded in
    :attr:`ModelSet.classifier_epochs`), of the same labels, one per fold.
    """
    if previous is None or alphabet not in previous.classifier_epochs:
        return None
    folds = previous.classifiers.get(alphabet) or []
    if len(folds) != FOLDS or any(c.labels != labels for c in folds):
        return None
    return folds


@cache
def code_fingerprint(names: tuple[str, ...] | None = None) -> str:
    """A digest of this package's code and data files (or only of the files ``names``): what a
    refit's result depends on."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.iterdir()):
        if names is not None and path.name not in names:
            continue
        if path.suffix in CODE_SUFFIXES and path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def extraction_fingerprint() -> str:
    """A digest of the code that decodes a drawing into a :class:`Sample`'s features and picture:
    a decoded sample kept by one refit serves the next while this is the same."""
    return code_fingerprint(EXTRACTION_FILES)


def sample_digest(entries: Iterable[tuple[str, str | None]], options: dict[str, Any]) -> str:
    """The digest of one alphabet's refit inputs: its sample, the verdicts, the code, the options.

    ``entries`` are ``(drawing key, maintainer's verdict or None)``, in any order. Two refits
    of the same drawings with the same verdicts, code and options have the same digest.
    """
    digest = hashlib.sha256(code_fingerprint().encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    for key, verdict in sorted(entries, key=lambda entry: entry[0]):
        digest.update(f"\n{key}\t{verdict or ''}".encode())
    return digest.hexdigest()


def content_version(digests: dict[str, str]) -> str:
    """A model version named by its content: the digests of every alphabet's inputs."""
    text = json.dumps(dict(sorted(digests.items())), separators=(",", ":"))
    return "m" + hashlib.sha256(text.encode()).hexdigest()[:24]


def merged_models(
    fresh: ModelSet,
    previous: ModelSet | None,
    refitted: set[str],
    kept_members: np.ndarray,
) -> ModelSet:
    """``fresh`` (fitted on the ``refitted`` alphabets' samples) with every other alphabet's
    part of ``previous``: its letter models, classifiers, threshold, digest and epochs.

    ``kept_members`` are the id hashes of the kept alphabets' current samples: those of them
    in ``previous``'s members stay members.
    """
    if previous is None:
        return fresh

    def kept(alphabet: str) -> bool:
        return alphabet not in refitted and alphabet in previous.sample_digests

    merged = ModelSet(fresh.version, fresh.created, contamination=fresh.contamination)
    merged.letters = {k: m for k, m in previous.letters.items() if kept(k[0])} | {
        k: m for k, m in fresh.letters.items() if not kept(k[0])
    }
    for alphabet in sorted(set(fresh.classifiers) | set(previous.classifiers)):
        source = previous if kept(alphabet) else fresh
        if alphabet in source.classifiers:
            merged.classifiers[alphabet] = source.classifiers[alphabet]
        if alphabet in source.letter_thresholds:
            merged.letter_thresholds[alphabet] = source.letter_thresholds[alphabet]
        if alphabet in source.classifier_epochs:
            merged.classifier_epochs[alphabet] = source.classifier_epochs[alphabet]
    for alphabet in set(fresh.sample_digests) | set(previous.sample_digests):
        source = previous if kept(alphabet) else fresh
        if alphabet in source.sample_digests:
            merged.sample_digests[alphabet] = source.sample_digests[alphabet]
    still = previous.members[np.isin(previous.members, kept_members)]
    merged.members = np.union1d(fresh.members, still).astype(np.uint32)
    return merged


def fold_rows(drawings: int, rows: int = TARGET_ROWS) -> tuple[int, int]:
    """``(pictures, distorted copies of each)`` of one fold's training set for an alphabet of
    ``drawings`` sampled drawings (:func:`train_classifier`'s arithmetic)."""
    own = drawings * (FOLDS - 1) // FOLDS
    pictures = own + min(len(nonletter_pictures()), int(NONLETTERS_PER_DRAWING * own))
    return pictures, min(MAX_COPIES, max(0, rows // max(pictures, 1) - 1))


def fit_cost(
    decoded: int,
    drawings: dict[str, int],
    *,
    warm: set[str] = frozenset(),
    epochs: int | None = None,
    rows: int | None = None,
) -> float:
    """Estimated CPU seconds of a refit that decodes ``decoded`` drawings and fits the
    alphabets of ``drawings`` (sampled drawings each), warm-started for those in ``warm``."""
    seconds = decoded * DECODE_SECONDS
    for alphabet, count in drawings.items():
        pictures, copies = fold_rows(count, rows or TARGET_ROWS)
        trained = WARM_EPOCHS if alphabet in warm else (epochs or EPOCHS)
        per_fold = pictures * copies * DISTORTED_ROW_SECONDS
        per_fold += pictures * (copies + 1) * trained * ROW_EPOCH_SECONDS
        seconds += FOLDS * per_fold
    return seconds
