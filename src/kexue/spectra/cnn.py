"""The residual dilated Conv1D classifier, trained in two stages with class-balanced batches.

Phase 1 minimises cross-entropy; phase 2 fine-tunes on a soft macro-F1 loss (the metric). Both are phases of
the core's fold loop (kexue.core.keras_fit.fit_fold): the kept weights are the epoch with the best macro-F1 on the
selection rows the CV loop gives it, over both phases, and a killed fold resumes at its last finished epoch.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..core.keras_fit import Phase, fit_fold
from ..core.metrics import macro_f1
from ..core.tfquiet import import_keras
from .features import normalise


def class_shares(classes, y, configured: dict | None) -> np.ndarray:
    """Share of each class in a training batch: the configured shares when they name exactly
    these classes, otherwise derived from the data: proportional to sqrt(count), which lifts
    rare classes without showing each rare spectrum a hundred times per epoch."""
    if configured and set(configured) == set(classes):
        shares = np.array([configured[c] for c in classes], dtype=float)
    else:
        counts = np.bincount(y, minlength=len(classes)).astype(float)
        shares = np.sqrt(counts)
    shares = np.where(np.bincount(y, minlength=len(classes)) > 0, shares, 0)
    return shares / shares.sum()


def build_model(length: int, n_classes: int, filters=(16, 16, 32, 32, 64, 64, 128, 128), dilations=(1, 2, 4),
                dropout: float = 0.1, dense: int = 128):
    import keras
    from keras import layers

    from ..layers import residual_dilated_block

    x_in = keras.Input((length, 1), name="flux")
    x = x_in
    for i, f in enumerate(filters):
        x = residual_dilated_block(x, f, dilations, name=f"block{i}")
        if i < len(filters) - 1:
            x = layers.MaxPooling1D(2, name=f"pool{i}")(x)
            # drops whole time steps (all channels at a position), as in the post
            x = layers.Dropout(dropout, noise_shape=(None, None, 1), name=f"step_dropout{i}")(x)
    x = layers.GlobalMaxPooling1D(name="global_max")(x)
    x = layers.Dense(dense, activation="relu", name="dense")(x)
    out = layers.Dense(n_classes, activation="softmax", dtype="float32", name="proba")(x)  # stable under mixed precision
    return keras.Model(x_in, out, name="spectra_cnn")


def get_strategy(kind: str = "auto"):
    """One device here; MirroredStrategy over all GPUs when there are several; MultiWorkerMirroredStrategy over
    the worker processes of kexue.core.multiworker (`distribute: multiworker`)."""
    if kind == "multiworker":
        from ..core import multiworker
        return multiworker.strategy()
    import tensorflow as tf
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "mirrored" or (kind == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _make_batches(x, y, params, shares, seed, n_classes):
    import keras

    class BalancedBatches(keras.utils.PyDataset):
        """Each batch draws its classes by `shares`, and rows within a class uniformly.
        The draw depends only on (seed, epoch, batch), so a resumed run sees the same batches."""

        def __init__(self):
            super().__init__()
            self.by_class = [np.flatnonzero(y == c) for c in range(n_classes)]
            self.batch_size = int(params["batch_size"])
            self.steps = int(params.get("steps_per_epoch") or math.ceil(len(y) / self.batch_size))
            self.epoch = 0

        def __len__(self):
            return self.steps

        def __getitem__(self, i):
            rng = np.random.default_rng([seed, self.epoch, i])
            counts = rng.multinomial(self.batch_size, shares)
            rows = np.concatenate([rng.choice(self.by_class[c], k) for c, k in enumerate(counts) if k])
            xb = normalise(x[rows], params["scaling"])
            if params.get("augment_shift"):
                xb = np.roll(xb, rng.integers(-params["augment_shift"], params["augment_shift"] + 1), axis=1)
            return xb[..., None], np.eye(n_classes, dtype=np.float32)[y[rows]]

    return BalancedBatches()


def _predict(model, x, params) -> np.ndarray:
    size = int(params.get("predict_batch_size", 256))
    # predict_on_batch goes through the strategy's data path, which Keras 3 cannot take under the multi-worker
    # strategy; calling the model reads its (identical) weights on this worker alone
    call = (lambda b: np.asarray(model(b, training=False))) if params.get("distribute") == "multiworker" \
        else model.predict_on_batch
    out = [call(normalise(x[np.arange(i, min(i + size, len(x)))], params["scaling"])[..., None])
           for i in range(0, len(x), size)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, model.output_shape[-1]), np.float32)


class SpectraCNN:
    selects = True  # keeps the epoch with the best macro-F1 on the rows the CV loop gives it for that

    def __init__(self, params: dict, workdir, seed: int, classes: list):
        keras = import_keras()
        keras.utils.set_random_seed(seed)  # weights, dropout masks
        self.params, self.workdir, self.seed, self.classes = params, Path(workdir), seed, list(classes)
        self.model = None

    def _build(self, length):
        import keras
        keras.mixed_precision.set_global_policy(self.params.get("precision", "float32"))
        with get_strategy(self.params.get("distribute", "auto")).scope():
            self.model = build_model(length, len(self.classes), tuple(self.params["filters"]),
                                     tuple(self.params["dilations"]), self.params["dropout"], self.params["dense"])

    def fit(self, x_train, y_train, x_valid, y_valid) -> dict:
        """Two phases of the core's fold loop (kexue.core.keras_fit.fit_fold): cross-entropy, then soft macro-F1;
        the epoch with the best macro-F1 on (x_valid, y_valid) over both is kept (none given: the last)."""
        import keras

        from ..losses import soft_macro_f1_loss

        p = self.params
        self._build(x_train.array.shape[1] if hasattr(x_train, "array") else np.shape(x_train)[1])
        shares = class_shares(self.classes, y_train, p.get("class_shares"))
        batches = _make_batches(x_train, y_train, p, shares, self.seed, len(self.classes))

        def compile_with(lr, loss):
            return lambda model: model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)

        evaluate = (lambda: {"macro_f1": macro_f1(y_valid, _predict(self.model, x_valid, p).argmax(1),
                                                  len(self.classes))}) if len(y_valid) else None
        if p.get("distribute") == "multiworker":     # keras fit() cannot run this strategy: the core's own loop
            from ..core import multiworker
            info = multiworker.fit_phases(
                self.model, lambda key, i: (setattr(batches, "epoch", key), batches[i])[1], batches.steps,
                batches.batch_size, [("ce", int(p["epochs_ce"]), p["lr"], keras.losses.categorical_crossentropy),
                                     ("f1", int(p["epochs_f1"]), p["lr_f1"], soft_macro_f1_loss)],
                self.workdir, evaluate=evaluate, select_on="macro_f1")
            return {**info, "params": int(self.model.count_params()), "class_shares": shares.round(4).tolist()}
        phases = [Phase("ce", int(p["epochs_ce"]), compile_with(float(p["lr"]), "categorical_crossentropy")),
                  Phase("f1", int(p["epochs_f1"]), compile_with(float(p["lr_f1"]), soft_macro_f1_loss))]
        info = fit_fold(self.model, batches, sum(ph.epochs for ph in phases), self.workdir, int(batches.steps *
                        batches.batch_size), evaluate=evaluate, verbose=p.get("verbose", "auto"),
                        epoch_begin=lambda e: setattr(batches, "epoch", e), select_on="macro_f1", phases=phases)
        return {**info, "params": int(self.model.count_params()), "class_shares": shares.round(4).tolist()}

    def predict(self, x) -> np.ndarray:
        return _predict(self.model, x, self.params)
