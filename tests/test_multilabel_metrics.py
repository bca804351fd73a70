"""Multi-label metrics against sklearn, a transcription of the CAIL2019 judger, and hand examples."""
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from kexue.core import multilabel as ml


def cail_judger(y_true, y_pred):
    """CAIL2019 要素识别/judger.py (Judger.get_value + gen_score), transcribed for one domain."""
    def get_value(tp, fp, fn):
        if tp == 0:
            return 1.0 if fp == 0 and fn == 0 else 0.0
        p, r = tp / (tp + fp), tp / (tp + fn)
        return 2 * p * r / (p + r)
    total, sumf = [0, 0, 0], 0.0
    for a in range(y_true.shape[1]):
        t, p = y_true[:, a] > 0, y_pred[:, a] > 0
        c = [int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum())]
        sumf += get_value(*c)
        total = [x + y for x, y in zip(total, c)]
    return (get_value(*total) + sumf / y_true.shape[1]) / 2


@pytest.fixture
def random_pair():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 12)) < 0.15).astype(int)
    p = np.where(rng.random(y.shape) < 0.8, y, 1 - y)
    y[:, [3, 7]] = p[:, [3, 7]] = 0           # never true, never predicted
    y[:, 9] = 0                                # never true, sometimes predicted
    p[:, 10] = 0                               # sometimes true, never predicted
    y[:5] = p[:5] = 0                          # empty rows
    return y, p


def test_against_sklearn_on_random_data(random_pair):
    y, p = random_pair
    for empty in (0.0, 1.0):
        assert ml.macro_f1(y, p, empty) == pytest.approx(f1_score(y, p, average="macro", zero_division=empty))
        assert ml.micro_f1(y, p, empty) == pytest.approx(f1_score(y, p, average="micro", zero_division=empty))
        np.testing.assert_allclose(ml.per_class_f1(y, p, empty), f1_score(y, p, average=None, zero_division=empty))
    assert ml.exact_match(y, p) == pytest.approx(accuracy_score(y, p))
    assert ml.macro_f1(y, p) > ml.macro_f1(y, p, empty=0.0)  # the two empty classes count 1 under CAIL's rule


def test_cail_score_is_the_official_judger(random_pair):
    y, p = random_pair
    assert ml.cail_score(y, p) == pytest.approx(cail_judger(y, p))
    assert ml.cail_score(y, p == 0) == pytest.approx(cail_judger(y, (p == 0).astype(int)))


def test_hand_example():
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]])
    p = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
    # class 0: TP 1, FP 1, FN 1 -> 0.5; class 1: TP 2 -> 1; class 2: empty -> 1 (CAIL) or 0
    np.testing.assert_allclose(ml.per_class_f1(y, p), [0.5, 1.0, 1.0])
    assert ml.macro_f1(y, p) == pytest.approx(2.5 / 3)
    assert ml.macro_f1(y, p, empty=0.0) == pytest.approx(0.5)
    assert ml.micro_f1(y, p) == pytest.approx(6 / 8)         # TP 3, FP 1, FN 1
    assert ml.cail_score(y, p) == pytest.approx((6 / 8 + 2.5 / 3) / 2)
    assert ml.exact_match(y, p) == 0.5
    nothing = np.zeros((3, 4))
    assert ml.cail_score(nothing, nothing) == 1.0 and ml.micro_f1(nothing, nothing, empty=0.0) == 0.0
    rep = ml.report(y, p, classes=["a", "b", "c"])
    assert rep["per_class_f1"] == {"a": 0.5, "b": 1.0, "c": 1.0} and rep["support"] == {"a": 2, "b": 2, "c": 0}
    assert rep["macro_f1_zero_division_0"] == pytest.approx(0.5) and rep["n"] == 4


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="one shape"):
        ml.micro_f1(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="one shape"):
        ml.exact_match(np.zeros(3), np.zeros(3))


def test_predict_from_logits():
    s = np.array([[0.0, 0.1, -2.0], [3.0, -0.1, 5.0]])
    assert ml.predict_from_logits(s).tolist() == [[False, True, False], [True, False, True]]  # strictly > 0
    assert ml.predict_from_logits(s, [-1.0, 0.0, 4.0]).tolist() == [[True, True, False], [True, False, True]]


def test_tune_thresholds_maximises_each_class_and_breaks_ties_towards_default():
    rng = np.random.default_rng(1)
    y = (rng.random((300, 4)) < 0.3).astype(int)
    s = rng.normal(size=y.shape) + 2.0 * y
    s[:, 1] += 3.0                                            # class 1 is shifted: 0 is a poor threshold
    y[:, 3] = 0                                               # no positives at all
    grid = np.linspace(-4, 8, 121)
    th = ml.tune_thresholds(y, s, grid)
    best = np.max([ml.per_class_f1(y, s > g) for g in grid], axis=0)
    np.testing.assert_allclose(ml.per_class_f1(y, ml.predict_from_logits(s, th)), best)
    assert ml.macro_f1(y, s > th) > ml.macro_f1(y, s > 0) + 0.05
    assert th[1] > 2.0
    # class 3: every grid value above the top score predicts nothing (F1 = 1); the one nearest 0 wins
    assert th[3] == grid[grid >= s[:, 3].max()].min()
    sep = np.array([[2.0], [2.5], [1.0], [0.5]]), np.array([[1], [1], [0], [0]])
    assert ml.tune_thresholds(sep[1], sep[0], [0.0, 0.7, 1.2, 1.9]).tolist() == [1.2]  # 1.2 and 1.9 tie
    assert ml.tune_thresholds(sep[1], sep[0], [0.0, 0.7, 1.2, 1.9], default=3.0).tolist() == [1.9]
