"""The reading-comprehension ensemble stage (pipelines/qa/ensemble.py): the member runs' start and end
probabilities averaged into a run like any other, scored as training scores. No other stage imports this module,
so editing it reruns the ensembles alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, runlog
from .stages import cv_data


def blend_runs(params: dict, member_runs: list[str], runs_dir, processed_dir, features_dir, folds_path,
               decode_cfg: dict) -> dict:
    """Average the members' start and end probabilities (OOF and test) into a run like any other."""
    runs_dir = Path(runs_dir)
    members, cvs = runlog.load_members(runs_dir, member_runs)
    data_, scorer = cv_data(processed_dir, features_dir, folds_path, decode_cfg)
    oof = cv.mean_pred([cv.load_pred(m.dir, "oof") for m in members])
    test = cv.mean_pred([cv.load_pred(m.dir, "test") for m in members])
    scored = np.flatnonzero(data_.folds >= 0)
    report = scorer(scored, cv.take(oof, scored))
    fold_scores = []
    for k in range(data_.n_folds):
        rows = np.flatnonzero(data_.folds == k)
        fold_scores.append(scorer(rows, cv.take(oof, rows))["score"])
    run, result = cv.write_blend(runs_dir, params, members, cvs, oof, test, report, fold_scores)
    run.log(f"ensemble of {len(members)}: score {result['score']:.4f} (accuracy {report['accuracy']:.4f}, "
            f"F1 {report['f1']:.4f}) -> {run.dir}")
    return result
