"""The CAIL2019 training stage, called by pipelines/cail2019/train.py (one fold per call): the CV data and its
score, the model of a config, the run folder. The blend stage imports it for the CV data; no stage before
training does.

preprocess, encode, folds: kexue.cail2019.prepare    train: this module    blend: kexue.cail2019.blend
evaluate: kexue.cail2019.evaluate    submit: kexue.cail2019.submit. Each stage imports only its own module (and
what it needs), so make reruns a stage when its code changes and leaves the others alone.

A CV row is one sentence; the sentences of a judgement share one fold. Every stored probability has its decision
at 0.5 (kexue.cail2019.model.probabilities), so runs of either loss average, and a run's thresholds.json (a blend
with `thresholds: tuned`) moves the decision per tag.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, multilabel, runlog
from .data import _arrays

# ---------------------------------------------------------------- 4. train

# the train stage's inputs (kexue.core.protocol): --features (folds.npy included), --runs
INPUTS = {"features": "data/features/cail2019", "runs": "data/runs/cail2019"}
JSON_INPUTS = ()


def _features(features_dir) -> dict:
    return io.read_json(Path(features_dir) / "manifest.json")


def score(y, prob, classes=None, thresholds=0.5) -> dict:
    """The multi-label report of probabilities at the thresholds (0.5: the loss's own rule)."""
    return multilabel.report(y, np.asarray(prob) > np.asarray(thresholds), classes)


def cv_data(params: dict, inputs: dict) -> cv.CVData:
    features_dir = inputs["features"]
    folds_path = Path(features_dir) / "folds.npy"
    f = _features(features_dir)
    train, test = _arrays(features_dir, "train"), _arrays(features_dir, "test")
    folds = np.load(folds_path)
    if len(folds) != len(train["x"]):
        raise SystemExit(f"error: {folds_path} has {len(folds)} rows but {features_dir}/train.npz has "
                         f"{len(train['x'])}; rerun make cail-folds")
    return cv.CVData(x=train["x"], y=train["y"], folds=folds, x_test=test["x"], classes=f["tags"], score=score,
                     headline="cail_score", groups=train["doc"])  # a judgement's sentences stay together


MODELS = ("dgc", "tfidf_lr")


def model_factory(params: dict, inputs: dict, data: cv.CVData):
    if params["model"] not in MODELS:
        raise SystemExit(f"error: unknown model '{params['model']}' (known: {', '.join(MODELS)})")
    if params["model"] == "tfidf_lr":
        from .linear import CAILTfidfLinear
        return CAILTfidfLinear
    from .model import CAILTagger
    n_chars = _features(inputs["features"])["n_chars"]
    evaluate = lambda y, prob: {"score": multilabel.cail_score(y, prob > 0.5)}
    return lambda p, workdir, seed, classes: CAILTagger(p, workdir, seed, classes, n_chars=n_chars,
                                                        evaluate=evaluate)


def open_run(params: dict, inputs: dict) -> runlog.Run:
    f = _features(inputs["features"])
    return runlog.Run.create(inputs["runs"], params, f["data_fingerprint"],
                             io.sha256_file(Path(inputs["features"]) / "folds.npy", 16),
                             extra={"data_source": f["source"]})
