"""The reading-comprehension evaluate stage (pipelines/qa/evaluate.py): a run's OOF probabilities decoded with the
decode config (and with voting switched the other way), per training file when there are several, and its test
probabilities when the test gold exists: eval.json and oof_predictions.jsonl in the run folder. No training or
ensemble code imports this module, so editing it reruns evaluate alone (and predict/submit, which read a run's test
set with _test_set)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core import cv, io
from .data import load_entries, say
from .encode import Encoded
from .stages import (
    INPUTS,
    JSON_INPUTS,
    cv_data,
    decode_options,
    decode_rows,
    score_answers,
)

__all__ = ["INPUTS", "JSON_INPUTS", "evaluate"]     # kexue.core.protocol; the inputs are those of training


def _line(r: dict) -> str:
    return f"score {r['score']:.4f} (accuracy {r['accuracy']:.4f}, F1 {r['f1']:.4f}, {r['n']} questions)"


def _test_set(processed_dir, features_dir, run_dir):
    entries = load_entries(processed_dir, "test")
    if not entries:
        raise SystemExit("error: no test questions were preprocessed; put test.json in data/raw/qa/ (or files.test "
                         "in the data config)")
    enc = Encoded.load(Path(features_dir) / "test.enc.npz")
    prob = cv.load_pred(run_dir, "test")
    if len(prob["start"]) != len(enc):
        raise SystemExit(f"error: {run_dir}/test.npz has {len(prob['start'])} rows but the test split has {len(enc)} "
                         f"passages; the run predates the current data: retrain it")
    return entries, enc, prob


def read_sources(processed_dir) -> dict:
    """{question id: its training file} from preprocess's sources.json ({} for a folder that predates it)."""
    path = Path(processed_dir) / "sources.json"
    if not path.exists():
        return {}
    s = io.read_json(path)
    return {qid: s["files"][i] for qid, i in s["train"].items()}


def scores_by_source(answers: dict, gold: dict, sources: dict) -> dict:
    """{training file: score_answers of its answered questions}, in the files' order, when the questions come
    from more than one file ({} otherwise): what each source's held-out questions score, which the one overall
    number hides (a legal corpus and web snippets are not equally hard)."""
    present = {sources.get(q, "?") for q in answers}
    names = [n for n in dict.fromkeys([*sources.values(), "?"]) if n in present]
    if len(names) < 2:
        return {}
    return {name: score_answers({q: a for q, a in answers.items() if sources.get(q, "?") == name}, gold)
            for name in names}


def evaluate(run_dir, inputs: dict) -> dict:
    """Decode the run's OOF probabilities with the decode config (and with voting switched the other way), and
    the test probabilities when the test gold exists: eval.json and oof_predictions.jsonl in the run folder."""
    run_dir, processed_dir, decode_cfg = Path(run_dir), inputs["processed"], inputs["decode"]
    data_ = cv_data({}, inputs)
    scorer = data_.score
    oof = cv.load_pred(run_dir, "oof")
    scored = np.flatnonzero(data_.folds >= 0)
    voting = bool(decode_cfg["voting"])
    answers = scorer.decode(scored, cv.take(oof, scored))
    report = {"decode": decode_cfg, "cv": score_answers(answers, scorer.gold),
              "cv_voting" if not voting else "cv_no_voting":
                  score_answers(scorer.decode(scored, cv.take(oof, scored), voting=not voting), scorer.gold)}
    sources = read_sources(processed_dir)
    report["cv_by_source"] = scores_by_source(answers, scorer.gold, sources)
    from . import metric
    lines = []
    for e in scorer.entries:
        if e["id"] in answers:
            g = scorer.gold.get(e["id"])
            row = metric.evaluate({e["id"]: answers[e["id"]]}, {e["id"]: g})[0] if g else None
            lines.append(json.dumps({"id": e["id"], "question": e["question"], "pred": answers[e["id"]],
                                     "gold": metric.accepted(g) if g else None,
                                     "correct": row["correct"] if row else None,
                                     "f1": round(row["f1"], 4) if row else None,
                                     **({"source": sources[e["id"]]} if e["id"] in sources else {})},
                                    ensure_ascii=False))
    io.write_text(run_dir / "oof_predictions.jsonl", "\n".join(lines) + "\n")
    say(f"{run_dir.name}: cross-validation (OOF, decode threshold {decode_cfg['threshold']}, max length "
        f"{decode_cfg['max_answer_len']}): voting {'on' if voting else 'off'}: {_line(report['cv'])}")
    other = report.get("cv_no_voting") or report.get("cv_voting")
    say(f"{run_dir.name}: cross-validation, voting {'off' if voting else 'on'}: {_line(other)}")
    short = [Path(name).name for name in report["cv_by_source"]]
    for name, r in report["cv_by_source"].items():      # the file name, or the path where two names are alike
        say(f"{run_dir.name}:   {Path(name).name if short.count(Path(name).name) == 1 else name}: {_line(r)}")
    gold = io.read_json(Path(processed_dir) / "gold.json")
    if gold:
        entries, enc, prob = _test_set(processed_dir, inputs["features"], run_dir)
        opts = decode_options(decode_cfg)
        rows = np.arange(len(enc))
        report["test"] = {}
        for name, v in (("voting", True), ("no_voting", False)):
            ans = decode_rows(entries, enc, rows, prob, {**opts, "voting": v}, every=True)
            report["test"][name] = score_answers(ans, gold)
        source = io.read_json(Path(processed_dir) / "manifest.json").get("gold_from")
        say(f"{run_dir.name}: test ({source}): with voting {_line(report['test']['voting'])}")
        say(f"{run_dir.name}: test: without voting {_line(report['test']['no_voting'])}")
    io.write_json(run_dir / "eval.json", report)
    return report
