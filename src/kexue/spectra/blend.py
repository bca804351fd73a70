"""The spectra ensemble stage (pipelines/spectra/ensemble.py): member runs blended with weights and per-class
offsets, scored cross-fitted."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, runlog
from ..core import ensemble as ens
from ..core.metrics import classification_report, macro_f1
from . import data

INPUTS = {"store": "data/processed/spectra", "runs": "data/runs/spectra"}     # kexue.core.protocol
JSON_INPUTS = ()


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """Blend member runs' OOF probabilities into a new run with the same artefacts as a model run. Its score is
    cross-fitted: each fold decided by weights and offsets fitted on the other folds' OOF rows; the weights and
    offsets fitted on every OOF row decide the test set, and their in-sample OOF score is kept, labelled."""
    runs_dir, store_dir = Path(inputs["runs"]), inputs["store"]
    members, cvs = runlog.load_members(runs_dir, member_runs, same=("data_fingerprint", "folds_fingerprint", "classes"))
    classes = cvs[0]["classes"]
    y = data.load_set(store_dir, "train").labels.astype(int)
    folds = np.load(Path(store_dir) / "folds.npy")
    oofs = [np.load(m.dir / "oof.npy") for m in members]
    tests = [np.load(m.dir / "test.npy") for m in members]
    n = len(classes)
    score = lambda yy, pp: macro_f1(yy, pp, n)
    weights, offsets = ens.fit(oofs, y, score, params["class_offsets"], params["weight_step"])
    oof = ens.blend(oofs, weights)
    honest = ens.cross_fitted(oofs, y, folds, score, params["class_offsets"], params["weight_step"])
    report = classification_report(y, honest, classes)
    fold_scores = [macro_f1(y[folds == k], honest[folds == k], n) for k in range(int(folds.max()) + 1)]
    run, result = cv.write_blend(
        runs_dir, params, members, cvs, oof, ens.blend(tests, weights), report, fold_scores, classes, "macro_f1",
        extra={"in_sample_macro_f1_optimistic": macro_f1(y, ens.decide(oof, offsets), n),
               "weights": dict(zip(member_runs, np.round(weights, 4).tolist())),
               "offsets": dict(zip(classes, np.round(offsets, 3).tolist())),
               "blend_without_offsets": macro_f1(y, ens.decide(oof), n)},
        side_files={"decision.json": {"offsets": offsets.tolist(), "classes": classes}})
    run.log(f"ensemble OOF macro-F1 {result['score']:.4f} (cross-fitted: weights and offsets fitted on the other "
            f"folds; fitted on every OOF row, OPTIMISTIC: {result['in_sample_macro_f1_optimistic']:.4f}) -> {run.dir}")
    return result
