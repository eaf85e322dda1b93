"""The refit's figures on the desk: how the model before and the model after the last refit flag
the drawings the maintainer has judged.

``comnist refit`` fits each letter's shape threshold ε by F1 on the verdicts once a letter has
ten judged drawings or more (Ng's rule, :func:`sanitizer.model._fit_letter`), and each alphabet's
letter-check threshold likewise. The desk scores the judged drawings with the model in force and
with the one it replaced (the shipped starter check when there was none) and shows precision,
recall and F1 of "flagged" against "rejected" for both. The judged drawings taught the newer
model's shape thresholds, so its figures are in-sample and flatter it; its letter classifiers
judge each drawing from the fold that never saw it.

Scoring reads the judged drawings' PNGs, a few milliseconds each per model: the figures are
computed on a background thread, again after verdicts change, and read from memory meanwhile.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from chalicelib.keys import MODELS_CURRENT_KEY, VERDICTS_PREFIX, model_key, parse_verdict_key
from chalicelib.storage import NotFound, Storage

log = logging.getLogger(__name__)
FLAGGED = ("suspicious", "invalid")
MODELS_PREFIX = "models/"


def judged_drawings(store: Storage) -> list[tuple[Any, str]]:
    """``(DrawingRef, verdict)`` of every judged drawing: a listing and one small read each."""
    judged = []
    for key in store.list_keys(VERDICTS_PREFIX):
        try:
            ref = parse_verdict_key(key)
            verdict = store.get_json(key).get("verdict")
        except (ValueError, NotFound, AttributeError):
            continue
        if verdict in ("ok", "rejected"):
            judged.append((ref, verdict))
    return judged


def model_versions(store: Storage) -> tuple[str | None, str | None]:
    """The version in force and the newest stored version before it (by name: refit's are dated)."""
    try:
        current = store.get_json(MODELS_CURRENT_KEY).get("version")
    except (NotFound, ValueError, AttributeError):
        return None, None
    earlier = [
        key[len(MODELS_PREFIX) : -len(".json")]
        for key in store.list_keys(MODELS_PREFIX)
        if key.count("/") == 1 and key != MODELS_CURRENT_KEY and key.endswith(".json")
    ]
    earlier = [version for version in earlier if version < current]
    return current, (max(earlier) if earlier else None)


def _load(store: Storage, version: str | None) -> Any:
    from sanitizer import ModelSet, starter_model

    if version is None:
        return starter_model()
    return ModelSet.from_json(store.get(model_key(version)).data)


def figures_of(flags: list[bool], rejected: list[bool]) -> dict[str, float | int]:
    """Precision, recall and F1 of ``flags`` against ``rejected``, with the counts."""
    from comnist.evaluation import precision_recall_f1

    caught = sum(f and r for f, r in zip(flags, rejected, strict=True))
    result: dict[str, float | int] = dict(precision_recall_f1(caught, sum(flags), sum(rejected)))
    result.update(flagged=sum(flags), caught=caught)
    return result


def compare(store: Storage) -> dict[str, Any]:
    """The figures of the model before and after the last refit on the judged drawings."""
    from chalicelib.sanitizing import _record
    from sanitizer import score_drawing

    judged = judged_drawings(store)
    after_version, before_version = model_versions(store)
    result: dict[str, Any] = {
        "judged": len(judged),
        "rejected": sum(v == "rejected" for _, v in judged),
        "before": {"version": before_version or "starter"},
        "after": {"version": after_version},
    }
    if not judged or after_version is None:
        return result
    after, before = _load(store, after_version), _load(store, before_version)
    flags: dict[str, list[bool]] = {"before": [], "after": []}
    rejected = []
    for ref, verdict in judged:
        try:
            png = store.get(ref.png_key).data
        except NotFound:
            continue
        record = _record(store, ref)
        rejected.append(verdict == "rejected")
        for name, model in (("before", before), ("after", after)):
            status = score_drawing(
                png, record, model, alphabet=ref.alphabet, letter=ref.letter, drawing_id=ref.id
            ).status
            flags[name].append(status in FLAGGED)
    for name in flags:
        result[name].update(figures_of(flags[name], rejected))
    letters = getattr(after, "letters", {})
    result["after"]["letters_by_f1"] = sorted(
        f"{alphabet} {letter}"
        for (alphabet, letter), model in letters.items()
        if model.epsilon_rule == "f1"
    )
    result["after"]["letters_fitted"] = len(letters)
    return result


class RefitFigures:
    """The latest :func:`compare` result, recomputed in the background when it may be out of date."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._result: dict[str, Any] | None = None
        self._stale = True
        self._running = False

    def verdicts_changed(self) -> None:
        with self._lock:
            self._stale = True

    def current(self) -> dict[str, Any]:
        """The last figures with ``"state"``: ``ready``, or ``computing`` while a run is under way."""
        with self._lock:
            start = self._stale and not self._running
            if start:
                self._stale, self._running = False, True
            result = dict(self._result or {})
            running = self._running
        if start:
            threading.Thread(target=self._run, name="refit-figures", daemon=True).start()
        result["state"] = "computing" if running else "ready"
        return result

    def _run(self) -> None:
        result = None
        try:
            result = compare(self.store)
        except Exception:  # shown as missing figures; the desk itself goes on
            log.exception("the refit figures could not be computed")
        with self._lock:
            if result is not None:
                self._result = result
            self._running = False
