"""The CAIL2019 evaluate stage (pipelines/cail2019/evaluate.py): a run's OOF report and, when the test gold
exists, the test's: <run>/eval.json. No training or blend code imports this module, so editing it reruns evaluate
alone (and submit, which reads a run's test decisions with _test_decisions)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, multilabel
from . import data
from .blend import thresholds_of
from .data import load, say

INPUTS = {"processed": "data/processed/cail2019", "features": "data/features/cail2019",    # kexue.core.protocol
          "runs": "data/runs/cail2019"}
JSON_INPUTS = ()


def _line(r: dict) -> str:
    return (f"CAIL score {r['cail_score']:.4f} (micro-F1 {r['micro_f1']:.4f}, macro-F1 {r['macro_f1']:.4f}, "
            f"exact match {r['exact_match']:.4f}, {r['n']} sentences)")


def _test_decisions(run_dir, processed_dir, features_dir) -> tuple[list, np.ndarray, list[str]]:
    tags = load(processed_dir, "tags")
    documents = load(processed_dir, "test")
    if not documents:
        raise SystemExit("error: no test documents were preprocessed; put test.json in data/raw/cail2019/ (or "
                         "files.test in the data config)")
    prob = cv.load_pred(run_dir, "test")
    if len(prob) != sum(map(len, documents)):
        raise SystemExit(f"error: {run_dir}/test.npy has {len(prob)} rows but the test file has "
                         f"{sum(map(len, documents))} sentences; the run predates the current data: retrain it")
    return documents, prob > thresholds_of(run_dir, len(tags)), tags


def evaluate(run_dir, inputs: dict) -> dict:
    """The run's OOF report (from cv.json) and, when the test gold exists, the test's: <run>/eval.json."""
    run_dir, processed_dir = Path(run_dir), inputs["processed"]
    cvj = io.read_json(run_dir / "cv.json")
    report = {"cv": cvj["oof"]}
    say(f"{run_dir.name}: cross-validation (OOF): {_line(cvj['oof'])}")
    gold = load(processed_dir, "gold")
    if gold:
        _, decisions, tags = _test_decisions(run_dir, processed_dir, inputs["features"])
        y = data.to_multi_hot(data.flatten(gold)[2], tags)
        report["test"] = multilabel.report(y, decisions, tags)
        say(f"{run_dir.name}: test (gold): {_line(report['test'])}")
    io.write_json(run_dir / "eval.json", report)
    return report
