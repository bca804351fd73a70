"""Metrics shared by several competitions."""
from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted classes."""
    return np.bincount(n_classes * np.asarray(y_true) + np.asarray(y_pred),
                       minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)  # (tp + fp) + (tp + fn)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Mean F1 over all classes; a class absent from both truth and prediction scores 0,
    as sklearn's f1_score(average='macro', labels=range(n)) does."""
    return float(f1_from_confusion(confusion(y_true, y_pred, n_classes)).mean())


def classification_report(y_true, proba_or_pred, classes) -> dict:
    """Macro-F1, accuracy, per-class F1 and the confusion matrix, as one JSON-able dict."""
    n = len(classes)
    pred = np.asarray(proba_or_pred)
    if pred.ndim == 2:
        pred = pred.argmax(1)
    cm = confusion(y_true, pred, n)
    f1 = f1_from_confusion(cm)
    return {
        "macro_f1": float(f1.mean()),
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "per_class_f1": {str(c): float(v) for c, v in zip(classes, f1)},
        "confusion": cm.tolist(),
        "n": int(cm.sum()),
    }
