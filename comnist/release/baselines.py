"""Reference accuracies on the writer-independent test split: a logistic regression and a k-NN.

These are the figures EMNIST and Cyrillic-MNIST print for their users, computed in numpy alone on
the release's own MNIST-style files, so they say how hard the release is and let a user check
their pipeline against a known number.

- **Logistic regression** (multinomial, on the 784 pixels scaled to [0, 1]): mini-batch Adam,
  ``EPOCHS`` passes, batches of ``BATCH``, L2 penalty ``L2``, shuffled with the seed.
- **k-NN** (k = ``K``, Euclidean, majority vote, ties to the nearer neighbour) on the first
  ``PCA_DIMS`` principal components of the training images.

Both train on at most ``TRAIN_SAMPLE`` training images (evenly spaced through the file, all of
them below that) so that memory stays bounded whatever the release's size; every test image is
scored, streamed a chunk at a time.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .mnist import read_idx_header

TRAIN_SAMPLE = 10_000
EPOCHS = 15
BATCH = 128
LEARNING_RATE = 0.002
L2 = 1e-4
K = 3
PCA_DIMS = 64
CHUNK = 1_000
POWER_STEPS = 8
KNN_QUERIES = 100  # a block of queries: 100 x 10,000 distances and their order, 12 MB


@dataclass(frozen=True)
class Baseline:
    """The accuracies of one alphabet, and on how many images they were trained and measured."""

    train_images: int
    test_images: int
    logistic_regression: float
    knn: float


def idx_chunks(path: Path, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """The items of a gzipped IDX file, ``chunk`` at a time."""
    with gzip.open(path, "rb") as stream:
        shape = read_idx_header(stream)
        item = int(np.prod(shape[1:], dtype=np.int64))
        for start in range(0, shape[0], chunk):
            count = min(chunk, shape[0] - start)
            data = np.frombuffer(stream.read(count * item), dtype=np.uint8)
            yield data.reshape((count, *shape[1:]))


def idx_sample(path: Path, limit: int) -> np.ndarray:
    """At most ``limit`` items of a gzipped IDX file, evenly spaced, read without loading the rest."""
    with gzip.open(path, "rb") as stream:
        total = read_idx_header(stream)[0]
    keep = np.unique(np.linspace(0, total - 1, limit).astype(np.int64)) if total > limit else None
    parts, start = [], 0
    for chunk in idx_chunks(path):
        if keep is None:
            parts.append(chunk)
        else:
            inside = keep[(keep >= start) & (keep < start + len(chunk))] - start
            parts.append(chunk[inside])
        start += len(chunk)
    if not parts:
        return np.zeros((0,), dtype=np.uint8)
    return np.concatenate(parts)


def _features(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def fit_logistic_regression(
    images: np.ndarray, labels: np.ndarray, classes: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(pixels, classes)`` and biases of a softmax regression fitted by mini-batch Adam."""
    rng = np.random.default_rng(seed)
    pixels = int(np.prod(images.shape[1:]))
    weights = np.zeros((pixels, classes), dtype=np.float32)
    bias = np.zeros(classes, dtype=np.float32)
    moments = [np.zeros_like(weights), np.zeros_like(bias)]
    squares = [np.zeros_like(weights), np.zeros_like(bias)]
    step = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(images))
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            x = _features(images[batch])
            logits = x @ weights + bias
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            probabilities[np.arange(len(batch)), labels[batch]] -= 1
            probabilities /= len(batch)
            gradients = [x.T @ probabilities + L2 * weights, probabilities.sum(axis=0)]
            step += 1
            for parameter, gradient, moment, square in zip(
                (weights, bias), gradients, moments, squares, strict=True
            ):
                moment *= 0.9
                moment += 0.1 * gradient
                square *= 0.999
                square += 0.001 * gradient * gradient
                corrected = moment / (1 - 0.9**step)
                parameter -= (
                    LEARNING_RATE * corrected / (np.sqrt(square / (1 - 0.999**step)) + 1e-8)
                )
    return weights, bias


def principal_components(images: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the top ``dims`` principal axes ``(pixels, dims)`` of the images.

    Found by subspace iteration on the covariance (a fixed start, ``POWER_STEPS`` steps, then
    Rayleigh-Ritz): a few products instead of a full eigendecomposition of 784 x 784.
    """
    pixels = int(np.prod(images.shape[1:]))
    mean = np.zeros(pixels)
    for start in range(0, len(images), CHUNK):
        mean += _features(images[start : start + CHUNK]).sum(axis=0, dtype=np.float64)
    mean /= len(images)
    covariance = np.zeros((pixels, pixels))
    for start in range(0, len(images), CHUNK):
        centred = _features(images[start : start + CHUNK]) - mean
        covariance += centred.T @ centred
    dims = min(dims, pixels)
    basis = np.random.default_rng(0).standard_normal((pixels, dims))
    for _ in range(POWER_STEPS):
        # Orthonormalised through the small Gram matrix: LAPACK's QR of a tall matrix crawls
        # when OpenBLAS's threads compete for busy cores.
        basis = covariance @ basis
        values, vectors = np.linalg.eigh(basis.T @ basis)
        basis = basis @ (vectors / np.sqrt(np.maximum(values, 1e-12)))
    values, vectors = np.linalg.eigh(basis.T @ covariance @ basis)
    top = basis @ vectors[:, ::-1]
    # An axis's sign is arbitrary: make each one's largest entry positive, for reproducibility.
    top *= np.sign(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])])
    return mean.astype(np.float32), top.astype(np.float32)


def knn_predict(
    reference: np.ndarray, labels: np.ndarray, queries: np.ndarray, classes: int, k: int = K
) -> np.ndarray:
    """Majority label of each query's ``k`` nearest references; a tie goes to the nearer one."""
    distances = (
        (queries * queries).sum(axis=1)[:, None]
        - 2 * queries @ reference.T
        + (reference * reference).sum(axis=1)[None, :]
    )
    k = min(k, len(reference))
    nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    rows = np.arange(len(queries))[:, None]
    nearest = nearest[rows, np.argsort(distances[rows, nearest], axis=1)]
    votes = np.zeros((len(queries), classes))
    for rank in range(k):
        votes[np.arange(len(queries)), labels[nearest[:, rank]]] += 1 + (k - rank) * 1e-3
    return votes.argmax(axis=1)


def evaluate(
    train_images: Path,
    train_labels: Path,
    test_images: Path,
    test_labels: Path,
    classes: int,
    seed: int = 0,
) -> Baseline | None:
    """Both baselines from an alphabet's gzipped IDX files; ``None`` if a split is empty."""
    images = idx_sample(train_images, TRAIN_SAMPLE)
    labels = idx_sample(train_labels, TRAIN_SAMPLE).astype(np.int64)
    if len(images) == 0 or len(np.unique(labels)) < 2:
        return None
    weights, bias = fit_logistic_regression(images, labels, classes, seed)
    mean, axes = principal_components(images, min(PCA_DIMS, len(images)))
    reference = np.concatenate(
        [(_features(images[s : s + CHUNK]) - mean) @ axes for s in range(0, len(images), CHUNK)]
    )
    right_logistic = right_knn = tested = 0
    for chunk, truth in zip(idx_chunks(test_images), idx_chunks(test_labels), strict=True):
        x = _features(chunk)
        right_logistic += int(((x @ weights + bias).argmax(axis=1) == truth).sum())
        projected = (x - mean) @ axes
        for start in range(0, len(x), KNN_QUERIES):
            block = slice(start, start + KNN_QUERIES)
            predicted = knn_predict(reference, labels, projected[block], classes)
            right_knn += int((predicted == truth[block]).sum())
        tested += len(chunk)
    if tested == 0:
        return None
    return Baseline(len(images), tested, right_logistic / tested, right_knn / tested)
