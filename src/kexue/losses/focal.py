"""Binary focal loss (Lin et al. 2017), as DGCNN uses it on its start/end pointers (kexue.fm/archives/5409):

    -alpha (1 - p)^gamma y log p - (1 - alpha) p^gamma (1 - y) log(1 - p)

Down-weighting the easy positions matters there: of 256 characters one or two are a start, and plain binary
cross-entropy is soon dominated by the many confident zeros.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kexue")
def focal_loss(y_true, y_pred, mask=None, gamma: float = 2.0, alpha: float = 0.25, epsilon: float = 1e-7):
    """Mean focal loss over the positions where mask is true (all positions when mask is None); y_pred are
    probabilities (DGCNN's pointers are products of two sigmoids, so there are no logits to use). Computed in
    float32; probabilities are clipped to [epsilon, 1 - epsilon], so a saturated sigmoid gives a finite loss.
    An all-false mask gives 0."""
    y = ops.cast(y_true, "float32")
    p = ops.clip(ops.cast(y_pred, "float32"), epsilon, 1.0 - epsilon)
    loss = -alpha * y * (1 - p) ** gamma * ops.log(p) - (1 - alpha) * (1 - y) * p ** gamma * ops.log(1 - p)
    if mask is None:
        return ops.mean(loss)
    m = ops.cast(mask, "float32")
    return ops.sum(loss * m) / ops.maximum(ops.sum(m), 1.0)
