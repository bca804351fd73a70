"""The CAIL2019 stages before training: choose the data source, preprocess (read and validate documents and
tags), encode (character ids, multi-hot tags), folds (k folds of documents). Called by
pipelines/cail2019/{preprocess,encode,folds}.py; no later stage imports this module, so editing it reruns these
stages and, when their outputs change, what reads them.

preprocess, encode, folds: this module    train: kexue.cail2019.stages    blend: kexue.cail2019.blend
evaluate: kexue.cail2019.evaluate    submit: kexue.cail2019.submit. Each stage imports only its own module (and
what it needs: kexue.cail2019.data holds what every stage reads of the prepared data), so make reruns a stage
when its code changes and leaves the others alone.

A CV row is one sentence; the sentences of a judgement share one fold.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from ..core import io
from ..core.folds import assign_folds
from ..core.source import one_file, use_sample
from ..core.source import source_stamp as stamp
from . import data, sample
from .data import _arrays, load, say


def _compact(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# ---------------------------------------------------------------- data source

def source_files(cfg: dict, source: str = "auto") -> tuple[str, dict]:
    """('raw' | 'sample' | 'files', {"train", "test", "gold", "tags"}: paths, test and gold may be None)."""
    if cfg.get("files"):
        f = cfg["files"]
        for key in ("train", "tags"):
            if not f.get(key):
                raise SystemExit(f"error: data config files.{key} is required (a path)")
        return "files", {"train": f["train"], "test": f.get("test"), "gold": f.get("gold"), "tags": f["tags"]}
    raw, pat = Path(cfg["raw_dir"]), cfg["raw"]
    train = one_file(raw, pat["train"], "train", required=False) if raw.is_dir() else None
    if source == "raw" or (source == "auto" and train):
        if not train:
            raise SystemExit(f"error: no training file {raw}/{pat['train']} (the layout: {raw}/train.json, "
                             f"{raw}/tags.txt[, {raw}/test.json])")
        return "raw", {"train": train, "test": one_file(raw, pat["test"], "test", False),
                       "gold": one_file(raw, pat["gold"], "gold", False), "tags": one_file(raw, pat["tags"], "tags", True)}
    root = Path(cfg["sample_dir"])
    return "sample", {"train": str(root / "train.json"), "test": str(root / "test.json"),
                      "gold": str(root / "test_gold.json"), "tags": str(root / "tags.txt")}


def _paths(files: dict) -> list[str]:
    return [files[k] for k in ("train", "test", "gold", "tags") if files.get(k)]


def source_stamp(cfg: dict, source: str = "auto") -> dict:
    """What preprocess reads, cheaply (names, sizes, mtimes): make reruns preprocess when it changes."""
    kind, files = source_files(cfg, source)
    return stamp(kind, cfg, _paths(files))


# ---------------------------------------------------------------- 1. preprocess

def _tag_counts(documents, tags) -> dict:
    c = Counter(label for document in documents for s in document for label in s.get("labels") or [])
    return {t: c[t] for t in tags}


def preprocess(cfg: dict, out_dir, source: str = "auto") -> dict:
    """Validated documents: <out>/train.json, test.json, gold.json (null without a test gold), tags.json."""
    out_dir = Path(out_dir)
    kind, files = source_files(cfg, source)
    if kind == "sample":
        s = cfg["sample"]
        use_sample("cail2019", cfg, sample.generate, cfg["raw"]["train"],
                   f"{s['n_train_docs']} train / {s['n_test_docs']} test documents, {s['domain']}")
    for path in _paths(files):
        if not Path(path).exists():
            raise SystemExit(f"error: {path} not found")
    tags = data.read_tags(files["tags"])
    train = data.read_documents(files["train"], tags)
    test = data.read_documents(files["test"], tags, labelled=False) if files["test"] else []
    gold = data.read_documents(files["gold"], tags) if files["gold"] else None
    if gold is not None:
        data.check_same_documents(gold, test)      # the gold must be the test file, labelled
    n_train = sum(map(len, train))
    unlabelled = sum(not s["labels"] for d in train for s in d)
    if n_train == 0:
        raise SystemExit(f"error: {files['train']}: no training sentences; expected judgements as lists of "
                         f"{{\"sentence\": ..., \"labels\": [...]}}")
    if unlabelled == n_train:    # nothing to learn: the test file given as train, or tags under another key
        raise SystemExit(f"error: {files['train']}: none of the {n_train} sentences carries a tag (every 'labels' "
                         f"is empty); is it the unlabelled test file? The training file needs the tags of "
                         f"{files['tags']} in each sentence's 'labels'")
    say(f"train: {len(train)} documents, {n_train} sentences ({unlabelled / n_train:.0%} without a tag), "
        f"{len(tags)} tags ({files['train']})")
    say(f"test: {len(test)} documents, {sum(map(len, test))} sentences ({files['test']})" if test
        else "no test file: cross-validation only (submit needs one)")
    counts = _tag_counts(train, tags)
    absent = [t for t, n in counts.items() if n == 0]
    if absent:
        say(f"tags never seen in training: {', '.join(absent)} (the model cannot learn them; the official macro-F1 "
            f"counts them as 1 only when they are never predicted and never true)")
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {"train.json": _compact(list(train)), "test.json": _compact(list(test)),
             "gold.json": _compact(None if gold is None else list(gold)), "tags.json": _compact(tags)}
    for name, text in texts.items():
        io.write_text_if_changed(out_dir / name, text)
    manifest = {"source": kind, "files": files, "tags": tags, "tag_counts": counts,
                "counts": {"train_documents": len(train), "train_sentences": n_train,
                           "train_unlabelled": unlabelled, "test_documents": len(test),
                           "test_sentences": sum(map(len, test)), "test_gold": gold is not None},
                "data_fingerprint": io.short_hash({k: io.sha256_text(v) for k, v in texts.items()}, 16)}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    return manifest


# ---------------------------------------------------------------- 2. encode

def build_char_vocab(sentences, min_count: int) -> list[str]:
    """[PAD], [UNK], then the characters seen at least min_count times, most frequent first (ties by code point)."""
    counts = Counter(ch for s in sentences for ch in s)
    kept = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return ["[PAD]", "[UNK]", *kept]


def char_matrix(sentences, chars: list[str], max_len: int) -> tuple[np.ndarray, int]:
    """(n, max_len) int32 char ids (0 padding, 1 unknown) and the number of sentences cut at max_len. An empty
    sentence is one [UNK]: a row of padding alone has nothing to pool."""
    index = {c: i for i, c in enumerate(chars)}
    x = np.zeros((len(sentences), max_len), np.int32)
    for i, s in enumerate(sentences):
        ids = [index.get(c, 1) for c in s[:max_len]] or [1]
        x[i, :len(ids)] = ids
    return x, sum(len(s) > max_len for s in sentences)


def encode(cfg: dict, processed_dir, out_dir) -> dict:
    """<out>/train.npz (x, y, doc), test.npz (x), chars.json, manifest.json (data_fingerprint names every run)."""
    processed_dir, out_dir = Path(processed_dir), Path(out_dir)
    tags = load(processed_dir, "tags")
    sentences, doc, labels = data.flatten(load(processed_dir, "train"))
    test_sentences, test_doc, _ = data.flatten(load(processed_dir, "test"))
    chars = build_char_vocab(sentences, int(cfg["char_min_count"]))
    max_len = int(cfg["max_len"])
    x, cut = char_matrix(sentences, chars, max_len)
    x_test, cut_test = char_matrix(test_sentences, chars, max_len)
    y = data.to_multi_hot(labels, tags)
    out_dir.mkdir(parents=True, exist_ok=True)
    io.save_npz(out_dir / "train.npz", x=x, y=y, doc=doc)
    io.save_npz(out_dir / "test.npz", x=x_test, doc=test_doc)
    chars_text = _compact(chars)
    io.write_text_if_changed(out_dir / "chars.json", chars_text)
    processed = io.read_json(processed_dir / "manifest.json")
    args = {"char_min_count": int(cfg["char_min_count"]), "max_len": max_len}
    manifest = {"source": processed["source"], "tags": tags, "n_chars": len(chars), "encode": args,
                "rows": {"train": len(x), "test": len(x_test)}, "cut": {"train": cut, "test": cut_test},
                "data_fingerprint": io.short_hash({"documents": processed["data_fingerprint"],
                                                   "chars": io.sha256_text(chars_text), "encode": args}, 16)}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    say(f"encoded {len(x)} training + {len(x_test)} test sentences; {len(chars)} characters; cut at "
        f"max_len={max_len}: {cut} + {cut_test} -> {out_dir}")
    return manifest

# ---------------------------------------------------------------- 3. folds

FOLDS_INPUT = {"features": "data/features/cail2019"}     # kexue.core.protocol


def make_folds(params: dict, directory) -> np.ndarray:
    """k folds of documents (every sentence of a judgement in its document's fold)."""
    doc = _arrays(directory, "train")["doc"]
    return assign_folds(int(params["k"]), int(params["seed"]), groups=doc, stratify=False,
                        group_name="training documents", row_name="training sentences", key="folds.k")
