"""The reference CNN: the figure a user of the release will try to beat, measured on its own files.

A small three-block convolutional network trained with random affine distortions on the
release's MNIST-style training images (``mnist/<alphabet>/train-*``), tuned on nothing, and
scored on the validation and the writer-independent test images. Each seed gives one run; the
figures keep every run's accuracies (the spread), the per-letter test accuracy and the most
frequent confusions, pooled over the seeds.

PyTorch is an optional dependency (the ``cnn`` extra): this module imports it only inside the
functions that need it. The architecture and training are fixed constants below, so that a
figure names a procedure anyone can rerun.
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import idx_sample
from .idxfiles import idx_names
from .split import TEST, TRAIN, VALIDATION

EPOCHS = 20
BATCH = 64
LEARNING_RATE = 1e-3
CHANNELS = (32, 64, 128)
DROPOUT = 0.3
ROTATION_DEGREES = 10.0
SCALE = 0.1  # zoom in [1 - SCALE, 1 + SCALE]
SHEAR = 0.15
SHIFT_PIXELS = 2.0
TOP_CONFUSIONS = 10
DESCRIPTION = (
    f"3 blocks of 3x3 convolution, ReLU and 2x2 max-pooling ({', '.join(map(str, CHANNELS))} "
    f"channels), dropout {DROPOUT}, a linear layer; Adam (learning rate {LEARNING_RATE}), "
    f"batches of {BATCH}, {EPOCHS} epochs; each training image randomly rotated by up to "
    f"{ROTATION_DEGREES:.0f} degrees, scaled by up to {SCALE:.0%}, sheared by up to {SHEAR} and "
    f"shifted by up to {SHIFT_PIXELS:.0f} pixels"
)


class TorchMissing(RuntimeError):
    """PyTorch is not installed; the message says how to install the pinned CPU build."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchMissing(
            "the CNN baseline needs PyTorch: pip install -e '.[cnn]' (docs/releases.md says "
            "which build installs without CUDA)"
        ) from None
    return torch


@dataclass
class SplitImages:
    """One split's MNIST-style images (``uint8``, ink 255 on 0) and labels."""

    images: np.ndarray
    labels: np.ndarray


def read_split(release: Path, alphabet_id: str, split: str) -> SplitImages:
    """The images and labels of one alphabet and split from the release's gzipped IDX files."""
    images_path, labels_path = (release / name for name in idx_names(alphabet_id, split))
    limit = 1 << 62  # every item
    images = idx_sample(images_path, limit)
    labels = idx_sample(labels_path, limit).astype(np.int64)
    return SplitImages(images.reshape(len(labels), 28, 28), labels)


def build_model(classes: int) -> Any:
    """The reference network, freshly initialised from torch's current seed."""
    torch = _torch()
    nn = torch.nn
    layers: list[Any] = []
    previous = 1
    for channels in CHANNELS:
        layers += [nn.Conv2d(previous, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        previous = channels
    side = 28
    for _ in CHANNELS:
        side //= 2
    layers += [nn.Flatten(), nn.Dropout(DROPOUT), nn.Linear(previous * side * side, classes)]
    return nn.Sequential(*layers)


def distort(batch: Any, generator: Any) -> Any:
    """Random affine copies of a batch ``(n, 1, 28, 28)``: rotation, scale, shear and shift."""
    torch = _torch()
    n = batch.shape[0]

    def uniform(limit: float) -> Any:
        return (torch.rand(n, generator=generator) * 2 - 1) * limit

    angle = uniform(np.deg2rad(ROTATION_DEGREES))
    zoom = 1 + uniform(SCALE)
    shear = uniform(SHEAR)
    shift = uniform(2 * SHIFT_PIXELS / 28), uniform(2 * SHIFT_PIXELS / 28)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift[0]], dim=1),
            torch.stack([sin, cos + shear * sin, shift[1]], dim=1),
        ],
        dim=1,
    )
    grid = torch.nn.functional.affine_grid(theta, list(batch.shape), align_corners=False)
    return torch.nn.functional.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")


def _tensor(images: np.ndarray) -> Any:
    torch = _torch()
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def predict(model: Any, images: np.ndarray) -> np.ndarray:
    """The predicted label of every image."""
    torch = _torch()
    model.eval()
    predicted = []
    with torch.no_grad():
        for start in range(0, len(images), 512):
            logits = model(_tensor(images[start : start + 512]))
            predicted.append(logits.argmax(dim=1).numpy())
    return np.concatenate(predicted) if predicted else np.zeros(0, dtype=np.int64)


def train(
    data: SplitImages, classes: int, seed: int, epochs: int = EPOCHS, augment: bool = True
) -> Any:
    """The reference network trained on ``data`` with ``seed`` (weights, order, distortions)."""
    torch = _torch()
    torch.manual_seed(seed)
    model = build_model(classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    generator = torch.Generator().manual_seed(seed)
    images, labels = _tensor(data.images), torch.from_numpy(data.labels)
    loss = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            x = distort(images[batch], generator) if augment else images[batch]
            optimizer.zero_grad()
            loss(model(x), labels[batch]).backward()
            optimizer.step()
    return model


@dataclass
class AlphabetFigures:
    """One alphabet's runs: an accuracy per seed, and per-letter counts pooled over the seeds."""

    letters: Sequence[str]
    images: dict[str, int]
    seeds: list[int] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    right: Counter[int] = field(default_factory=Counter)
    tested: Counter[int] = field(default_factory=Counter)
    confusions: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add_run(
        self, seed: int, truth: np.ndarray, predicted: np.ndarray, validation: float, cpu: float
    ) -> None:
        self.seeds.append(seed)
        self.test_accuracy.append(float((truth == predicted).mean()) if len(truth) else 0.0)
        self.validation_accuracy.append(validation)
        self.cpu_seconds.append(round(cpu, 1))
        for t, p in zip(truth.tolist(), predicted.tolist(), strict=True):
            self.tested[t] += 1
            if t == p:
                self.right[t] += 1
            else:
                self.confusions[(t, p)] += 1

    def to_json(self) -> dict[str, Any]:
        runs = len(self.seeds) or 1
        return {
            "images": self.images,
            "seeds": self.seeds,
            "test_accuracy": [round(a, 4) for a in self.test_accuracy],
            "validation_accuracy": [round(a, 4) for a in self.validation_accuracy],
            "cpu_seconds": self.cpu_seconds,
            "per_letter": {
                self.letters[label]: {
                    "test_images": self.tested[label] // runs,
                    "accuracy": round(self.right[label] / self.tested[label], 4),
                }
                for label in sorted(self.tested)
            },
            "top_confusions": [
                {
                    "letter": self.letters[truth],
                    "taken_for": self.letters[guess],
                    "per_run": round(count / runs, 2),
                }
                for (truth, guess), count in sorted(
                    self.confusions.items(), key=lambda item: (-item[1], item[0])
                )[:TOP_CONFUSIONS]
            ],
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def evaluate_alphabet(
    release: Path,
    alphabet_id: str,
    letters: Sequence[str],
    seeds: Sequence[int],
    epochs: int = EPOCHS,
    threads: int = 1,
) -> AlphabetFigures | None:
    """Train and score the reference network once per seed; ``None`` if a split is empty."""
    torch = _torch()
    torch.set_num_threads(threads)
    data = {split: read_split(release, alphabet_id, split) for split in (TRAIN, VALIDATION, TEST)}
    if len(data[TEST].labels) == 0 or len(np.unique(data[TRAIN].labels)) < 2:
        return None
    figures = AlphabetFigures(letters, {split: len(d.labels) for split, d in data.items()})
    for seed in seeds:
        started = _cpu_seconds()
        model = train(data[TRAIN], len(letters), seed, epochs)
        validation = data[VALIDATION]
        on_validation = (
            float((predict(model, validation.images) == validation.labels).mean())
            if len(validation.labels)
            else 0.0
        )
        predicted = predict(model, data[TEST].images)
        figures.add_run(seed, data[TEST].labels, predicted, on_validation, _cpu_seconds() - started)
    return figures


def measured_on() -> str:
    """Today's UTC date, for the figures' record of when they were measured."""
    return time.strftime("%Y-%m-%d", time.gmtime())


def torch_version() -> str:
    return str(_torch().__version__)
