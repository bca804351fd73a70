"""The spectra training stage, called by pipelines/spectra/train.py (one fold per call): the CV data, the model
of a config, the run folder.

preprocess, folds, features: kexue.spectra.prepare    train: this module    ensemble: kexue.spectra.blend
submit: kexue.spectra.submit. Each stage imports only its own module (and what it needs), so make reruns a
stage when its code changes and leaves the others alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, runlog
from . import data

# ---------------------------------------------------------------- training

MODELS = {"cnn": "kexue.spectra.cnn:SpectraCNN", "lgbm": "kexue.spectra.lgbm:SpectraLGBM",
          "flux_lr": "kexue.spectra.flux:SpectraFluxLinear", "flux_knn": "kexue.spectra.flux:SpectraFluxKNN",
          "flux_rf": "kexue.spectra.flux:SpectraFluxForest"}
FLUX_MODELS = ("cnn", "flux_lr", "flux_knn", "flux_rf")        # the models that read the flux itself; the others the features
# the train stage's inputs (kexue.core.protocol): --store, --features, --runs, --predict-set (a resolved JSON)
INPUTS = {"store": "data/processed/spectra", "features": "data/features/spectra", "runs": "data/runs/spectra",
          "predict_set": None}
JSON_INPUTS = ("predict_set",)


def model_factory(params: dict, inputs: dict, data: cv.CVData):
    kind = params["model"]
    if kind not in MODELS:
        raise SystemExit(f"error: unknown model '{kind}' (known: {', '.join(MODELS)})")
    module, cls = MODELS[kind].split(":")
    import importlib
    return getattr(importlib.import_module(module), cls)


def cv_data(params: dict, inputs: dict) -> cv.CVData:
    store_dir, features_dir, predict_set = inputs["store"], inputs["features"], inputs["predict_set"]
    manifest = io.read_json(Path(store_dir) / "manifest.json")
    train = data.load_set(store_dir, "train")
    if predict_set not in manifest["sets"]:
        raise SystemExit(f"error: predict_set '{predict_set}' is not in the store (sets: {', '.join(manifest['sets'])})")
    test = data.load_set(store_dir, predict_set)
    if params["model"] in FLUX_MODELS:
        x, x_test = cv.Rows(train.flux), cv.Rows(test.flux)
    else:
        x, x_test = np.load(Path(features_dir) / "train.npy"), np.load(Path(features_dir) / f"{predict_set}.npy")
    return cv.CVData(x=x, y=train.labels.astype(int), folds=np.load(Path(store_dir) / "folds.npy"),
                     x_test=x_test, classes=manifest["classes"])


def open_run(params: dict, inputs: dict) -> runlog.Run:
    manifest = io.read_json(Path(inputs["store"]) / "manifest.json")
    folds_fp = io.sha256_file(Path(inputs["store"]) / "folds.npy", 16)
    return runlog.Run.create(inputs["runs"], params, manifest["data_fingerprint"], folds_fp,
                             extra={"data_source": manifest["source"], "data_dir": manifest["source_dir"]})
