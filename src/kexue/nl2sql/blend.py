"""The NL2SQL ensemble stage (pipelines/nl2sql/ensemble.py): the member runs' head probabilities averaged into a
run like any other, scored as training scores. No other stage imports this module, so editing it reruns the
ensembles alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, runlog
from .stages import cv_data


def blend_runs(params: dict, member_runs: list[str], runs_dir, processed_dir, folds_path, decode_cfg: dict) -> dict:
    runs_dir = Path(runs_dir)
    members, cvs = runlog.load_members(runs_dir, member_runs)
    data, scorer, _ = cv_data(params, processed_dir, folds_path, decode_cfg)
    oof = cv.mean_pred([cv.load_pred(m.dir, "oof") for m in members])
    test = cv.mean_pred([cv.load_pred(m.dir, "test") for m in members])
    scored = np.flatnonzero(data.folds >= 0)
    report = scorer(scored, cv.take(oof, scored))
    fold_scores = [scorer(np.flatnonzero(data.folds == k), cv.take(oof, np.flatnonzero(data.folds == k)))["score"]
                   for k in range(data.n_folds)]
    run, result = cv.write_blend(runs_dir, params, members, cvs, oof, test, report, fold_scores)
    run.log(f"ensemble of {len(members)}: score {result['score']:.4f} (logic-form {report['logic_form_acc']:.4f}) "
            f"-> {run.dir}")
    return result
