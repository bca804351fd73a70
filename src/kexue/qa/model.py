"""The DGCNN reader of kexue.fm/archives/5409 in its open Keras version (archives/6906), on Keras 3.

    embedding   char Embedding + Dense(no bias) of the frozen pretrained word vector of each character's word
    question    DGC blocks, dilations (1, 2, 1) -> attention pooling -> question vector qv
    passage     [embedding, qv] -> Dense -> DGC blocks, dilations (1, 2, 4, 8, 16, 1) -> [., qv]
    heads       presence = sigmoid(Dense(attention pooling of the passage)): "this passage holds the answer";
                start_i, end_i = sigmoid(Dense(passage_i)) * presence

Trained with the binary focal loss on start and end over the passage's characters (mean over real positions,
summed over the two pointers); presence learns only through them, as in the post. Weights are averaged by the
optimizer's own EMA (`use_ema`): Keras keeps the average beside the weights, writes it into the model when fit()
ends, and `keras.callbacks.SwapEMAWeights` evaluates with it between epochs. Keras' EMA has no bias correction
and starts from the initial weights, so its momentum must fit the run (ema_momentum): 0.9999 (the post) wants
tens of thousands of steps. Differences from the post: Adam instead of RAdam (Keras has none); the loss is not scaled by 100 (the
post's scale is for display, Adam ignores it); every passage is a training row instead of one random passage per
question and epoch. Set the mixed-precision policy before building: the pointers and the loss stay float32.
"""
from __future__ import annotations

import numpy as np

from ..core.tfquiet import import_keras

keras = import_keras()      # first: the layers and losses import keras, and TF's start-up chatter must stay muted
from keras import layers, ops

from ..core.batching import bucketed_dataset, length_batches
from ..core.keras_fit import FoldModel, learning_rate
from ..layers import DGC, AttentionPooling1D
from ..losses import focal_loss
from .encode import pad_batch

INPUTS = ("q_chars", "q_words", "p_chars", "p_words")


def seq_and_vec(x, v):
    """v (batch, k) appended to every position of x (batch, length, d)."""
    return ops.concatenate([x, ops.zeros_like(x[..., :1]) + v[:, None, :]], axis=-1)


class DGCNN(keras.Model):
    """The functional network with the post's loss; built by build_dgcnn."""

    def __init__(self, inputs, outputs, gamma: float = 2.0, alpha: float = 0.25, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.gamma, self.alpha = gamma, alpha

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        mask = ops.not_equal(x["p_chars"], 0)
        loss = sum(focal_loss(y[k], y_pred[k], mask, self.gamma, self.alpha) for k in ("start", "end"))
        return loss + (ops.sum(self.losses) if self.losses else 0.0)


def make_optimizer(cfg: dict):
    """Adam at cfg['lr'] (dropped to lr * lr_drop_factor from the lr_drop_at share of the run's steps on, as
    the post's second phase: kexue.core.keras_fit.learning_rate) with the weight EMA on when cfg['ema'] (a
    momentum, resolved by kexue.core.keras_fit.ema_momentum) is set."""
    ema = float(cfg.get("ema") or 0.0)
    return keras.optimizers.Adam(learning_rate(cfg), use_ema=ema > 0, ema_momentum=ema or 0.99)


def build_dgcnn(n_chars: int, word_matrix: np.ndarray, cfg: dict) -> DGCNN:
    """The compiled reader. Inputs {q_chars, q_words, p_chars, p_words} (int, 0 = padding, as pad_batch makes
    them); outputs {start, end}: (batch, passage length) probabilities, 0 on padding, and presence (batch,).
    cfg keys: dim, kernel_size, dropout (embedding), gate_dropout, branch_dropout, q_dilations, p_dilations, lr,
    ema, focal_gamma, focal_alpha (configs/qa/dgcnn.yaml)."""
    dim, kernel = int(cfg["dim"]), int(cfg.get("kernel_size", 3))
    block = {"kernel_size": kernel, "dropout": float(cfg.get("branch_dropout", 0.0)),
             "gate_dropout": float(cfg.get("gate_dropout", 0.0))}
    x = {k: keras.Input((None,), dtype="int32", name=k) for k in INPUTS}
    q_mask, p_mask = ops.not_equal(x["q_chars"], 0), ops.not_equal(x["p_chars"], 0)

    char_emb = layers.Embedding(n_chars, dim, name="char_embedding")
    word_emb = layers.Embedding(*word_matrix.shape, trainable=False, name="word_vectors")
    word_proj = layers.Dense(dim, use_bias=False, name="word_projection")
    emb_drop = layers.Dropout(float(cfg.get("dropout", 0.0)), name="embedding_dropout")

    def embed(chars, words):    # one embedding shared by question and passage, as in the post
        return emb_drop(char_emb(chars) + word_proj(word_emb(words)))

    q = embed(x["q_chars"], x["q_words"])
    for i, d in enumerate(cfg["q_dilations"]):
        q = DGC(dim, dilation_rate=int(d), name=f"q_dgc{i}_d{d}", **block)(q, mask=q_mask)
    qv = AttentionPooling1D(name="q_pool")(q, mask=q_mask)

    p = layers.Dense(dim, use_bias=False, name="p_fuse")(seq_and_vec(embed(x["p_chars"], x["p_words"]), qv))
    for i, d in enumerate(cfg["p_dilations"]):
        p = DGC(dim, dilation_rate=int(d), name=f"p_dgc{i}_d{d}", **block)(p, mask=p_mask)
    p = seq_and_vec(p, qv)
    pv = AttentionPooling1D(name="p_pool")(p, mask=p_mask)
    presence = layers.Dense(1, activation="sigmoid", dtype="float32", name="presence")(pv)
    real = ops.cast(p_mask, "float32")
    start = layers.Dense(1, activation="sigmoid", dtype="float32", name="start_pointer")(p)[..., 0] * presence * real
    end = layers.Dense(1, activation="sigmoid", dtype="float32", name="end_pointer")(p)[..., 0] * presence * real

    model = DGCNN(x, {"start": start, "end": end, "presence": presence[:, 0]},
                  gamma=float(cfg.get("focal_gamma", 2.0)), alpha=float(cfg.get("focal_alpha", 0.25)), name="dgcnn")
    # set, not a Constant initializer: that would copy the whole matrix into the model's config
    word_emb.set_weights([np.asarray(word_matrix, np.float32)])
    model.compile(optimizer=make_optimizer(cfg))
    return model


def _p_lengths(data) -> np.ndarray:
    base, index = (data.base, data.index) if hasattr(data, "base") else (data, np.arange(len(data)))
    return np.diff(base.p_off)[index]


def dataset(data, batch_size: int, seed: int = 0, epoch=None):
    """tf.data of pad_batch batches of an Encoded (or view) with labels: rows of similar passage length together,
    reshuffled each epoch, reproducible from (seed, epoch) (core.batching.bucketed_dataset)."""
    import tensorflow as tf
    seq = tf.TensorSpec((None, None), tf.int32)
    spec = ({k: seq for k in INPUTS}, {"start": tf.TensorSpec((None, None), tf.float32),
                                       "end": tf.TensorSpec((None, None), tf.float32),
                                       "has_answer": tf.TensorSpec((None,), tf.float32)})
    return bucketed_dataset(_p_lengths(data), batch_size, lambda rows: pad_batch([data.row(int(j)) for j in rows]),
                            spec, seed, epoch)


def predict(model, data, batch_size: int = 256):
    """(starts, ends, presence) for every row: float32 arrays cut to the row's passage length, and (n,)."""
    lengths = _p_lengths(data)
    starts, ends, presence = [None] * len(lengths), [None] * len(lengths), np.zeros(len(lengths), np.float32)
    for rows in length_batches(lengths, batch_size):
        out = model.predict_on_batch(pad_batch([data.row(int(j)) for j in rows])[0])
        s, e, pr = (np.asarray(out[k], np.float32) for k in ("start", "end", "presence"))
        for i, j in enumerate(rows):
            starts[j], ends[j], presence[j] = s[i, :lengths[j]], e[i, :lengths[j]], pr[i]
    return starts, ends, presence


class DGCNNReader(FoldModel):
    """The model behind `model: dgcnn` (configs/qa/dgcnn.yaml) in the core CV loop's interface: fit() on an
    RowView of training rows, predict() -> {"start", "end"}: (rows, width) float16 pointer probabilities,
    0-padded to the longest passage of the view's split (the same width for every fold, so folds and runs
    average row by row), and "presence" (rows,).

    The fold's folder keeps best.weights.h5 (the best epoch by `evaluate`, with the EMA weights), last.weights.h5,
    history.jsonl and a BackupAndRestore checkpoint, so a killed fold resumes at its last finished epoch."""

    def __init__(self, params: dict, workdir, seed: int, classes=None, n_chars: int = 0, word_matrix=None,
                 evaluate=None):
        """`evaluate(x_valid, prediction) -> {"score": ...}` scores an epoch (the best one is kept)."""
        super().__init__(params, workdir, seed, evaluate)
        self.n_chars, self.word_matrix = int(n_chars), word_matrix

    def build(self):
        return build_dgcnn(self.n_chars, self.word_matrix, self.params)

    def stream(self, x, y, batch_size, epoch):
        return dataset(x, batch_size, self.seed, epoch=epoch)      # the targets travel inside the RowView

    def score_epoch(self, x_valid, y_valid) -> dict:
        return self.evaluate(x_valid, self.predict(x_valid))

    def predict(self, x) -> dict:
        base = getattr(x, "base", x)
        width = max(1, int(np.diff(base.p_off).max())) if len(base) else 1
        n = len(x)
        out = {"start": np.zeros((n, width), np.float16), "end": np.zeros((n, width), np.float16),
               "presence": np.zeros(n, np.float16)}
        if n:
            starts, ends, presence = predict(self.net, x, int(self.params.get("predict_batch_size", 256)))
            for i, (s, e) in enumerate(zip(starts, ends)):
                out["start"][i, :len(s)], out["end"][i, :len(e)] = s, e
            out["presence"][:] = presence
        return out
