"""Fitted models for every letter, as versioned JSON (never pickle), and how a drawing is scored."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .classifier import LetterClassifier
from .features import FEATURE_NAMES
from .gaussian import (
    IndependentGaussian,
    MultivariateGaussian,
    threshold_by_f1,
    threshold_by_quantile,
)

# Version 2: the letter classifier reads direction histograms instead of 20x20 pixels.
FORMAT = "comnist-sanitizer/2"
MIN_DRAWINGS = 20
CONTAMINATION = 0.02
FOLDS = 3
# The letter check never flags a drawing whose claimed letter is less than this many times less
# likely than the likeliest one, whatever the data-driven threshold says.
MIN_WRONG_LETTER_RATIO = 20.0


def fold_of(drawing_id: str) -> int:
    """The cross-fitting fold of a drawing: its classifier is the one trained without that fold."""
    return int(hashlib.sha256(drawing_id.encode()).hexdigest()[:8], 16) % FOLDS


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
        """How far below epsilon ``log p(x)`` is, in units of the training spread (> 0: flagged)."""
        return (self.epsilon - self.gaussian.log_density(x)) / self.spread


@dataclass
class Sample:
    """One training drawing: identity, feature vector, classifier input, human verdict.

    ``image`` is the letter classifier's input, :func:`sanitizer.features.letter_descriptor`.
    """

    id: str
    alphabet: str
    letter: str
    features: np.ndarray
    image: np.ndarray
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

    def letter_margin(
        self, alphabet: str, letter: str, drawing_id: str, descriptor: np.ndarray
    ) -> tuple[float, str, float] | None:
        """``(margin, likeliest letter, P(claimed letter))``; margin > 0 means it looks like another letter."""
        folds = self.classifiers.get(alphabet)
        if not folds:
            return None
        classifier = folds[fold_of(drawing_id) % len(folds)]
        if letter not in classifier.labels:
            return None
        probs = classifier.probabilities(descriptor.reshape(1, -1))[0]
        claimed = float(probs[classifier.labels.index(letter)])
        top = int(np.argmax(probs))
        log_ratio = math.log(max(float(probs[top]), 1e-12) / max(claimed, 1e-12))
        threshold = self.letter_thresholds.get(alphabet, math.log(MIN_WRONG_LETTER_RATIO))
        return log_ratio - threshold, classifier.labels[top], claimed

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
) -> ModelSet:
    """Fit a :class:`ModelSet` from samples; letters with fewer than ``min_drawings`` stay unfitted.

    Human verdicts are used twice: rejected drawings never train a model, and once a letter has
    at least ten labelled drawings of both kinds, epsilon is chosen by F1 on them (Ng's rule);
    otherwise epsilon is the ``contamination`` quantile of the training scores.
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
    for alphabet in sorted({a for a, _ in models.letters}):
        group = [
            s
            for (a, _), g in by_letter.items()
            if a == alphabet and (a, _) in models.letters
            for s in g
        ]
        group = [s for s in group if s.verdict != "rejected"]
        labels = sorted({s.letter for s in group})
        if len(labels) < 2:
            continue
        folds = []
        for fold in range(FOLDS):
            train = [s for s in group if fold_of(s.id) != fold]
            # float32 halves the largest array of a refit (100,000 drawings: 105 MB per fold).
            x = np.stack([s.image for s in train]).astype(np.float32)
            y = np.array([labels.index(s.letter) for s in train])
            kwargs = {"epochs": classifier_epochs} if classifier_epochs else {}
            folds.append(LetterClassifier.train(x, y, labels, seed=fold, **kwargs))
        models.classifiers[alphabet] = folds
        judged = [s for (a, _), g in by_letter.items() if a == alphabet for s in g]
        models.letter_thresholds[alphabet] = _letter_threshold(folds, judged, contamination)
    return models


def out_of_fold_log_ratios(folds: list[LetterClassifier], samples: list[Sample]) -> np.ndarray:
    """``log(P(likeliest) / P(claimed))`` of each sample under the classifier that never saw it."""
    ratios = np.zeros(len(samples))
    for fold, classifier in enumerate(folds):
        chosen = [i for i, s in enumerate(samples) if fold_of(s.id) % len(folds) == fold]
        chosen = [i for i in chosen if samples[i].letter in classifier.labels]
        if not chosen:
            continue
        probs = classifier.probabilities(np.stack([samples[i].image for i in chosen]))
        claimed = probs[
            np.arange(len(chosen)), [classifier.labels.index(samples[i].letter) for i in chosen]
        ]
        ratios[chosen] = np.log(np.maximum(probs.max(axis=1), 1e-12) / np.maximum(claimed, 1e-12))
    return ratios


def _letter_threshold(
    folds: list[LetterClassifier], samples: list[Sample], contamination: float
) -> float:
    """The log-ratio above which the letter check flags a drawing, for one alphabet.

    Ng's rule when the maintainer has judged at least ten drawings of each kind in the alphabet
    (the threshold maximising F1 on them); otherwise the ``1 - contamination`` quantile of the
    out-of-fold log-ratios of the training drawings, so that about ``contamination`` of the
    collection is flagged by this check. Never below ``log(MIN_WRONG_LETTER_RATIO)``.
    """
    ratios = out_of_fold_log_ratios(folds, samples)
    rejected = np.array([s.verdict == "rejected" for s in samples])
    labelled = np.array([s.verdict in ("ok", "rejected") for s in samples])
    threshold = None
    if rejected.sum() >= 10 and (labelled & ~rejected).sum() >= 10:
        # threshold_by_f1 flags low scores: negate to flag high ratios.
        best = threshold_by_f1(-ratios[labelled], rejected[labelled])
        threshold = None if best is None else -best - 1e-9
    if threshold is None:
        trusted = ratios[~rejected]
        threshold = float(np.quantile(trusted, 1 - contamination)) if trusted.size else 0.0
    return float(max(threshold, math.log(MIN_WRONG_LETTER_RATIO)))
