"""The CAIL2019 blend stage (pipelines/cail2019/blend.py): averages of trained runs, decided with the 0.5 rule or
per-tag thresholds tuned on OOF (cross-fitted for the OOF score). Its thresholds_of reads a run's decision
thresholds for evaluate and submit; no training code imports this module, so editing it reruns the blends (and
what reads their thresholds) alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, multilabel
from .stages import cv_data

INPUTS = {"features": "data/features/cail2019", "runs": "data/runs/cail2019"}    # kexue.core.protocol
JSON_INPUTS = ()


def cross_fitted_thresholds(y, prob, folds, grid) -> tuple[np.ndarray, np.ndarray]:
    """(decisions, thresholds): each fold decided with per-tag thresholds tuned on the OOF rows of the other
    folds, so the OOF score does not grade thresholds on the rows they were tuned on; and the thresholds tuned
    on every OOF row, for the test set."""
    decisions = np.zeros(prob.shape, bool)
    for k in np.unique(folds[folds >= 0]):
        rest, own = folds != k, folds == k
        decisions[own] = prob[own] > multilabel.tune_thresholds(y[rest], prob[rest], grid, default=0.5)
    return decisions, multilabel.tune_thresholds(y, prob, grid, default=0.5)


def thresholds_of(run_dir, n_tags: int) -> np.ndarray:
    path = Path(run_dir) / "thresholds.json"
    return np.asarray(io.read_json(path)["thresholds"], float) if path.exists() else np.full(n_tags, 0.5)


def select_members(params: dict, pointers: list[str]) -> list[str]:
    """The trained runs' pointer files (<model>.s<seed>.run) of the models the blend's member_models names."""
    wanted = params["member_models"]
    chosen = [m for m in pointers if wanted == "all" or Path(m).name.split(".s")[0] in wanted]
    if not chosen:
        raise SystemExit(f"error: blend {params['name']}: none of the trained models {[Path(m).name for m in pointers]} "
                         f"is in its member_models {wanted}; add it to CAIL_MODELS")
    return chosen


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """Average the members' OOF and test probabilities; `thresholds: tuned` then tunes one threshold per tag
    (cross-fitted for the OOF score, on all OOF rows for the test set). A run like any other, plus
    thresholds.json."""
    runs_dir = inputs["runs"]
    members, cvs, oof, test = cv.average_members(runs_dir, member_runs)
    d = cv_data(params, inputs)
    mode = params.get("thresholds", "fixed")
    if mode == "tuned":
        grid = np.round(np.arange(*params["grid"]), 6)
        decisions, thresholds = cross_fitted_thresholds(d.y, oof, d.folds, grid)
    elif mode == "fixed":
        decisions, thresholds = oof > 0.5, np.full(len(d.classes), 0.5)
    else:
        raise SystemExit(f"error: thresholds must be fixed or tuned, not {mode!r}")
    report = multilabel.report(d.y, decisions, d.classes)
    fold_scores = [multilabel.cail_score(d.y[d.folds == k], decisions[d.folds == k]) for k in range(d.n_folds)]
    run, result = cv.write_blend(
        runs_dir, params, members, cvs, oof, test, report, fold_scores, headline="cail_score",
        extra={"thresholds": mode},
        side_files={"thresholds.json": {"thresholds": [float(t) for t in thresholds], "tags": d.classes,
                                        "mode": mode}})
    run.log(f"blend of {len(members)} ({mode} thresholds): CAIL score {result['score']:.4f} (micro-F1 "
            f"{report['micro_f1']:.4f}, macro-F1 {report['macro_f1']:.4f}) -> {run.dir}")
    return result
