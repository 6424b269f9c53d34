"""Accuracy with its 95% interval: how much a test set of n photos can prove.

Introduced in notebook 01. One mistake in 73 photos moves accuracy by 1.4
points; the interval says so. Intervals are Wilson score intervals, computed
by SciPy (``scipy.stats.binomtest(...).proportion_ci``).
"""

from __future__ import annotations

import dataclasses

import numpy as np


def ci_text(value, low, high, n=None) -> str:
    """A measure with its 95% interval, as the course prints it everywhere:
    ``0.877 (95% CI 0.834-0.910, n=292)``, or without ``n`` when it is not given."""
    return f"{value:.3f} (95% CI {low:.3f}-{high:.3f}" + (")" if n is None else f", n={n})")


@dataclasses.dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``n`` right, with the 95% Wilson interval ``[low, high]``."""
    correct: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return ci_text(self.value, self.low, self.high, self.n)


def accuracy(y_true, y_pred, confidence=0.95) -> Accuracy:
    """Accuracy of ``y_pred`` against ``y_true`` with its Wilson interval. Notebooks 01-02, lab.

    Both may also be boolean hit arrays: ``accuracy(hits, True)``.
    """
    hits = np.asarray(y_true) == np.asarray(y_pred)
    return interval(int(hits.sum()), int(hits.size), confidence)


def interval(correct: int, n: int, confidence=0.95) -> Accuracy:
    """:class:`Accuracy` for ``correct`` of ``n`` (Wilson score interval)."""
    from scipy.stats import binomtest

    if n == 0:
        return Accuracy(0, 0, float("nan"), float("nan"))
    ci = binomtest(correct, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Accuracy(correct, n, float(ci.low), float(ci.high))


@dataclasses.dataclass(frozen=True)
class Balanced:
    """A balanced accuracy of ``n`` images (the mean of the classes' recalls) with its
    95% interval ``[low, high]``."""
    value: float
    n: int
    low: float
    high: float

    def __float__(self) -> float:
        return self.value

    def __str__(self) -> str:
        return ci_text(self.value, self.low, self.high, self.n)


def balanced_accuracy(y_true, y_pred, confidence=0.95) -> Balanced:
    """The mean of the classes' recalls (scikit-learn's ``balanced_accuracy_score``),
    with a normal-approximation interval: each recall ``p_k`` is a proportion of its
    class's ``n_k`` images, so their mean over ``K`` classes has the variance
    ``sum(p_k (1 - p_k) / n_k) / K**2``. Notebook 05."""
    from scipy.stats import norm

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    hits = [y_pred[y_true == c] == c for c in np.unique(y_true)]
    if not hits:
        return Balanced(float("nan"), 0, float("nan"), float("nan"))
    p, n_k = np.array([h.mean() for h in hits]), np.array([h.size for h in hits])
    value, half = float(p.mean()), float(norm.ppf(0.5 + confidence / 2)
                                         * np.sqrt((p * (1 - p) / n_k).sum()) / len(p))
    return Balanced(value, int(y_true.size), max(0.0, value - half), min(1.0, value + half))


def top_k(y_true, probs, k=3, labels=None) -> Accuracy:
    """Top-``k`` accuracy (scikit-learn's ``top_k_accuracy_score``) with its interval.
    Labels outside ``probs``' columns (``-1``) count as misses. The lab, the grader."""
    from sklearn.metrics import top_k_accuracy_score

    y_true, probs = np.asarray(y_true), np.asarray(probs)
    known = y_true >= 0
    labels = np.arange(probs.shape[1]) if labels is None else labels
    correct = 0
    if probs.shape[1] <= 2:  # scikit-learn wants 1-D scores for two classes
        hits = (probs.argmax(1) == y_true) if k == 1 else known
        correct = int(hits.sum())
    elif known.any():
        correct = int(round(top_k_accuracy_score(y_true[known], probs[known], k=k,
                                                 labels=labels, normalize=False)))
    return interval(correct, int(y_true.size))


def mcnemar(y_true, pred_a, pred_b) -> tuple[int, int, float]:
    """``(fixed, broken, p)``: photos model b gets right and model a wrong, the
    reverse, and the exact McNemar p-value (a binomial test on the photos the two
    disagree on). Notebooks 02 and 05."""
    from scipy.stats import binomtest

    y_true, pred_a, pred_b = (np.asarray(v) for v in (y_true, pred_a, pred_b))
    fixed = int(((pred_a != y_true) & (pred_b == y_true)).sum())
    broken = int(((pred_a == y_true) & (pred_b != y_true)).sum())
    p = binomtest(fixed, fixed + broken).pvalue if fixed + broken else 1.0
    return fixed, broken, float(p)
