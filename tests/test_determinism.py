"""Same data, config and seed: the same out-of-fold predictions, bit for bit, for LightGBM and for a network (CPU)."""
import numpy as np
import pytest

from kexue.core import cv, folds, runlog

pytestmark = pytest.mark.slow


def _twice(tmp_path, data, make_model, params) -> tuple[np.ndarray, np.ndarray]:
    oofs = []
    for attempt in ("a", "b"):
        run = runlog.Run.create(tmp_path / attempt / "demo", params, "data", "folds")
        cv.run_cv(run, data, make_model)
        oofs.append(cv.load_pred(run.dir, "oof"))
    return oofs[0], oofs[1]


def test_lightgbm_oof_is_identical_across_runs(tmp_path):
    from kexue.spectra.lgbm import SpectraLGBM
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 20)) + y[:, None] * 0.3
    data = cv.CVData(x=x, y=y, folds=folds.assign_folds(3, 0, y=y), x_test=x[:10], classes=["a", "b", "c"])
    params = {"name": "lgbm", "seed": 7, "lgbm": {"num_boost_round": 30, "learning_rate": 0.1, "num_leaves": 7,
                                                  "feature_fraction": 0.7, "bagging_fraction": 0.8, "bagging_freq": 1}}
    a, b = _twice(tmp_path, data, SpectraLGBM, params)
    assert np.array_equal(a, b) and a.std() > 0.01


def test_network_oof_is_identical_across_runs(tmp_path):
    """The CAIL tagger with dropout, the EMA and epoch selection on the inner split."""
    from kexue.cail2019 import stages
    from kexue.cail2019.model import CAILTagger
    from kexue.core.multilabel import cail_score
    rng = np.random.default_rng(0)
    n = 160
    x = np.zeros((n, 16), np.int32)
    y = np.zeros((n, 3), np.int8)
    for i in range(n):
        x[i, :12] = rng.integers(3, 10, 12)
        for k in range(3):
            if rng.random() < 0.3:
                x[i, rng.integers(0, 12)], y[i, k] = 10 + k, 1
    data = cv.CVData(x=x, y=y, folds=folds.assign_folds(2, 0, groups=np.arange(n) // 4, stratify=False),
                     x_test=x[:8], classes=["t0", "t1", "t2"], score=stages.score, headline="cail_score",
                     groups=np.arange(n) // 4)
    params = {"name": "dgc", "seed": 3, "dim": 16, "kernel_size": 3, "dilations": [1, 2], "dropout": 0.1,
              "gate_dropout": 0.1, "head_dropout": 0.1, "lr": 0.01, "ema": "auto", "loss": "zlpr", "epochs": 3,
              "batch_size": 16, "verbose": 0}
    evaluate = lambda y_true, prob: {"score": cail_score(y_true, prob > 0.5)}
    make_model = lambda p, workdir, seed, classes: CAILTagger(p, workdir, seed, classes, n_chars=13, evaluate=evaluate)
    a, b = _twice(tmp_path, data, make_model, params)
    assert np.array_equal(a, b) and a.std() > 0.01
