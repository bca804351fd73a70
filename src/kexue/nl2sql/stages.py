"""The NL2SQL training stage, called by pipelines/nl2sql/train.py (one fold per call): the CV data, the scorer
that picks the epochs (decoded head probabilities scored as the organiser does), the model of a config, the run
folder. The ensemble, evaluate and submit stages import it to score and decode what
training wrote; no stage before training does.

preprocess, folds: kexue.nl2sql.prepare    train: this module    ensemble: kexue.nl2sql.blend
evaluate: kexue.nl2sql.evaluate    predict, submit: kexue.nl2sql.submit. Each stage imports only its own
module (and what it needs), so make reruns a stage when its code changes and leaves the others alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, runlog
from .data import column_values, load
from .decode import guide, snapper
from .encode import Encoded

# ---------------------------------------------------------------- CV data and scoring

class Scorer:
    """Decodes head probabilities of labelled rows and scores them as the organiser does."""

    def __init__(self, decode_cfg: dict, questions, tables, encoded, executors: dict, values: dict):
        self.questions, self.tables, self.encoded = questions, tables, encoded
        self.executor, self.value_compare = _Dispatch(executors), decode_cfg.get("value_compare", "exact")
        self.snap = snapper(decode_cfg, tables, values)
        self.guide = guide(decode_cfg, self.executor)

    def decode(self, rows, prob) -> list[dict]:
        from .decode import decode
        qs = [self.questions[i] for i in rows]
        return decode(prob, self.encoded.take(rows), qs, self.tables, self.snap, guide=self.guide)

    def __call__(self, rows, prob, classes=None) -> dict:
        return self.score(rows, self.decode(np.asarray(rows), prob))

    def score(self, rows, pred: list[dict]) -> dict:
        from . import metrics
        gold = [self.questions[i]["sql"] for i in rows]
        table_ids = [self.questions[i]["table_id"] for i in rows]
        report = metrics.evaluate(gold, pred, table_ids, executor=self.executor,
                                  value_compare=self.value_compare)
        comp = report.get("components") or {k: report[k] for k in ("sel", "agg", "conn", "cond_col", "cond_op",
                                                                     "cond_val") if k in report}
        return {**report, "components": comp}


class _Dispatch:
    """One executor per split's tables/db, looked up by table id."""

    def __init__(self, executors: dict):
        self.executors = executors

    def _for(self, table_id):
        for ex, ids in self.executors.values():
            if table_id in ids:
                return ex
        return None

    def can_execute(self, table_id):
        ex = self._for(table_id)
        return bool(ex and ex.can_execute(table_id))

    def execute(self, sql, table_id):
        ex = self._for(table_id)
        return ex.execute(sql, table_id) if ex else None


def executors_for(files: dict, tables_by_split: dict) -> dict:
    from .sql import Executor
    out = {}
    for split, tables in tables_by_split.items():
        db = files[split].get("db")
        out[split] = (Executor(tables, db if db and Path(db).exists() else None), set(tables))
    return out


# the train stage's inputs (kexue.core.protocol): --processed (folds.npy included), --runs, --decode (the
# resolved decode config, which scores the epochs)
INPUTS = {"processed": "data/processed/nl2sql", "runs": "data/runs/nl2sql", "decode": None}
JSON_INPUTS = ("decode",)


def cv_data(params: dict, inputs: dict) -> cv.CVData:
    """The labelled questions (train + val), their folds and the test questions; data.score is the Scorer
    (decode + the organiser's metrics)."""
    processed_dir, decode_cfg = Path(inputs["processed"]), inputs["decode"]
    folds_path = processed_dir / "folds.npy"
    manifest = io.read_json(processed_dir / "manifest.json")
    files = manifest["files"]
    tq, tt = load(files, "train", True)
    vq, vt = load(files, "val", True)
    questions, tables = tq + vq, {**tt, **vt}
    encoded = Encoded.load(processed_dir / "labelled.enc.npz")
    test = Encoded.load(processed_dir / "test.enc.npz") if (processed_dir / "test.enc.npz").exists() \
        else Encoded.load(processed_dir / "labelled.enc.npz").take(np.arange(0))
    values = {**column_values(files, "train"), **column_values(files, "val")}
    scorer = Scorer(decode_cfg, questions, tables, encoded, executors_for(files, {"train": tt, "val": vt}),
                    values)
    data = cv.CVData(x=encoded.take(np.arange(len(encoded))), y=np.arange(len(encoded)), folds=np.load(folds_path),
                     x_test=test if not isinstance(test, Encoded) else test.take(np.arange(len(test))),
                     classes=None, score=scorer, headline="score",
                     groups=np.array([q["table_id"] for q in questions]))  # a table's questions stay together
    return data


def model_factory(params: dict, inputs: dict, data: cv.CVData):
    from .model import NL2SQLBert
    if params["model"] != "bert":
        raise SystemExit(f"error: unknown model '{params['model']}' (known: bert)")
    scorer = data.score
    return lambda p, workdir, seed, classes: NL2SQLBert(p, workdir, seed, classes,
                                                        evaluate=lambda x, prob: scorer(x.index, prob))


def open_run(params: dict, inputs: dict) -> runlog.Run:
    manifest = io.read_json(Path(inputs["processed"]) / "manifest.json")
    return runlog.Run.create(inputs["runs"], params, manifest["data_fingerprint"],
                             io.sha256_file(Path(inputs["processed"]) / "folds.npy", 16),
                             extra={"data_source": manifest["source"], "backbone": manifest["backbone"]["kind"]})


def run_params(params: dict, inputs: dict) -> dict:
    """The backbone is a property of the data (the checkpoint the tokens were made for): the run records it."""
    manifest = io.read_json(Path(inputs["processed"]) / "manifest.json")
    return {**params, "backbone": {k: v for k, v in manifest["backbone"].items() if k != "config"}}
