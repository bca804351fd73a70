"""Rows, batch plans and tf.data streams for variable-length rows, shared by the text models (TensorFlow is
imported only when a stream is built)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


class RowView:
    """Rows of an encoded set (anything with .row(i)) in a given order: a fold, a batch plan. Everything else
    (maxima, labels) is the base's."""

    def __init__(self, base, index):
        self.base, self.index = base, np.asarray(index)

    def __len__(self):
        return len(self.index)

    def take(self, idx) -> RowView:
        return RowView(self.base, self.index[np.asarray(idx)])

    def row(self, i: int) -> dict:
        return self.base.row(int(self.index[i]))

    def __getattr__(self, name):
        if name in ("base", "index"):       # not set yet (unpickling): no recursion through the base
            raise AttributeError(name)
        return getattr(self.base, name)


def round_up(n: int, multiple: int = 8) -> int:
    """A padded length: n rounded up to `multiple` (at least one multiple), so a few shapes cover every batch
    and the graph retraces less."""
    return max(multiple, -(-int(n) // multiple) * multiple)


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


def bucketed_dataset(lengths, batch_size: int, make_batch: Callable, output_signature, seed: int = 0,
                     epoch: Callable[[], int] | None = None):
    """tf.data of `make_batch(rows)` over length_batches: rows of similar length together, a new order each
    epoch, reproducible from (seed, epoch). `epoch()` names the current epoch, so a run resumed at epoch 5
    shuffles as the uninterrupted one did (default: count the passes). Batch shapes vary with their longest
    row (the signature's None dimensions; Keras' PyDataset would fix them from the first batches)."""
    import itertools

    import tensorflow as tf
    passes = itertools.count()
    epoch = epoch or (lambda: next(passes))

    def batches():
        for rows in length_batches(lengths, batch_size, np.random.default_rng([seed, epoch()])):
            yield make_batch(rows)

    steps = -(-len(lengths) // batch_size)
    return tf.data.Dataset.from_generator(batches, output_signature=output_signature) \
        .apply(tf.data.experimental.assert_cardinality(steps)).prefetch(2)
