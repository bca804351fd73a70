"""One folder per run: params, provenance, per-fold artefacts, OOF/test predictions and cv.json.

    data/runs/<comp>/<run-id>/
        params.json   resolved config          run.json   provenance (data fingerprint, git, versions)
        fold<k>/      one fold's model, predictions and done.json
        oof.npy       OOF probabilities         test.npy   fold-averaged test probabilities
                      (.npz with one array per head for multi-head models)
        cv.json       the CV log                confusion.png, log.txt
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from . import env, io
from .config import public


def run_id(params: dict, data_fingerprint: str, folds_fingerprint: str) -> str:
    """`<name>-<hash>`: the same config on the same data and folds is the same run."""
    digest = io.short_hash({"params": public(params), "data": data_fingerprint, "folds": folds_fingerprint})
    return f"{params.get('name', 'model')}-{digest}"


class Run:
    def __init__(self, root, run_id: str):
        self.id = run_id
        self.dir = Path(root) / run_id
        self.comp = Path(root).name

    @classmethod
    def create(cls, root, params: dict, data_fingerprint: str, folds_fingerprint: str, extra: dict | None = None):
        run = cls(root, run_id(params, data_fingerprint, folds_fingerprint))
        run.dir.mkdir(parents=True, exist_ok=True)
        if not (run.dir / "run.json").exists():
            io.write_json(run.dir / "params.json", params)
            io.write_json(run.dir / "run.json", {
                "run_id": run.id, "competition": run.comp, "model": params.get("model", params.get("name")),
                "created": dt.datetime.now().isoformat(timespec="seconds"),
                "data_fingerprint": data_fingerprint, "folds_fingerprint": folds_fingerprint,
                "git_commit": env.git_commit(), "versions": env.versions(), "machine": env.machine(),
                **(extra or {}),
            })
        return run

    @property
    def params(self) -> dict:
        return io.read_json(self.dir / "params.json")

    @property
    def info(self) -> dict:
        return io.read_json(self.dir / "run.json")

    def fold_dir(self, fold: int) -> Path:
        return self.dir / f"fold{fold}"

    def log(self, message: str) -> None:
        """Print and append to the run's log.txt, so the log survives the terminal."""
        line = f"[{time.strftime('%H:%M:%S')} {self.id}] {message}"  # the id keeps make -j output apart
        print(line, flush=True)
        with open(self.dir / "log.txt", "a", encoding="utf-8") as f:
            f.write(line + "\n")


def load_members(runs_dir, member_runs: list[str], same=("data_fingerprint", "folds_fingerprint")):
    """(runs, cv.json of each) of the finished runs a blend averages; they must agree on every key of `same`
    (their rows must be the same rows in the same folds) or the blend would mix unrelated predictions."""
    members = [Run(runs_dir, r) for r in member_runs]
    cvs = [io.read_json(m.dir / "cv.json") for m in members]
    for key in same:
        if len({str(c[key]) for c in cvs}) > 1:
            raise SystemExit(f"error: runs {member_runs} differ in {key}; rerun them on the same data and folds")
    return members, cvs


def completed_runs(root) -> list[dict]:
    """cv.json of every finished run under `root`, each with its params."""
    out = []
    for cv_path in sorted(Path(root).glob("*/cv.json")):
        cv = io.read_json(cv_path)
        params_path = cv_path.parent / "params.json"
        cv["params"] = io.read_json(params_path) if params_path.exists() else {}
        cv["path"] = str(cv_path.parent)
        out.append(cv)
    return out


def write_pointer(path, run_dir) -> None:
    """`<model>.run`: the model's current run id, and a hash of its cv.json so that a run
    retrained in place (same id, new code) still looks changed to make."""
    run_dir = Path(run_dir)
    io.write_text_if_changed(path, f"{run_dir.name}\n{io.sha256_file(run_dir / 'cv.json', 16)}\n")


def read_pointer(path) -> str:
    """The run id a `<model>.run` pointer names (a missing pointer is a message, not a traceback)."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"error: {path}: no such run pointer; model '{path.stem}' has not finished training. "
                         f"Train it first (`make help` lists each competition's train targets)")
    return path.read_text(encoding="utf-8").split("\n", 1)[0].strip()


def resolve_run(run, runs_dir) -> Path:
    """The run folder a stage's --run names: the folder itself, or a pointer file (<model>.run) naming one
    under `runs_dir`."""
    run = Path(run)
    if run.is_dir():
        return run
    run_dir = Path(runs_dir) / read_pointer(run)
    if not (run_dir / "cv.json").is_file():
        raise SystemExit(f"error: {run} names run {run_dir.name}, but {run_dir} has no cv.json (deleted, or its "
                         f"folds did not all finish); retrain the model")
    return run_dir


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="Point <model>.run at a finished run.")
    p.add_argument("run_dir")
    p.add_argument("pointer")
    args = p.parse_args(argv)
    if not (Path(args.run_dir) / "cv.json").exists():
        raise SystemExit(f"error: {args.run_dir} has no cv.json; its folds did not all finish")
    write_pointer(args.pointer, args.run_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
