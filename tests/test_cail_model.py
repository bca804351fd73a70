"""CAIL2019 tagger: shapes, padding invariance, the probability scale of each loss, learning a tiny task."""
from pathlib import Path

import numpy as np
import pytest

from kexue.core.tfquiet import import_keras

keras = import_keras()
ROOT = Path(__file__).resolve().parents[1]

TINY = {"dim": 16, "kernel_size": 3, "dilations": [1, 2, 1], "dropout": 0.0, "gate_dropout": 0.0,
        "head_dropout": 0.0, "lr": 0.01, "ema": 0, "loss": "zlpr"}


def test_padding_changes_nothing_and_max_pool_ignores_it():
    from kexue.cail2019.model import build_tagger
    keras.utils.set_random_seed(0)
    model = build_tagger(30, 5, TINY)
    x = np.array([[3, 4, 5, 6, 0, 0, 0, 0]], np.int32)
    wide = np.pad(x, ((0, 0), (0, 24)))
    a, b = np.asarray(model(x)), np.asarray(model(wide))
    assert a.shape == (1, 5) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="loss must be one of zlpr, bce"):
        build_tagger(30, 5, {**TINY, "loss": "focal"})


def test_probabilities_put_each_loss_rule_at_one_half():
    from kexue.cail2019.model import probabilities
    s = np.array([[-2.0, -0.01, 0.0, 0.01, 3.0]])
    for loss in ("zlpr", "bce"):
        p = probabilities(s, loss)
        assert ((p > 0.5) == (s > 0)).all()
    np.testing.assert_allclose(probabilities(s, "zlpr"), 1 / (1 + np.exp(-2 * s)), rtol=1e-6)
    np.testing.assert_allclose(probabilities(s, "bce"), 1 / (1 + np.exp(-s)), rtol=1e-6)


def _task(n=240, seed=0):
    """Tag k is on when character 10 + k occurs: a keyword task any working tagger learns."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 20), np.int32)
    y = np.zeros((n, 3), np.int8)
    for i in range(n):
        length = rng.integers(6, 20)
        x[i, :length] = rng.integers(3, 10, length)
        for k in range(3):
            if rng.random() < 0.3:
                x[i, rng.integers(0, length)] = 10 + k
                y[i, k] = 1
    return x, y


@pytest.mark.parametrize("loss", ["zlpr", "bce"])
def test_tagger_learns_keywords_and_keeps_the_best_epoch(tmp_path, loss):
    from kexue.cail2019.model import CAILTagger
    from kexue.core.multilabel import cail_score
    x, y = _task()
    scores = []

    def evaluate(y_true, prob):
        scores.append(cail_score(y_true, prob > 0.5))
        return {"score": scores[-1]}

    tagger = CAILTagger({**TINY, "loss": loss, "epochs": 12, "batch_size": 32, "verbose": 0}, tmp_path, 0,
                        ["A", "B", "C"], n_chars=13, evaluate=evaluate)
    info = tagger.fit(x[:200], y[:200], x[200:], y[200:])
    assert len(scores) == 12 and info["best"]["score"] == max(scores) and info["ema"] == 0.0
    prob = tagger.predict(x[200:])
    assert prob.shape == (40, 3) and prob.dtype == np.float32
    assert cail_score(y[200:], prob > 0.5) == pytest.approx(max(scores), abs=1e-6)   # the best epoch is loaded
    assert max(scores) > 0.9, scores
    again = CAILTagger({**TINY, "loss": loss}, tmp_path, 0, ["A", "B", "C"], n_chars=13).load()
    np.testing.assert_allclose(again.predict(x[200:]), prob, atol=1e-6)


def test_warmup_ramps_the_rate_from_zero_over_its_share_of_the_run_then_holds_it():
    """`warmup: 0.1` of a 200-step run: the rate climbs linearly over 20 steps and stays at lr after; the tagger's
    optimizer gets that schedule (FoldModel.fit sets `steps`), and no warm-up means the plain rate."""
    from kexue.cail2019.model import build_tagger
    from kexue.core.keras_fit import learning_rate
    schedule = learning_rate({"lr": 0.003, "warmup": 0.1, "steps": 200})
    rates = np.array([float(schedule(i)) for i in range(0, 40)])
    assert rates[0] == 0.0 and np.all(np.diff(rates[:21]) > 0)
    np.testing.assert_allclose(rates[10], 0.0015, rtol=1e-5)
    np.testing.assert_allclose(rates[20:], 0.003, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(10_000)), 0.003, rtol=1e-6)
    assert learning_rate({"lr": 0.003, "warmup": 0.0, "steps": 200}) == 0.003
    assert learning_rate({"lr": 0.003, "warmup": 0.1}) == 0.003          # steps unknown (a model built to predict)
    model = build_tagger(30, 5, {**TINY, "warmup": 0.1, "steps": 200})
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.0, atol=1e-12)   # step 0 of the ramp


def test_lr_drop_lowers_the_rate_at_a_fixed_share_of_the_steps():
    """`lr_drop_at: 0.5` of a 200-step run drops the rate tenfold at step 100 (after the same warm-up as without
    it); the DGCNN reader's optimizer gets that schedule; an impossible share stops at resolve time."""
    from kexue.core import config
    from kexue.core.keras_fit import learning_rate
    from kexue.qa.model import make_optimizer
    schedule = learning_rate({"lr": 0.003, "warmup": 0.1, "steps": 200, "lr_drop_at": 0.5, "lr_drop_factor": 0.1})
    rates = np.array([float(schedule(i)) for i in range(200)])
    plain = learning_rate({"lr": 0.003, "warmup": 0.1, "steps": 200})
    np.testing.assert_allclose(rates[:100], [float(plain(i)) for i in range(100)], rtol=1e-6)
    np.testing.assert_allclose(rates[100:], 0.0003, rtol=1e-5)
    no_warmup = learning_rate({"lr": 0.001, "steps": 40, "lr_drop_at": 0.75, "lr_drop_factor": 0.5})
    assert [round(float(no_warmup(i)), 7) for i in (0, 29, 30, 39)] == [0.001, 0.001, 0.0005, 0.0005]
    assert learning_rate({"lr": 0.001, "lr_drop_at": 0.75}) == 0.001     # steps unknown (a model built to predict)
    opt = make_optimizer({"lr": 0.001, "steps": 40, "lr_drop_at": 0.75, "lr_drop_factor": 0.5, "ema": None})
    np.testing.assert_allclose([float(opt._learning_rate(i)) for i in (29, 30)], [0.001, 0.0005], rtol=1e-6)
    with pytest.raises(config.ConfigError, match=r"lr_drop_at = 1.5 .*expected null or a number > 0 and < 1"):
        config.resolve(ROOT / "configs" / "qa" / "dgcnn.yaml", ["lr_drop_at=1.5"])


def test_min_steps_gives_a_small_domain_more_epochs_not_fewer_updates(tmp_path):
    """`min_steps` fixed on a large domain: the same config trains a fold half the size for twice the epochs, a
    fold large enough for its epochs is left alone, and FoldModel.fit really runs (and reports) the raised count."""
    from kexue.cail2019.model import CAILTagger
    from kexue.core.keras_fit import epochs_for_run
    cfg = {"epochs": 12, "batch_size": 64, "min_steps": 1400}
    assert epochs_for_run(cfg, 7946) == 12                  # a divorce fold: 125 steps an epoch
    assert epochs_for_run(cfg, 3846) == 23                  # a labor fold: 61 steps an epoch
    assert epochs_for_run({**cfg, "min_steps": 0}, 3846) == 12
    assert epochs_for_run({"epochs": 12, "batch_size": 64}, 10) == 12
    x, y = _task()
    seen = []
    tagger = CAILTagger({**TINY, "loss": "zlpr", "epochs": 2, "batch_size": 50, "min_steps": 12, "verbose": 0},
                        tmp_path, 0, ["A", "B", "C"], n_chars=13,
                        evaluate=lambda t, p: seen.append(1) or {"score": float(len(seen))})
    info = tagger.fit(x[:200], y[:200], x[200:], y[200:])    # 4 steps an epoch: 3 epochs reach 12
    assert info["epochs"] == 3 and len(seen) == 3 and tagger.params["steps"] == 12
