"""Fold assignment shared by every model of a competition, so OOF predictions line up for ensembling."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)


def assign_folds(n_folds: int, seed: int, y=None, groups=None, stratify: bool = True) -> np.ndarray:
    """Return an int array: the validation fold of each training row."""
    n = len(y) if y is not None else len(groups)
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    if n < n_folds:
        raise ValueError(f"cannot split {n} training rows into {n_folds} folds")
    idx = np.zeros(n)
    if groups is not None:
        splitter = (StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
                    if stratify and y is not None else GroupKFold(n_folds))
    elif stratify and y is not None:
        counts = np.bincount(np.asarray(y))
        rare = np.flatnonzero((counts > 0) & (counts < n_folds))
        if len(rare):
            warnings.warn(f"classes {rare.tolist()} have fewer than {n_folds} rows; "
                          f"some folds will have none of them in validation")
        splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_folds, shuffle=True, random_state=seed)
    folds = np.full(n, -1, dtype=np.int16)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        for k, (_, valid) in enumerate(splitter.split(idx, y, groups)):
            folds[valid] = k
    assert (folds >= 0).all()
    return folds
