"""Batch plans for variable-length rows, shared by the text models (NumPy only)."""
from __future__ import annotations

import numpy as np


def length_batches(lengths, batch_size: int, rng=None) -> list[np.ndarray]:
    """Batches of rows of similar length (less padding); shuffled within and across chunks when
    an rng is given."""
    order = np.argsort(lengths, kind="stable")
    if rng is not None:  # sort within random chunks of 50 batches: still shuffled, still little padding
        order = rng.permutation(len(lengths))
        chunk = batch_size * 50
        order = np.concatenate([c[np.argsort(np.asarray(lengths)[c], kind="stable")]
                                for c in np.split(order, range(chunk, len(order), chunk))])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches
