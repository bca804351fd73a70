"""A competition small enough to tune in seconds (tests of kexue.core.tune): the train contract of
kexue.core.protocol on a saved synthetic classification task, a logistic regression whose `C` is tuned, and a
`sleep` per fold so a test can kill a worker in the middle of a trial."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kexue.core import cv, io, runlog

INPUTS = {"data": None, "runs": None}
JSON_INPUTS = ()


def write_data(path, n: int = 300, seed: int = 0) -> None:
    """A 3-class task with 4 informative features among 10, and 5 stratified folds."""
    from sklearn.datasets import make_classification
    x, y = make_classification(n, n_features=10, n_informative=4, n_classes=3, random_state=seed)
    folds = np.arange(n) % 5
    np.random.default_rng(seed).shuffle(folds)
    np.savez(path, x=x.astype(np.float32), y=y, folds=folds)


class Model:
    selects = False

    def __init__(self, params, workdir, seed, classes):
        self.params, self.seed, self.classes = params, seed, classes

    def fit(self, x, y, x_valid=None, y_valid=None):
        from sklearn.linear_model import LogisticRegression
        time.sleep(float(self.params.get("sleep", 0)))
        self.model = LogisticRegression(C=float(self.params["C"]), max_iter=500).fit(x, y)
        return {}

    def predict(self, x):
        return self.model.predict_proba(x).astype(np.float32)


def cv_data(params: dict, inputs: dict) -> cv.CVData:
    with np.load(inputs["data"]) as d:
        return cv.CVData(x=d["x"], y=d["y"], folds=d["folds"], x_test=d["x"][:5], classes=["a", "b", "c"])


def model_factory(params: dict, inputs: dict, data: cv.CVData):
    return Model


def open_run(params: dict, inputs: dict) -> runlog.Run:
    fp = io.sha256_file(inputs["data"], 16)
    return runlog.Run.create(inputs["runs"], params, fp, fp)


def runs_of(root) -> list[Path]:
    return sorted(p for p in Path(root).glob("*") if (p / "run.json").exists())
