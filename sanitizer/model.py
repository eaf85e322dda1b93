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

FORMAT = "comnist-sanitizer/1"
MIN_DRAWINGS = 20
CONTAMINATION = 0.02
FOLDS = 3
WRONG_LETTER_RATIO = 300.0


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
    """One training drawing: identity, feature vector, normalised image, human verdict."""

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

    def letter_margin(
        self, alphabet: str, letter: str, drawing_id: str, image: np.ndarray
    ) -> tuple[float, str, float] | None:
        """``(margin, likeliest letter, P(claimed letter))``; margin > 0 means it looks like another letter."""
        folds = self.classifiers.get(alphabet)
        if not folds:
            return None
        classifier = folds[fold_of(drawing_id) % len(folds)]
        if letter not in classifier.labels:
            return None
        probs = classifier.probabilities(image.reshape(1, -1))[0]
        claimed = float(probs[classifier.labels.index(letter)])
        top = int(np.argmax(probs))
        margin = math.log(max(float(probs[top]), 1e-12) / max(claimed, 1e-12)) - math.log(
            WRONG_LETTER_RATIO
        )
        return margin, classifier.labels[top], claimed

    def to_json(self) -> bytes:
        def arr(a: np.ndarray) -> Any:
            return np.round(np.asarray(a, dtype=np.float64), 7).tolist()

        doc = {
            "format": FORMAT,
            "version": self.version,
            "created": self.created,
            "features": list(FEATURE_NAMES),
            "contamination": self.contamination,
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
            x = np.stack([s.image for s in train]).astype(np.float64)
            y = np.array([labels.index(s.letter) for s in train])
            kwargs = {"epochs": classifier_epochs} if classifier_epochs else {}
            folds.append(LetterClassifier.train(x, y, labels, seed=fold, **kwargs))
        models.classifiers[alphabet] = folds
    return models
