"""Reading and checking CAIL2019 要素识别 (element recognition) files.

A data file holds judgement documents, one per line, each a JSON list of its sentences in reading order:
    [{"labels": [], "sentence": "原告林某某诉称：……"}, {"labels": ["DV1"], "sentence": "1998年2月份生一女李某乙。"}]
A sentence carries any number of its domain's 20 tags (divorce DV1..DV20, labor LB1..LB20; tags.txt lists them one
per line, selectedtags.txt their Chinese names in the same order); most carry none (56% of the real divorce
sentences, 73% of the labor ones). A test file has the same layout with `labels` empty or absent, and the
submission is that file with the labels filled in: the same lines, the same sentences in the same order.
(kexue.cail2019.submit writes and checks it.)

The organiser's files are `json.dumps(document, ensure_ascii=False)` per line: separators ", " and ": " (SEPARATORS),
no escapes, "\\n" after every line including the last, no BOM. Key order differs by domain (divorce writes "labels"
first, labor "sentence" first), so every sentence keeps its own key order (and any other field it has), and a
submission reproduces its input byte for byte except inside the labels. Within a sentence the real files list labels
in no fixed order (1,429 divorce sentences are not in tags order); what is scored is the set, so the writer puts
them in tags order.

Models work on sentences: flatten() gives them in file order with their document ids, for folds grouped by document
(sentences of one judgement share parties and facts, so splitting a document between train and validation leaks),
and to_multi_hot() the targets.

Problems raise CAILDataError naming the file, the line (the file's own 1-based number, blank lines counted), the
document and sentence (0-based: the document's index among the non-blank lines) and the field, e.g.
    data/raw/cail2019/divorce/train.json:17: document 16, sentence 4: field 'labels': unknown label 'DV21' (...)

The end of the module reads what preprocess and encode wrote (load, _arrays) for every stage after them.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from ..core import io

SEPARATORS = (", ", ": ")     # json.dumps' own defaults without indent, spelled out: the organiser's files use them


class CAILDataError(ValueError):
    pass


class Documents(list):
    """Documents (lists of {"labels", "sentence"} dicts) in file order; `lines[i]` is the 1-based line document i
    came from, for messages that point into the file, and `path` the file (None when built in memory)."""

    def __init__(self, documents=(), lines=None, path=None):
        super().__init__(documents)
        self.lines = list(range(1, len(self) + 1)) if lines is None else list(lines)
        self.path = path


def _clip(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _show(s: str, n: int = 60) -> str:
    """A string (a sentence) quoted and clipped."""
    return repr(_clip(s, n))


def _some(tags, n: int = 4) -> str:
    tags = list(tags)
    shown = ", ".join(tags) if len(tags) <= n + 1 else f"{', '.join(tags[:n])}, …, {tags[-1]}"
    return f"{shown} ({len(tags)} tags)"


def _lines(path: Path, text: str | None = None):
    """(line number, line) for each non-blank line, '\\r' dropped. Splits on '\\n' only: sentences may hold U+2028,
    which str.splitlines would cut. `text`: the content when it is not on disk (yet); `path` then only names it."""
    if text is None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CAILDataError(f"{path}: file not found") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            n = raw.count(b"\n", 0, e.start) + 1
            raise CAILDataError(f"{path}:{n}: not UTF-8 at byte {e.start} ({e.reason}); the files are UTF-8") from None
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            yield n, line


def read_tags(path) -> list[str]:
    """The tags of tags.txt (or the names of selectedtags.txt), one per line, in file order; blank lines skipped."""
    path, tags, first_line = Path(path), [], {}
    for n, line in _lines(path):
        tag = line.strip()
        if tag in first_line:
            raise CAILDataError(f"{path}:{n}: duplicate tag {tag!r} (first at line {first_line[tag]})")
        first_line[tag] = n
        tags.append(tag)
    if not tags:
        raise CAILDataError(f"{path}: no tags (the file is empty); expected one tag per line")
    return tags


def _check_sentence(obj, where: str, tags, known, labelled: bool) -> dict:
    if not isinstance(obj, dict):
        raise CAILDataError(f"{where}: expected an object {{labels, sentence}}, got {type(obj).__name__} "
                            f"{_clip(json.dumps(obj, ensure_ascii=False))}")
    if "sentence" not in obj:
        raise CAILDataError(f"{where}: missing field 'sentence' (has {', '.join(obj) or 'nothing'})")
    if not isinstance(obj["sentence"], str):
        raise CAILDataError(f"{where}: field 'sentence' must be a string, got {_clip(repr(obj['sentence']))}")
    labels = obj.get("labels")
    if labels is None:
        if labelled:
            what = "is null" if "labels" in obj else "missing"
            raise CAILDataError(f"{where}: field 'labels' {what} in a labelled file ([] marks a sentence without "
                                f"elements; read test files with labelled=False)")
        return {**obj, "labels": []} if "labels" in obj else {"labels": [], **obj}   # the organiser's key order
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise CAILDataError(f"{where}: field 'labels' must be a list of strings, got {_clip(repr(labels))}")
    for label in labels:
        if known is not None and label not in known:
            raise CAILDataError(f"{where}: field 'labels': unknown label {label!r} (known: {_some(tags)})")
    twice = [label for label, c in Counter(labels).items() if c > 1]
    if twice:
        raise CAILDataError(f"{where}: field 'labels': label {twice[0]!r} given {labels.count(twice[0])} times")
    return {**obj, "labels": list(labels)}


def read_documents(path, tags=None, labelled: bool = True, text: str | None = None) -> Documents:
    """The documents of a data file, each a list of {"labels": [str], "sentence": str} in file order (other fields
    and each sentence's key order kept, for writing back). Given `tags`, every label must be one of them.
    labelled=False (test files) lets `labels` be absent or null, read as []. `text`: the file's content when it
    is not on disk (a submission checked before it is written); `path` then only names it in messages."""
    path = Path(path)
    known = None if tags is None else set(tags)
    out = Documents(path=path)
    out.lines = []
    for n, line in _lines(path, text):
        where = f"{path}:{n}: document {len(out)}"
        document = io.loads_checked(line, where, CAILDataError, line=True)
        if not isinstance(document, list):
            raise CAILDataError(f"{where}: expected a JSON list of sentences [{{labels, sentence}}, ...], got "
                                f"{type(document).__name__} {_clip(line)}")
        if not document:
            raise CAILDataError(f"{where}: the document has no sentences ([]); nothing of it could be submitted back")
        out.append([_check_sentence(obj, f"{where}, sentence {j}", tags, known, labelled)
                    for j, obj in enumerate(document)])
        out.lines.append(n)
    if not out:
        raise CAILDataError(f"{path}: no documents (the file is empty); expected one JSON list of "
                            f"{{labels, sentence}} per line")
    return out


def flatten(documents) -> tuple[list[str], np.ndarray, list[list[str]]]:
    """(sentences, doc_index, labels) over all sentences in file order; doc_index[i] (int64) is sentence i's document,
    the group for document-level folds."""
    sentences = [s["sentence"] for document in documents for s in document]
    doc_index = np.repeat(np.arange(len(documents), dtype=np.int64), [len(document) for document in documents])
    labels = [list(s.get("labels") or []) for document in documents for s in document]
    return sentences, doc_index, labels


def _tag_index(tags) -> dict[str, int]:
    index = {tag: i for i, tag in enumerate(tags)}
    if len(index) != len(tags):
        raise ValueError(f"duplicate tags in {list(tags)}")
    return index


def to_multi_hot(sentence_labels, tags) -> np.ndarray:
    """(n_sentences, n_tags) int8 matrix, column j for tags[j]."""
    index = _tag_index(tags)
    y = np.zeros((len(sentence_labels), len(index)), dtype=np.int8)
    for i, labels in enumerate(sentence_labels):
        for label in labels:
            if label not in index:
                raise CAILDataError(f"sentence {i}: unknown label {label!r} (known: {_some(tags)})")
            y[i, index[label]] = 1
    return y


def from_multi_hot(y, tags) -> list[list[str]]:
    """The label lists (in tags order) of a 0/1 (or boolean) matrix (n_sentences, n_tags): to_multi_hot's inverse."""
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] != len(tags):
        raise ValueError(f"expected a matrix (n_sentences, {len(tags)}), got shape {y.shape}")
    return [[tags[j] for j in np.flatnonzero(row)] for row in y != 0]


def format_document(document) -> str:
    """One line of a data file (without its '\\n'), spaced as the organiser's files."""
    return json.dumps(document, ensure_ascii=False, separators=SEPARATORS)


def check_same_documents(got: Documents, expected) -> int:
    """`got` (a submission, or a gold file) holds the documents of `expected` (the test file's): as many documents,
    as many sentences in each, identical sentences. Raises CAILDataError naming got's file and line at the first
    difference; returns the number of documents."""
    path = got.path
    for d, (sub, ref) in enumerate(zip(got, expected)):
        where = f"{path}:{got.lines[d]}: document {d}"
        if len(sub) != len(ref):
            raise CAILDataError(f"{where}: {len(sub)} sentences where the input's document {d} has {len(ref)} "
                                f"(a line dropped, added or split?)")
        for j, (a, b) in enumerate(zip(sub, ref)):
            if a["sentence"] != b["sentence"]:
                raise CAILDataError(f"{where}, sentence {j}: field 'sentence' differs from the input: "
                                    f"{_show(a['sentence'])} instead of {_show(b['sentence'])}")
    if len(got) < len(expected):
        lines = getattr(expected, "lines", None) or range(1, len(expected) + 1)
        raise CAILDataError(f"{path}:{got.lines[-1] + 1}: the file ends after {len(got)} documents; the input has "
                            f"{len(expected)} (its document {len(got)}, line {lines[len(got)]}, is missing)")
    if len(got) > len(expected):
        raise CAILDataError(f"{path}:{got.lines[len(expected)]}: document {len(expected)} is extra; the input has "
                            f"{len(expected)} documents")
    return len(got)


# ---------------------------------------------------------------- the prepared data, read by every later stage

def say(message: str) -> None:
    print(f"[cail2019] {message}", flush=True)


def load(processed_dir, name: str):
    return io.read_json(Path(processed_dir) / f"{name}.json")


def _arrays(features_dir, split: str) -> dict:
    with np.load(Path(features_dir) / f"{split}.npz") as z:
        return {k: z[k] for k in z.files}
