"""kexue.core.stack: candidates scored by nested cross-fitting and chosen fold by fold on the other folds. A stack
of members that each know half the classes beats both; on noise the choice is no worse than the best member by
more than noise; no label of a fold reaches anything fitted for that fold's predictions."""
import numpy as np
import pytest

from kexue.core import folds as folds_lib
from kexue.core import stack
from kexue.core.metrics import macro_f1

K = 4
score = lambda y, d: macro_f1(y, d, K)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype(np.float32)


def half_experts(n=1200, seed=0):
    """Member A separates classes 0 and 1 and is blind between 2 and 3; member B separates 2 and 3 and has 0 and 1
    the wrong way round (a label swap in its training data, say). Each alone is right on about half the rows, and
    their mean is muddled where they contradict each other; a second-level model learns to read B's 0 as 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    onehot = np.eye(K)[y]
    a = 3.0 * onehot + rng.normal(0, 1, (n, K))
    a[:, 2:] = a[:, 2:].mean(1, keepdims=True) + rng.normal(0, 0.3, (n, 2))   # blind between 2 and 3
    b = 3.0 * onehot + rng.normal(0, 1, (n, K))
    b[:, [0, 1]] = b[:, [1, 0]]                                                # 0 and 1 swapped
    folds = folds_lib.assign_folds(5, seed, y=y)
    return [_softmax(a), _softmax(b)], y, folds


def test_a_stack_of_half_experts_beats_each_member_and_is_chosen():
    probas, y, folds = half_experts()
    cands = stack.candidates(["members", "mean", "weights", "stack_lr", "stack_lgbm"], ["a", "b"])
    choice = stack.choose(cands, probas, y, folds, score)
    best_member = max(choice.scores["a"], choice.scores["b"])
    # measured: a 0.679, b 0.512, mean 0.754, log-loss weights 0.876, stack_lr 0.983, stack_lgbm 0.978
    assert choice.scores["stack_lr"] > best_member + 0.25
    assert choice.scores["stack_lr"] > choice.scores["mean"] + 0.15      # what only a second level can learn
    assert choice.best in ("stack_lr", "stack_lgbm") and set(choice.chosen_per_fold) <= {"stack_lr", "stack_lgbm"}
    ensemble = score(y, choice.ensemble_decisions)
    assert ensemble > best_member + 0.25
    assert ensemble <= max(choice.scores.values()) + 1e-9      # the procedure cannot beat the best it chose among


def test_on_noise_members_the_choice_is_no_worse_than_the_best_member_beyond_noise():
    rng = np.random.default_rng(1)
    n = 600
    y = rng.integers(0, K, n)
    probas = [rng.dirichlet(np.ones(K), n).astype(np.float32) for _ in range(4)]
    folds = folds_lib.assign_folds(5, 0, y=y)
    names = [f"m{i}" for i in range(4)]
    choice = stack.choose(stack.candidates(["members", "mean", "weights", "stack_lr"], names), probas, y, folds,
                          score)
    ensemble = score(y, choice.ensemble_decisions)
    assert abs(ensemble - 1 / K) < 0.06                                   # honest: chance, not a fitted illusion
    assert ensemble >= max(choice.scores[m] for m in names) - 0.06
    assert max(choice.scores.values()) < 1 / K + 0.08                    # no candidate finds signal in noise


def test_no_label_of_a_fold_reaches_what_predicts_that_fold():
    """Shuffle the labels of fold 0: every candidate's decisions in fold 0, and the choice made for fold 0, stay
    exactly the same (they were fitted on the other folds only); the other folds' decisions may move."""
    probas, y, folds = half_experts(n=600, seed=2)
    cands = lambda: stack.candidates(["members", "mean", "weights", "stack_lr", "stack_lgbm"], ["a", "b"])
    before = stack.choose(cands(), probas, y, folds, score)
    y2 = y.copy()
    fold0 = np.flatnonzero(folds == 0)
    y2[fold0] = np.random.default_rng(0).permutation(y2[fold0])[::-1]
    assert (y2[fold0] != y[fold0]).mean() > 0.5
    after = stack.choose(cands(), probas, y2, folds, score)
    for name in before.decisions:
        assert np.array_equal(before.decisions[name][fold0], after.decisions[name][fold0]), name
    assert before.chosen_per_fold[0] == after.chosen_per_fold[0]
    assert np.array_equal(before.ensemble_decisions[fold0], after.ensemble_decisions[fold0])
    moved = any(not np.array_equal(before.decisions[n][folds != 0], after.decisions[n][folds != 0])
                for n in ("stack_lr", "stack_lgbm"))
    assert moved          # the check can fail: the shuffled labels do reach the other folds' fits


def test_the_second_level_fit_never_sees_the_rows_it_predicts():
    probas, y, folds = half_experts(n=300, seed=3)
    seen = []

    class Spy:
        fits = True

        def fit(self, ps, yy):
            fit_rows = set(np.round(ps[0][:, 0] * 1e6).astype(int).tolist())

            def predict(qs):
                pred_rows = set(np.round(qs[0][:, 0] * 1e6).astype(int).tolist())
                seen.append((fit_rows, pred_rows))
                return np.full((len(qs[0]), K), 1 / K, np.float32)
            return predict

    ids = probas[0].copy()
    ids[:, 0] = np.arange(len(y)) / 1e6            # row ids in a column the spy reads
    stack.choose({"spy": Spy()}, [ids, probas[1]], y, folds, score, stack.multiclass_rules(score, offsets=False))
    assert len(seen) == 5 * 4 + 5                  # 4 inner fits per outer fold, and the outer fit
    assert all(not (fit & pred) for fit, pred in seen)


def test_log_loss_weights_prefer_the_informative_member():
    rng = np.random.default_rng(4)
    n = 800
    y = rng.integers(0, K, n)
    good = _softmax(2.5 * np.eye(K)[y] + rng.normal(0, 1, (n, K)))
    noise = rng.dirichlet(np.ones(K), n).astype(np.float32)
    w = stack.LogLossWeights()
    predict = w.fit([good, noise], y)
    assert w.weights[0] > 0.85 and np.isclose(w.weights.sum(), 1)
    assert stack.log_loss(y, predict([good, noise])) <= stack.log_loss(y, good) + 1e-4     # float32 rounding


def test_an_unknown_candidate_is_named():
    with pytest.raises(ValueError, match="unknown candidate 'stack_svm'"):
        stack.candidates(["stack_svm"], ["a"])


def test_seeds_of_one_config_are_bagged_into_one_candidate_and_the_gain_is_said():
    rng = np.random.default_rng(5)
    p = [rng.dirichlet(np.ones(K), 10).astype(np.float32) for _ in range(4)]
    names, probas, bags = stack.bag_seeds(["cnn-1", "cnn-2", "lgbm-1", "cnn-3"], ["cnn", "cnn", "lgbm", "cnn"], p)
    assert names == ["cnn-bag3", "lgbm-1"] and bags == {"cnn-bag3": ["cnn-1", "cnn-2", "cnn-3"],
                                                         "lgbm-1": ["lgbm-1"]}
    np.testing.assert_allclose(probas[0], (p[0] + p[1] + p[3]) / 3, rtol=1e-6)
    np.testing.assert_array_equal(probas[1], p[2])
    [line] = stack.bag_gains(bags, {"cnn-1": 0.70, "cnn-2": 0.72, "cnn-3": 0.74, "lgbm-1": 0.8},
                             {"cnn-bag3": 0.75, "lgbm-1": 0.8})
    assert line == "seed bag cnn-bag3: 0.7500 against its 3 seeds 0.7000 0.7200 0.7400 (mean 0.7200): +0.0300"


def test_only_fitted_candidates_on_two_folds_is_a_message_not_a_crash():
    probas, y, _ = half_experts(n=200)
    with pytest.raises(ValueError, match="needs 3 folds or more"):
        stack.choose(stack.candidates(["weights"], ["a", "b"]), probas, y, np.arange(len(y)) % 2, score)


def test_one_se_takes_the_label_fitting_least_within_one_standard_error_of_the_top():
    """pick_label by hand: 'weights' tops 'mean' by less than the error of their paired fold differences, so
    one_se takes the mean (fits nothing); 'stack_lr' tops the mean by many errors in every fold and is taken."""
    order = ["a", "mean", "weights", "stack_lr"]
    fits = {"a": 0, "mean": 0, "weights": 1, "stack_lr": 1}
    folds = {"a": [0.60, 0.62, 0.58, 0.61], "mean": [0.70, 0.74, 0.69, 0.72],
             "weights": [0.73, 0.72, 0.71, 0.73], "stack_lr": [0.70, 0.74, 0.69, 0.72]}
    scores = {c: float(np.mean(v)) for c, v in folds.items()}
    assert stack.pick_label(scores, folds, fits, order, "best") == "weights"
    assert stack.pick_label(scores, folds, fits, order, "one_se") == "mean"
    folds["stack_lr"] = [0.80, 0.83, 0.79, 0.82]
    scores["stack_lr"] = float(np.mean(folds["stack_lr"]))
    assert stack.pick_label(scores, folds, fits, order, "one_se") == "stack_lr"
    with pytest.raises(ValueError, match="unknown pick 'top'"):
        stack.pick_label(scores, folds, fits, order, "top")


def test_one_se_on_informative_members_still_finds_the_stack_and_on_noise_no_fitted_label():
    """Through choose(): where a second level is worth 0.25 the rule keeps it; on noise members every fold and
    the test set get a label that fits nothing."""
    probas, y, folds = half_experts()
    cands = stack.candidates(["members", "mean", "weights", "stack_lr"], ["a", "b"])
    choice = stack.choose(cands, probas, y, folds, score, pick="one_se")
    assert choice.best == "stack_lr" == choice.top and set(choice.chosen_per_fold) == {"stack_lr"}
    rng = np.random.default_rng(1)
    y = rng.integers(0, K, 600)
    noise = [rng.dirichlet(np.ones(K), 600).astype(np.float32) for _ in range(3)]
    names = ["m0", "m1", "m2"]
    choice = stack.choose(stack.candidates(["members", "mean", "weights", "stack_lr"], names), noise, y,
                          folds_lib.assign_folds(5, 0, y=y), score, pick="one_se")
    unfitted = set(names) | {"mean"}
    assert set(choice.chosen_per_fold) <= unfitted and choice.best in unfitted
