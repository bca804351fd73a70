import numpy as np
import pytest
from sklearn.metrics import f1_score

from kexue.core import ensemble, folds, metrics


def test_macro_f1_matches_sklearn_including_absent_classes():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 5, 300), rng.integers(0, 4, 300)  # class 4 never predicted
    ours = metrics.macro_f1(y, p, 5)
    assert ours == pytest.approx(f1_score(y, p, average="macro", labels=range(5), zero_division=0))


def test_classification_report_from_probabilities():
    y = np.array([0, 0, 1, 1, 2])
    proba = np.eye(3)[[0, 1, 1, 1, 2]]
    r = metrics.classification_report(y, proba, ["a", "b", "c"])
    assert r["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert r["per_class_f1"]["a"] == pytest.approx(2 / 3)
    assert r["accuracy"] == pytest.approx(0.8)


def test_stratified_folds_are_deterministic_and_balanced():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    a, b = folds.assign_folds(5, 7, y=y), folds.assign_folds(5, 7, y=y)
    assert np.array_equal(a, b) and set(a) == set(range(5))
    for k in range(5):
        assert np.bincount(y[a == k], minlength=3).tolist() == [10, 6, 4]
    assert not np.array_equal(a, folds.assign_folds(5, 8, y=y))


def test_grouped_folds_keep_groups_together():
    groups = np.repeat(np.arange(20), 3)
    f = folds.assign_folds(4, 0, groups=groups, stratify=False)
    for g in range(20):
        assert len(set(f[groups == g])) == 1


def test_too_few_rows_is_an_error():
    with pytest.raises(ValueError, match="cannot split 3"):
        folds.assign_folds(5, 0, y=np.array([0, 1, 0]))


def _score(y, pred):
    return metrics.macro_f1(y, pred, 3)


def test_class_offsets_recover_a_biased_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 900)
    logits = np.eye(3)[y] * 2 + rng.normal(0, 1, (900, 3))
    logits[:, 2] -= 2.5  # the model under-predicts class 2
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    offsets, best = ensemble.fit_offsets(proba, y, _score)
    assert offsets[2] > 1.0
    assert best > _score(y, ensemble.decide(proba)) + 0.05
