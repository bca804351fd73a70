"""The residual dilated Conv1D block of Su Jianlin's spectral classifier (kexue.fm, 'Conv1D 光谱分类')."""
from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable(package="kexue")
class HalfSum(layers.Layer):
    """Sum the two halves of the channel axis (2f -> f channels): a conv with 2f filters
    followed by this mixes two feature maps per output channel at no extra weights."""

    def call(self, x):
        half = x.shape[-1] // 2
        return x[..., :half] + x[..., half:]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)


def residual_dilated_block(x, filters: int, dilations=(1, 2, 4), kernel_size: int = 3, name: str = "block"):
    """Conv1D(2f, dilation d, ReLU) -> HalfSum for each d, plus a shortcut (1x1 conv when the width changes)."""
    shortcut = x if x.shape[-1] == filters else layers.Conv1D(filters, 1, name=f"{name}_shortcut")(x)
    for i, d in enumerate(dilations):
        x = layers.Conv1D(2 * filters, kernel_size, padding="same", dilation_rate=d, activation="relu",
                          name=f"{name}_conv{i}_d{d}")(x)
        x = HalfSum(name=f"{name}_halfsum{i}")(x)
    return layers.Add(name=f"{name}_add")([shortcut, x])
