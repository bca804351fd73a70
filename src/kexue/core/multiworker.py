"""One fold trained by several worker processes (on one machine or several) with TensorFlow's
MultiWorkerMirroredStrategy: every worker holds a copy of the network, takes its share of each global batch, and
the gradients are summed across workers (all-reduce over gRPC) before every update, so the workers stay
identical and together take the same steps one process would.

    python -m kexue.core.multiworker --workers host0:port,host1:port --index 0 -- \\
        pipelines/spectra/train.py --params data/interim/spectra/cnn.params.json --fold 0 --store ... --runs ...

(and the same with --index 1 on the second machine). The config says `distribute: multiworker`. Worker 0, the
chief, writes the fold's outputs; the others write theirs to a temporary folder they delete. Keras 3's
model.fit does not run under this strategy (keras-team/keras#20585: its data adapter hands PerReplica values to
ops that want tensors), so the fold is trained by the small loop below: the same batches, losses, Adam and
per-epoch selection as kexue.core.keras_fit.fit_fold. Differences from one process, stated: a loss computed over
the batch as a whole (the soft macro-F1 phase) is computed over each worker's share and averaged; dropout masks
are drawn per worker; a killed multi-worker fold restarts from its first epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import io

_STRATEGY = None


def configure(workers: list[str], index: int):
    """TF_CONFIG for this worker, then the strategy: before TensorFlow runs anything else in the process
    (collective ops are configured when the runtime starts)."""
    global _STRATEGY
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": list(workers)},
                                          "task": {"type": "worker", "index": int(index)}})
    import tensorflow as tf
    _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
    return _STRATEGY


def strategy():
    if _STRATEGY is None:
        if "TF_CONFIG" not in os.environ:
            raise SystemExit("error: distribute: multiworker needs its workers: start each with `python -m "
                             "kexue.core.multiworker --workers host:port,... --index I -- <train command>` (or set "
                             "TF_CONFIG for the train command); make cannot start them (docs/tuning.md)")
        cfg = json.loads(os.environ["TF_CONFIG"])
        return configure(cfg["cluster"]["worker"], cfg["task"]["index"])
    return _STRATEGY


def role() -> tuple[int, int]:
    """(this worker's index, number of workers)."""
    cfg = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    return int(cfg.get("task", {}).get("index", 0)), max(len(cfg.get("cluster", {}).get("worker", [])), 1)


def fit_phases(model, batch: Callable[[int, int], tuple], steps: int, global_batch: int, phases: list[tuple],
               workdir, evaluate: Callable[[], dict] | None = None, select_on: str = "score",
               log: Callable[[str], None] | None = None) -> dict:
    """Train `model` (built in strategy().scope()) through `phases`, [(name, epochs, learning rate, loss)], each
    with a fresh Adam. `batch(epoch_key, i)` -> (x, y) of the global batch i of the epoch keyed 1000·phase + e,
    the same on every worker; each worker trains on rows index::n_workers of it. A loss that returns one value
    per row is summed and divided by the global batch size; one that returns a single value per batch is
    averaged over the workers. After each epoch `evaluate()` (the same on every worker: their weights are equal)
    picks the best epoch, which is loaded at the end; the chief writes best.json and history.jsonl."""
    import keras
    import tensorflow as tf
    st = strategy()
    index, n_workers = role()
    chief = index == 0
    log = log or (lambda m: print(m, flush=True))
    workdir = Path(workdir)
    if chief:                                   # a restarted fold starts over: so does its history
        (workdir / "history.jsonl").unlink(missing_ok=True)
    best, best_weights = {"score": float("-inf")}, None
    t_start, rows = time.time(), 0
    for k, (name, epochs, lr, loss_fn) in enumerate(phases):
        if epochs <= 0:
            continue
        with st.scope():
            optimizer = keras.optimizers.Adam(float(lr))
            optimizer.build(model.trainable_variables)

        @tf.function
        def train_step(x, y, optimizer=optimizer, loss_fn=loss_fn):
            def replica(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                    loss = tf.reduce_sum(loss) / global_batch if loss.shape.rank else loss / n_workers
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
                return loss
            return st.reduce(tf.distribute.ReduceOp.SUM, st.run(replica, (x, y)), axis=None)

        for e in range(epochs):
            t0, total = time.time(), 0.0
            for i in range(steps):
                x, y = batch(1000 * k + e, i)
                total += float(train_step(tf.constant(x[index::n_workers]), tf.constant(y[index::n_workers])))
            rows += steps * global_batch
            row = {"phase": name, "epoch": e, "loss": total / steps, "seconds": round(time.time() - t0, 1),
                   "workers": n_workers}
            if evaluate is not None:
                row["selection"] = evaluate()
                score = row["selection"][select_on]
                if score > best["score"]:
                    best = {"score": score, "epoch": e, "phase": name}
                    best_weights = model.get_weights()
                log(f"epoch {e + 1}/{epochs} {name} ({n_workers} workers): loss {row['loss']:.4f}, selection "
                    f"{select_on} {score:.4f} (best {best['score']:.4f} at {best['phase']} epoch {best['epoch'] + 1})")
            if chief:
                with open(workdir / "history.jsonl", "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
    if best_weights is not None:
        model.set_weights(best_weights)
        if chief:
            io.write_json(workdir / "best.json", best)
    return {"best": best if best_weights is not None else None, "workers": n_workers,
            "rows_per_s": round(rows / max(time.time() - t_start, 1e-9), 1)}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        raise SystemExit("usage: python -m kexue.core.multiworker --workers h:p,h:p --index I -- <train script> "
                         "<its arguments>")
    cut = argv.index("--")
    if cut == len(argv) - 1:
        raise SystemExit("usage: python -m kexue.core.multiworker --workers h:p,h:p --index I -- <train script> "
                         "<its arguments>: nothing after --")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", required=True, help="every worker's host:port, the same list on each")
    p.add_argument("--index", type=int, required=True, help="this worker's place in --workers (0: the chief)")
    args = p.parse_args(argv[:cut])
    script, *script_args = argv[cut + 1:]
    workers = [w.strip() for w in args.workers.split(",") if w.strip()]
    if not 0 <= args.index < len(workers):
        raise SystemExit(f"error: --index {args.index}: --workers lists {len(workers)} worker(s)")
    # through the package, not this __main__ copy: the train stage's imports must find the strategy made here
    from kexue.core import multiworker
    multiworker.configure(workers, args.index)
    scratch = None
    if args.index != 0:           # only the chief writes the run: the others write theirs where nobody reads
        scratch = tempfile.mkdtemp(prefix=f"kexue-worker{args.index}-")
        if "--runs" in script_args:
            script_args[script_args.index("--runs") + 1] = scratch
        else:
            script_args += ["--runs", scratch]
    sys.argv = [script, *script_args]
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

