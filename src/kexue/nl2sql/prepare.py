"""The NL2SQL stages before training: choose the data source, preprocess (validate the questions and tables,
tokenise them, build the head labels), folds (holdout or k folds grouped by table). Called by
pipelines/nl2sql/{preprocess,folds}.py; no later stage imports this module, so editing it reruns these stages and,
when their outputs change, what reads them.

preprocess, folds: this module    train: kexue.nl2sql.stages    ensemble: kexue.nl2sql.blend
evaluate: kexue.nl2sql.evaluate    predict, submit: kexue.nl2sql.submit. Each stage imports only its own module
(and what it needs: kexue.nl2sql.data reads the split files for every stage), so make reruns a stage when its code
changes and leaves the others alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import io
from ..core.folds import assign_folds
from ..core.source import source_stamp as source_stamp_of
from ..core.source import use_sample
from . import sample
from .data import NL2SQLDataError, load
from .encode import encode

SPLITS = ("train", "val", "test")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---------------------------------------------------------------- data source

def source_files(cfg: dict, source: str = "auto") -> tuple[str, dict]:
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
    kind, files = source_files(cfg, source)
    stamp = source_stamp_of(kind, cfg, files)
    if cfg.get("bert"):
        bert = Path(cfg["bert"])
        if not bert.is_dir() and not Path(f"{bert}.index").is_file():
            raise NL2SQLDataError(f"bert={bert}: {'a file, not a folder' if bert.exists() else 'does not exist'}; "
                                  f"NL_BERT / data.bert names the downloaded checkpoint's folder (Hugging Face or "
                                  f"Google TF)")
        files = sorted(bert.iterdir()) if bert.is_dir() else sorted(bert.parent.glob(f"{bert.name}*"))
        stamp["bert"] = [(f.name, f.stat().st_size) for f in files]
    return stamp


# ---------------------------------------------------------------- tokenizer

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


# ---------------------------------------------------------------- 1. preprocess

def _comparable(table: dict) -> tuple:
    return tuple(table["header"]), tuple(table["types"])


def _encode_naming_files(files: dict, splits, questions, tables, tok, enc_args, **kw):
    """encode(), with its errors prefixed by the tables files they concern."""
    try:
        return encode(questions, tables, tok, **enc_args, **kw)
    except NL2SQLDataError as e:
        raise NL2SQLDataError(f"{' or '.join(str(files[s]['tables']) for s in splits)}: {e}") from None


def preprocess(cfg: dict, out_dir, source: str = "auto") -> dict:
    out_dir = Path(out_dir)
    kind, files = source_files(cfg, source)
    if kind == "sample":
        s = cfg["sample"]
        use_sample("nl2sql", cfg, sample.generate, "train/train.json ...",
                   f"{s['n_train']} train / {s['n_val']} val / {s['n_test']} test questions")
    loaded = {}
    for split in SPLITS:
        if split not in files or not files[split].get("questions"):
            continue
        for what in ("questions", "tables"):
            if not Path(files[split][what]).exists():
                raise SystemExit(f"error: {files[split][what]} not found ({split} {what}); the layout is "
                                 f"{cfg['raw_dir']}/{split}/{split}.json, {split}.tables.json[, {split}.db]")
        loaded[split] = load(files, split, labelled=split != "test")
        if files[split].get("db") and Path(files[split]["db"]).exists():   # a bad .db would only show at scoring
            from .sql import Executor
            Executor(loaded[split][1], files[split]["db"])._open_db()
        print(f"[nl2sql] {split}: {len(loaded[split][0])} questions on {len(loaded[split][1])} tables "
              f"({files[split]['questions']})", flush=True)
    for need in ("train", "val"):
        if need not in loaded:
            raise SystemExit(f"error: no {need} split configured; NL2SQL needs labelled train and val questions")
    out_dir.mkdir(parents=True, exist_ok=True)
    io.retire(out_dir / "manifest.json")    # nothing downstream trusts the folder until the new manifest is in
    if cfg.get("bert"):
        from ..bert.checkpoint import read_config
        try:
            bert_cfg = read_config(cfg["bert"])
        except (OSError, ValueError) as e:         # the loader's own sentence: what is missing or malformed
            raise NL2SQLDataError(f"bert={cfg['bert']}: {e}") from None
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
    clash = [t for t in loaded["train"][1].keys() & loaded["val"][1].keys()
             if _comparable(loaded["train"][1][t]) != _comparable(loaded["val"][1][t])]
    if clash:      # one would silently replace the other: its questions would get the other table's columns
        raise NL2SQLDataError(f"{files['train']['tables']} and {files['val']['tables']}: table id '{clash[0]}'"
                              f"{f' (and {len(clash) - 1} more)' if len(clash) > 1 else ''} names different tables "
                              f"in the two files; table ids must be unique across train and val")
    labelled = _encode_naming_files(files, ("train", "val"), labelled_q, tables, tok, enc_args, progress=True)
    labelled.save(out_dir / "labelled.enc.npz")
    stats = labelled.stats
    n_train = len(loaded["train"][0])
    split_of = np.array([0] * n_train + [1] * len(loaded["val"][0]), np.int8)
    test_n = 0
    if "test" in loaded:
        test = _encode_naming_files(files, ("test",), loaded["test"][0], loaded["test"][1], tok, enc_args,
                                    with_labels=False)
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
    io.reinstate_or_write_json(out_dir / "manifest.json", manifest)
    c = stats["conds"] or 1
    print(f"[nl2sql] encoded {len(labelled)} labelled + {test_n} test questions; condition values: "
          f"{stats['verbatim'] / c:.1%} verbatim, {stats['aligned'] / c:.1%} aligned to a word n-gram, "
          f"{stats['unaligned'] / c:.1%} not found, {stats['past_limit'] / c:.1%} found past max_len={max_len} "
          f"(untagged); {stats['truncated']} questions truncated; {stats['tables_shortened']} tables with header "
          f"names cut below max_header_tokens to fit -> {out_dir}", flush=True)
    if stats["past_limit"]:
        print(f"[nl2sql] warning: {stats['past_limit']} condition values lie past the question tokens kept; their "
              f"tokens are not tagged, so the model never learns them: raise max_len or lower max_header_tokens",
              flush=True)
    return manifest


# ---------------------------------------------------------------- folds

FOLDS_INPUT = {"processed": "data/processed/nl2sql"}     # kexue.core.protocol


def make_folds(params: dict, directory) -> np.ndarray:
    """holdout: train rows always train (-1), val rows are the one validation fold (0).
    An int k: k folds over train + val, grouped by table so no table is on both sides."""
    processed_dir = Path(directory)
    split_of = np.load(processed_dir / "split_of.npy")
    if params["scheme"] == "holdout":
        folds = np.where(split_of == 1, 0, -1).astype(np.int8)
    else:
        manifest = io.read_json(processed_dir / "manifest.json")
        questions = _labelled_questions(manifest["files"])[0]
        groups = np.array([q["table_id"] for q in questions])
        folds = assign_folds(int(params["scheme"]), int(params["seed"]), groups=groups, stratify=False,
                             group_name="tables", row_name="labelled questions", key="folds.scheme")
    return folds

def _labelled_questions(files: dict):
    tq, tt = load(files, "train", True)
    vq, vt = load(files, "val", True)
    return tq + vq, {**tt, **vt}
