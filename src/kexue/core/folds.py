"""Fold assignment shared by every model of a competition, so OOF predictions line up for ensembling."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from . import io


class FoldsError(ValueError):
    """Folds that cannot be made from this data (the folds stage turns it into a message, not a traceback)."""


def assign_folds(n_folds: int, seed: int, y=None, groups=None, stratify: bool = True,
                 group_name: str = "groups", row_name: str = "training rows",
                 key: str = "the number of folds") -> np.ndarray:
    """Return an int array: the validation fold of each training row. Too few rows or groups is a FoldsError
    that names them (`row_name`, `group_name`) and the config key to lower (`key`)."""
    n = len(y) if y is not None else len(groups)
    if n_folds < 2:
        raise FoldsError(f"{key} must be at least 2, got {n_folds}")
    if n < n_folds:
        raise FoldsError(f"cannot split {n} {row_name} into {n_folds} folds; lower {key}")
    if groups is not None and (n_groups := len(np.unique(np.asarray(groups)))) < n_folds:
        raise FoldsError(f"cannot split {n_groups} {group_name} into {n_folds} folds (a fold holds whole "
                         f"{group_name}); lower {key}")
    idx = np.zeros(n)
    if groups is not None:
        splitter = (StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
                    if stratify and y is not None else GroupKFold(n_folds))
    elif stratify and y is not None:
        counts = np.bincount(np.asarray(y))
        rare = np.flatnonzero((counts > 0) & (counts < n_folds))
        if len(rare):   # a fold without the class scores it as absent; almost always a typo in a label
            raise FoldsError(f"class{'es' if len(rare) > 1 else ''} {rare.tolist()} (by index) "
                             f"{'have' if len(rare) > 1 else 'has'} fewer {row_name} than the {n_folds} folds "
                             f"({', '.join(str(int(counts[c])) for c in rare)}): fix the labels, or lower {key}")
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


def folds_stage(make: Callable[[], np.ndarray], path) -> np.ndarray:
    """The folds stage of every competition: `make()` the folds (a FoldsError ends the stage with its one-line
    message, not a traceback) and save them to `path`, atomically, leaving an unchanged file (and its mtime)
    alone so that nothing downstream reruns."""
    try:
        folds = make()
    except FoldsError as e:
        raise SystemExit(f"error: {e}") from None
    path = Path(path)
    if not (path.exists() and np.array_equal(np.load(path), folds)):
        io.save_npy(path, folds)
    return folds


def inner_split(train_idx, fraction: float, seed: int, y=None, groups=None) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, selection rows) of a fold's training rows: a seeded `fraction` of them, carved like the outer
    folds (whole groups when `groups` is given, each class in proportion when `y` holds class ids), on which a
    model picks its epoch without ever looking at the fold's scored rows. A class or group too small to split
    stays on the fit side."""
    train_idx = np.asarray(train_idx)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"selection_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    if groups is not None:
        g = np.asarray(groups)[train_idx]
        names, inverse, sizes = np.unique(g, return_inverse=True, return_counts=True)
        order = rng.permutation(len(names))
        # whole groups in a seeded order, as many as bring the share closest to `fraction` (never all of them)
        reach = np.cumsum(sizes[order])
        k = int(np.clip(np.abs(reach - fraction * len(train_idx)).argmin() + 1, 1, len(names) - 1))
        taken = order[:k]
        select = np.isin(inverse, taken)
    elif y is not None:
        y = np.asarray(y)[train_idx]
        select = np.zeros(len(train_idx), bool)
        for c in np.unique(y):
            rows = rng.permutation(np.flatnonzero(y == c))
            select[rows[:round(fraction * len(rows)) if len(rows) > 1 else 0]] = True
    else:
        select = np.zeros(len(train_idx), bool)
        select[rng.permutation(len(train_idx))[:round(fraction * len(train_idx))]] = True
    if not select.any() or select.all() or select.mean() > max(2 * fraction, fraction + 0.1):
        raise ValueError(f"cannot carve a selection split of {fraction:.0%} from {len(train_idx)} training rows"
                         + (f" in {len(np.unique(np.asarray(groups)[train_idx]))} groups" if groups is not None else "")
                         + "; raise selection_fraction or use selection: last")
    return train_idx[~select], train_idx[select]
