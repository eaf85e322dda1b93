"""CoMNIST's sanitizer: tag suspicious drawings per letter.

``score_drawing`` is the entry point of the S3-event path; ``fit_models`` builds the models it
uses. Everything here is pure: bytes and dicts in, results out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .features import (
    FEATURE_NAMES,
    feature_vector,
    image_features,
    letter_descriptors,
    letter_picture,
    stroke_features,
)
from .image import InvalidDrawing, decode_ink
from .limits import mark_reasons
from .model import ModelSet, Sample
from .model import fit_models as fit_models_with
from .nonletters import NOT_A_LETTER
from .starter import shipped_starter, starter_model

__all__ = [
    "FEATURE_NAMES",
    "InvalidDrawing",
    "ModelSet",
    "Sample",
    "Verdict",
    "extract",
    "mark_reasons",
    "fit_models",
    "score_drawing",
    "starter_model",
]

TAGGED_FEATURES = ("ink", "width", "height", "aspect", "cover", "thickness", "parts", "holes")


def fit_models(samples: list[Sample], **options: Any) -> ModelSet:
    """:func:`sanitizer.model.fit_models` with the shipped starter (``starter=`` to give another)."""
    options.setdefault("starter", shipped_starter())
    return fit_models_with(samples, **options)


@dataclass
class Verdict:
    """The sanitizer's conclusion about one drawing."""

    status: str
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None
    letter_probability: float | None = None

    def to_tags(self) -> dict[str, str]:
        """The verdict as S3 object tags (at most 7 of S3's 10, each value within 256 characters)."""
        tags = {"status": self.status}
        if self.score is not None:
            tags["score"] = f"{self.score:.3f}"
        if self.reasons:
            tags["reasons"] = " ".join(self.reasons)[:256]
        if self.model_version:
            tags["model"] = self.model_version
        if self.letter_probability is not None:
            tags["letter_p"] = f"{self.letter_probability:.3f}"
        shown = " ".join(f"{k}={v:.3g}" for k, v in self.features.items() if np.isfinite(v))
        tags["features"] = shown[:256] or "none"
        return tags


def extract(
    png: bytes, drawing_id: str, alphabet: str, letter: str, verdict: str | None = None
) -> Sample | None:
    """Decode a drawing into a training :class:`Sample`, or ``None`` if it is blank or invalid."""
    try:
        ink = decode_ink(png)
    except InvalidDrawing:
        return None
    features = image_features(ink)
    if features is None:
        return None
    picture = letter_picture(ink)
    return Sample(drawing_id, alphabet, letter, feature_vector(features), picture, verdict)


def score_drawing(
    png: bytes,
    record: dict[str, Any] | None,
    model: ModelSet | None,
    *,
    alphabet: str,
    letter: str,
    drawing_id: str = "",
) -> Verdict:
    """Score one stored drawing.

    ``invalid``: the PNG cannot be decoded (corrupt, not a PNG, a decompression bomb).
    ``suspicious``: blank, a mark (``tiny``, ``ink-high``, ``filled``; with or without a model),
    not the claimed letter by the letter check (``wrong-letter:U+XXXX`` naming the likeliest
    letter, or ``not-a-letter`` when the likeliest class is the not-a-letter pictures'), or
    improbable for its letter by the shape model (``improbable-shape``). ``unscored``: neither a
    shape model for the letter nor a letter classifier for its alphabet, and no mark. A letter
    with too few drawings for a shape model is still judged by the letter check (the starter
    classifier's, :mod:`sanitizer.starter`, while the alphabet has none of its own). ``ok`` otherwise. The score is the larger of the deciding
    margins (> 0: flagged).

    The shape model (the robust multivariate Gaussian) decides only where it is the best evidence
    there is: when the alphabet has no letter classifier yet, or when the maintainer's verdicts
    set its epsilon. Measured by writer on the 2017 drawings, flagging on it beside the letter
    check adds false positives (cursive forms are improbable shapes) and almost no junk.
    """
    try:
        ink = decode_ink(png)
    except InvalidDrawing as error:
        return Verdict("invalid", reasons=[error.reason])
    strokes = stroke_features(record)
    features = image_features(ink)
    if features is None:
        return Verdict(
            "suspicious", reasons=["blank"], features=strokes, model_version=model and model.version
        )
    shown = {name: features[name] for name in TAGGED_FEATURES} | strokes
    marks = mark_reasons(features)
    letter_model = model.letters.get((alphabet, letter)) if model else None
    consistency = None
    descriptors = None
    # The alphabet's own classifiers first; the starter's, loaded only then, for a letter they
    # have never seen.
    for judge_of in (lambda: model, starter_model) if model is not None else ():
        if consistency is not None:
            break
        judge = judge_of()
        if judge is None or not judge.classifiers.get(alphabet):
            continue
        if descriptors is None:
            descriptors = letter_descriptors(ink)
        consistency = judge.letter_margin(alphabet, letter, drawing_id, descriptors)
    if consistency is None and letter_model is None:
        status = "suspicious" if marks else "unscored"
        return Verdict(status, reasons=marks, features=shown, model_version=model and model.version)
    reasons = list(marks)
    margins = []
    probability = None
    if consistency is not None:
        margin, likeliest, probability = consistency
        margins.append(margin)
        if margin > 0:
            reasons.append(
                "not-a-letter"
                if likeliest == NOT_A_LETTER
                else f"wrong-letter:U+{ord(likeliest):04X}"
            )
    if letter_model is not None and (consistency is None or letter_model.epsilon_rule == "f1"):
        shape = float(letter_model.shape_margin(feature_vector(features)))
        margins.append(shape)
        if shape > 0:
            reasons.append("improbable-shape")
    score = max(margins)
    if not np.isfinite(score):
        return Verdict(
            "invalid", reasons=["non-finite-score"], features=shown, model_version=model.version
        )
    status = "suspicious" if reasons else "ok"
    return Verdict(status, score, reasons, shown, model.version, probability)
