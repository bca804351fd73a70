"""The one k-fold loop every competition uses.

A solution supplies its data (`CVData`) and a model factory; this module owns the folds,
seeds, timing, resuming and the artefacts. A model is anything with

    fit(x_train, y_train, x_valid, y_valid) -> dict | None   (a summary for the log)
    predict(x) -> np.ndarray                                  (probabilities, one row per input)

and is built by `make_model(params, workdir, seed, classes)`. `workdir` is the fold's folder,
where a model keeps checkpoints so an interrupted fold resumes instead of restarting.
"""
from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import io, metrics as metrics_lib, plots
from .runlog import Run


class Rows:
    """Lazy row subset of an array (often a memmap): indexing reads only the rows asked for."""

    def __init__(self, array, index=None):
        self.array = array
        self.index = np.arange(len(array)) if index is None else np.asarray(index)

    def __len__(self):
        return len(self.index)

    def take(self, idx) -> "Rows":
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
    return x.take(idx) if isinstance(x, Rows) else x[idx]


@dataclass
class CVData:
    x: Any                 # training inputs, indexable by an int array (ndarray or Rows)
    y: np.ndarray          # class index per training row
    folds: np.ndarray      # validation fold per training row
    x_test: Any
    classes: list

    @property
    def n_folds(self) -> int:
        return int(self.folds.max()) + 1


def set_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if "keras" in sys.modules:  # seed keras only where it is used: importing it costs seconds
        sys.modules["keras"].utils.set_random_seed(seed)


def _check_proba(pred, n_rows, n_classes, what):
    pred = np.asarray(pred, dtype=np.float32)
    if pred.shape != (n_rows, n_classes):
        raise ValueError(f"{what}: model returned shape {pred.shape}, expected ({n_rows}, {n_classes})")
    if not np.isfinite(pred).all():
        raise ValueError(f"{what}: model returned non-finite probabilities")
    return pred


def train_fold(run: Run, fold: int, data: CVData, make_model: Callable, score=metrics_lib.classification_report) -> dict:
    """Train one fold and write its predictions; a fold whose done.json exists is skipped."""
    fold_dir = run.fold_dir(fold)
    done_path = fold_dir / "done.json"
    if done_path.exists():
        run.log(f"fold {fold}: already done, skipping")
        return io.read_json(done_path)
    fold_dir.mkdir(parents=True, exist_ok=True)
    params = run.params
    train_idx, valid_idx = np.flatnonzero(data.folds != fold), np.flatnonzero(data.folds == fold)
    seed = int(params.get("seed", 0)) + fold
    set_seeds(seed)
    source = run.info.get("data_source", "")
    run.log(f"fold {fold} of {data.n_folds}: train {len(train_idx)}, valid {len(valid_idx)}, seed {seed}"
            + (f", {source} data" if source else ""))
    model = make_model(params, fold_dir, seed, data.classes)
    t0 = time.time()
    fit_info = model.fit(take(data.x, train_idx), data.y[train_idx], take(data.x, valid_idx), data.y[valid_idx]) or {}
    t_fit = time.time() - t0
    valid_pred = _check_proba(model.predict(take(data.x, valid_idx)), len(valid_idx), len(data.classes), f"fold {fold} valid")
    t1 = time.time()
    test_pred = _check_proba(model.predict(data.x_test), len(data.x_test), len(data.classes), f"fold {fold} test") \
        if len(data.x_test) else np.zeros((0, len(data.classes)), np.float32)
    t_test = time.time() - t1
    io.save_npy(fold_dir / "valid_pred.npy", valid_pred)
    io.save_npy(fold_dir / "test_pred.npy", test_pred)
    result = {
        "fold": fold, "seed": seed, "n_train": len(train_idx), "n_valid": len(valid_idx),
        "metrics": score(data.y[valid_idx], valid_pred, data.classes),
        "fit": fit_info, "seconds": {"fit": round(t_fit, 2), "predict_test": round(t_test, 2)},
    }
    io.write_json(done_path, result)  # written last: its presence means the fold is complete
    run.log(f"fold {fold}: macro-F1 {result['metrics']['macro_f1']:.4f} ({t_fit:.0f}s)")
    return result


def collect(run: Run, data: CVData, score=metrics_lib.classification_report, headline: str = "macro_f1") -> dict:
    """Assemble OOF and test predictions from the folds and write cv.json and the confusion plot."""
    results, oof, test = [], None, []
    for fold in range(data.n_folds):
        done_path = run.fold_dir(fold) / "done.json"
        if not done_path.exists():
            raise FileNotFoundError(f"{run.dir}: fold {fold} has not finished (no {done_path.name}); train it first")
        results.append(io.read_json(done_path))
        valid_pred = np.load(run.fold_dir(fold) / "valid_pred.npy")
        if oof is None:
            oof = np.zeros((len(data.y), valid_pred.shape[1]), np.float32)
        oof[data.folds == fold] = valid_pred
        test.append(np.load(run.fold_dir(fold) / "test_pred.npy"))
    fold_scores = [r["metrics"][headline] for r in results]
    cv = write_run(run, oof, np.mean(test, axis=0), score(data.y, oof, data.classes), fold_scores, data.classes,
                   headline, extra={
                       "folds": [{k: r[k] for k in ("fold", "seed", "n_train", "n_valid", "metrics", "fit", "seconds")}
                                 for r in results],
                       "seconds": {"fit_total": round(sum(r["seconds"]["fit"] for r in results), 2),
                                   "wall_total": round(sum(sum(r["seconds"].values()) for r in results), 2)}})
    run.log(f"OOF {headline} {cv['score']:.4f} (folds {' '.join(f'{s:.4f}' for s in fold_scores)}) -> {run.dir}")
    return cv


def write_run(run: Run, oof, test, oof_report: dict, fold_scores, classes, headline: str = "macro_f1",
              extra: dict | None = None) -> dict:
    """A finished run's artefacts, the same for a model and for a blend: oof.npy, test.npy,
    confusion.png, then cv.json (last: its presence marks the run complete)."""
    info = run.info
    cv = {
        "run_id": run.id, **{k: info[k] for k in ("competition", "model", "data_fingerprint", "folds_fingerprint",
                                                   "git_commit", "versions")},
        "metric": headline, "score": oof_report[headline],
        "fold_scores": fold_scores, "fold_mean": float(np.mean(fold_scores)), "fold_std": float(np.std(fold_scores)),
        "oof": oof_report, "classes": list(classes), **(extra or {}), "params": run.params,
    }
    io.save_npy(run.dir / "oof.npy", np.asarray(oof, np.float32))
    io.save_npy(run.dir / "test.npy", np.asarray(test, np.float32))
    plots.confusion_matrix(oof_report["confusion"], classes, run.dir / "confusion.png",
                           title=f"{run.id}  OOF {headline} {oof_report[headline]:.4f}")
    io.write_json(run.dir / "cv.json", cv)
    return cv


def run_cv(run: Run, data: CVData, make_model: Callable, **kw) -> dict:
    """All folds in this process, then collect (the API path; make runs folds as separate targets)."""
    for fold in range(data.n_folds):
        train_fold(run, fold, data, make_model, **{k: v for k, v in kw.items() if k == "score"})
    return collect(run, data, **kw)
