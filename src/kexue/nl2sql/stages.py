"""The NL2SQL pipeline's stages, called by the thin scripts in pipelines/nl2sql/.

preprocess (validate, tokenise, labels) -> train (one run per model config and seed: fit, then head
probabilities on val and test) -> ensemble (head probabilities averaged) -> evaluate (decode val,
metrics) -> predict (decode test) -> submit (validated JSON lines)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core import cv, io, runlog
from ..core.folds import assign_folds
from ..core.source import ensure_sample
from ..core.source import source_stamp as source_stamp_of
from . import data, sample
from .encode import Encoded, encode

SPLITS = ("train", "val", "test")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---------------------------------------------------------------- data source

def split_files(cfg: dict, source: str = "auto") -> tuple[str, dict]:
    """('raw' | 'sample' | 'files', {split: {questions, tables, db, column_values}})."""
    if cfg.get("files"):
        files = {s: dict(f) for s, f in cfg["files"].items() if f}
        return "files", files
    raw = Path(cfg["raw_dir"])
    if source == "raw" or (source == "auto" and (raw / "train" / "train.json").exists()):
        root, kind = raw, "raw"
    else:
        root, kind = Path(cfg["sample_dir"]), "sample"
    files = {}
    for s in SPLITS:
        d = root / s
        files[s] = {"questions": str(d / f"{s}.json"), "tables": str(d / f"{s}.tables.json"),
                    "db": str(d / f"{s}.db") if (d / f"{s}.db").exists() or kind == "sample" else None}
    return kind, files


def source_stamp(cfg: dict, source: str = "auto") -> dict:
    """What preprocess reads, cheaply (names, sizes, mtimes): make reruns preprocess when it changes."""
    kind, files = split_files(cfg, source)
    stamp = source_stamp_of(kind, cfg, files)
    if cfg.get("bert"):
        stamp["bert"] = sorted((p.name, p.stat().st_size) for p in Path(cfg["bert"]).iterdir())
    return stamp


def load(files: dict, split: str, labelled: bool | None):
    f = files[split]
    tables = data.read_tables(f["tables"])
    questions = data.read_questions(f["questions"], tables, labelled=labelled)
    return questions, tables


def column_values(files: dict, split: str) -> dict:
    path = files.get(split, {}).get("column_values")
    return io.read_json(path) if path else {}


# ---------------------------------------------------------------- tokenizer and backbone

def tokenizer_for(cfg: dict, processed_dir=None):
    from ..bert.tokenizer import Tokenizer
    if cfg.get("bert"):
        tok = Tokenizer.from_dir(cfg["bert"], **_tok_overrides(cfg))
    else:
        tok = Tokenizer(str(Path(processed_dir) / "vocab.txt"), mode="char", lowercase=False)
    return tok


def _tok_overrides(cfg: dict) -> dict:
    out = {}
    if cfg.get("tokenizer", "auto") != "auto":
        out["mode"] = cfg["tokenizer"]
    if cfg.get("lowercase", "auto") != "auto":
        out["lowercase"] = bool(cfg["lowercase"])
    return out


def sample_vocab(question_sets, table_sets) -> list[str]:
    """A character vocabulary for a BERT trained from scratch: every character of the data."""
    chars = set()
    for qs in question_sets:
        for q in qs:
            chars.update(q["question"])
    for ts in table_sets:
        for t in ts.values():
            for h in t["header"]:
                chars.update(h)
    return SPECIALS + sorted(c for c in chars if not c.isspace())


def backbone_for(params: dict):
    """The model's BERT: the pretrained one named by the data manifest, or a small random one."""
    from ..bert import checkpoint
    spec = params["backbone"]
    if spec["kind"] == "pretrained":
        return checkpoint.load_backbone(spec["path"], dropout=params.get("dropout"))
    r = params["random_backbone"]
    return checkpoint.random_backbone(spec["vocab_size"], num_layers=r["layers"], hidden_dim=r["hidden"],
                                      num_heads=r["heads"], intermediate_dim=r["intermediate"],
                                      max_sequence_length=spec["max_len"], dropout=params.get("dropout", 0.1))


# ---------------------------------------------------------------- 1. preprocess

def preprocess(cfg: dict, out_dir, source: str = "auto") -> dict:
    out_dir = Path(out_dir)
    kind, files = split_files(cfg, source)
    if kind == "sample":
        s = cfg["sample"]
        print(f"[nl2sql] no competition files in {cfg['raw_dir']}/ (train/train.json ...) -> using a GENERATED "
              f"SAMPLE ({s['n_train']} train / {s['n_val']} val / {s['n_test']} test questions) in "
              f"{cfg['sample_dir']}/", flush=True)
        ensure_sample(cfg, sample.generate)
    loaded = {}
    for split in SPLITS:
        if split not in files or not files[split].get("questions"):
            continue
        for what in ("questions", "tables"):
            if not Path(files[split][what]).exists():
                raise SystemExit(f"error: {files[split][what]} not found ({split} {what}); the layout is "
                                 f"{cfg['raw_dir']}/{split}/{split}.json, {split}.tables.json[, {split}.db]")
        loaded[split] = load(files, split, labelled=split != "test")
        print(f"[nl2sql] {split}: {len(loaded[split][0])} questions on {len(loaded[split][1])} tables "
              f"({files[split]['questions']})", flush=True)
    for need in ("train", "val"):
        if need not in loaded:
            raise SystemExit(f"error: no {need} split configured; NL2SQL needs labelled train and val questions")
    out_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("bert"):
        from ..bert.checkpoint import read_config
        bert_cfg = read_config(cfg["bert"])
        backbone = {"kind": "pretrained", "path": str(Path(cfg["bert"]).resolve()),
                    "config": bert_cfg, "max_len": int(bert_cfg["max_sequence_length"])}
    else:
        vocab = sample_vocab([q for q, _ in loaded.values()], [t for _, t in loaded.values()])
        io.write_text_if_changed(out_dir / "vocab.txt", "\n".join(vocab) + "\n")
        backbone = {"kind": "random", "vocab_size": len(vocab), "max_len": int(cfg["max_len"]),
                    "vocab": io.sha256_file(out_dir / "vocab.txt", 16)}
    tok = tokenizer_for(cfg, out_dir)
    max_len = min(int(cfg["max_len"]), backbone["max_len"])
    enc_args = {"max_len": max_len, "max_header_tokens": int(cfg["max_header_tokens"])}
    labelled_q = loaded["train"][0] + loaded["val"][0]
    tables = {**loaded["train"][1], **loaded["val"][1]}
    labelled = encode(labelled_q, tables, tok, **enc_args, progress=True)
    labelled.save(out_dir / "labelled.enc.npz")
    stats = labelled.stats
    n_train = len(loaded["train"][0])
    split_of = np.array([0] * n_train + [1] * len(loaded["val"][0]), np.int8)
    test_n = 0
    if "test" in loaded:
        test = encode(loaded["test"][0], loaded["test"][1], tok, **enc_args, with_labels=False)
        test.save(out_dir / "test.enc.npz")
        test_n = len(test)
    io.save_npy(out_dir / "split_of.npy", split_of)
    fingerprint = io.short_hash({"files": {s: {k: io.sha256_file(v, 16) if v and Path(v).exists() else None
                                               for k, v in f.items()} for s, f in files.items()},
                                 "tokenizer": {"vocab": tok.vocab_size, **_tok_overrides(cfg), **enc_args},
                                 "backbone": backbone}, 16)
    manifest = {"source": kind, "files": files, "data_fingerprint": fingerprint, "backbone": backbone,
                "tokenizer": {"mode": tok.mode, "lowercase": tok.lowercase, "vocab_size": tok.vocab_size},
                "encode": enc_args, "counts": {"train": n_train, "val": int((split_of == 1).sum()), "test": test_n},
                "alignment": stats, "q_max": labelled.q_max, "h_max": labelled.h_max}
    io.write_json_if_changed(out_dir / "manifest.json", manifest)
    c = stats["conds"] or 1
    print(f"[nl2sql] encoded {len(labelled)} labelled + {test_n} test questions; condition values: "
          f"{stats['verbatim'] / c:.1%} verbatim, {stats['aligned'] / c:.1%} aligned to a word n-gram, "
          f"{stats['unaligned'] / c:.1%} not found; {stats['truncated']} questions truncated -> {out_dir}",
          flush=True)
    return manifest


# ---------------------------------------------------------------- folds

def make_folds(params: dict, processed_dir) -> np.ndarray:
    """holdout: train rows always train (-1), val rows are the one validation fold (0).
    An int k: k folds over train + val, grouped by table so no table is on both sides."""
    processed_dir = Path(processed_dir)
    split_of = np.load(processed_dir / "split_of.npy")
    if params["scheme"] == "holdout":
        folds = np.where(split_of == 1, 0, -1).astype(np.int8)
    else:
        manifest = io.read_json(processed_dir / "manifest.json")
        questions = _labelled_questions(manifest["files"])[0]
        groups = np.array([q["table_id"] for q in questions])
        folds = assign_folds(int(params["scheme"]), int(params["seed"]), groups=groups, stratify=False)
    return folds


# ---------------------------------------------------------------- CV data and scoring

def _labelled_questions(files: dict):
    tq, tt = load(files, "train", True)
    vq, vt = load(files, "val", True)
    return tq + vq, {**tt, **vt}


def snapper(decode_cfg: dict, tables: dict, values: dict):
    """The decode config's value snapping and value-to-column matching (None: neither)."""
    from .decode import ValueSnapper
    if not decode_cfg["snap"]:
        return None
    match = decode_cfg.get("match_columns_min_prob")
    return ValueSnapper(tables, values, float(decode_cfg["snap_min_score"]),
                        None if match is None else float(match))


class Scorer:
    """Decodes head probabilities of labelled rows and scores them as the organiser does."""

    def __init__(self, manifest: dict, decode_cfg: dict, questions, tables, encoded, executors: dict,
                 values: dict):
        self.questions, self.tables, self.encoded = questions, tables, encoded
        self.executors, self.value_compare = executors, decode_cfg.get("value_compare", "exact")
        self.snap = snapper(decode_cfg, tables, values)

    def decode(self, rows, prob) -> list[dict]:
        from .decode import decode
        qs = [self.questions[i] for i in rows]
        return decode(prob, self.encoded.take(rows), qs, self.tables, self.snap)

    def __call__(self, rows, prob, classes=None) -> dict:
        return self.score(rows, self.decode(np.asarray(rows), prob))

    def score(self, rows, pred: list[dict]) -> dict:
        from . import metrics
        gold = [self.questions[i]["sql"] for i in rows]
        table_ids = [self.questions[i]["table_id"] for i in rows]
        report = metrics.evaluate(gold, pred, table_ids, executor=_Dispatch(self.executors, table_ids),
                                  value_compare=self.value_compare)
        comp = report.get("components") or {k: report[k] for k in ("sel", "agg", "conn", "cond_col", "cond_op",
                                                                     "cond_val") if k in report}
        return {**report, "components": comp}


class _Dispatch:
    """One executor per split's tables/db, looked up by table id."""

    def __init__(self, executors: dict, table_ids):
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


def cv_data(params: dict, processed_dir, folds_path, decode_cfg: dict):
    processed_dir = Path(processed_dir)
    manifest = io.read_json(processed_dir / "manifest.json")
    files = manifest["files"]
    tq, tt = load(files, "train", True)
    vq, vt = load(files, "val", True)
    questions, tables = tq + vq, {**tt, **vt}
    encoded = Encoded.load(processed_dir / "labelled.enc.npz")
    test = Encoded.load(processed_dir / "test.enc.npz") if (processed_dir / "test.enc.npz").exists() \
        else Encoded.load(processed_dir / "labelled.enc.npz").take(np.arange(0))
    values = {**column_values(files, "train"), **column_values(files, "val")}
    scorer = Scorer(manifest, decode_cfg, questions, tables, encoded, executors_for(files, {"train": tt, "val": vt}),
                    values)
    data = cv.CVData(x=encoded.take(np.arange(len(encoded))), y=np.arange(len(encoded)), folds=np.load(folds_path),
                     x_test=test if not isinstance(test, Encoded) else test.take(np.arange(len(test))),
                     classes=None, score=scorer, headline="score",
                     groups=np.array([q["table_id"] for q in questions]))  # a table's questions stay together
    return data, scorer, manifest


def model_factory(params: dict, scorer):
    from .model import NL2SQLBert
    if params["model"] != "bert":
        raise SystemExit(f"error: unknown model '{params['model']}' (known: bert)")
    return lambda p, workdir, seed, classes: NL2SQLBert(p, workdir, seed, classes,
                                                        evaluate=lambda x, prob: scorer(x.index, prob))


def open_run(params: dict, runs_dir, processed_dir, folds_path) -> runlog.Run:
    manifest = io.read_json(Path(processed_dir) / "manifest.json")
    return runlog.Run.create(runs_dir, params, manifest["data_fingerprint"], io.sha256_file(folds_path, 16),
                             extra={"data_source": manifest["source"], "backbone": manifest["backbone"]["kind"]})


def with_backbone(params: dict, processed_dir) -> dict:
    """The backbone is a property of the data (the checkpoint the tokens were made for)."""
    manifest = io.read_json(Path(processed_dir) / "manifest.json")
    return {**params, "backbone": {k: v for k, v in manifest["backbone"].items() if k != "config"}}


# ---------------------------------------------------------------- ensemble

def blend_runs(params: dict, member_runs: list[str], runs_dir, processed_dir, folds_path, decode_cfg: dict) -> dict:
    runs_dir = Path(runs_dir)
    members, cvs = runlog.load_members(runs_dir, member_runs)
    data, scorer, _ = cv_data(params, processed_dir, folds_path, decode_cfg)
    oof = cv.mean_pred([cv.load_pred(m.dir, "oof") for m in members])
    test = cv.mean_pred([cv.load_pred(m.dir, "test") for m in members])
    scored = np.flatnonzero(data.folds >= 0)
    report = scorer(scored, cv.take(oof, scored))
    fold_scores = [scorer(np.flatnonzero(data.folds == k), cv.take(oof, np.flatnonzero(data.folds == k)))["score"]
                   for k in range(data.n_folds)]
    run, result = cv.write_blend(runs_dir, params, members, cvs, oof, test, report, fold_scores)
    run.log(f"ensemble of {len(members)}: score {result['score']:.4f} (logic-form {report['logic_form_acc']:.4f}) "
            f"-> {run.dir}")
    return result


# ---------------------------------------------------------------- evaluate (predict and submit: kexue.nl2sql.submission)

def evaluate(run_dir, processed_dir, folds_path, decode_cfg: dict) -> dict:
    """Decode the run's validation predictions with the decode config and write eval.json."""
    from . import metrics
    run_dir = Path(run_dir)
    cv_set, scorer, _ = cv_data({}, processed_dir, folds_path, decode_cfg)
    oof = cv.load_pred(run_dir, "oof")
    scored = np.flatnonzero(cv_set.folds >= 0)
    pred = scorer.decode(scored, cv.take(oof, scored))
    report = scorer.score(scored, pred)
    # one line per validation question with what it got wrong: grep for "cond_val" to see value errors
    lines = []
    for i, p in zip(scored, pred):
        q = scorer.questions[i]
        lines.append(json.dumps({"row": int(i), "table_id": q["table_id"], "question": q["question"],
                                 "wrong": metrics.wrong_parts(q["sql"], p, scorer.value_compare),
                                 "gold": q["sql"], "pred": p}, ensure_ascii=False))
    io.write_text(run_dir / "val_predictions.jsonl", "\n".join(lines) + "\n")
    io.write_json(run_dir / "eval.json", {"decode": decode_cfg, **report})
    print(f"[nl2sql] {run_dir.name} on {len(scored)} validation questions (each one, with what it got wrong: "
          f"{run_dir / 'val_predictions.jsonl'}):")
    for line in metrics.report_lines(report):
        print("  " + line)
    return report
