"""Multi-label metrics on 0/1 (or boolean) matrices of shape (n_samples, n_classes), NumPy only.

Empty classes: CAIL2019 element recognition (要素识别) scores a domain as (micro-F1 + macro-F1) / 2,
and its official judger (github.com/china-ai-law-challenge/CAIL2019, 要素识别/judger.py,
`Judger.get_value`, after GERBIL) gives a class with TP = FP = FN = 0 (never true, never
predicted) F1 = 1, and any other class with TP = 0 F1 = 0; micro-F1 applies the same rule to the
pooled counts. `empty=1.0` (the default everywhere here) is that rule, identical to sklearn's
f1_score(average=..., zero_division=1.0); `empty=0.0` is sklearn's zero_division=0, which
single-label `core.metrics.macro_f1` uses. `cail_score` always uses the official rule.
"""
from __future__ import annotations

import numpy as np


def _binary(*arrays) -> list[np.ndarray]:
    out = [np.asarray(a) != 0 for a in arrays]
    if any(a.ndim != 2 or a.shape != out[0].shape for a in out):
        raise ValueError(f"expected matrices (n_samples, n_classes) of one shape, got {[a.shape for a in out]}")
    return out


def counts(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class TP, FP, FN."""
    t, p = _binary(y_true, y_pred)
    return (t & p).sum(0), (~t & p).sum(0), (t & ~p).sum(0)


def f1_from_counts(tp, fp, fn, empty: float = 1.0) -> np.ndarray:
    """2TP / (2TP + FP + FN), which is 2PR / (P + R) whenever TP > 0, and `empty` where TP = FP = FN = 0."""
    tp, fp, fn = (np.asarray(a, dtype=float) for a in (tp, fp, fn))
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), empty)


def per_class_f1(y_true, y_pred, empty: float = 1.0) -> np.ndarray:
    return f1_from_counts(*counts(y_true, y_pred), empty=empty)


def macro_f1(y_true, y_pred, empty: float = 1.0) -> float:
    return float(per_class_f1(y_true, y_pred, empty).mean())


def micro_f1(y_true, y_pred, empty: float = 1.0) -> float:
    return float(f1_from_counts(*(c.sum() for c in counts(y_true, y_pred)), empty=empty))


def exact_match(y_true, y_pred) -> float:
    """Subset accuracy: the share of rows whose whole label set is right (a row with no labels
    and no predictions counts as right)."""
    t, p = _binary(y_true, y_pred)
    return float((t == p).all(1).mean())


def cail_score(y_true, y_pred) -> float:
    """One CAIL2019 element-recognition domain: (micro-F1 + macro-F1) / 2, official empty rule.
    The competition's final score is the mean over its three domains (divorce, labor, loan)."""
    return (micro_f1(y_true, y_pred) + macro_f1(y_true, y_pred)) / 2


def predict_from_logits(logits, threshold=0.0) -> np.ndarray:
    """Boolean predictions `logits > threshold`; threshold is a scalar or one value per class
    (0 is ZLPR's rule, and BCE's p > 0.5 on its logits)."""
    s = np.asarray(logits)
    return s > np.broadcast_to(np.asarray(threshold, dtype=float), s.shape[-1:])


def tune_thresholds(y_true, scores, grid, default: float = 0.0, empty: float = 1.0) -> np.ndarray:
    """Per-class thresholds from `grid` that maximise each class's F1 on (out-of-fold) scores,
    for `predict_from_logits`. That maximises macro-F1 exactly; micro-F1 is not separable by
    class and only follows. Ties go to the grid value closest to `default`, so a flat stretch
    keeps the untuned rule where it can; under the empty rule a class with no OOF positives ties
    on every value above its top score."""
    (t,) = _binary(y_true)
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"scores {s.shape} and y_true {t.shape} differ in shape")
    grid = np.unique(np.asarray(grid, dtype=float))
    f1 = np.stack([per_class_f1(t, s > g, empty) for g in grid])           # (len(grid), n_classes)
    tied = f1 >= f1.max(0) - 1e-12
    distance = np.where(tied, np.abs(grid - default)[:, None], np.inf)
    return grid[distance.argmin(0)]


def report(y_true, y_pred, classes=None) -> dict:
    """The multi-label scores of one prediction, as a JSON-able dict for cv.json."""
    t, p = _binary(y_true, y_pred)
    classes = range(t.shape[1]) if classes is None else classes
    return {
        "cail_score": cail_score(t, p),
        "micro_f1": micro_f1(t, p),
        "macro_f1": macro_f1(t, p),
        "macro_f1_zero_division_0": macro_f1(t, p, empty=0.0),
        "exact_match": exact_match(t, p),
        "per_class_f1": {str(c): float(v) for c, v in zip(classes, per_class_f1(t, p))},
        "support": {str(c): int(v) for c, v in zip(classes, t.sum(0))},
        "n": int(t.shape[0]),
    }
