"""The CAIL2019 submission: the test file with each sentence's labels replaced by the run's predictions, built in
memory, checked against the test file as the user gave it (re-read: every document, every sentence, in order), and
only then written (atomically): an invalid submission never reaches the disk. Preprocess cannot drop a test document
(a bad one stops it), so there is nothing to fill in. Only pipelines/cail2019/submit.py imports this module, never
the training code, so editing it reruns the submit stage alone."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core import io
from ..core.submission import SubmissionError
from . import data
from .data import (
    CAILDataError,
    _clip,
    _some,
    _tag_index,
    format_document,
    from_multi_hot,
    say,
)
from .evaluate import _test_decisions

INPUTS = {"processed": "data/processed/cail2019", "features": "data/features/cail2019",    # kexue.core.protocol
          "runs": "data/runs/cail2019", "out": "submissions/cail2019"}
JSON_INPUTS = ()


def submission_text(path, documents, predicted, tags) -> str:
    """`documents` (as read from the test file) with each sentence's labels replaced by its prediction: one label
    list per sentence in flatten() order, or a 0/1 matrix (n_sentences, n_tags). Labels in tags order; everything
    else kept as read. `path` names the submission in messages."""
    index = _tag_index(tags)
    if isinstance(predicted, np.ndarray):
        predicted = from_multi_hot(predicted, tags)
    predicted = list(predicted)
    n_sentences = sum(len(document) for document in documents)
    if len(predicted) != n_sentences:
        raise SubmissionError(f"{path}: {len(predicted)} predictions for {n_sentences} sentences in {len(documents)} "
                              f"documents; give one label list per sentence, in flatten() order")
    lines, k = [], 0
    for d, document in enumerate(documents):
        out = []
        for j, sentence in enumerate(document):
            labels, where = predicted[k], f"{path}: document {d}, sentence {j} (prediction {k})"
            k += 1
            # a bare 'DV1' would be read as the labels 'D', 'V', '1'
            if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
                raise SubmissionError(f"{where}: expected a list of labels, got {_clip(repr(labels))}")
            unknown = [label for label in labels if label not in index]
            if unknown:
                raise SubmissionError(f"{where}: unknown label {unknown[0]!r} (known: {_some(tags)})")
            if len(set(labels)) != len(labels):
                raise SubmissionError(f"{where}: a label is given twice in {list(labels)}")
            if "labels" not in sentence:
                sentence = {"labels": [], **sentence}
            ordered = sorted(labels, key=index.__getitem__)
            out.append({key: ordered if key == "labels" else value for key, value in sentence.items()})
        lines.append(format_document(out) + "\n")
    return "".join(lines)


def validate_submission(path, expected, tags, text: str | None = None) -> int:
    """Check a submission against its input (a path, read with labelled=False, or documents): as many documents, as
    many sentences in each, identical sentences, every sentence labelled with known tags. `text`: the submission
    before it is written (`path` then only names it); else the file at `path` is read. Raises CAILDataError naming
    the submission's line at the first difference; returns the number of documents."""
    got = data.read_documents(path, tags, labelled=True, text=text)
    if isinstance(expected, (str, os.PathLike)):
        expected = data.read_documents(expected, tags, labelled=False)
    return data.check_same_documents(got, expected)


def write_submission(path, documents, predicted, tags, expected=None) -> int:
    """Build the submission in memory (submission_text), check it against `expected` (the test file: a path or
    documents; by default `documents`) as the organiser reads it, and only then write it atomically: a broken
    submission never reaches the disk. Returns the number of documents (lines)."""
    text = submission_text(path, documents, predicted, tags)
    n = validate_submission(path, documents if expected is None else expected, tags, text=text)
    with io.atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))      # bytes: no newline translation, the organiser's '\n' stays
    return n


def submit(run_dir, inputs: dict) -> Path:
    """submissions/cail2019/<run>.json: the test file with the run's predicted labels, checked against the test file
    as the user gave it (not against the preprocessed copy the predictions were made from), then written."""
    run_dir, processed_dir = Path(run_dir), inputs["processed"]
    documents, decisions, tags = _test_decisions(run_dir, processed_dir, inputs["features"])
    test_file = Path(io.read_json(Path(processed_dir) / "manifest.json")["files"]["test"])
    if not test_file.is_file():
        raise SystemExit(f"error: {test_file}: the test file that preprocess read is gone; every submission is "
                         f"checked against it. Put it back, or rerun `make cail-preprocess`.")
    out = Path(inputs["out"]) / f"{run_dir.name}.json"
    try:
        n = write_submission(out, documents, decisions.astype(np.int8), tags, expected=test_file)
    except (SubmissionError, CAILDataError) as e:
        raise SystemExit(f"error: {e}") from None
    say(f"submission: {n} documents, {len(decisions)} sentences, {int(decisions.sum())} labels "
        f"({int((~decisions.any(1)).sum())} sentences without one) -> {out}")
    return out
