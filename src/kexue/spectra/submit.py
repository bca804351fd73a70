"""The spectra submission: a run's test predictions as the organiser's `id,type` lines, built in memory, checked
against the test index that preprocess read, and only then written (atomically): an invalid submission never
reaches the disk. Only pipelines/spectra/submit.py imports this module, never the training code, so editing it
reruns the submit stage alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import ensemble as ens
from ..core import io
from ..core.submission import (
    SubmissionError,
    check_ids,
    check_labels,
    missing_predictions,
    record_filled,
)
from . import data

INPUTS = {"params": None, "predict_set": None, "store": "data/processed/spectra",    # kexue.core.protocol
          "runs": "data/runs/spectra", "out": "submissions/spectra"}
JSON_INPUTS = ("params", "predict_set")     # the resolved submit config; the name of the set to predict
CONFIG = "configs/spectra/submit.yaml"


def index_ids(store_dir, predict_set: str) -> tuple[list[str], dict[str, str]]:
    """The ids of the set's index CSV as the user gave it (the file preprocess read, not the store, which lacks
    the spectra preprocess skipped), in file order, and {id: why preprocess dropped it}."""
    info = io.read_json(Path(store_dir) / "manifest.json")["sets"][predict_set]
    index = Path(info["index"])
    if not index.is_file():
        raise SystemExit(f"error: {index}: the {predict_set} index that preprocess read is gone; every submission "
                         f"is checked against it. Put it back, or rerun `make spectra-preprocess`.")
    ids = data.read_index(index, labelled=False).ids
    return ids, {b["id"]: f"skipped by preprocess: {b['problem']} ({b['file']})" for b in info["skipped"]}


def submission_text(rows, header: bool) -> str:
    return "".join(["id,type\n"] if header else []) + "".join(f"{i},{t}\n" for i, t in rows)


def submit(run_dir, inputs: dict) -> Path:
    """The submit stage: write_submission with the submit config's header and missing."""
    params = inputs["params"]
    return write_submission(run_dir, inputs["store"], inputs["predict_set"], inputs["out"], bool(params["header"]),
                            str(params.get("missing", "error")))


def write_submission(run_dir, store_dir, predict_set: str, out_dir, header: bool, missing: str = "error") -> Path:
    """submissions/spectra/<run>.csv: one `id,type` line per id of the test index, in its order. A test id without
    a prediction (its file skipped with data.on_bad_file=skip) stops the stage, naming it, unless `missing` names
    a class to fill it with; filled ids are printed and listed in <submission>.filled."""
    run_dir = Path(run_dir)
    test = data.load_set(store_dir, predict_set)
    try:
        expected, skipped = index_ids(store_dir, predict_set)
    except data.SpectraDataError as e:
        raise SystemExit(f"error: {e} (the index preprocess read: fix it, then rerun `make spectra`)") from None
    if not expected:
        raise SystemExit(f"error: the {predict_set} set in {store_dir} has no spectra; nothing to submit")
    proba = np.load(run_dir / "test.npy")
    decision = io.read_json(run_dir / "decision.json") if (run_dir / "decision.json").exists() else {}
    classes = io.read_json(run_dir / "cv.json")["classes"]
    if missing != "error" and missing not in classes:
        raise SystemExit(f"error: {CONFIG}: missing is {missing!r}; use 'error' (stop when a test id has no "
                         f"prediction) or the class to fill such ids with ({', '.join(classes)})")
    if proba.shape != (len(test.ids), len(classes)):
        raise SystemExit(f"error: {run_dir}/test.npy has shape {proba.shape}, expected ({len(test.ids)}, "
                         f"{len(classes)}); the run predates the current {predict_set} set: retrain it")
    ids = [str(i) for i in test.ids]
    labels = [classes[k] for k in ens.decide(proba, decision.get("offsets"))]
    out = Path(out_dir) / f"{run_dir.name}.csv"
    stored = set(ids)
    why = {i: skipped.get(i, "not in the store: was the index edited after preprocess?")
           for i in expected if i not in stored}
    try:
        filled = missing_predictions(
            expected, ids, f"submission {out}", fill=missing != "error", why=why,
            fix=f"Fix their files and rerun `make spectra`, or fill them with a class: `missing: <class>` in {CONFIG} "
                f"(or `make spectra-submit submit.missing=<class>`).")
        by_id = dict(zip(ids, labels))
        rows = [(i, by_id.get(i, missing)) for i in expected]
        text = submission_text(rows, header)
        validate_submission(out, expected, classes, header, text=text)
    except SubmissionError as e:
        raise SystemExit(f"error: {e}") from None
    listed = record_filled(out, [(i, missing, why[i]) for i in filled])
    if filled:
        print(f"[spectra] FILLED {len(filled)} test ids without a prediction with '{missing}' (missing: {missing} in "
              f"{CONFIG}): {', '.join(filled[:5])}{', ...' if len(filled) > 5 else ''} -> listed in {listed}")
    io.write_text(out, text)
    counts = {c: 0 for c in classes}
    for _, t in rows:
        counts[t] += 1
    print(f"[spectra] submission: {len(rows)} rows {counts} -> {out}")
    return out


def validate_submission(path, expected_ids, classes, header: bool, text: str | None = None) -> None:
    """Check a submission as the organiser reads it: `text` before it is written (`path` then only names it in
    messages), else the file at `path`. Every expected id once, only known classes; errors name file and line."""
    lines = (Path(path).read_text(encoding="utf-8") if text is None else text).splitlines()
    if header:
        if not lines or lines[0] != "id,type":
            raise SubmissionError(f"{path} line 1: expected header 'id,type'")
        lines = lines[1:]
    rows = []
    for lineno, line in enumerate(lines, start=2 if header else 1):
        parts = line.split(",")
        if len(parts) != 2:
            raise SubmissionError(f"{path} line {lineno}: expected 'id,type', got '{line[:60]}'")
        rows.append(parts)
    check_ids(expected_ids, [r[0] for r in rows], str(path))
    check_labels([r[1] for r in rows], classes, str(path))
