"""LightGBM on the hand-crafted spectral features, on the same folds as the CNN: the core's tabular LightGBM
(kexue.core.tabular). This module is what the lgbm stage imports by name (stages.MODELS), so its code stamp
covers the model."""
from __future__ import annotations

from ..core.tabular import LGBMClassifier


class SpectraLGBM(LGBMClassifier):
    """`model: lgbm` in configs/spectra/*.yaml."""
