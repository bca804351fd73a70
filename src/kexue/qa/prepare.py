"""The reading-comprehension stages before training: choose the data source, preprocess (read and validate the
DGCNN/SQuAD files, test gold), wordvec (gensim word2vec on the text, or a user's file), encode (char + word ids,
start/end labels), folds (k folds of questions). Called by pipelines/qa/{preprocess,wordvec,encode,folds}.py; no
training, ensemble or evaluate code imports this module, so editing it reruns these stages and, when their outputs
change, what reads them. (submit re-reads the test file with read_source, as preprocess did.)

preprocess, wordvec, encode, folds: this module    train: kexue.qa.stages    ensemble: kexue.qa.blend
evaluate: kexue.qa.evaluate    predict, submit: kexue.qa.submit. Each stage imports only its own module (and what
it needs: kexue.qa.data holds what every stage reads of the prepared data), so make reruns a stage when its code
changes and leaves the others alone.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core import io
from ..core.config import public
from ..core.folds import assign_folds
from ..core.source import one_file, regular_files, use_sample
from ..core.source import source_stamp as stamp
from . import data, sample
from .data import load_entries, say
from .encode import Encoded
from .metric import gold_from_entries, normalise, question_groups

FORMATS = ("dgcnn", "squad")
SQUAD_OPTIONS = ("traditional", "unanswerable", "yes_no")     # read_squad's switches, per file entry


def _quiet_jieba() -> None:
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)       # no "Building prefix dict ..." lines in the stage output


# ---------------------------------------------------------------- data source

def _spec(item, what: str) -> dict:
    """A file entry of the data config: a path, or {path, format[, traditional, unanswerable, yes_no]}."""
    spec = {"path": item} if isinstance(item, str) else dict(item or {})
    if not spec.get("path"):
        raise SystemExit(f"error: data config files.{what}: each file needs a 'path' (got {item!r})")
    spec.setdefault("format", "dgcnn")
    if spec["format"] not in FORMATS:
        raise SystemExit(f"error: data config files.{what}: format '{spec['format']}' is not one of {FORMATS}")
    known = {"path", "format", *(SQUAD_OPTIONS if spec["format"] == "squad" else ())}
    for k in SQUAD_OPTIONS:
        if k in spec and not isinstance(spec[k], bool):
            raise SystemExit(f"error: data config files.{what} ({spec['path']}): {k} must be true or false, "
                             f"not {spec[k]!r}")
    if set(spec) - known:
        raise SystemExit(f"error: data config files.{what} ({spec['path']}): unknown key(s) "
                         f"{', '.join(sorted(set(spec) - known))}; a {spec['format']} file takes {', '.join(sorted(known))}")
    return spec


def source_files(cfg: dict, source: str = "auto") -> tuple[str, dict]:
    """('raw' | 'sample' | 'files', {"train": [spec, ...], "test": spec | None, "gold": path | None})."""
    if cfg.get("files"):
        f = cfg["files"]
        train = f.get("train") or []
        train = [_spec(t, f"train[{i}]") for i, t in enumerate(train if isinstance(train, list) else [train])]
        if not train:
            raise SystemExit("error: data config 'files' names no train file")
        return "files", {"train": train, "test": _spec(f["test"], "test") if f.get("test") else None,
                         "gold": f.get("gold")}
    raw, pat = Path(cfg["raw_dir"]), cfg["raw"]
    train = regular_files(raw.glob(pat["train"]), "the training files") if raw.is_dir() else []
    if source == "raw" or (source == "auto" and train):
        if not train:
            raise SystemExit(f"error: no training file {raw}/{pat['train']} (the layout: {raw}/train.json, "
                             f"{raw}/test.json[, {raw}/qid_answer_expand])")
        test = one_file(raw, pat["test"], "test", required=False)
        gold = one_file(raw, pat["gold"], "gold", required=False)
        return "raw", {"train": [{"path": str(p), "format": "dgcnn"} for p in train],
                       "test": {"path": test, "format": "dgcnn"} if test else None, "gold": gold}
    root = Path(cfg["sample_dir"])
    return "sample", {"train": [{"path": str(root / "train.json"), "format": "dgcnn"}],
                      "test": {"path": str(root / "test.json"), "format": "dgcnn"},
                      "gold": str(root / "qid_answer_expand")}


def _paths(files: dict) -> list[str]:
    return [s["path"] for s in files["train"]] + ([files["test"]["path"]] if files["test"] else []) \
        + ([files["gold"]] if files["gold"] else [])


def source_stamp(cfg: dict, source: str = "auto") -> dict:
    """What preprocess reads, cheaply (names, sizes, mtimes): make reruns preprocess when it changes."""
    kind, files = source_files(cfg, source)
    return stamp(kind, cfg, _paths(files))


def read_source(spec: dict, labelled: bool, on_truncated: str = "error") -> data.Entries:
    path = Path(spec["path"])
    if spec["format"] == "squad":
        entries = data.read_squad(path, **{k: bool(spec.get(k, False)) for k in SQUAD_OPTIONS})
    else:
        entries = data.read_dgcnn(path, on_truncated=on_truncated, labelled=labelled)
    if entries.note:
        say(entries.note)
    return entries


def _compact(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


# ---------------------------------------------------------------- 1. preprocess

def preprocess(cfg: dict, out_dir, source: str = "auto") -> dict:
    """Validated entries: <out>/train.json, test.json, gold.json (the test gold, {} when there is none), and
    sources.json ({"files": [training file paths], "train": {question id: index in files}})."""
    out_dir = Path(out_dir)
    kind, files = source_files(cfg, source)
    if kind == "sample":
        s = cfg["sample"]
        use_sample("qa", cfg, sample.generate, cfg["raw"]["train"],
                   f"{s['n_train']} train / {s['n_test']} test questions, {s['n_passages']} passages each")
    for path in _paths(files):
        if not Path(path).exists():
            raise SystemExit(f"error: {path} not found")
    train, origin = [], {}          # origin: question id -> index of its training file
    for i, spec in enumerate(files["train"]):
        entries = read_source(spec, True, cfg.get("on_truncated", "error"))
        for e in entries:
            if e["id"] in origin:
                raise SystemExit(f"error: {spec['path']}: id {e['id']!r} is also in "
                                 f"{files['train'][origin[e['id']]]['path']}; ids must be unique over the training "
                                 f"files")
            origin[e["id"]] = i
        train += entries
        say(f"train: {len(entries)} questions, {sum(len(e['passages']) for e in entries)} passages ({spec['path']})")
    test = list(read_source(files["test"], False, cfg.get("on_truncated", "error"))) if files["test"] else []
    if files["test"] and not test:
        raise SystemExit(f"error: {files['test']['path']}: no test questions (the file holds none); there would be "
                         f"nothing to predict. Leave files.test out for cross-validation only")
    if files["test"]:
        say(f"test: {len(test)} questions, {sum(len(e['passages']) for e in test)} passages ({files['test']['path']})")
    else:
        say("no test file: cross-validation only (predict and submit need one)")
    gold, gold_from = _test_gold(files, test)
    if gold_from:
        say(f"test gold: {len(gold)} of {len(test)} test questions ({gold_from})")
    dropped = 0
    if cfg.get("drop_test_questions", True) and test:
        asked = {normalise(e["question"]) for e in test}
        kept = [e for e in train if normalise(e["question"]) not in asked]
        dropped = len(train) - len(kept)
        if dropped:
            say(f"dropped {dropped} training questions that are also test questions (data.drop_test_questions)")
        train = kept
    if not train:
        raise SystemExit("error: no training questions left")
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {"train.json": _compact(train), "test.json": _compact(test), "gold.json": _compact(gold)}
    for name, text in texts.items():
        io.write_text_if_changed(out_dir / name, text)
    # which file each training question came from: evaluate scores the held-out questions per source. Apart from
    # the fingerprint, so that renaming a file does not redo word2vec, encoding and training.
    io.write_text_if_changed(out_dir / "sources.json", _compact(
        {"files": [spec["path"] for spec in files["train"]], "train": {e["id"]: origin[e["id"]] for e in train}}))
    counts = {"train_questions": len(train), "train_passages": sum(len(e["passages"]) for e in train),
              "train_with_answer": sum(any(p.get("answer") for p in e["passages"]) for e in train),
              "test_questions": len(test), "test_passages": sum(len(e["passages"]) for e in test),
              "test_gold": len(gold), "dropped_test_questions": dropped}
    manifest = {"source": kind, "files": files, "gold_from": gold_from, "counts": counts,
                "data_fingerprint": io.short_hash({k: io.sha256_text(v) for k, v in texts.items()}, 16)}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    return manifest


def _test_gold(files: dict, test: list) -> tuple[dict, str | None]:
    """The test gold: the gold file (Sogou's qid_answer_expand) when there is one, else the test file's own
    passage answers when every passage has an answer field (a labelled file such as WebQA_test_ir_first200)."""
    if not test:
        return {}, None
    ids = [e["id"] for e in test]
    if files["gold"]:
        full = data.read_answer_expand(files["gold"])
        gold = {q: full[q] for q in ids if q in full}
        if not gold:
            raise SystemExit(f"error: the gold file {files['gold']} holds none of the {len(ids)} test ids "
                             f"(e.g. {ids[:3]}); wrong file?")
        return gold, files["gold"]
    if all(p.get("answer") is not None for e in test for p in e["passages"]):
        return gold_from_entries(test), f"the passage answers of {files['test']['path']}"
    return {}, None


# ---------------------------------------------------------------- 2. word vectors

def wordvec_stamp(cfg: dict) -> dict:
    """The resolved word2vec section plus the size and mtime of a user's vector file: make retrains or reloads
    the vectors when either changes."""
    out = public(cfg)
    if cfg.get("path"):
        p = Path(cfg["path"])
        if not p.is_file():
            raise SystemExit(f"error: word-vector file {p} not found (features.word2vec.path / QA_W2V)")
        out["file"] = [p.stat().st_size, p.stat().st_mtime_ns]
    return out


def word_vectors(cfg: dict, processed_dir, out_dir) -> dict:
    """<out>/words.json (the vocabulary, [PAD] and [UNK] first) and vectors.npy: gensim word2vec trained on the
    segmented questions and passages, or the user's file (cfg['path'])."""
    from . import encode as enc
    _quiet_jieba()
    out_dir = Path(out_dir)
    if cfg.get("path"):
        words, matrix = enc.load_word_vectors(cfg["path"], binary=cfg.get("binary"), limit=cfg.get("limit"))
        kind, segmenter = "file", "jieba+vocab" if cfg.get("add_words", True) else "jieba"
        say(f"word vectors: {len(words) - 2} words x {matrix.shape[1]} from {cfg['path']}")
    else:
        entries = load_entries(processed_dir, "train")
        if cfg.get("corpus", "all") == "all":
            entries += load_entries(processed_dir, "test")
        elif cfg["corpus"] != "train":
            raise SystemExit(f"error: features.word2vec.corpus must be 'all' or 'train', got {cfg['corpus']!r}")
        sentences = enc.sentences(entries)
        words, matrix = enc.train_word2vec(sentences, dim=int(cfg["dim"]), seed=int(cfg["seed"]), workers=1,
                                           min_count=int(cfg["min_count"]), window=int(cfg["window"]),
                                           epochs=int(cfg["epochs"]))
        kind, segmenter = "trained", "jieba"
        say(f"word2vec: {len(words) - 2} words x {matrix.shape[1]} trained on {len(sentences)} questions and "
            f"passages ({cfg.get('corpus', 'all')})")
    words_text = json.dumps(words, ensure_ascii=False) + "\n"
    io.write_text_if_changed(out_dir / "words.json", words_text)
    matrix = np.ascontiguousarray(matrix, np.float32)
    io.save_npy(out_dir / "vectors.npy", matrix)
    manifest = {"kind": kind, "path": cfg.get("path"), "segmenter": segmenter, "n_words": len(words),
                "dim": int(matrix.shape[1]),
                "fingerprint": io.short_hash({"words": io.sha256_text(words_text), "vectors": _array_sha(matrix),
                                              "segmenter": segmenter}, 16)}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    return manifest


def _array_sha(a: np.ndarray) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


# ---------------------------------------------------------------- 3. encode

def segmenter_for(wordvec_dir):
    from . import encode as enc
    _quiet_jieba()
    manifest = io.read_json(Path(wordvec_dir) / "manifest.json")
    if manifest["segmenter"] == "jieba+vocab":
        return enc.make_segmenter(io.read_json(Path(wordvec_dir) / "words.json"))
    return enc.segment


def encode_features(cfg: dict, processed_dir, wordvec_dir, out_dir) -> dict:
    """<out>/train.enc.npz (labelled rows), test.enc.npz, chars.json and manifest.json, whose data_fingerprint
    (entries, word vectors, encode settings) names the data of every run."""
    from . import encode as enc
    processed_dir, wordvec_dir, out_dir = Path(processed_dir), Path(wordvec_dir), Path(out_dir)
    train, test = load_entries(processed_dir, "train"), load_entries(processed_dir, "test")
    chars = enc.build_char_vocab(train, int(cfg["char_min_count"]))
    words = io.read_json(wordvec_dir / "words.json")
    segment = segmenter_for(wordvec_dir)
    args = {"q_max": int(cfg["q_max"]), "p_max": int(cfg["p_max"]),
            "p_stride": int(cfg["p_stride"]) if cfg.get("p_stride") else None}
    labelled = enc.encode(train, chars, words, segment, **args, with_labels=True, progress=True)
    unlabelled = enc.encode(test, chars, words, segment, **args, with_labels=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    labelled.save(out_dir / "train.enc.npz")
    unlabelled.save(out_dir / "test.enc.npz")
    chars_text = json.dumps(chars, ensure_ascii=False) + "\n"
    io.write_text_if_changed(out_dir / "chars.json", chars_text)
    processed = io.read_json(processed_dir / "manifest.json")
    wordvec = io.read_json(wordvec_dir / "manifest.json")
    manifest = {"source": processed["source"], "n_chars": len(chars), "n_words": len(words),
                "word_vectors": {k: wordvec[k] for k in ("kind", "path", "dim", "segmenter")},
                "encode": args, "rows": {"train": len(labelled), "test": len(unlabelled)},
                "width": {"train": _width(labelled), "test": _width(unlabelled)}, "stats": labelled.stats,
                "data_fingerprint": io.short_hash({"entries": processed["data_fingerprint"],
                                                   "words": wordvec["fingerprint"], "chars": io.sha256_text(chars_text),
                                                   "encode": args}, 16)}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    s = labelled.stats
    say(f"encoded {s['rows']} training rows ({s['with_answer']} with the answer) of {s['questions']} questions + "
        f"{len(unlabelled)} test rows; {len(chars)} characters, {len(words)} words; answers not verbatim in their "
        f"passage: {s['not_verbatim']}, lost past p_max={args['p_max']}: {s['answers_cut']}; passages in windows: "
        f"{s.get('passages_windowed', 0)}; questions cut at "
        f"q_max={args['q_max']}: {s['questions_truncated']} -> {out_dir}")
    return manifest


def _width(e: Encoded) -> int:
    return int(np.diff(e.p_off).max()) if len(e) else 0


# ---------------------------------------------------------------- 4. folds

FOLDS_INPUT = {"processed": "data/processed/qa"}     # kexue.core.protocol


def make_folds(params: dict, directory) -> np.ndarray:
    """The validation fold of every training row (passage): k folds of questions, shuffled with the seed; the
    passages of a question, and questions with the same normalised text or passage, share a fold. holdout: true
    keeps fold 0 only (one model, 1/k of the questions scored), for data too large for k models."""
    groups = question_groups(load_entries(directory, "train"))
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    group_fold = assign_folds(int(params["k"]), int(params["seed"]), y=np.zeros(n_groups, int), stratify=False,
                              row_name="distinct training questions", key="folds.k")
    if params.get("holdout"):        # fold 0 alone is scored; the other folds' rows always train (-1)
        group_fold = np.where(group_fold == 0, 0, -1)
    return group_fold[groups].astype(np.int16)
