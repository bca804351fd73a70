"""Soft macro-F1: F1 with counts replaced by probabilities, so it can be minimised directly."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kexue")
def soft_macro_f1_loss(y_true, y_pred, epsilon: float = 1e-7):
    """1 - mean over classes of 2TP / (2TP + FP + FN), computed over the batch.

    y_true is one-hot, y_pred are probabilities. A class absent from the batch and never
    predicted contributes F1 = 0 / eps = 0; balanced batches keep that rare."""
    y_true = ops.cast(y_true, y_pred.dtype)
    tp = ops.sum(y_true * y_pred, axis=0)
    fp = ops.sum((1 - y_true) * y_pred, axis=0)
    fn = ops.sum(y_true * (1 - y_pred), axis=0)
    f1 = 2 * tp / (2 * tp + fp + fn + epsilon)
    return 1 - ops.mean(f1)
