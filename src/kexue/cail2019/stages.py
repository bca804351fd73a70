"""The CAIL2019 element-recognition pipeline's stages, called by the thin scripts in pipelines/cail2019/.

preprocess (read and validate documents and tags) -> encode (character ids, multi-hot tags) -> folds (k folds of
documents) -> train (one run per model config and seed: OOF and test tag probabilities) -> blend (averages of
runs, with the 0.5 rule or per-tag thresholds tuned on OOF) -> evaluate (the test gold, when there is one) ->
submit (the test file with its labels filled in; kexue.cail2019.submit, which no training code imports)

A CV row is one sentence; the sentences of a judgement share one fold. Every stored probability has its decision
at 0.5 (kexue.cail2019.model.probabilities), so runs of either loss average, and a run's thresholds.json (a blend
with `thresholds: tuned`) moves the decision per tag.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from ..core import cv, io, multilabel, runlog
from ..core.folds import assign_folds
from ..core.source import ensure_sample, one_file
from ..core.source import source_stamp as stamp
from . import data, sample


def _compact(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def say(message: str) -> None:
    print(f"[cail2019] {message}", flush=True)


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
        say(f"no competition files in {cfg['raw_dir']}/ ({cfg['raw']['train']}) -> using a GENERATED SAMPLE "
            f"({s['n_train_docs']} train / {s['n_test_docs']} test documents, {s['domain']}) in {cfg['sample_dir']}/")
        ensure_sample(cfg, sample.generate)
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


def load(processed_dir, name: str):
    return io.read_json(Path(processed_dir) / f"{name}.json")


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


def _features(features_dir) -> dict:
    return io.read_json(Path(features_dir) / "manifest.json")


def _arrays(features_dir, split: str) -> dict:
    with np.load(Path(features_dir) / f"{split}.npz") as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------- 3. folds

def make_folds(params: dict, features_dir) -> np.ndarray:
    """k folds of documents (every sentence of a judgement in its document's fold)."""
    doc = _arrays(features_dir, "train")["doc"]
    k = int(params["k"])
    if doc.max() + 1 < k:
        raise SystemExit(f"error: {int(doc.max()) + 1} training documents cannot make {k} folds; lower folds.k")
    return assign_folds(k, int(params["seed"]), groups=doc, stratify=False)


# ---------------------------------------------------------------- 4. train

def score(y, prob, classes=None, thresholds=0.5) -> dict:
    """The multi-label report of probabilities at the thresholds (0.5: the loss's own rule)."""
    return multilabel.report(y, np.asarray(prob) > np.asarray(thresholds), classes)


def cv_data(features_dir, folds_path) -> cv.CVData:
    f = _features(features_dir)
    train, test = _arrays(features_dir, "train"), _arrays(features_dir, "test")
    folds = np.load(folds_path)
    if len(folds) != len(train["x"]):
        raise SystemExit(f"error: {folds_path} has {len(folds)} rows but {features_dir}/train.npz has "
                         f"{len(train['x'])}; rerun make cail-folds")
    return cv.CVData(x=train["x"], y=train["y"], folds=folds, x_test=test["x"], classes=f["tags"], score=score,
                     headline="cail_score", groups=train["doc"])  # a judgement's sentences stay together


def model_factory(params: dict, features_dir):
    from .model import CAILTagger
    if params["model"] != "dgc":
        raise SystemExit(f"error: unknown model '{params['model']}' (known: dgc)")
    n_chars = _features(features_dir)["n_chars"]
    evaluate = lambda y, prob: {"score": multilabel.cail_score(y, prob > 0.5)}
    return lambda p, workdir, seed, classes: CAILTagger(p, workdir, seed, classes, n_chars=n_chars,
                                                        evaluate=evaluate)


def open_run(params: dict, runs_dir, features_dir, folds_path) -> runlog.Run:
    f = _features(features_dir)
    return runlog.Run.create(runs_dir, params, f["data_fingerprint"], io.sha256_file(folds_path, 16),
                             extra={"data_source": f["source"]})


# ---------------------------------------------------------------- 5. blend: averages and thresholds

def cross_fitted_thresholds(y, prob, folds, grid) -> tuple[np.ndarray, np.ndarray]:
    """(decisions, thresholds): each fold decided with per-tag thresholds tuned on the OOF rows of the other
    folds, so the OOF score does not grade thresholds on the rows they were tuned on; and the thresholds tuned
    on every OOF row, for the test set."""
    decisions = np.zeros(prob.shape, bool)
    for k in np.unique(folds[folds >= 0]):
        rest, own = folds != k, folds == k
        decisions[own] = prob[own] > multilabel.tune_thresholds(y[rest], prob[rest], grid, default=0.5)
    return decisions, multilabel.tune_thresholds(y, prob, grid, default=0.5)


def thresholds_of(run_dir, n_tags: int) -> np.ndarray:
    path = Path(run_dir) / "thresholds.json"
    return np.asarray(io.read_json(path)["thresholds"], float) if path.exists() else np.full(n_tags, 0.5)


def blend_runs(params: dict, member_runs: list[str], runs_dir, features_dir, folds_path) -> dict:
    """Average the members' OOF and test probabilities; `thresholds: tuned` then tunes one threshold per tag
    (cross-fitted for the OOF score, on all OOF rows for the test set). A run like any other, plus
    thresholds.json."""
    runs_dir = Path(runs_dir)
    members, cvs = runlog.load_members(runs_dir, member_runs)
    d = cv_data(features_dir, folds_path)
    oof = cv.mean_pred([cv.load_pred(m.dir, "oof") for m in members])
    test = cv.mean_pred([cv.load_pred(m.dir, "test") for m in members])
    mode = params.get("thresholds", "fixed")
    if mode == "tuned":
        grid = np.round(np.arange(*params["grid"]), 6)
        decisions, thresholds = cross_fitted_thresholds(d.y, oof, d.folds, grid)
    elif mode == "fixed":
        decisions, thresholds = oof > 0.5, np.full(len(d.classes), 0.5)
    else:
        raise SystemExit(f"error: thresholds must be fixed or tuned, not {mode!r}")
    report = multilabel.report(d.y, decisions, d.classes)
    fold_scores = [multilabel.cail_score(d.y[d.folds == k], decisions[d.folds == k]) for k in range(d.n_folds)]
    run, result = cv.write_blend(
        runs_dir, params, members, cvs, oof, test, report, fold_scores, headline="cail_score",
        extra={"thresholds": mode},
        side_files={"thresholds.json": {"thresholds": [float(t) for t in thresholds], "tags": d.classes,
                                        "mode": mode}})
    run.log(f"blend of {len(members)} ({mode} thresholds): CAIL score {result['score']:.4f} (micro-F1 "
            f"{report['micro_f1']:.4f}, macro-F1 {report['macro_f1']:.4f}) -> {run.dir}")
    return result


# ---------------------------------------------------------------- 6. evaluate (submit: kexue.cail2019.submit)

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


def evaluate(run_dir, processed_dir, features_dir) -> dict:
    """The run's OOF report (from cv.json) and, when the test gold exists, the test's: <run>/eval.json."""
    run_dir = Path(run_dir)
    cvj = io.read_json(run_dir / "cv.json")
    report = {"cv": cvj["oof"]}
    say(f"{run_dir.name}: cross-validation (OOF): {_line(cvj['oof'])}")
    gold = load(processed_dir, "gold")
    if gold:
        _, decisions, tags = _test_decisions(run_dir, processed_dir, features_dir)
        y = data.to_multi_hot(data.flatten(gold)[2], tags)
        report["test"] = multilabel.report(y, decisions, tags)
        say(f"{run_dir.name}: test (gold): {_line(report['test'])}")
    io.write_json(run_dir / "eval.json", report)
    return report

