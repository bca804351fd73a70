"""The NL2SQL evaluate stage (pipelines/nl2sql/evaluate.py): a run's validation predictions decoded with the
decode config and scored: eval.json and val_predictions.jsonl in the run folder. No other stage imports this
module, so editing it reruns evaluate alone."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core import cv, io
from .stages import INPUTS, JSON_INPUTS, cv_data

__all__ = ["INPUTS", "JSON_INPUTS", "evaluate"]     # kexue.core.protocol; the inputs are those of training


def evaluate(run_dir, inputs: dict) -> dict:
    """Decode the run's validation predictions with the decode config and write eval.json."""
    from . import metrics
    run_dir = Path(run_dir)
    cv_set = cv_data({}, inputs)
    scorer = cv_set.score
    oof = cv.load_pred(run_dir, "oof")
    scored = np.flatnonzero(cv_set.folds >= 0)
    pred = scorer.decode(scored, cv.take(oof, scored))
    report = scorer.score(scored, pred)
    # one line per validation question with what it got wrong: grep for "cond_val" to see value errors
    lines = []
    for i, p in zip(scored, pred):
        q = scorer.questions[i]
        lines.append(json.dumps({"row": int(i), "table_id": q["table_id"], "question": q["question"],
                                 "wrong": metrics.wrong_parts(q["sql"], p, scorer.value_compare),
                                 "gold": q["sql"], "pred": p}, ensure_ascii=False))
    io.write_text(run_dir / "val_predictions.jsonl", "\n".join(lines) + "\n")
    io.write_json(run_dir / "eval.json", {"decode": inputs["decode"], **report})
    print(f"[nl2sql] {run_dir.name} on {len(scored)} validation questions (each one, with what it got wrong: "
          f"{run_dir / 'val_predictions.jsonl'}):")
    for line in metrics.report_lines(report):
        print("  " + line)
    return report
