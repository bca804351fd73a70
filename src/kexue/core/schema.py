"""Types, allowed values and ranges of config keys, checked when a config is resolved.

Configs stay plain YAML. A key is checked twice:
- against the type of its value in the config file itself (the file is the schema's default: `epochs: 12`
  takes integers), unless a rule below says more precisely what it takes;
- against the rules below, matched on the dotted key (`fnmatch` patterns, the same meaning in every
  competition), so a typo (`on_bad_file: skp`) or an impossible value (`k: 1`, `lr: -1`) stops at resolve
  time, before a stage starts TensorFlow or creates a run folder.
A key a user adds with '+' has no file type to follow; the rules still apply to it. A pattern written
`comp:key` applies only to the configs of that competition (configs/<comp>/).
"""
from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MISSING = object()      # get_dotted's default when a key is absent (None is a value)


def get_dotted(cfg: dict, key: str, default: Any = None) -> Any:
    """cfg["a"]["b"] for key "a.b"; `default` where any part is missing."""
    node = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


@dataclass(frozen=True)
class Check:
    expected: str                      # words for the error message: "an integer >= 0"
    ok: Callable[[Any], bool]

    def __or__(self, other: Check) -> Check:
        return Check(f"{self.expected} or {other.expected}", lambda v: self.ok(v) or other.ok(v))


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _bounds(lo, hi, lo_open, hi_open) -> tuple[str, Callable[[float], bool]]:
    words, tests = [], []
    if lo is not None:
        words.append(f"{'>' if lo_open else '>='} {lo}")
        tests.append((lambda v: v > lo) if lo_open else (lambda v: v >= lo))
    if hi is not None:
        words.append(f"{'<' if hi_open else '<='} {hi}")
        tests.append((lambda v: v < hi) if hi_open else (lambda v: v <= hi))
    return (" " + " and ".join(words) if words else ""), (lambda v: all(t(v) for t in tests))


def integer(lo=None, hi=None) -> Check:
    words, test = _bounds(lo, hi, False, False)
    return Check(f"an integer{words}", lambda v: _is_int(v) and test(v))


def number(lo=None, hi=None, lo_open=False, hi_open=False) -> Check:
    words, test = _bounds(lo, hi, lo_open, hi_open)
    return Check(f"a number{words}", lambda v: _is_num(v) and test(v))


def one_of(*values) -> Check:
    return Check("one of " + " | ".join(map(str, values)),
                 lambda v: not isinstance(v, (list, dict)) and any(v == x and type(v) is type(x) for x in values))


def list_of(item: Check, length: int | None = None) -> Check:
    n = f"{length} " if length else ""
    return Check(f"a list of {n}{item.expected.removeprefix('a ').removeprefix('an ')}s",
                 lambda v: isinstance(v, list) and bool(v) and (length is None or len(v) == length)
                 and all(item.ok(x) for x in v))


NULL = Check("null", lambda v: v is None)
TEXT = Check("a text", lambda v: isinstance(v, str) and v != "")
BOOL = Check("true or false", lambda v: isinstance(v, bool))
POSITIVE = integer(1)
SHARE = number(0, 1, hi_open=True)                      # dropouts: 1 would drop everything

RULES: dict[str, Check] = {
    # every competition
    "seed": integer(), "*.seed": integer(),
    "epochs": integer(0), "epochs_*": integer(0), "*.epochs": integer(1),
    "lr": number(0, lo_open=True), "lr_*": number(0, lo_open=True),
    "lr_drop_at": NULL | number(0, 1, lo_open=True, hi_open=True), "lr_drop_factor": number(0, 1, lo_open=True),
    "batch_size": POSITIVE, "predict_batch_size": POSITIVE, "steps_per_epoch": NULL | POSITIVE,
    "dropout": SHARE, "*_dropout": SHARE,
    "selection": one_of("inner", "last", "outer"),
    "selection_fraction": number(0, 0.5, lo_open=True),
    "precision": one_of("float32", "mixed_float16", "mixed_bfloat16"),
    "verbose": one_of("auto", 0, 1, 2),
    "ema": one_of("auto") | NULL | number(0, 1, hi_open=True),
    "deterministic": BOOL,
    "member_models": one_of("all") | list_of(TEXT),
    "name": TEXT,
    # folds: at least two (one fold has nothing to train on)
    "k": integer(2), "folds.n": integer(2), "scheme": one_of("holdout") | integer(2),
    "holdout": BOOL,
    # networks
    "dim": POSITIVE, "dense": POSITIVE, "kernel_size": POSITIVE, "csel_dim": POSITIVE,
    "dilations": list_of(POSITIVE), "*_dilations": list_of(POSITIVE), "filters": list_of(POSITIVE),
    "max_len": integer(8), "max_header_tokens": POSITIVE, "max_answer_len": POSITIVE,
    "encode.q_max": POSITIVE, "encode.p_max": POSITIVE, "encode.p_stride": POSITIVE,
    "random_backbone.*": POSITIVE,
    "warmup": number(0, 1), "min_steps": integer(0), "weight_decay": number(0),
    "focal_gamma": number(0), "focal_alpha": number(0, 1),
    "loss": one_of("zlpr", "bce"), "sel_loss": one_of("softmax", "zlpr"),
    "tokenizer": one_of("auto", "char", "wordpiece"), "lowercase": one_of("auto") | BOOL,
    "bert": NULL | TEXT, "distribute": one_of("auto", "mirrored", "default", "multiworker"),
    "augment_shift": integer(0),
    # spectra
    "on_bad_file": one_of("error", "skip"),
    "n_values": POSITIVE, "bin_size": POSITIVE, "chunk": POSITIVE, "workers": NULL | POSITIVE,
    "store_dtype": one_of("float16", "float32", "float64"),
    "predict_set": one_of("test", "rank"),
    "views.*": POSITIVE, "pca": POSITIVE, "neighbours": POSITIVE,
    "trees": POSITIVE, "min_leaf": POSITIVE,
    # a share of the features (flux_rf: of the bins) or a count of them (tfidf-lr: of the n-grams)
    "max_features": NULL | number(0, 1, lo_open=True) | POSITIVE,
    "scaling": one_of("median", "asinh", "zscore", "continuum", "none"),
    "class_weight": NULL | one_of("balanced"), "classes": NULL | list_of(TEXT),
    "candidates": list_of(one_of("members", "mean", "weights", "stack_lr", "stack_lgbm")),
    "pick": one_of("one_se", "best"),
    "stack_lr.C": number(0, lo_open=True), "stack_lgbm.num_boost_round": POSITIVE,
    "stack_lgbm.num_leaves": integer(2), "stack_lgbm.min_data_in_leaf": integer(0),
    "stack_lgbm.learning_rate": number(0, lo_open=True),
    "lgbm.num_boost_round": POSITIVE, "lgbm.num_leaves": integer(2), "lgbm.min_data_in_leaf": integer(0),
    "lgbm.learning_rate": number(0, lo_open=True), "lgbm.lambda_l2": number(0), "lgbm.num_threads": integer(0),
    "lgbm.bagging_fraction": number(0, 1, lo_open=True), "lgbm.feature_fraction": number(0, 1, lo_open=True),
    "lgbm.bagging_freq": integer(0),
    # submissions, decoding, thresholds
    "qa:missing": one_of("error", "empty"), "spectra:missing": TEXT,     # spectra: error or a class name
    "on_truncated": one_of("error", "skip"),
    "threshold": number(0, 1), "snap_min_score": number(0, 100),
    "match_columns_min_prob": number(0, 1),
    "thresholds": one_of("fixed", "tuned", "choose"), "grid": list_of(number(0, 1), 3),
    "value_compare": one_of("exact", "casefold"),
    "snap": BOOL, "cells": BOOL, "execution": BOOL, "numbers": BOOL, "voting": BOOL,
    # generated samples
    "sample.n_*": integer(0),
    "word2vec.dim": POSITIVE, "word2vec.window": POSITIVE, "word2vec.min_count": POSITIVE,
    "word2vec.corpus": one_of("all", "train"), "word2vec.limit": NULL | POSITIVE,
    "char_min_count": POSITIVE, "encode.char_min_count": POSITIVE,
}


# values that are each fine alone but not together: (keys, test on their values, what is expected)
TOGETHER: list[tuple[tuple[str, ...], Callable[..., bool], str]] = [
    (("encode.p_stride", "encode.p_max"), lambda stride, p_max: stride <= p_max,
     "p_stride <= p_max (windows that skip characters lose answers)"),
    (("epochs_ce", "epochs_f1"), lambda a, b: a + b >= 1, "at least one epoch in all (epochs_ce + epochs_f1 >= 1)"),
]


def _type_check(default) -> Check | None:
    """What the file's own value says the key takes (None where the file is no guide: null, sections)."""
    if default is None or isinstance(default, dict):
        return None
    if isinstance(default, bool):
        return BOOL
    if _is_int(default):
        return integer()
    if isinstance(default, float):
        return number()
    if isinstance(default, str):
        return Check("a text", lambda v: isinstance(v, str))
    if isinstance(default, list):
        return Check("a list", lambda v: isinstance(v, list))
    return None


def leaves(cfg: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in cfg.items():
        if str(key).startswith("_"):
            continue
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and not _is_mapping_value(dotted):
            yield from leaves(value, dotted + ".")
        else:
            yield dotted, value


def _is_mapping_value(key: str) -> bool:
    """Sections whose keys are data (class names), not config keys."""
    return key.rpartition(".")[2] in {"class_shares"}


def rule_for(key: str, comp: str = "") -> Check | None:
    for name in (f"{comp}:{key}", key):
        if name in RULES:
            return RULES[name]
    for pattern, check in RULES.items():
        scope, _, pat = pattern.rpartition(":")
        if scope in ("", comp) and any(c in pat for c in "*?[") and fnmatch.fnmatchcase(key, pat):
            return check
    return None


def problems(cfg: dict, defaults: dict, comp: str = "") -> list[tuple[str, Any, str]]:
    """(key, value, expected) for every leaf of `cfg` its rule or its default's type refuses."""
    out = []
    for key, value in leaves(cfg):
        check = rule_for(key, comp)
        if check is None:
            default = get_dotted(defaults, key, MISSING)
            check = None if default is MISSING else _type_check(default)
            if check is not None and isinstance(default, float) and _is_int(value):
                continue                           # lr: 1 where the file says 0.001
        if check is not None and not check.ok(value):
            out.append((key, value, check.expected))
    if out:
        return out                      # one value wrong alone: its own message says more than a pairing rule
    for keys, test, expected in TOGETHER:
        values = [get_dotted(cfg, k, MISSING) for k in keys]
        if all(v is not MISSING and _is_num(v) for v in values) and not test(*values):
            out.append((" and ".join(keys), tuple(values), expected))
    return out
