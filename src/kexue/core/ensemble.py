"""Weighted means of probabilities, and class decisions with per-class offsets fitted for a metric. The
candidates, their fitting and the honest choice among them are kexue.core.stack's."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-7


def blend(probas: list[np.ndarray], weights) -> np.ndarray:
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.stack(probas), axes=1).astype(np.float32)


def decide(proba: np.ndarray, offsets=None) -> np.ndarray:
    """Class with the highest log-probability plus its offset."""
    logp = np.log(np.clip(proba, EPS, 1.0))
    return (logp if offsets is None else logp + np.asarray(offsets)).argmax(1)


def fit_offsets(proba: np.ndarray, y, score: Callable, grid=None, passes: int = 3):
    """Per-class additive offsets on log-probabilities, by coordinate ascent (class 0 stays at 0); grid: the
    candidate offsets (default -2 to 2 by 0.1)."""
    grid = np.arange(-2.0, 2.0001, 0.1) if grid is None else grid
    offsets = np.zeros(proba.shape[1])
    best = score(y, decide(proba, offsets))
    for _ in range(passes):
        improved = False
        for c in range(1, proba.shape[1]):
            for v in grid:
                trial = offsets.copy()
                trial[c] = v
                s = score(y, decide(proba, trial))
                if s > best + 1e-12:
                    best, offsets, improved = s, trial, True
        if not improved:
            break
    return offsets, best
