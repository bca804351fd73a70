"""A linear model on the flux itself, scaled and averaged into wide bins: a member that sees the whole spectrum's
shape (the continuum's slope, the broad molecular bands) where LightGBM sees hand-made line and band features and
the CNN local patterns, so its mistakes differ from theirs. What the flux_lr stage imports by name
(stages.MODELS), so its code stamp covers the model."""
from __future__ import annotations

import numpy as np

from ..core.tabular import LinearClassifier
from .features import normalise


def downsample(flux, bin_size: int, scaling: str, chunk: int = 4096) -> np.ndarray:
    """(n, length // bin_size) float32: each spectrum scaled (features.normalise), then the mean of each bin of
    `bin_size` fluxes (a few bins' worth at the red end are dropped when the length is not a multiple)."""
    n = len(flux)
    out = None
    for start in range(0, n, chunk):              # a memmap in slices: the whole flux need not fit in memory
        x = normalise(np.asarray(flux[start:start + chunk]), scaling)
        width = x.shape[1] // bin_size * bin_size
        part = x[:, :width].reshape(len(x), -1, bin_size).mean(2)
        out = np.empty((n, part.shape[1]), np.float32) if out is None else out
        out[start:start + len(x)] = part
    return out if out is not None else np.zeros((0, 0), np.float32)


class SpectraFluxLinear(LinearClassifier):
    """`model: flux_lr` in configs/spectra/*.yaml: params bin_size, scaling, C, class_weight."""

    def _x(self, flux) -> np.ndarray:
        return downsample(flux, int(self.params["bin_size"]), self.params["scaling"])

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        return super().fit(self._x(x_train), y_train)

    def predict(self, x) -> np.ndarray:
        return super().predict(self._x(x))
