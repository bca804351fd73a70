"""BERT with the four NL2SQL heads, trained by the core CV loop (`make_model` interface).

predict() returns head probabilities padded to the split's longest question (q_max) and widest
table (h_max), so folds, seeds and models can be averaged head by head:
    conn (n, 3)   sel (n, h_max, 7)   op (n, q_max, 5)   csel (n, q_max, h_max)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.batching import bucketed_dataset, length_batches
from ..core.keras_fit import fit_fold, load_trained
from ..core.tfquiet import import_keras
from .encode import NO_AGG, pad_batch

MASKED = -1e4  # logit of a padded header: exp() underflows to 0 in float32 and bfloat16 alike


def build_net(backbone, csel_dim: int = 256, sel_loss: str = "softmax"):
    keras = import_keras()
    from keras import layers, ops

    for layer in backbone.layers:  # the [CLS] pooler is unused: freezing it keeps Keras from warning each run
        if layer.name == "pooled_dense":
            layer.trainable = False

    class NL2SQLNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.conn_head = layers.Dense(3, name="conn")
            self.sel_head = layers.Dense(NO_AGG + 1, name="sel")  # zlpr: unit 6 is the selection score
            self.op_head = layers.Dense(5, name="op")
            self.csel_q = layers.Dense(csel_dim, name="csel_q")
            self.csel_h = layers.Dense(csel_dim, use_bias=False, name="csel_h")
            self.csel_out = layers.Dense(1, name="csel")

        def call(self, x, training=False):
            ids = x["token_ids"]
            seq = self.backbone({"token_ids": ids, "segment_ids": x["segment_ids"],
                                 "padding_mask": x["padding_mask"]}, training=training)["sequence_output"]
            xq = seq[:, 1:1 + ops.shape(x["q_mask"])[1]]
            # a header's vector: its [CLS] row (the post) plus the mean of its tokens. The [CLS] rows
            # alone start out nearly identical in a pretrained BERT and matching barely learns from them
            # (WikiSQL + MiniLM: condition-column loss still at chance after 3,200 examples).
            pick = ops.one_hot(x["h_pos"], ops.shape(seq)[1], dtype=seq.dtype)
            xh = ops.matmul(pick + ops.cast(x["h_pool"], seq.dtype), seq)
            h_mask = ops.cast(x["h_mask"], seq.dtype)
            csel = self.csel_out(ops.tanh(self.csel_q(xq)[:, :, None] + self.csel_h(xh)[:, None]))[..., 0]
            csel = csel * h_mask[:, None] + MASKED * (1 - h_mask[:, None])
            return {"conn": self.conn_head(seq[:, 0]), "sel": self.sel_head(xh), "op": self.op_head(xq), "csel": csel}

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            total = _masked_ce(y_pred["conn"], y["conn"]) + _masked_ce(y_pred["op"], y["op"]) \
                + _masked_ce(y_pred["csel"], y["csel"])
            if sel_loss == "zlpr":
                from ..losses.zlpr import zlpr_loss
                valid = ops.cast(y["sel"] >= 0, "float32")
                chosen = ops.cast((y["sel"] >= 0) & (y["sel"] != NO_AGG), "float32")
                score = ops.cast(y_pred["sel"][..., NO_AGG], "float32")
                # per header, as the 7-way softmax it replaces is: a per-question sum would weigh selection
                # several times more against the other heads, and the operator tags lagged (sample, 3 seeds)
                per_question = zlpr_loss(chosen, score + MASKED * (1 - valid))
                total += ops.sum(per_question) / ops.maximum(ops.sum(valid), 1.0)
                total += _masked_ce(y_pred["sel"][..., :NO_AGG], ops.where(chosen > 0, y["sel"], -1))
            else:
                total += _masked_ce(y_pred["sel"], y["sel"])
            return total + (ops.sum(self.losses) if self.losses else 0.0)

    return NL2SQLNet()


def _masked_ce(logits, labels):
    """Mean cross-entropy over the positions whose label is not -1."""
    from keras import ops
    logits = ops.cast(logits, "float32")
    mask = ops.cast(labels >= 0, "float32")
    logp = ops.log_softmax(logits, axis=-1)
    picked = ops.take_along_axis(logp, ops.expand_dims(ops.maximum(labels, 0), -1), axis=-1)[..., 0]
    return -ops.sum(picked * mask) / ops.maximum(ops.sum(mask), 1.0)


def probabilities(logits: dict, sel_loss: str) -> dict:
    from keras import ops
    out = {k: ops.convert_to_numpy(ops.softmax(ops.cast(v, "float32"), axis=-1)) for k, v in logits.items()}
    if sel_loss == "zlpr":  # P(selected) = σ(2·score), ZLPR's calibrated reading (kexue.losses.zlpr); the
        s = ops.convert_to_numpy(ops.cast(logits["sel"], "float32"))  # aggregation split follows the agg softmax
        chosen = 1 / (1 + np.exp(-2 * s[..., NO_AGG]))
        agg = np.exp(s[..., :NO_AGG] - s[..., :NO_AGG].max(-1, keepdims=True))
        agg /= agg.sum(-1, keepdims=True)
        out["sel"] = np.concatenate([agg * chosen[..., None], (1 - chosen)[..., None]], -1)
    return out


def _lengths(view) -> np.ndarray:
    return np.array([len(view.row(i)["ids"]) for i in range(len(view))])


def backbone_for(params: dict):
    """The model's BERT: the pretrained one named by the data manifest, or a small random one."""
    from ..bert import checkpoint
    spec = params["backbone"]
    if spec["kind"] == "pretrained":
        return checkpoint.load_backbone(spec["path"], dropout=params.get("dropout"))
    r = params["random_backbone"]
    return checkpoint.random_backbone(spec["vocab_size"], num_layers=r["layers"], hidden_dim=r["hidden"],
                                      num_heads=r["heads"], intermediate_dim=r["intermediate"],
                                      max_sequence_length=spec["max_len"], dropout=params.get("dropout", 0.1))


class NL2SQLBert:
    """The model behind `model: bert` in configs/nl2sql/*.yaml."""

    def __init__(self, params: dict, workdir, seed: int, classes=None, evaluate=None):
        """`evaluate(x_valid, head_probabilities) -> metrics` picks the best epoch by logic-form accuracy."""
        keras = import_keras()
        keras.utils.set_random_seed(seed)
        self.params, self.workdir, self.seed, self.evaluate = params, Path(workdir), seed, evaluate
        self.net = None

    @property
    def selects(self) -> bool:
        """fit() keeps the epoch with the best logic-form accuracy on the rows the CV loop gives it for that."""
        return self.evaluate is not None

    def _build(self):
        keras = import_keras()
        keras.mixed_precision.set_global_policy(self.params.get("precision", "float32"))
        self.net = build_net(backbone_for(self.params), int(self.params["csel_dim"]), self.params["sel_loss"])
        row = pad_batch([{"ids": np.array([0, 0, 0]), "q_spans": np.zeros((1, 2), int), "h_pos": np.array([2])}])[0]
        self.net(row)  # create the head weights before any load_weights

    def fit(self, x_train, y_train, x_valid, y_valid) -> dict:
        keras = import_keras()
        p = self.params
        self._build()
        lengths = _lengths(x_train)
        bs, epochs = int(p["batch_size"]), int(p["epochs"])
        steps = math.ceil(len(x_train) / bs)
        seed = self.seed

        import tensorflow as tf
        epoch = [0]
        dims = {"token_ids": (tf.int32, 2), "segment_ids": (tf.int32, 2), "padding_mask": (tf.bool, 2),
                "h_pos": (tf.int32, 2), "h_mask": (tf.bool, 2), "q_mask": (tf.bool, 2),
                "h_pool": (tf.float32, 3)}
        spec_x = {k: tf.TensorSpec((None,) * n, t) for k, (t, n) in dims.items()}
        spec_y = {"conn": tf.TensorSpec((None,), tf.int32),
                  **{k: tf.TensorSpec((None, None), tf.int32) for k in ("sel", "op", "csel")}}
        dataset = bucketed_dataset(lengths, bs, lambda rows: pad_batch([x_train.row(j) for j in rows]),
                                   (spec_x, spec_y), seed, epoch=lambda: epoch[0])

        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, steps * epochs), warmup_target=float(p["lr"]),
            warmup_steps=int(steps * epochs * float(p["warmup"])), alpha=0.0)
        self.net.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=float(p["weight_decay"])))
        evaluate = (lambda: self.evaluate(x_valid, self.predict(x_valid))) \
            if self.evaluate is not None and len(x_valid) else None
        info = fit_fold(self.net, dataset, epochs, self.workdir, len(x_train), evaluate=evaluate,
                        verbose=p.get("verbose", "auto"), epoch_begin=lambda e: epoch.__setitem__(0, e),
                        select_on="logic_form_acc")
        return {**info, "params": int(self.net.count_params()), "epochs": epochs}

    def load(self):
        """The fold's best (else last) weights, for predicting without training again."""
        self._build()
        load_trained(self.net, self.workdir)
        return self

    def predict(self, x) -> dict:
        n, qm, hm = len(x), x.q_max, x.h_max
        out = {"conn": np.zeros((n, 3), np.float16), "sel": np.zeros((n, hm, NO_AGG + 1), np.float16),
               "op": np.zeros((n, qm, 5), np.float16), "csel": np.zeros((n, qm, hm), np.float16)}
        for rows in length_batches(_lengths(x), int(self.params.get("predict_batch_size", 64))):
            batch, _ = pad_batch([x.row(j) for j in rows])
            prob = probabilities(self.net.predict_on_batch(batch), self.params["sel_loss"])
            for i, j in enumerate(rows):
                nq, nh = int(batch["q_mask"][i].sum()), int(batch["h_mask"][i].sum())
                out["conn"][j] = prob["conn"][i]
                out["sel"][j, :nh] = prob["sel"][i, :nh]
                out["op"][j, :nq] = prob["op"][i, :nq]
                out["csel"][j, :nq, :nh] = prob["csel"][i, :nq, :nh]
        return out


