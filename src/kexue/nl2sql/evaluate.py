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
    # the rules' premises, checked on the training questions (with k folds every row is scored: all of them)
    train_rows = np.flatnonzero(cv_set.folds < 0) if (cv_set.folds < 0).any() else np.arange(len(cv_set.folds))
    if inputs["decode"].get("types"):
        _check_types_rule(scorer, train_rows)
    if inputs["decode"].get("execution"):
        _check_execution_rule(scorer, train_rows)
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


def _check_types_rule(scorer, train_rows) -> None:
    """decode.types assumes no aggregation but COUNT of a text column and no > or < on one; say so when the
    training questions of this data do either (a competition whose types are noisier than WikiSQL's)."""
    from .decode import breaks_types
    qs = [scorer.questions[i] for i in train_rows]
    bad = [q for q in qs if breaks_types(q["sql"], scorer.tables[q["table_id"]]["types"])]
    if bad:
        print(f"[nl2sql] warning: decode.types rules out what {len(bad)} of {len(qs)} training questions do "
              f"(an aggregation other than COUNT, or > / <, on a text column; first: table {bad[0]['table_id']}, "
              f"\"{bad[0]['question']}\"); if that is more than noise, set decode.types=false", flush=True)


def _check_execution_rule(scorer, train_rows) -> None:
    """decode.execution assumes a gold query's conditions select some row; say so when training questions of
    this data select none (the generated sample did, before its ANDs were drawn from one row)."""
    from .decode import selects_rows
    executor = scorer.executor
    qs = [scorer.questions[i] for i in train_rows]
    qs = [q for q in qs if executor.can_execute(q["table_id"])]
    empty = [q for q in qs if not selects_rows(executor, q["sql"], q["table_id"])]
    if empty:
        print(f"[nl2sql] warning: decode.execution replaces a query that selects no row, but {len(empty)} of "
              f"{len(qs)} executable training questions' gold queries select none (first: table "
              f"{empty[0]['table_id']}, \"{empty[0]['question']}\"); if that is more than noise, set "
              f"decode.execution=false", flush=True)
