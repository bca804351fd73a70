"""One fold's Keras training with the habits every neural solution shares: keep the best epoch by its score on
the selection rows the CV loop gives it (an inner split of the fold's training rows by default, never the scored
fold), resume a killed fold, leave a trace per epoch.

A fold's folder holds
    best.weights.h5 + best.json   the epoch with the best `evaluate()` score so far (with the EMA weights)
    last.weights.h5               the weights fit() ended with: their presence means training finished
    history.jsonl                 one line per epoch: loss, seconds, the selection rows' metrics
    backup/                       keras BackupAndRestore: a killed fit() resumes at its last finished epoch
    speed.json                    training rows per second

The optimizer's EMA (`use_ema`) is handled by Keras itself: SwapEMAWeights puts the average in the model for
the epoch-end evaluation and back out after it, and fit() ends by writing it into the weights. BackupAndRestore
comes first in the callbacks so it saves the raw weights and the average before the swap.
"""
from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import io


def ema_momentum(ema, steps: int) -> tuple[float, str | None]:
    """The EMA momentum for a run of `steps` optimizer steps, and a warning when it does not fit the run.

    Keras' EMA starts from the initial weights with no bias correction, so a momentum m averages over about
    1 / (1 - m) steps and leaves a weight of m**steps on the random initialisation: 0.9999 after 500 steps is
    still 95% initialisation. `auto` averages over a tenth of the run (at most 0.9999); a number is kept as it is,
    with a warning when it averages over more than a third of the run. None or 0: no EMA."""
    if ema in (None, 0, 0.0, False):
        return 0.0, None
    if ema == "auto":
        return min(0.9999, 1.0 - 1.0 / max(10.0, steps / 10.0)), None
    m = float(ema)
    if not 0.0 < m < 1.0:
        raise ValueError(f"ema must be auto, null or a momentum in (0, 1), not {ema!r}")
    if 1.0 / (1.0 - m) > steps / 3.0:
        return m, (f"ema {m} averages over ~{1.0 / (1.0 - m):,.0f} steps but this fold trains {steps:,}: the "
                   f"kept weights are {m ** steps:.0%} the random initialisation. Use ema=auto or a smaller "
                   f"momentum (e.g. {1.0 - 10.0 / max(steps, 10):.3f})")
    return m, None


def epochs_for_run(params: dict, n_rows: int) -> int:
    """params["epochs"], raised where a fold of n_rows rows is too small to reach params["min_steps"] optimizer
    steps in that many. Why: a schedule fixed in epochs on one domain gives a domain half its size half the
    updates (CAIL2019 labor: the best epoch was the last in 4 folds of 5); fixed in steps, it transfers."""
    epochs, floor = int(params["epochs"]), int(params.get("min_steps") or 0)
    per_epoch = -(-n_rows // int(params["batch_size"]))
    return max(epochs, -(-floor // per_epoch)) if floor > 0 and per_epoch > 0 else epochs


def with_ema_for_run(params: dict, n_rows: int) -> dict:
    """params with `ema` resolved (ema_momentum) for a run of n_rows rows, params["batch_size"] per step and
    params["epochs"] epochs; a momentum that does not fit the run is kept, with a warning on stderr."""
    steps = -(-n_rows // int(params["batch_size"])) * int(params["epochs"])
    ema, warning = ema_momentum(params.get("ema"), steps)
    if warning:
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    return {**params, "ema": ema}


def learning_rate(params: dict):
    """The optimizer's learning rate for params: `lr`, reached by a linear warm-up over the first `warmup` share
    of the run's optimizer steps (params["steps"], set by FoldModel.fit) when warmup > 0, and multiplied by
    `lr_drop_factor` from the `lr_drop_at` share of the steps on when lr_drop_at is set. Why the warm-up: Adam's
    first steps, with its second-moment estimates still near zero, take the largest moves of the run; at a rate
    tuned on one data set they can throw a fresh network off on another (fewer rows per tag, longer sentences).
    A ramp makes the start robust without tuning the rate per domain. Why the drop: the DGCNN post trains at 1e-3
    and finishes at 1e-4; fixed as a share of the steps it is a schedule, chosen by no validation score (the
    config schema checks both keys' ranges)."""
    lr, share, steps = float(params["lr"]), float(params.get("warmup") or 0.0), int(params.get("steps") or 0)
    drop_at = params.get("lr_drop_at")
    if steps <= 0 or (share <= 0 and not drop_at):
        return lr
    warmup_steps = max(1, int(steps * share)) if share > 0 else 0
    if not drop_at:         # warm-up alone: Keras' CosineDecay, the schedule every run without a drop trained with
        import keras
        return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=steps, warmup_target=lr,
                                                      warmup_steps=warmup_steps, alpha=1.0)
    factor = float(params.get("lr_drop_factor", 0.1))
    return _warmup_then_drop()(lr, warmup_steps, int(steps * float(drop_at)), factor)


@functools.cache
def _warmup_then_drop():
    """The schedule class, made on first use so that importing this module does not import Keras."""
    import keras
    from keras import ops

    class WarmupThenDrop(keras.optimizers.schedules.LearningRateSchedule):
        """lr * min(1, step / warmup_steps) (CosineDecay's linear warm-up), times factor from drop_step on."""

        def __init__(self, lr: float, warmup_steps: int, drop_step: int, factor: float):
            self.lr, self.warmup_steps, self.drop_step, self.factor = lr, warmup_steps, drop_step, factor

        def __call__(self, step):
            step = ops.cast(step, "float32")
            ramp = ops.minimum(1.0, step / float(self.warmup_steps)) if self.warmup_steps else 1.0
            return self.lr * ramp * ops.where(step >= float(self.drop_step), self.factor, 1.0)

        def get_config(self):
            return {"lr": self.lr, "warmup_steps": self.warmup_steps, "drop_step": self.drop_step,
                    "factor": self.factor}

    return WarmupThenDrop


def save_weights(model, path: Path) -> None:
    """Atomic save_weights: a crash leaves the previous file or none, never half of one (Keras insists on the
    '.weights.h5' ending, so the temp name keeps it)."""
    tmp = path.with_name(f".{path.name[:-len('.weights.h5')]}.partial.weights.h5")
    model.save_weights(tmp)
    tmp.replace(path)


def load_trained(model, workdir) -> None:
    """The fold's best (else last) weights, for predicting without training again."""
    import warnings
    workdir = Path(workdir)
    for name in ("best.weights.h5", "last.weights.h5"):
        if (workdir / name).exists():
            with warnings.catch_warnings():     # the optimizer's slots are not needed to predict
                warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
                model.load_weights(workdir / name)
            return
    raise FileNotFoundError(f"{workdir}: no trained weights; train this fold first")


@dataclass
class Phase:
    """A stretch of a fold's training with its own loss or learning rate (the spectra CNN: cross-entropy, then
    soft macro-F1). `compile(model)` compiles the model for it; None: the model comes compiled."""
    name: str
    epochs: int
    compile: Callable | None = None


def fit_fold(model, data, epochs: int, workdir, n_rows: int, evaluate: Callable[[], dict] | None = None,
             verbose="auto", callbacks=(), epoch_begin: Callable[[int], None] | None = None,
             log: Callable[[str], None] | None = None, select_on: str = "score",
             phases: list[Phase] | None = None) -> dict:
    """Train `model` on `data` (a tf.data stream or anything fit() takes), or finish a killed run: `epochs` epochs
    of the model as compiled, or each of `phases` in turn (phase k's epochs are fed as 1000·k + e, so a data stream
    draws new batches in each). `evaluate()` -> {select_on: ...} scores the model as it is after an epoch (EMA
    weights in); the best epoch of any phase is kept and loaded at the end. Without evaluate the last epoch is the
    model. `callbacks` run last (tests kill a run with one). `epoch_begin(e)` tells a data stream which epoch it
    feeds (a resumed run then shuffles as the uninterrupted one did).
    Returns {"best": {"score", "epoch"[, "phase"]} | None, "rows_per_s": ...}."""
    import keras
    log = log or (lambda message: print(message, flush=True))
    workdir = Path(workdir)
    best_path, best_json, history = workdir / "best.weights.h5", workdir / "best.json", workdir / "history.jsonl"
    best = io.read_json(best_json) if best_json.exists() else {"score": float("-inf")}
    single = phases is None
    phases = [Phase("fit", epochs)] if single else phases

    class EpochEnd(keras.callbacks.Callback):
        t0 = time.time()

        def __init__(self, k: int, phase: Phase):
            super().__init__()
            self.k, self.phase = k, phase

        def on_epoch_begin(self, e, logs=None):
            if epoch_begin is not None:
                epoch_begin(1000 * self.k + e)

        def on_epoch_end(self, e, logs=None):       # after SwapEMAWeights: the model holds the EMA weights
            row = {**({} if single else {"phase": self.phase.name}), "epoch": e,
                   "loss": float((logs or {}).get("loss", float("nan"))), "seconds": round(time.time() - EpochEnd.t0, 1)}
            if evaluate is not None:
                row["selection"] = evaluate()
                score = row["selection"][select_on]
                if score > best["score"]:
                    best.update(score=score, epoch=e, **({} if single else {"phase": self.phase.name}))
                    save_weights(self.model, best_path)
                    io.write_json(best_json, best)
                where = "" if single else f" {best['phase']}"
                log(f"epoch {e + 1}/{self.phase.epochs}{'' if single else ' ' + self.phase.name}: loss "
                    f"{row['loss']:.4f}, selection {select_on} {score:.4f} (best {best['score']:.4f} at{where} epoch "
                    f"{best['epoch'] + 1})")
            EpochEnd.t0 = time.time()
            with open(history, "a", encoding="utf-8") as f:   # per epoch: a killed run leaves its trace
                f.write(json.dumps(row) + "\n")

    last = workdir / "last.weights.h5"
    if last.exists():                                        # trained, killed before predicting
        model.load_weights(last)
    else:
        verbose = (1 if sys.stdout.isatty() else 2) if verbose == "auto" else int(verbose)
        t0, rows = time.time(), 0
        for k, phase in enumerate(phases):
            done = workdir / f"{phase.name}.weights.h5"
            if not single and done.exists():                 # a finished phase of a killed run
                model.load_weights(done)
                continue
            if phase.epochs <= 0:
                continue
            if phase.compile is not None:
                phase.compile(model)
            backup = workdir / ("backup" if single else f"backup_{phase.name}")
            cbs = [keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)]
            if model.optimizer.use_ema:
                cbs.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
            cbs += [EpochEnd(k, phase), *callbacks]
            # shuffle=False: callers shuffle in their own (seeded) stream; Keras cannot shuffle a tf.data stream
            model.fit(data, epochs=phase.epochs, verbose=verbose, shuffle=False, callbacks=cbs)
            rows += n_rows * phase.epochs
            if not single:
                save_weights(model, done)
        save_weights(model, last)                            # fit() ends by writing the EMA weights in
        io.write_json(workdir / "speed.json", {"rows_per_s": round(rows / max(time.time() - t0, 1e-9), 1)})
    if evaluate is not None and best_path.exists():
        model.load_weights(best_path)
    speed = io.read_json(workdir / "speed.json") if (workdir / "speed.json").exists() else {}
    return {"best": best if evaluate is not None and best_path.exists() else None, **speed}


class FoldModel:
    """A Keras network as a model of the core CV loop (fit / predict / load), trained by fit_fold: the best epoch
    by `evaluate` kept, a killed fold resumed, the EMA momentum fitted to the run. A solution's model says only
    what differs: `build()` (the compiled network), `stream(x, y, batch_size, epoch)` (the seeded training data;
    `epoch()` is the epoch being fed) and `predict(x)`; `score_epoch` says what `evaluate` is given."""

    def __init__(self, params: dict, workdir, seed: int, evaluate: Callable[..., dict] | None = None):
        import keras
        keras.utils.set_random_seed(seed)
        self.params, self.workdir, self.seed, self.evaluate = params, Path(workdir), seed, evaluate
        self.net = None
        self.callbacks = []          # more Keras callbacks for fit(), called last (tests kill a run with one)

    @property
    def selects(self) -> bool:
        """True: fit() keeps the best epoch by `evaluate` on the rows the CV loop gives it for that (kexue.core.cv)."""
        return self.evaluate is not None

    def build(self):
        raise NotImplementedError

    def stream(self, x, y, batch_size: int, epoch: Callable[[], int]):
        raise NotImplementedError

    def predict(self, x):
        raise NotImplementedError

    def score_epoch(self, x_valid, y_valid) -> dict:
        """The validation score after an epoch: evaluate(y_valid, predictions) unless a model says otherwise."""
        return self.evaluate(y_valid, self.predict(x_valid))

    def _build(self):
        import keras
        keras.mixed_precision.set_global_policy(self.params.get("precision", "float32"))
        self.net = self.build()

    def fit(self, x_train, y_train=None, x_valid=None, y_valid=None) -> dict:
        self.params = {**self.params, "epochs": epochs_for_run(self.params, len(x_train))}
        self.params = p = with_ema_for_run(self.params, len(x_train))
        epochs, batch_size = int(p["epochs"]), int(p["batch_size"])
        self.params["steps"] = -(-len(x_train) // batch_size) * epochs     # for learning_rate()'s warm-up
        self._build()
        epoch = [0]
        select = self.evaluate is not None and x_valid is not None and len(x_valid) > 0
        info = fit_fold(self.net, self.stream(x_train, y_train, batch_size, lambda: epoch[0]), epochs, self.workdir,
                        len(x_train), evaluate=(lambda: self.score_epoch(x_valid, y_valid)) if select else None,
                        verbose=p.get("verbose", "auto"), callbacks=self.callbacks,
                        epoch_begin=lambda e: epoch.__setitem__(0, e))
        return {**info, "params": int(self.net.count_params()), "epochs": epochs, "ema": p["ema"]}

    def load(self):
        """The fold's best (else last) weights, for predicting without training again."""
        self._build()
        load_trained(self.net, self.workdir)
        return self
