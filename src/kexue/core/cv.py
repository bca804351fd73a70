"""The one k-fold loop every competition uses.

A solution supplies its data (`CVData`) and a model factory; this module owns the folds,
seeds, timing, resuming and the artefacts. A model is anything with

    fit(x_train, y_train, x_valid, y_valid) -> dict | None   (a summary for the log)
    predict(x) -> np.ndarray | dict[str, np.ndarray]          (probabilities, one row per input)

and is built by `make_model(params, workdir, seed, classes)`. `workdir` is the fold's folder,
where a model keeps checkpoints so an interrupted fold resumes instead of restarting.

Model selection never sees the scored rows. A model that picks something on validation data (its best epoch)
says so with `selects = True`; what it is given as (x_valid, y_valid) is then decided here, by the run's
`selection` param:
    inner (default)  a `selection_fraction` of the fold's training rows, carved like the outer folds (grouped,
                     stratified); the model trains on the rest. The fold's own rows reach neither fit() nor the
                     choice of epoch, so its OOF score is honest.
    last             every training row, nothing to select on: the last epoch is kept.
    outer            the fold's scored rows themselves: the pre-2026 behaviour, kept only to measure its bias.
                     Every score of such a run is labelled OPTIMISTIC.
A model that selects nothing (LightGBM with a fixed number of rounds) trains on every training row.

Predictions are one array (a classifier) or a dict of arrays (a model with several heads, such
as NL2SQL); every array has one row per input, and OOF assembly, fold averaging and blending work
head by head. Rows whose fold is -1 are always trained on and never scored (a fixed train split
with a separate validation split is `folds = -1 for train, 0 for val`).
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import env, io, protocol
from . import metrics as metrics_lib
from .folds import inner_split
from .runlog import Run

SELECTION_MODES = ("inner", "last", "outer")
OPTIMISTIC = "OPTIMISTIC: epochs picked on the scored rows"


class Rows:
    """Lazy row subset of an array (often a memmap): indexing reads only the rows asked for."""

    def __init__(self, array, index=None):
        self.array = array
        self.index = np.arange(len(array)) if index is None else np.asarray(index)

    def __len__(self):
        return len(self.index)

    def take(self, idx) -> Rows:
        return Rows(self.array, self.index[idx])

    def __getitem__(self, idx) -> np.ndarray:
        rows = self.index[idx]
        if np.ndim(rows) == 0:
            return np.asarray(self.array[rows])
        order = np.argsort(rows, kind="stable")  # sorted reads are much faster on a memmap
        out = np.empty((len(rows),) + self.array.shape[1:], dtype=self.array.dtype)
        out[order] = self.array[rows[order]]
        return out

    def __array__(self, dtype=None, copy=None):
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)


def take(x, idx):
    """Rows `idx` of an array, a Rows, a dict of those (head by head) or any object with .take."""
    if isinstance(x, dict):
        return {k: take(v, idx) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x[idx]
    if hasattr(x, "take"):
        return x.take(idx)
    return [x[i] for i in np.asarray(idx)]


def n_rows(x) -> int:
    return len(next(iter(x.values()))) if isinstance(x, dict) else len(x)


def save_pred(directory, stem: str, pred) -> None:
    """`<stem>.npy` for one array, `<stem>.npz` (one entry per head) for a dict."""
    if isinstance(pred, dict):
        with io.atomic_path(Path(directory) / f"{stem}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, **pred)
    else:
        io.save_npy(Path(directory) / f"{stem}.npy", pred)


def load_pred(directory, stem: str):
    npz = Path(directory) / f"{stem}.npz"
    if npz.exists():
        with np.load(npz) as z:
            return {k: z[k] for k in z.files}
    return np.load(Path(directory) / f"{stem}.npy")


def mean_pred(preds: list, weights=None):
    """(Weighted) mean of predictions, head by head for dicts."""
    w = np.full(len(preds), 1 / len(preds)) if weights is None else np.asarray(weights, float)
    if isinstance(preds[0], dict):
        return {k: mean_pred([p[k] for p in preds], w) for k in preds[0]}
    return sum(wi * np.asarray(p, np.float32) for wi, p in zip(w, preds)).astype(np.float32)


@dataclass
class CVData:
    x: Any                 # training inputs, indexable by an int array (ndarray or Rows)
    y: np.ndarray          # class index per training row
    folds: np.ndarray      # validation fold per training row
    x_test: Any
    classes: list
    score: Callable = metrics_lib.classification_report  # (y, pred, classes) -> report dict
    headline: str = "macro_f1"                            # the report key that ranks runs
    groups: Any = None     # rows that must stay on one side of a split (a table, a question, a document)

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1

    def selection_rows(self, train_idx, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(fit rows, selection rows) of a fold's training rows, carved as the outer folds are: whole groups,
        classes in proportion for a single-label classifier."""
        y = np.asarray(self.y)
        single_label = self.classes is not None and y.ndim == 1 and np.issubdtype(y.dtype, np.integer)
        return inner_split(train_idx, fraction, seed, y=y if single_label else None, groups=self.groups)


def set_seeds(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and (where it is loaded: importing it costs seconds) Keras; with `deterministic`, also
    TensorFlow's op determinism, so that the same data, config and seed give the same predictions on a CPU
    (benchmarks/determinism.py measures what it costs). String hashing (PYTHONHASHSEED) is fixed by the Makefile:
    it only counts when set before Python starts."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    if deterministic and "tensorflow" in sys.modules:
        sys.modules["tensorflow"].config.experimental.enable_op_determinism()


def _check_pred(pred, n, n_classes, what):
    if isinstance(pred, dict):
        return {k: _check_pred(v, n, None, f"{what} head '{k}'") for k, v in pred.items()}
    pred = np.asarray(pred)
    pred = pred if pred.dtype == np.float16 else pred.astype(np.float32)
    if len(pred) != n or (n_classes is not None and pred.shape != (n, n_classes)):
        expected = f"({n}, {n_classes})" if n_classes is not None else f"{n} rows"
        raise ValueError(f"{what}: model returned shape {pred.shape}, expected {expected}")
    if not np.isfinite(pred).all():
        raise ValueError(f"{what}: model returned non-finite probabilities")
    return pred


def _empty_like(pred, n):
    if isinstance(pred, dict):
        return {k: _empty_like(v, n) for k, v in pred.items()}
    return np.zeros((n,) + pred.shape[1:], pred.dtype)


def _fill(out, rows, pred):
    if isinstance(out, dict):
        for k in out:
            _fill(out[k], rows, pred[k])
    else:
        out[rows] = pred


def selection_plan(params: dict, model, data: CVData, train_idx, valid_idx, seed: int):
    """(mode, fit rows, selection rows) for one fold: see the module docstring."""
    mode = params.get("selection", "inner")
    if mode not in SELECTION_MODES:
        raise SystemExit(f"error: selection must be one of {', '.join(SELECTION_MODES)}, not {mode!r}")
    if not getattr(model, "selects", False):
        return "none", train_idx, train_idx[:0]
    if mode == "inner":
        try:
            fit_idx, select_idx = data.selection_rows(train_idx, float(params.get("selection_fraction", 0.15)), seed)
        except ValueError as e:
            raise SystemExit(f"error: {e}") from None
        return mode, fit_idx, select_idx
    return mode, train_idx, (valid_idx if mode == "outer" else train_idx[:0])


def train_fold(run: Run, fold: int, data: CVData, make_model: Callable, score: Callable | None = None) -> dict:
    """Train one fold and write its predictions; a fold whose done.json exists is skipped."""
    fold_dir = run.fold_dir(fold)
    done_path = fold_dir / "done.json"
    if done_path.exists():
        run.log(f"fold {fold}: already done, skipping")
        return io.read_json(done_path)
    fold_dir.mkdir(parents=True, exist_ok=True)
    for tmp in io.remove_stale_temporaries(fold_dir):      # this process is the fold folder's one writer
        run.log(f"fold {fold}: removed {tmp.name}, a temporary file left by a killed run")
    params = run.params
    score = score or data.score
    train_idx, valid_idx = np.flatnonzero(data.folds != fold), np.flatnonzero(data.folds == fold)
    seed = int(params.get("seed", 0)) + fold
    set_seeds(seed)
    model = make_model(params, fold_dir, seed, data.classes)
    set_seeds(seed, bool(params.get("deterministic", True)))  # again: building the model may have loaded Keras
    mode, fit_idx, select_idx = selection_plan(params, model, data, train_idx, valid_idx, seed)
    source = run.info.get("data_source", "")
    run.log(f"fold {fold} of {data.n_folds}: train {len(fit_idx)}"
            + (f" + select {len(select_idx)} ({mode})" if mode != "none" else "") + f", valid {len(valid_idx)}, "
            f"seed {seed}" + (f", {source} data" if source else "") + (f"  [{OPTIMISTIC}]" if mode == "outer" else ""))
    t0 = time.time()
    fit_info = model.fit(take(data.x, fit_idx), take(data.y, fit_idx), take(data.x, select_idx),
                         take(data.y, select_idx)) or {}
    t_fit = time.time() - t0
    n_classes = None if data.classes is None else len(data.classes)
    valid_pred = _check_pred(model.predict(take(data.x, valid_idx)), len(valid_idx), n_classes, f"fold {fold} valid")
    t1 = time.time()
    n_test = n_rows(data.x_test)
    test_pred = _check_pred(model.predict(data.x_test), n_test, n_classes, f"fold {fold} test") \
        if n_test else _empty_like(valid_pred, 0)
    t_test = time.time() - t1
    save_pred(fold_dir, "valid_pred", valid_pred)
    save_pred(fold_dir, "test_pred", test_pred)
    result = {
        "fold": fold, "seed": seed, "n_train": len(fit_idx), "n_select": len(select_idx), "n_valid": len(valid_idx),
        "selection": mode, "optimistic": mode == "outer",
        "metrics": score(take(data.y, valid_idx), valid_pred, data.classes),
        "fit": fit_info, "seconds": {"fit": round(t_fit, 2), "predict_test": round(t_test, 2)},
        "provenance": env.provenance(),
    }
    io.write_json(done_path, result)  # written last: its presence means the fold is complete
    run.log(f"fold {fold}: {data.headline} {result['metrics'][data.headline]:.4f} ({t_fit:.0f}s)"
            + (" OPTIMISTIC" if mode == "outer" else ""))
    return result


def collect(run: Run, data: CVData, score: Callable | None = None, headline: str | None = None) -> dict:
    """Assemble OOF and test predictions from the folds and write cv.json (and the confusion plot)."""
    score, headline = score or data.score, headline or data.headline
    results, oof, test = [], None, []
    for fold in range(data.n_folds):
        done_path = run.fold_dir(fold) / "done.json"
        if not done_path.exists():
            raise FileNotFoundError(f"{run.dir}: fold {fold} has not finished (no {done_path.name}); train it first")
        results.append(io.read_json(done_path))
        valid_pred = load_pred(run.fold_dir(fold), "valid_pred")
        if oof is None:
            oof = _empty_like(valid_pred, len(data.folds))
        _fill(oof, data.folds == fold, valid_pred)
        test.append(load_pred(run.fold_dir(fold), "test_pred"))
    fold_scores = [r["metrics"][headline] for r in results]
    scored = np.flatnonzero(data.folds >= 0)
    report = score(take(data.y, scored), take(oof, scored), data.classes)
    modes = sorted({r.get("selection", "unknown") for r in results})
    keys = ("fold", "seed", "n_train", "n_select", "n_valid", "selection", "metrics", "fit", "seconds", "provenance")
    cv = write_run(run, oof, mean_pred(test), report, fold_scores, data.classes,
                   headline, provenance=_folds_provenance(run, results), extra={
                       "selection": modes[0] if len(modes) == 1 else modes,
                       "optimistic": any(r.get("optimistic", r.get("selection") == "outer") for r in results),
                       "folds": [{k: r[k] for k in keys if k in r} for r in results],
                       "seconds": {"fit_total": round(sum(r["seconds"]["fit"] for r in results), 2),
                                   "wall_total": round(sum(sum(r["seconds"].values()) for r in results), 2)}})
    run.log(f"OOF {headline} {cv['score']:.4f} (folds {' '.join(f'{s:.4f}' for s in fold_scores)})"
            + (f" [{OPTIMISTIC}]" if cv["optimistic"] else "") + f" -> {run.dir}")
    return cv


def _folds_provenance(run: Run, results: list[dict]) -> dict:
    """The code that produced the folds' predictions: their git commit, versions and code hash when they all
    agree; every distinct value (and a warning) when folds were trained by different code."""
    provs = [r.get("provenance") or {k: run.info.get(k) for k in ("git_commit", "versions")} for r in results]
    out = {}
    for key in ("git_commit", "versions", "code_hash"):
        distinct = list(dict.fromkeys(io.dumps(p.get(key)) for p in provs))
        out[key] = provs[0].get(key) if len(distinct) == 1 else [p.get(key) for p in provs]
        if len(distinct) > 1:
            run.log(f"warning: the folds were trained with different {key} (see cv.json 'folds'); "
                    f"retrain them all for one provenance")
    return out


def write_run(run: Run, oof, test, oof_report: dict, fold_scores, classes, headline: str = "macro_f1",
              extra: dict | None = None, provenance: dict | None = None) -> dict:
    """A finished run's artefacts, the same for a model and for a blend: oof.npy, test.npy,
    confusion.png, then cv.json (last: its presence marks the run complete). `provenance` (git commit, versions,
    code hash) is that of the code that made the predictions: this process's unless given."""
    info = run.info
    cv = {
        "run_id": run.id, **{k: info[k] for k in ("competition", "model", "data_fingerprint", "folds_fingerprint")},
        **(provenance or env.provenance()),
        "metric": headline, "score": oof_report[headline],
        "fold_scores": fold_scores, "fold_mean": float(np.mean(fold_scores)), "fold_std": float(np.std(fold_scores)),
        "oof": oof_report, "classes": None if classes is None else list(classes), **(extra or {}), "params": run.params,
    }
    save_pred(run.dir, "oof", oof if isinstance(oof, dict) else np.asarray(oof, np.float32))
    save_pred(run.dir, "test", test if isinstance(test, dict) else np.asarray(test, np.float32))
    if "confusion" in oof_report:
        from . import (
            plots,  # drawing is not training: a plot edit must not look like a model change
        )
        plots.confusion_matrix(oof_report["confusion"], classes, run.dir / "confusion.png",
                               title=f"{run.id}  OOF {headline} {oof_report[headline]:.4f}"
                               + ("  (OPTIMISTIC)" if (extra or {}).get("optimistic") else ""))
    io.write_json(run.dir / "cv.json", cv)
    return cv


def run_cv(run: Run, data: CVData, make_model: Callable, **kw) -> dict:
    """All folds in this process, then collect (the API path; make runs folds as separate targets)."""
    for fold in range(data.n_folds):
        train_fold(run, fold, data, make_model, **{k: v for k, v in kw.items() if k == "score"})
    return collect(run, data, **kw)


def train_parser(description: str, **paths: str) -> argparse.ArgumentParser:
    """The command line of a competition's train stage: --params, one --<name> option per path (with its
    default), and what to do: --print-run-id, --fold K [--redo], --all or --collect. Add more options to it."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", required=True, help="resolved model config (JSON)")
    protocol.add_inputs(p, paths)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--print-run-id", action="store_true", help="print the run id these inputs map to")
    g.add_argument("--fold", type=int, help="train this fold")
    g.add_argument("--all", action="store_true", help="train every fold, then collect")
    g.add_argument("--collect", action="store_true", help="assemble OOF/test predictions and write cv.json")
    p.add_argument("--redo", action="store_true", help="discard a finished fold's results and train it again")
    return p


def train_command(args, run: Run, prepare: Callable) -> None:
    """Carry out a train_parser command for `run`. prepare(with_model) -> (CVData, make_model or None): collecting
    needs no model, and so need not import TensorFlow."""
    if args.print_run_id:
        print(run.id)
        return
    data, make_model = prepare(not args.collect)
    if args.fold is not None:
        if args.redo and (run.fold_dir(args.fold) / "done.json").exists():
            shutil.rmtree(run.fold_dir(args.fold))
        train_fold(run, args.fold, data, make_model)
    elif args.all:
        run_cv(run, data, make_model)
    else:
        collect(run, data)


def train_main(description: str, stages, argv=None) -> None:
    """A competition's whole train stage (pipelines/<comp>/train.py) from its stages module (kexue.core.protocol):
    the command line from stages.INPUTS, the run from open_run, the CV data and model from cv_data and
    model_factory (the model only when a fold is trained: collecting imports no TensorFlow)."""
    args = train_parser(description, **stages.INPUTS).parse_args(argv)
    inputs = protocol.read_inputs(args, stages)
    params = io.read_json(args.params)
    if params.get("distribute") == "multiworker" and (args.fold is not None or args.all):
        from . import (
            multiworker,  # the strategy before TensorFlow runs anything (TF_CONFIG set by the user)
        )
        multiworker.strategy()
    if hasattr(stages, "run_params"):
        params = stages.run_params(params, inputs)
    run = stages.open_run(params, inputs)

    def prepare(with_model: bool):
        data = stages.cv_data(params, inputs)
        return data, stages.model_factory(params, inputs, data) if with_model else None

    train_command(args, run, prepare)
