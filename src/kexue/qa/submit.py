"""The reading-comprehension submission: one `id<TAB>answer` line per question of the test file, built in memory,
checked against the test file as the user gave it (re-read, so a question that preprocess dropped is noticed),
and only then written (atomically): an invalid submission never reaches the disk. Only pipelines/qa/submit.py
imports this module, never the training code, so editing it reruns the predict and submit stages alone."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..core import io
from ..core.submission import (
    SubmissionError,
    check_ids,
    missing_predictions,
    record_filled,
)
from . import data
from .data import say
from .evaluate import _test_set
from .prepare import read_source
from .stages import decode_options, decode_rows

INPUTS = {"processed": "data/processed/qa", "features": "data/features/qa", "runs": "data/runs/qa",  # core.protocol
          "decode": None, "out": "submissions/qa"}
JSON_INPUTS = ("decode",)
CONFIG = "configs/qa/decode.yaml"
FALLBACKS = ("error", "empty")      # decode `missing`: stop on a test question without a prediction, or answer ""


def _clean(answer: str) -> str:
    """An answer on one id<TAB>answer line: tabs and line breaks become spaces."""
    return re.sub(r"[\t\r\n\u2028\u2029\x0b\x0c\x1c-\x1e\x85]+", " ", answer).strip()


def predict(run_dir, inputs: dict) -> tuple[list[str], list[str]]:
    """(ids, answers) of the test questions in input order; writes <run>/predictions.tsv."""
    run_dir = Path(run_dir)
    entries, enc, prob = _test_set(inputs["processed"], inputs["features"], run_dir)
    answers = decode_rows(entries, enc, np.arange(len(enc)), prob, decode_options(inputs["decode"]), every=True)
    ids = [e["id"] for e in entries]
    out = [_clean(answers[i]) for i in ids]
    io.write_text(run_dir / "predictions.tsv", "".join(f"{i}\t{a}\n" for i, a in zip(ids, out)))
    say(f"{len(ids)} test predictions -> {run_dir}/predictions.tsv")
    return ids, out


def ids_of_test_file(processed_dir) -> tuple[list[str], dict[str, str], list[str]]:
    """The ids of the test file as the user gave it, in file order (re-read, not taken from the predictions),
    {id: why preprocess dropped it}, and the dropped questions whose id the cut left unreadable (described)."""
    spec = io.read_json(Path(processed_dir) / "manifest.json")["files"]["test"]
    if not Path(spec["path"]).is_file():
        raise SystemExit(f"error: {spec['path']}: the test file that preprocess read is gone; every submission is "
                         f"checked against it. Put it back, or rerun `make qa-preprocess`.")
    entries = read_source(spec, labelled=False, on_truncated="skip")
    why = {d["id"]: f"entry {d['entry']}, cut off at {d['where']}; preprocess dropped it (data.on_truncated: skip)"
           for d in entries.dropped if d["id"]}
    unnamed = [f"entry {d['entry']}, cut off at {d['where']} before its id" for d in entries.dropped if not d["id"]]
    return [e["id"] for e in entries] + list(why), why, unnamed


def submission_text(path, ids, answers, expected_ids=None) -> str:
    """The `id<TAB>answer` lines, checked before anything is written: as many answers as ids, ids unique, no tab or
    line break inside an id or answer, (given `expected_ids`) exactly the expected ids, and reading back, as the
    organiser's reader does, to exactly these answers. `path` names the submission in messages."""
    ids, answers = list(ids), list(answers)
    if len(ids) != len(answers):
        raise SubmissionError(f"{path}: {len(ids)} ids but {len(answers)} answers; one answer per id")
    lines, first_line = [], {}
    for n, (qid, answer) in enumerate(zip(ids, answers), 1):
        where = f"{path}: line {n} (id {qid!r})"
        if isinstance(qid, int) and not isinstance(qid, bool):
            qid = str(qid)
        if not isinstance(qid, str) or not qid.strip() or re.search(r"[\t\r\n]", qid):
            raise SubmissionError(f"{where}: the id must be a non-empty string without tabs or line breaks")
        if qid in first_line:
            raise SubmissionError(f"{where}: duplicate id (first at line {first_line[qid]})")
        first_line[qid] = n
        if not isinstance(answer, str):
            raise SubmissionError(f"{where}: the answer must be a string, got {type(answer).__name__}")
        if re.search(r"[\t\r\n]", answer):
            raise SubmissionError(f"{where}: the answer {data._show(answer)} holds a tab or line break, which would "
                                  f"break the id<TAB>answer line; replace them (with a space) before writing")
        lines.append(f"{qid}\t{answer}\n")
    if expected_ids is not None:
        check_ids([str(i) for i in expected_ids], list(first_line), what=str(path))
    text = "".join(lines)
    try:
        back = data.read_submission(path, text=text)
    except data.QADataError as e:
        raise SubmissionError(str(e)) from None
    if back != dict(zip(first_line, answers)):
        n, qid, meant = next((n, q, a) for n, (q, a) in enumerate(zip(first_line, answers), 1) if back.get(q) != a)
        raise SubmissionError(f"{path}: line {n} (id {qid!r}) reads back as {data._show(back.get(qid, '<nothing>'))}, "
                              f"not {data._show(meant)}")
    return text


def write_submission(path, ids, answers, expected_ids=None) -> int:
    """submission_text(...), then written atomically; returns the line count."""
    text = submission_text(path, ids, answers, expected_ids)
    io.write_text(path, text)
    return len(ids)


def submit(run_dir, inputs: dict) -> Path:
    """submissions/qa/<run>.txt: one id<TAB>answer line per question of the test file, in its order. A test question
    without a prediction (cut off the test file and dropped by data.on_truncated=skip) stops the stage, naming it,
    unless the decode config's `missing: empty` answers it with "" (printed, and listed in <submission>.filled)."""
    run_dir, processed_dir = Path(run_dir), inputs["processed"]
    missing = str(inputs["decode"].get("missing", "error"))
    if missing not in FALLBACKS:
        raise SystemExit(f"error: {CONFIG}: missing is {missing!r}; use 'error' (stop when a test question has no "
                         f"prediction) or 'empty' (answer it with \"\")")
    ids, answers = predict(run_dir, inputs)
    out = Path(inputs["out"]) / f"{run_dir.name}.txt"
    fix = (f"Get a complete test file and rerun `make qa`, or answer them with \"\": `missing: empty` in {CONFIG} "
           f"(or `make qa-submit decode.missing=empty`).")
    try:
        expected, why, unnamed = ids_of_test_file(processed_dir)
        filled = missing_predictions(expected, ids, f"submission {out}", fill=missing == "empty", why=why, fix=fix)
        if unnamed and missing == "error":
            raise SubmissionError(f"submission {out}: {len(unnamed)} question(s) of the test file cannot be answered, "
                                  f"their id is lost: {'; '.join(unnamed)}. {fix}")
        by_id = dict(zip(ids, answers))
        answers = [by_id.get(i, "") for i in expected]
        text = submission_text(out, expected, answers, expected_ids=expected)
    except (SubmissionError, data.QADataError) as e:
        raise SystemExit(f"error: {e}") from None
    listed = record_filled(out, [(i, "", why[i]) for i in filled] +
                           [("", "", f"{u}: not in the submission") for u in unnamed])
    if filled or unnamed:
        say(f"FILLED {len(filled)} test questions without a prediction with an empty answer (missing: empty in "
            f"{CONFIG}): {', '.join(filled[:5])}{', ...' if len(filled) > 5 else ''}"
            + (f"; {len(unnamed)} with an unreadable id left out" if unnamed else "") + f" -> listed in {listed}")
    io.write_text(out, text)
    say(f"submission: {len(expected)} lines ({sum(not a for a in answers)} empty answers) -> {out}")
    return out
