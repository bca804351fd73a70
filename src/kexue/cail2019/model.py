"""The sentence tagger: a character embedding, DGC blocks, pooling, one logit per tag.

    chars     Embedding(dim) of the sentence's characters (0 = padding), dropout
    encoder   DGC blocks (kexue.layers.DGC, the gated residual convolutions of the DGCNN reader), padding masked
    pooling   [attention pooling, masked max pooling]: where a tag's phrase sits and how strongly it fired
    head      dropout, Dense(n_tags) logits in float32

`loss` (configs/cail2019/*.yaml) is the experiment: `zlpr` (kexue.losses.ZLPR, a tag is on when its logit > 0)
or `bce` (binary cross-entropy on the same logits, on when sigmoid > 0.5, i.e. also logit > 0). Both store
probabilities whose 0.5 is that rule: σ(2s) for ZLPR (its calibrated reading, kexue.losses.zlpr), σ(s) for BCE,
so folds, seeds and runs average alike and per-tag thresholds are tuned on the same scale. Sentences of a batch
are padded to the batch's longest (rows of similar length batched together, kexue.core.batching).
"""
from __future__ import annotations

import numpy as np

from ..core.tfquiet import import_keras

keras = import_keras()      # first: the layers and losses import keras, and TF's start-up chatter must stay muted
from keras import layers, ops

from ..core.batching import bucketed_dataset, length_batches, round_up
from ..core.keras_fit import FoldModel, learning_rate
from ..layers import DGC, AttentionPooling1D
from ..losses import ZLPR, zlpr_probabilities

LOSSES = ("zlpr", "bce")


def build_tagger(n_chars: int, n_tags: int, cfg: dict) -> keras.Model:
    """The compiled tagger: int32 chars (batch, length) -> logits (batch, n_tags). cfg keys: dim, kernel_size,
    dilations, dropout, gate_dropout, branch_dropout, head_dropout, lr, warmup (share of `steps` spent ramping
    the rate up, kexue.core.keras_fit.learning_rate), ema (a momentum or 0), loss."""
    loss = cfg.get("loss", "zlpr")
    if loss not in LOSSES:
        raise ValueError(f"cail2019: loss must be one of {', '.join(LOSSES)}, not {loss!r}")
    dim = int(cfg["dim"])
    chars = keras.Input((None,), dtype="int32", name="chars")
    mask = ops.not_equal(chars, 0)
    h = layers.Embedding(n_chars, dim, name="char_embedding")(chars)
    h = layers.Dropout(float(cfg.get("dropout", 0.0)), name="embedding_dropout")(h)
    for i, d in enumerate(cfg["dilations"]):
        h = DGC(dim, kernel_size=int(cfg.get("kernel_size", 3)), dilation_rate=int(d),
                dropout=float(cfg.get("branch_dropout", 0.0)), gate_dropout=float(cfg.get("gate_dropout", 0.0)),
                name=f"dgc{i}_d{d}")(h, mask=mask)
    # padding must never win the max: push it far below any real activation first
    masked = ops.where(mask[..., None], h, ops.full_like(h, -1e4))
    v = layers.Concatenate(name="pooled")([AttentionPooling1D(name="attention_pool")(h, mask=mask),
                                            ops.max(masked, axis=1)])
    v = layers.Dropout(float(cfg.get("head_dropout", 0.0)), name="head_dropout")(v)
    logits = layers.Dense(n_tags, dtype="float32", name="logits")(v)
    model = keras.Model(chars, logits, name="cail_tagger")
    ema = float(cfg.get("ema") or 0.0)
    optimizer = keras.optimizers.Adam(learning_rate(cfg), use_ema=ema > 0, ema_momentum=ema or 0.99)
    model.compile(optimizer=optimizer,
                  loss=ZLPR() if loss == "zlpr" else keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def probabilities(logits, loss: str) -> np.ndarray:
    """Probabilities whose 0.5 is the loss's decision rule (logit > 0): σ(2s) for ZLPR, σ(s) for BCE."""
    s = np.asarray(logits, np.float32)
    if loss == "zlpr":
        return np.asarray(zlpr_probabilities(s), np.float32)
    return (1.0 / (1.0 + np.exp(-s))).astype(np.float32)


def pad_rows(x: np.ndarray, rows, multiple: int = 8) -> np.ndarray:
    """The rows of a 0-padded char matrix, cut to their longest sentence rounded up to `multiple` (a few shapes
    cover every batch: fewer retraces)."""
    sub = x[rows]
    return sub[:, :round_up(int((sub != 0).sum(1).max()) if len(sub) else 1, multiple)]


def dataset(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int = 0, epoch=None):
    """tf.data of (chars, multi-hot) batches, rows of similar length together, reshuffled each epoch,
    reproducible from (seed, epoch) (core.batching.bucketed_dataset)."""
    import tensorflow as tf
    y = np.asarray(y, np.float32)
    spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, y.shape[1]), tf.float32))
    return bucketed_dataset((x != 0).sum(1), batch_size, lambda rows: (pad_rows(x, rows), y[rows]), spec, seed,
                            epoch)


class CAILTagger(FoldModel):
    """The model behind `model: dgc` (configs/cail2019/*.yaml) in the core CV loop's interface: fit() on a char
    matrix and its multi-hot tags, predict() -> (rows, n_tags) float32 probabilities (0.5 = the loss's rule).
    The fold's folder is kexue.core.keras_fit's: best epoch by the validation CAIL score, resumable."""

    def __init__(self, params: dict, workdir, seed: int, classes, n_chars: int, evaluate=None):
        """`evaluate(y_valid, probabilities) -> {"score": ...}` scores an epoch (the best one is kept)."""
        super().__init__(params, workdir, seed, evaluate)
        self.classes, self.n_chars = list(classes), int(n_chars)

    def build(self):
        return build_tagger(self.n_chars, len(self.classes), self.params)

    def stream(self, x, y, batch_size, epoch):
        return dataset(x, y, batch_size, self.seed, epoch=epoch)

    def predict(self, x) -> np.ndarray:
        out = np.zeros((len(x), len(self.classes)), np.float32)
        lengths = (x != 0).sum(1)
        for rows in length_batches(lengths, int(self.params.get("predict_batch_size", 256))):
            out[rows] = np.asarray(self.net.predict_on_batch(pad_rows(x, rows)), np.float32)
        return probabilities(out, self.params.get("loss", "zlpr"))
