"""Gaussian anomaly detection per letter, as taught in Andrew Ng's Machine Learning course, and a
robust multivariate variant.

Ng's model treats the features as independent Gaussians, ``p(x) = prod_j N(x_j; mu_j, var_j)``,
and flags ``p(x) < epsilon``. Features of a letter are correlated (a wider box holds more ink),
so the multivariate Gaussian ``N(x; mu, Sigma)`` sees more; and because crowd data contains
vandalism, it is fitted on the most central part of the data (concentration steps in the manner
of the Minimum Covariance Determinant) so that junk in the training set does not widen the fit.
All scores are natural-log densities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VAR_FLOOR = 1e-4
SHRINKAGE = 0.05
SUPPORT_FRACTION = 0.9
CONCENTRATION_STEPS = 10


@dataclass
class IndependentGaussian:
    """Ng's baseline: one Gaussian per feature."""

    mean: np.ndarray
    var: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> IndependentGaussian:
        return cls(x.mean(axis=0), np.maximum(x.var(axis=0), VAR_FLOOR))

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """``log p(x)`` for each row of ``x``."""
        z = (x - self.mean) ** 2 / self.var
        return -0.5 * (z + np.log(2 * np.pi * self.var)).sum(axis=-1)


@dataclass
class MultivariateGaussian:
    """``N(mu, Sigma)`` with a shrunk covariance, optionally fitted robustly."""

    mean: np.ndarray
    precision: np.ndarray
    log_det: float

    @classmethod
    def from_moments(cls, mean: np.ndarray, cov: np.ndarray) -> MultivariateGaussian:
        d = cov.shape[0]
        # Shrinkage toward the diagonal keeps Sigma invertible with few drawings or constant features.
        cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov))
        cov = cov + VAR_FLOOR * np.eye(d)
        sign, log_det = np.linalg.slogdet(cov)
        if sign <= 0 or not np.isfinite(log_det):
            cov = np.diag(np.maximum(np.diag(cov), VAR_FLOOR))
            sign, log_det = np.linalg.slogdet(cov)
        return cls(mean, np.linalg.inv(cov), float(log_det))

    @classmethod
    def fit(cls, x: np.ndarray) -> MultivariateGaussian:
        return cls.from_moments(x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], -1))

    @classmethod
    def fit_robust(cls, x: np.ndarray, support: float = SUPPORT_FRACTION) -> MultivariateGaussian:
        """Fit on the ``support`` fraction of rows that are most central under their own fit."""
        n = x.shape[0]
        h = max(int(np.ceil(support * n)), min(n, x.shape[1] + 2))
        median = np.median(x, axis=0)
        mad = np.maximum(np.median(np.abs(x - median), axis=0) * 1.4826, np.sqrt(VAR_FLOOR))
        chosen = np.argsort((((x - median) / mad) ** 2).sum(axis=1))[:h]
        model = cls.fit(x[chosen])
        for _ in range(CONCENTRATION_STEPS):
            new = np.argsort(model.mahalanobis(x))[:h]
            if set(new.tolist()) == set(chosen.tolist()):
                break
            chosen = new
            model = cls.fit(x[chosen])
        return model

    def mahalanobis(self, x: np.ndarray) -> np.ndarray:
        diff = x - self.mean
        return np.einsum("...i,ij,...j->...", diff, self.precision, diff)

    def log_density(self, x: np.ndarray) -> np.ndarray:
        d = self.mean.shape[0]
        return -0.5 * (self.mahalanobis(x) + self.log_det + d * np.log(2 * np.pi))


def threshold_by_f1(scores: np.ndarray, is_anomaly: np.ndarray) -> float | None:
    """Ng's rule: the epsilon that maximises F1 of ``score < epsilon`` on labelled examples.

    Returns ``None`` when the labels hold no anomaly or no normal example.
    """
    if is_anomaly.all() or not is_anomaly.any():
        return None
    best_f1, best_eps = -1.0, None
    for eps in np.unique(scores):
        flagged = scores <= eps
        tp = float((flagged & is_anomaly).sum())
        if tp == 0:
            continue
        precision = tp / flagged.sum()
        recall = tp / is_anomaly.sum()
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1, best_eps = f1, float(eps)
    return best_eps


def threshold_by_quantile(scores: np.ndarray, contamination: float) -> float:
    """Epsilon that flags the ``contamination`` fraction of the lowest training scores."""
    return float(np.quantile(scores, contamination))
