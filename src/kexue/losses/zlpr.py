"""ZLPR: Su Jianlin's generalisation of softmax + cross-entropy to multi-label classification.

    loss = log(1 + sum_{i in neg} e^{s_i}) + log(1 + sum_{j in pos} e^{-s_j})

A class is predicted when its score s > 0. Both terms are a logsumexp with an appended zero, so
the loss stays finite for any logits (no large-constant masking that overflows in float16), and a
class whose logit is -inf drops out of both terms (masking).
"""
from __future__ import annotations


def zlpr_loss(y_true, logits):
    """Per-row ZLPR loss for hard 0/1 labels, shape (..., n_classes) -> (...)."""
    from keras import ops
    s = ops.cast(logits, "float32")
    pos = ops.cast(y_true, "bool")
    masked = ops.isinf(s) & (s < 0)
    neg_inf = ops.full_like(s, float("-inf"))
    neg_terms = ops.where(pos, neg_inf, s)                         # e^{s_i} over negatives
    pos_terms = ops.where(pos & ~masked, -s, neg_inf)              # e^{-s_j} over positives
    zero = ops.zeros_like(s[..., :1])
    return (ops.logsumexp(ops.concatenate([zero, neg_terms], -1), axis=-1)
            + ops.logsumexp(ops.concatenate([zero, pos_terms], -1), axis=-1))
