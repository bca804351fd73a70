"""ZLPR: Su Jianlin's generalisation of softmax + cross-entropy to multi-label classification
(kexue.fm/archives/7359, soft labels: kexue.fm/archives/9064; bert4keras' multilabel_categorical_crossentropy).

    hard:  log(1 + sum_{i in neg} e^{s_i}) + log(1 + sum_{j in pos} e^{-s_j})
    soft:  log(1 + sum_i t_i e^{-s_i}) + log(1 + sum_i (1 - t_i) e^{s_i}),   t in [0, 1]

Every version returns one loss per row, shape (..., n_classes) -> (...), in float32 whatever the
logits' dtype (float16/bfloat16 are cast first: the exponentials need the range).

Conventions
- Decision: class i is predicted when s_i > 0 (the appended zero is the threshold).
- Probability: σ(2s) (`zlpr_probabilities`), not σ(s). At the minimum of the soft loss every class
  has t_i = σ(2 s_i) exactly: with A = 1 + Σ t e^{-s}, B = 1 + Σ (1-t) e^{s}, ∂/∂s_i = 0 gives
  t_i e^{-s_i} B = (1-t_i) e^{s_i} A; summing over i gives (A-1) B = (B-1) A, so A = B and
  e^{2 s_i} = t_i / (1 - t_i). σ(2s) > 0.5 is the same decision as s > 0.
- Masking: a class whose logit is -inf drops out of both sums in every version (the same loss as
  deleting the class), with zero gradient. No large constants (1e12) that overflow in float16;
  -inf is injected with `where`, so no NaN reaches the gradient. A NaN logit stays NaN.
- Sparse labels: int indices of the positive classes, shape (..., k), padded with -1 (any negative
  value is padding); indices must lie in [0, n_classes), a repeated index counts once.
"""
from __future__ import annotations

import keras
from keras import ops

NEG_INF = float("-inf")


def _lse0(x):
    """log(1 + Σ e^x) over the last axis: logsumexp with a zero appended, finite for any x."""
    return ops.logsumexp(ops.concatenate([ops.zeros_like(x[..., :1]), x], axis=-1), axis=-1)


def _weighted(x, w, live):
    """x + log w, and -inf where w == 0 or the class is masked. The inner `where` keeps log(0)
    out of the graph altogether, so neither x nor w gets a NaN gradient."""
    keep = live & (w > 0)
    return ops.where(keep, x + ops.log(ops.where(keep, w, ops.ones_like(w))), ops.full_like(x, NEG_INF))


def _zlpr(t, s):
    live = ~(ops.isinf(s) & (s < 0))
    return _lse0(_weighted(-s, t, live)) + _lse0(_weighted(s, 1.0 - t, live))


@keras.saving.register_keras_serializable(package="kexue")
def zlpr_loss(y_true, logits):
    """Hard labels: y_true (..., n_classes), any non-zero entry is a positive class."""
    s = ops.cast(logits, "float32")
    return _zlpr(ops.cast(ops.cast(y_true, "bool"), "float32"), s)


@keras.saving.register_keras_serializable(package="kexue")
def zlpr_soft_loss(y_true, logits):
    """Soft labels t in [0, 1] (clipped there), e.g. label smoothing or mixup; t in {0, 1} is the
    hard loss exactly."""
    s = ops.cast(logits, "float32")
    return _zlpr(ops.clip(ops.cast(y_true, "float32"), 0.0, 1.0), s)


def multi_hot(indices, n_classes):
    """(..., k) positive indices padded with -1 -> (..., n_classes) float32 0/1.

    A scatter (memory of the logits' size) rather than one_hot + max (k times that)."""
    idx = ops.cast(indices, "int32")
    flat = ops.reshape(idx, (-1, ops.shape(idx)[-1]))
    rows = ops.broadcast_to(ops.arange(ops.shape(flat)[0], dtype="int32")[:, None], ops.shape(flat))
    cols = ops.where(flat >= 0, flat, n_classes)  # padding lands in a scratch column, dropped below
    coords = ops.reshape(ops.stack([rows, cols], axis=-1), (-1, 2))
    hits = ops.scatter(coords, ops.ones((ops.shape(coords)[0],), "float32"), (ops.shape(flat)[0], n_classes + 1))
    return ops.reshape(ops.cast(hits[:, :n_classes] > 0, "float32"), (*ops.shape(idx)[:-1], n_classes))


@keras.saving.register_keras_serializable(package="kexue")
def zlpr_sparse_loss(y_true, logits):
    """Sparse labels: y_true (..., k) int indices of the positive classes, padded with -1.

    Equal to `zlpr_loss` on the dense labels. bert4keras gets the negative term as
    lse_all + log(1 - exp(lse_pos - lse_all)) clipped at epsilon; that subtraction loses every
    negative once the positives dominate (one positive at +20, negatives at -20: float32 gives
    lse_pos == lse_all, the clip returns lse_all - 16 = 3.9 instead of 6e-9, and its gradient
    pushes the positive down). Scattering the indices into a mask costs memory of the logits' size, as
    the logsumexp's own intermediates already do, and is exact."""
    s = ops.cast(logits, "float32")
    return _zlpr(multi_hot(y_true, ops.shape(s)[-1]), s)


def zlpr_probabilities(logits):
    """σ(2s): the probability the soft loss is calibrated to (see the module docstring); > 0.5 iff s > 0."""
    return ops.sigmoid(2.0 * ops.cast(logits, "float32"))


_LOSSES = {"hard": zlpr_loss, "soft": zlpr_soft_loss, "sparse": zlpr_sparse_loss}


@keras.saving.register_keras_serializable(package="kexue")
class ZLPR(keras.losses.Loss):
    """`model.compile(loss=ZLPR())`; the model outputs raw scores (no sigmoid).

    labels: "hard" (0/1 matrix), "soft" (targets in [0, 1]) or "sparse" (positive indices padded
    with -1). Keras converts y_true to the loss dtype (float32 by default) before `call`, so keep
    the default dtype for sparse labels: a 16-bit dtype would round large indices."""

    def __init__(self, labels: str = "hard", reduction="sum_over_batch_size", name: str = "zlpr", dtype=None):
        if labels not in _LOSSES:
            raise ValueError(f"ZLPR labels must be one of {sorted(_LOSSES)}, not {labels!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.labels = labels

    def call(self, y_true, y_pred):
        return _LOSSES[self.labels](y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "labels": self.labels}
