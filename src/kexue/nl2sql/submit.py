"""The organiser's answer format, as in `test.standard.json`: one line per test question, in the order of
test.json, e.g.

    {"agg": [0], "cond_conn_op": 0, "sel": [2], "table_id": "a838...", "conds": [[1, 2, "深圳威尼斯酒店"]]}

keys in exactly that order, json.dumps' default ", " and ": " separators, UTF-8 text (ensure_ascii off),
int codes, string values, '\\n' after every line including the last.

The submit stage lives here too (predict, submit): only pipelines/nl2sql/submit.py imports this module, never
the training code, so editing it reruns the submit stage alone.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..core import cv, io
from ..core.submission import SubmissionError
from .data import SQLFieldError, check_sql, column_values, load
from .decode import guide, snapper
from .encode import Encoded

INPUTS = {"processed": "data/processed/nl2sql", "runs": "data/runs/nl2sql", "decode": None,  # core.protocol
          "out": "submissions/nl2sql"}
JSON_INPUTS = ("decode",)
KEYS = ("agg", "cond_conn_op", "sel", "table_id", "conds")


def format_line(sql: dict, table_id: str) -> str:
    """One answer line (no newline). Numpy ints and numeric values are normalised; raises SQLFieldError
    (a ValueError) for a malformed sql."""
    s = check_sql(sql)
    return json.dumps({"agg": s["agg"], "cond_conn_op": s["cond_conn_op"], "sel": s["sel"], "table_id": table_id,
                       "conds": s["conds"]}, ensure_ascii=False)


def _lines(lines_or_path) -> tuple[str, list[str]]:
    if isinstance(lines_or_path, (str, os.PathLike)):
        path = Path(lines_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SubmissionError(f"{path}: cannot read the submission: {e}") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()                         # the newline that ends the last line
        return str(path), lines
    return "submission", list(lines_or_path)


def validate(lines_or_path, questions: list[dict], tables: dict | None = None, name: str | None = None) -> None:
    """Raise SubmissionError naming the line and field of the first problem: line count, table_id order,
    JSON, keys, codes, len(sel) == len(agg), column ranges (with `tables`). `name` labels a list of lines."""
    default, lines = _lines(lines_or_path)
    name = name or default
    lines = [ln.rstrip("\r\n") for ln in lines]
    expected = [q["table_id"] for q in questions]
    tids = []
    for n, line in enumerate(lines, 1):
        where = f"{name}:{n}"
        if not line.strip():
            raise SubmissionError(f"{where}: blank line; every line answers one test question, in order")
        obj = io.loads_checked(line, where, SubmissionError, line=True)
        if not isinstance(obj, dict):
            raise SubmissionError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        missing, extra = [k for k in KEYS if k not in obj], [k for k in obj if k not in KEYS]
        if missing or extra:
            problems = ([f"missing field(s) {', '.join(missing)}"] if missing else []) + \
                ([f"unexpected field(s) {', '.join(extra)}"] if extra else [])
            raise SubmissionError(f"{where}: {'; '.join(problems)} (expected exactly {', '.join(KEYS)})")
        tids.append(obj["table_id"])
        if n <= len(expected) and obj["table_id"] != expected[n - 1]:
            raise SubmissionError(f"{where}: field 'table_id' is '{obj['table_id']}' but test question {n} is on "
                                  f"table '{expected[n - 1]}'; lines must follow the order of the test questions"
                                  + _shift_hint(len(lines), len(expected)))
        table = tables.get(obj["table_id"]) if tables is not None else None
        if tables is not None and table is None:
            raise SubmissionError(f"{where}: field 'table_id': unknown table '{obj['table_id']}'")
        try:
            check_sql(obj, len(table["header"]) if table else None)
        except SQLFieldError as e:
            raise SubmissionError(f"{where}: field '{e.field}': {e.message}") from None
        for i, cond in enumerate(obj["conds"]):
            if not isinstance(cond[2], str):
                raise SubmissionError(f"{where}: field 'conds[{i}][2]': the value {cond[2]!r} must be a JSON string "
                                      f"as in the organiser's files (\"5\", not 5)")
    if len(lines) != len(expected):
        where = f"{name}:{len(lines) + 1}" if len(lines) < len(expected) else f"{name}:{len(expected) + 1}"
        raise SubmissionError(f"{where}: the submission has {len(lines)} lines but there are {len(expected)} test "
                              f"questions; one line per question, in order")


def _shift_hint(n_lines: int, n_expected: int) -> str:
    if n_lines < n_expected:
        return f" (the file has {n_expected - n_lines} line(s) too few: one is missing at or before this line)"
    if n_lines > n_expected:
        return f" (the file has {n_lines - n_expected} line(s) too many: an extra one sits at or before this line)"
    return ""


def write(path, sqls: list[dict], questions: list[dict], tables: dict | None = None) -> Path:
    """Validate, then write atomically: nothing half-written or invalid ever lands at `path`."""
    if len(sqls) != len(questions):
        raise SubmissionError(f"{path}: {len(sqls)} predicted SQLs for {len(questions)} test questions")
    lines = []
    for i, (s, q) in enumerate(zip(sqls, questions)):
        try:
            lines.append(format_line(s, q["table_id"]))
        except SQLFieldError as e:
            raise SubmissionError(f"{path}: prediction {i} (line {i + 1}, table '{q['table_id']}'): "
                                  f"field '{e.field}': {e.message}") from None
    validate(lines, questions, tables, name=str(path))
    io.write_text(path, "".join(line + "\n" for line in lines))
    return Path(path)


# ---------------------------------------------------------------- the stage: predict, submit

def predict(run_dir, inputs: dict) -> list[dict]:
    """Decode the run's test head probabilities to SQL: predictions.jsonl in the run folder."""
    from .decode import decode
    run_dir, processed_dir, decode_cfg = Path(run_dir), Path(inputs["processed"]), inputs["decode"]
    manifest = io.read_json(processed_dir / "manifest.json")
    files = manifest["files"]
    if "test" not in files or not (processed_dir / "test.enc.npz").exists():
        raise SystemExit("error: no test split was preprocessed; put test/test.json and test/test.tables.json "
                         "in the raw folder (or files.test in the data config)")
    questions, tables = load(files, "test", False)
    enc = Encoded.load(processed_dir / "test.enc.npz")
    prob = cv.load_pred(run_dir, "test")
    if len(prob["conn"]) != len(questions):
        raise SystemExit(f"error: {run_dir}/test.npz has {len(prob['conn'])} rows but the test split has "
                         f"{len(questions)} questions; the run predates the current data: retrain it")
    snap = snapper(decode_cfg, tables, column_values(files, "test"))
    from .sql import Executor
    db = files["test"].get("db")
    executor = Executor(tables, db if db and Path(db).exists() else None)
    sqls = decode(prob, enc, questions, tables, snap, guide=guide(decode_cfg, executor))
    io.write_text(run_dir / "predictions.jsonl", "".join(io.dumps(s).replace("\n", " ") + "\n" for s in sqls))
    print(f"[nl2sql] {len(sqls)} test predictions -> {run_dir}/predictions.jsonl", flush=True)
    return sqls


def submit(run_dir, inputs: dict) -> Path:
    """submissions/nl2sql/<run>.json: one line per question of the test file (re-read as the user gave it, so
    the check is against the file, not the predictions), validated in memory, then written atomically."""
    run_dir = Path(run_dir)
    manifest = io.read_json(Path(inputs["processed"]) / "manifest.json")
    questions, tables = load(manifest["files"], "test", False)
    sqls = predict(run_dir, inputs)
    out = Path(inputs["out"]) / f"{run_dir.name}.json"
    try:
        write(out, sqls, questions, tables)
    except SubmissionError as e:
        raise SystemExit(f"error: {e}") from None
    n_conds = sum(len(s["conds"]) for s in sqls)
    print(f"[nl2sql] submission: {len(sqls)} lines ({n_conds} conditions) -> {out}")
    return out
