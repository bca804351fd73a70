"""Blending OOF predictions: model weights and per-class decision offsets, both fitted on OOF.

Fitting on OOF and scoring on the same OOF flatters the blend, so `cross_fitted` also
reports the honest number: for each fold, weights and offsets fitted on the other folds.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

EPS = 1e-7


def blend(probas: list[np.ndarray], weights) -> np.ndarray:
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.stack(probas), axes=1).astype(np.float32)


def decide(proba: np.ndarray, offsets=None) -> np.ndarray:
    """Class with the highest log-probability plus its offset."""
    logp = np.log(np.clip(proba, EPS, 1.0))
    return (logp if offsets is None else logp + np.asarray(offsets)).argmax(1)


def _simplex_grid(m: int, step: float):
    n = round(1 / step)
    for combo in itertools.product(range(n + 1), repeat=m - 1):
        if sum(combo) <= n:
            yield np.array([*combo, n - sum(combo)], dtype=float) / n


def fit_weights(probas: list[np.ndarray], y, score: Callable, step: float = 0.05) -> tuple[np.ndarray, float]:
    """Weights on the simplex maximising score(y, decide(blend)); a grid for few models,
    coordinate ascent for many. Ties go to the most even weights."""
    m = len(probas)
    if m == 1:
        return np.ones(1), score(y, decide(probas[0]))
    even = np.full(m, 1 / m)
    best_w, best_s = even, score(y, decide(blend(probas, even)))
    if m <= 4:
        step = max(step, {2: 0.0, 3: 0.05, 4: 0.1}[m])
        for w in _simplex_grid(m, step):
            s = score(y, decide(blend(probas, w)))
            if s > best_s + 1e-12 or (abs(s - best_s) <= 1e-12 and np.abs(w - even).sum() < np.abs(best_w - even).sum()):
                best_w, best_s = w, s
        return best_w, best_s
    for _ in range(3):
        for i in range(m):
            for v in np.arange(0, 1 + 1e-9, step):
                w = best_w.copy()
                w[i] = 0
                w = w / max(w.sum(), EPS) * (1 - v)
                w[i] = v
                s = score(y, decide(blend(probas, w)))
                if s > best_s + 1e-12:
                    best_w, best_s = w, s
    return best_w, best_s


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


def fit(probas, y, score, use_offsets: bool = True, step: float = 0.05):
    weights, _ = fit_weights(probas, y, score, step)
    blended = blend(probas, weights)
    offsets = fit_offsets(blended, y, score)[0] if use_offsets else np.zeros(blended.shape[1])
    return weights, offsets


def cross_fitted(probas, y, folds, score, use_offsets: bool = True, step: float = 0.05) -> np.ndarray:
    """Decisions for each fold from weights and offsets fitted on the other folds."""
    pred = np.zeros(len(y), dtype=int)
    for k in np.unique(folds):
        inside, held = folds != k, folds == k
        w, b = fit([p[inside] for p in probas], y[inside], score, use_offsets, step)
        pred[held] = decide(blend([p[held] for p in probas], w), b)
    return pred
