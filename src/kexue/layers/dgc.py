"""The dilated gated convolution (DGC) block and the additive attention pooling of Su Jianlin's DGCNN
(kexue.fm/archives/5409; Keras code: bojone/dgcnn_for_reading_comprehension).

    [h, a] = Conv1D(2 * dim, dilation d)(x * mask)        one conv, split into value and gate
    y = (x * (1 - sigmoid(a)) + h * sigmoid(a)) * mask    x through a bias-free Dense when widths differ

The gate decides per position and channel how much of the input passes unchanged, so a deep stack stays easy to
train (a learned residual). Masks follow the Keras protocol: `mask` is (batch, length), True on real positions,
given explicitly (`layer(x, mask=m)`) or propagated from an Embedding(mask_zero=True).
"""
from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="kexue")
class DGC(layers.Layer):
    """One dilated gated residual Conv1D block. dim=None keeps the input width.

    dropout acts on the residual branch (the conv's value half); gate_dropout on the gate's logits before the
    sigmoid, which is what the post's code does (`drop_gate=0.1`): a dropped logit gates at 0.5."""

    def __init__(self, dim: int | None = None, kernel_size: int = 3, dilation_rate: int = 1, dropout: float = 0.0,
                 gate_dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.kernel_size, self.dilation_rate = dim, kernel_size, dilation_rate
        self.dropout, self.gate_dropout = dropout, gate_dropout
        self.supports_masking = True

    def build(self, input_shape):
        d_in = input_shape[-1]
        self.units = self.dim or d_in
        self.conv = layers.Conv1D(2 * self.units, self.kernel_size, padding="same", dilation_rate=self.dilation_rate,
                                  dtype=self.dtype_policy, name="conv")
        self.conv.build(input_shape)
        self.project = None
        if self.units != d_in:
            self.project = layers.Dense(self.units, use_bias=False, dtype=self.dtype_policy, name="project")
            self.project.build(input_shape)
        self.branch_drop = layers.Dropout(self.dropout) if self.dropout else None
        self.gate_drop = layers.Dropout(self.gate_dropout) if self.gate_dropout else None

    def call(self, x, mask=None, training=None):
        m = None if mask is None else ops.cast(mask, x.dtype)[..., None]
        if m is not None:
            x = x * m          # a dilated kernel reaching past the end must read zeros, whatever the padding held
        h, a = ops.split(self.conv(x), 2, axis=-1)
        if self.gate_drop is not None:
            a = self.gate_drop(a, training=training)
        if self.branch_drop is not None:
            h = self.branch_drop(h, training=training)
        g = ops.sigmoid(a)
        if self.project is not None:
            x = self.project(x)
        y = x * (1 - g) + h * g
        return y if m is None else y * m     # zeros on padding for the next block and for pooling

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dim or input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate, "dropout": self.dropout, "gate_dropout": self.gate_dropout}


@keras.saving.register_keras_serializable(package="kexue")
class AttentionPooling1D(layers.Layer):
    """A sequence to one vector: softmax over the unmasked steps of v·tanh(W x_t), then the weighted sum of x_t.
    hidden=None uses the input width (as the post). An all-padding row pools to zeros, not NaN."""

    def __init__(self, hidden: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.supports_masking = True

    def build(self, input_shape):
        self.key = layers.Dense(self.hidden or input_shape[-1], use_bias=False, activation="tanh",
                                dtype=self.dtype_policy, name="key")
        self.key.build(input_shape)
        self.score = layers.Dense(1, use_bias=False, dtype=self.dtype_policy, name="score")
        self.score.build((*input_shape[:-1], self.hidden or input_shape[-1]))

    def call(self, x, mask=None):
        s = ops.cast(self.score(self.key(x))[..., 0], "float32")    # float32: -1e9 and exp() overflow float16
        if mask is not None:
            mask = ops.cast(mask, "bool")
            s = ops.where(mask, s, -1e9)
        w = ops.softmax(s, axis=-1)
        if mask is not None:
            w = w * ops.cast(mask, "float32")
        return ops.sum(ops.cast(w, x.dtype)[..., None] * x, axis=1)

    def compute_mask(self, x, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}
