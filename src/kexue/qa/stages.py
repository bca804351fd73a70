"""The reading-comprehension training stage, called by pipelines/qa/train.py (one fold per call): the CV data,
the scorer that picks the epochs, the model of a config, the run folder. The ensemble, evaluate and submit stages
import it to score and decode what training wrote; no stage before training does.

preprocess, wordvec, encode, folds: kexue.qa.prepare    train: this module    ensemble: kexue.qa.blend
evaluate: kexue.qa.evaluate    predict, submit: kexue.qa.submit. Each stage imports only its own module (and what
it needs), so make reruns a stage when its code changes and leaves the others alone.

A CV row is one (question, passage) pair; every passage of a question is in the question's fold, and the
metric scores questions: a fold's passages are decoded together, voting across them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, runlog
from .data import load_entries
from .encode import Encoded
from .metric import gold_from_entries, question_groups

# ---------------------------------------------------------------- CV data and scoring

def decode_options(decode_cfg: dict, **override) -> dict:
    opts = {"threshold": float(decode_cfg["threshold"]), "max_len": int(decode_cfg["max_answer_len"]),
            "voting": bool(decode_cfg["voting"]), "all_spans": bool(decode_cfg.get("all_spans", False))}
    return {**opts, **override}


def decode_rows(entries: list[dict], enc: Encoded, rows, pred: dict, options: dict, every: bool = False) -> dict:
    """{question id: answer} from the pointer probabilities of `rows` (pred row i is row rows[i]), the passages
    of a question voting together. every=True answers every entry ("" when none of its rows is given)."""
    from .decode import decode_question
    by_q: dict[int, list] = {}
    for i, r in enumerate(np.asarray(rows)):
        by_q.setdefault(int(enc.row_q[r]), []).append(i)
    start, end = pred["start"], pred["end"]
    out = {e["id"]: "" for e in entries} if every else {}
    for q, idx in by_q.items():
        e = entries[q]
        own = np.asarray(rows)[idx]
        out[e["id"]] = decode_question([start[i] for i in idx], [end[i] for i in idx],
                                       [enc.row_text(entries, r) for r in own],
                                       passages=[int(enc.row_passage[r]) for r in own], **options)
    return out


def score_answers(answers: dict, gold: dict) -> dict:
    """The Sogou score of the answered questions that have gold (questions without any answer are not scored)."""
    from . import metric
    qids = [q for q in answers if q in gold]
    if not qids:
        return {"score": 0.0, "accuracy": 0.0, "f1": 0.0, "n": 0, "components": {"accuracy": 0.0, "f1": 0.0}}
    r = metric.score(answers, gold, qids)
    return {**r, "components": {"accuracy": r["accuracy"], "f1": r["f1"]}}


class Scorer:
    """Decodes the pointer probabilities of labelled rows and scores the questions as the Sogou tool does."""

    def __init__(self, entries: list[dict], enc: Encoded, decode_cfg: dict):
        self.entries, self.enc, self.options = entries, enc, decode_options(decode_cfg)
        self.gold = gold_from_entries(entries)

    def decode(self, rows, pred, **override) -> dict:
        return decode_rows(self.entries, self.enc, rows, pred, {**self.options, **override})

    def __call__(self, rows, pred, classes=None) -> dict:
        return score_answers(self.decode(rows, pred), self.gold)


# the train stage's inputs (kexue.core.protocol): --processed (folds.npy included), --features (word vectors
# included), --runs, --decode (the resolved decode config, which scores the epochs)
INPUTS = {"processed": "data/processed/qa", "features": "data/features/qa", "runs": "data/runs/qa", "decode": None}
JSON_INPUTS = ("decode",)


def _features(features_dir) -> dict:
    return io.read_json(Path(features_dir) / "manifest.json")


def cv_data(params: dict, inputs: dict) -> cv.CVData:
    """The training passages, their folds and the test passages; data.score is the Scorer (decode + Sogou)."""
    processed_dir, features_dir, decode_cfg = Path(inputs["processed"]), Path(inputs["features"]), inputs["decode"]
    folds_path = processed_dir / "folds.npy"
    entries = load_entries(processed_dir, "train")
    enc = Encoded.load(features_dir / "train.enc.npz")
    test = Encoded.load(features_dir / "test.enc.npz")
    folds = np.load(folds_path)
    # folds.npy has a fold per passage; a passage longer than encode.p_max is several rows (windows), which
    # inherit its fold and group
    first = np.concatenate([[0], np.cumsum([len(e["passages"]) for e in entries])]).astype(np.int64)
    if len(folds) != first[-1] or [str(q) for q in enc.qid] != [e["id"] for e in entries] \
            or len(enc) and (enc.row_passage >= first[enc.row_q + 1] - first[enc.row_q]).any():
        raise SystemExit(f"error: {folds_path} has {len(folds)} passages but {processed_dir}/train.json has "
                         f"{first[-1]} and {features_dir}/train.enc.npz encodes {len(enc)} rows of "
                         f"{int(enc.row_q.max()) + 1 if len(enc) else 0} questions; rerun make qa-folds qa-encode")
    passage = first[enc.row_q] + enc.row_passage
    scorer = Scorer(entries, enc, decode_cfg)
    return cv.CVData(x=enc.take(np.arange(len(enc))), y=np.arange(len(enc)), folds=folds[passage],
                     x_test=test.take(np.arange(len(test))), classes=None, score=scorer, headline="score",
                     groups=question_groups(entries)[passage])


def model_factory(params: dict, inputs: dict, data: cv.CVData):
    from .model import DGCNNReader
    if params["model"] != "dgcnn":
        raise SystemExit(f"error: unknown model '{params['model']}' (known: dgcnn)")
    n_chars = _features(inputs["features"])["n_chars"]
    matrix = np.load(Path(inputs["features"]) / "wordvec" / "vectors.npy")
    scorer = data.score
    return lambda p, workdir, seed, classes: DGCNNReader(p, workdir, seed, classes, n_chars=n_chars,
                                                         word_matrix=matrix,
                                                         evaluate=lambda x, prob: scorer(x.index, prob))


def open_run(params: dict, inputs: dict) -> runlog.Run:
    f = _features(inputs["features"])
    return runlog.Run.create(inputs["runs"], params, f["data_fingerprint"],
                             io.sha256_file(Path(inputs["processed"]) / "folds.npy", 16),
                             extra={"data_source": f["source"], "word_vectors": f["word_vectors"]["kind"]})
