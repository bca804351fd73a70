"""Hyper-parameter search with Optuna over the folds the models train on: `make tune COMP=<comp> MODEL=<config>`.

The search space is the model config's `tune:` section (read from the YAML; resolving a config drops it, so
editing it never reruns a training stage):

    tune:
      space:
        lgbm.learning_rate: {low: 0.01, high: 0.3, log: true}    # floats: suggest_float
        lgbm.num_leaves: {low: 4, high: 63}                       # ints at both ends: suggest_int
        class_weight: {choices: [balanced, null]}                 # a categorical
      pruner: median          # median | halving | none: stop a trial whose running fold score is poor
      startup_trials: 5       # trials that run to the end before the pruner may stop one

Each trial is an ordinary run: its params are the config's with the trial's values set, its folder and CV log
are those `make compare` lists, and a trial with the same values as an earlier run reuses its finished folds.
Folds are trained one by one; after each, the running mean of the fold scores is reported to Optuna's pruner.

Honest numbers. A trial's CV score is honest for that trial, but the best of N trials chose, and is labelled
OPTIMISTIC. So one fold (the last, `--holdout`) is held out of the choice: the study's objective is the OOF
score on the other folds' rows, the held-out fold is trained last (and only by trials that were not pruned), and
the default config (trial 0, enqueued when the study is created) against the best trial on the held-out fold
is the honest comparison. One fold is a small sample: the report says how many rows it has.

The study lives in an RDB storage: a SQLite file `<runs>/_tune/<config>.db` by default, or `--storage` (make:
TUNE_STORAGE=postgresql://user@host:port/db) for workers on several machines. Killing `make tune` and starting
it again continues the study: finished trials are kept, a trial this machine's dead process left running is
marked failed and retried with the same values (its finished folds are reused), and `--trials N` counts the
finished (complete or pruned) trials of the whole study, so restarts and extra workers stop at N together.
Trials of another machine that stopped beating are failed and retried by Optuna's heartbeat.

At the end (of each worker): `configs/<comp>/<config>-optuna.yaml` (base: the config, the best trial's values,
and `tuned_on`: the data and folds it was chosen on, so `make compare` labels its runs there OPTIMISTIC),
`<runs>/_tune/<config>-history.png` (Optuna's optimisation history) and `<config>-tune.json` (every trial, the
default against the best). Trials reuse finished folds: after a code change, start a new study (a new DATA_DIR
or a changed fixed value) or delete the trials' runs, or they report folds the old code trained.
"""
from __future__ import annotations

import argparse
import copy
import fcntl
import importlib
import os
import random
import socket
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import config as config_lib
from . import cv, io, protocol
from .schema import MISSING, get_dotted

PRUNERS = ("median", "halving", "none")


class TuneError(ValueError):
    pass


# ---------------------------------------------------------------- the search space

def read_space(config_path) -> dict:
    """The config's `tune:` section, checked: {space: {dotted key: spec}, pruner, startup_trials}. A key the
    config does not have, or a spec that is neither a range nor a list of choices, is an error naming both."""
    path = Path(config_path)
    cfg = config_lib.load_with_base(path)
    section = cfg.get("tune")
    if not isinstance(section, dict) or not isinstance(section.get("space"), dict) or not section["space"]:
        raise TuneError(f"{path}: no `tune:` section with a `space:` to search. Add one, e.g.\n"
                        f"tune:\n  space:\n    lgbm.learning_rate: {{low: 0.01, high: 0.3, log: true}}\n"
                        f"(the keys are the config's own, dotted; ranges or `choices: [...]`)")
    unknown = set(section) - {"space", "pruner", "startup_trials"}
    if unknown:
        raise TuneError(f"{path}: tune: unknown key(s) {', '.join(sorted(unknown))} (expected space, pruner, "
                        f"startup_trials)")
    pruner = section.get("pruner", "median")
    if pruner not in PRUNERS:
        raise TuneError(f"{path}: tune.pruner: {pruner!r} is not one of {', '.join(PRUNERS)}")
    startup = section.get("startup_trials", 5)
    if not isinstance(startup, int) or startup < 0:
        raise TuneError(f"{path}: tune.startup_trials: expected a whole number >= 0, got {startup!r}")
    body = {k: v for k, v in cfg.items() if k not in ("tune", "profiles")}
    for key, spec in section["space"].items():
        where = f"{path}: tune.space.{key}"
        if get_dotted(body, key, MISSING) is MISSING:
            raise TuneError(f"{where}: the config has no key '{key}' to tune (a dotted key of the file, such as "
                            f"lgbm.learning_rate)")
        if not isinstance(spec, dict):
            raise TuneError(f"{where}: expected {{low: .., high: ..}} or {{choices: [..]}}, got {spec!r}")
        if isinstance(get_dotted(body, key), dict):
            raise TuneError(f"{where}: '{key}' is a section of the config; tune its values (e.g. {key}.<name>)")
        if "choices" in spec:
            choices = spec["choices"]
            if set(spec) != {"choices"} or not isinstance(choices, list) or not choices:
                raise TuneError(f"{where}: choices must be a non-empty list, and alone")
            if not all(c is None or isinstance(c, (str, int, float, bool)) for c in choices):
                raise TuneError(f"{where}: choices must be plain values (text, numbers, true/false, null)")
            if get_dotted(body, key) not in choices:
                raise TuneError(f"{where}: the config's own value {get_dotted(body, key)!r} is not among the choices "
                                f"{choices}; add it (trial 0 runs the config as written)")
            continue
        if set(spec) - {"low", "high", "log", "step"} or not {"low", "high"} <= set(spec):
            raise TuneError(f"{where}: a range has low and high (and optionally log, step); got {sorted(spec)}")
        low, high = spec["low"], spec["high"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or low >= high:
            raise TuneError(f"{where}: low and high must be numbers with low < high, got {low!r}, {high!r}")
        if spec.get("log") and low <= 0:
            raise TuneError(f"{where}: a log range must start above 0, got low {low!r}")
        if spec.get("log") and "step" in spec:
            raise TuneError(f"{where}: a range takes log or step, not both")
    return {"space": dict(section["space"]), "pruner": pruner, "startup_trials": startup}


def suggest(trial, key: str, spec: dict):
    """The trial's value of one key: a category, an int range (both ends ints) or a float range."""
    if "choices" in spec:
        return trial.suggest_categorical(key, spec["choices"])
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if isinstance(low, int) and isinstance(high, int):
        return trial.suggest_int(key, low, high, log=log, step=int(spec.get("step", 1)))
    return trial.suggest_float(key, float(low), float(high), log=log, step=spec.get("step"))


def with_values(params: dict, values: dict) -> dict:
    out = copy.deepcopy(params)
    for key, value in values.items():
        config_lib.set_dotted(out, key, value)
    return out


def default_values(params: dict, space: dict) -> dict:
    """The base config's own values of the tuned keys: trial 0, so the study starts from, and is compared with,
    what the user had. A default outside its range is still tried (Optuna accepts enqueued values as given)."""
    return {key: get_dotted(params, key) for key in space}


# ---------------------------------------------------------------- the study

def study_name(params: dict, space: dict, data_fp: str, folds_fp: str, holdout: int | None) -> str:
    """One study per (config's fixed values, space, its own values of the tuned keys, data, folds, holdout):
    trials of different data or of a changed value are not comparable, so they never share a study."""
    fixed = copy.deepcopy(config_lib.public(params))
    for key in space:
        head, _, last = key.rpartition(".")
        node = get_dotted(fixed, head) if head else fixed
        if isinstance(node, dict):
            node.pop(last, None)
    digest = io.short_hash({"fixed": fixed, "space": space, "default": default_values(params, space), "data": data_fp,
                            "folds": folds_fp, "holdout": holdout})
    return f"{params.get('name', 'model')}-{digest}"


def open_study(storage_url: str, name: str, pruner: str, startup: int, seed: int):
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import sqlalchemy.exc
    for attempt in range(6):
        try:
            with warnings.catch_warnings():     # the heartbeat is marked experimental; it is how Optuna retries
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = RDBStorage(storage_url, heartbeat_interval=60, grace_period=180,
                                     heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
                                     engine_kwargs={"connect_args": {"timeout": 60}}
                                     if storage_url.startswith("sqlite") else {})
            break
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as e:
            # workers started together on an empty database race to create Optuna's tables (a duplicate row,
            # or on PostgreSQL "relation ... already exists"): the loser finds them made a moment later
            lost_race = isinstance(e, sqlalchemy.exc.IntegrityError) or "already exists" in str(e.orig)
            if attempt == 5 or not lost_race:
                raise
            time.sleep(0.5 + random.random() * (attempt + 1))
        except sqlalchemy.exc.OperationalError as e:
            raise SystemExit(f"error: cannot open the study storage {_shown(storage_url)}: {e.orig}") from None
    pruners = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=0),
               "halving": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2),
               "none": lambda: optuna.pruners.NopPruner()}
    sampler = lambda s: optuna.samplers.TPESampler(seed=s, n_startup_trials=startup)
    try:        # create-or-load in one step: the database's unique name decides which worker created it
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=sampler(seed),
                                    pruner=pruners[pruner](), load_if_exists=False)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        # a worker joining (or resuming) a study: its own seed, or two workers would propose the same values
        study = optuna.load_study(storage=storage, study_name=name, sampler=sampler(seed + os.getpid() % 10007),
                                  pruner=pruners[pruner]())
        created = False
    return study, created


def _shown(storage_url: str) -> str:
    """The storage URL without its password."""
    head, sep, tail = storage_url.rpartition("@")
    return storage_url if not sep or "://" not in head else head.split("://")[0] + "://…@" + tail


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_dead_trials(study) -> list[int]:
    """Trials left RUNNING by a process of this machine that is gone (make tune killed): failed, and their
    values enqueued again so the study retries them (the retry's run reuses their finished folds)."""
    from optuna.trial import TrialState
    host, out = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.user_attrs.get("host") == host and not _pid_alive(int(t.user_attrs.get("pid", -1))):
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            study.enqueue_trial(t.params, user_attrs={**t.user_attrs, "retry_of": t.number}, skip_if_exists=False)
            out.append(t.number)
    return out


def _live_defaults(study) -> list:
    """The trials holding the default's values that are complete, pruned, running or waiting, by number."""
    from optuna.trial import TrialState
    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
    return sorted((t for t in study.get_trials(deepcopy=False, states=live) if t.user_attrs.get("default")),
                  key=lambda t: t.number)


def ensure_default(study, values: dict) -> bool:
    """Trial 0's values queued again when no trial holding them is complete, pruned, running or waiting (a first
    trial that crashed or was interrupted): the honest comparison needs the default. True when queued."""
    if _live_defaults(study):
        return False
    study.enqueue_trial(values, user_attrs={"default": True})
    drop_duplicate_defaults(study)
    return True


def drop_duplicate_defaults(study) -> list[int]:
    """Two workers starting together can both find no default and both queue it (the check and the enqueue are
    two statements). The lowest-numbered live default is the default; every later one still waiting is claimed
    with Optuna's atomic WAITING -> RUNNING step (so a trial another worker has started is never touched) and
    failed, marked as the duplicate it was. Returns the numbers dropped."""
    from optuna.trial import TrialState
    defaults = _live_defaults(study)
    storage, dropped = study._storage, []
    for t in defaults[1:]:
        if t.state == TrialState.WAITING and storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
            storage.set_trial_user_attr(t._trial_id, "default", False)
            storage.set_trial_user_attr(t._trial_id, "duplicate_of", defaults[0].number)
            storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            dropped.append(t.number)
    return dropped


def finished(study) -> int:
    from optuna.trial import TrialState
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


# ---------------------------------------------------------------- one trial = one run

def rows_score(data: cv.CVData, oof, rows) -> float:
    return float(data.score(cv.take(data.y, rows), cv.take(oof, rows), data.classes)[data.headline])


class Objective:
    """Optuna's objective: the trial's values into the params, the run trained fold by fold (pruned on the
    running mean of the fold scores outside the holdout), then collected; its value is the OOF score on the
    rows outside the holdout."""

    def __init__(self, stages, params: dict, space: dict, inputs: dict, data: cv.CVData, holdout: int | None,
                 say=print):
        self.stages, self.params, self.space, self.inputs, self.data = stages, params, space, inputs, data
        self.holdout, self.say = holdout, say
        self.scored = np.flatnonzero((data.folds >= 0) & (data.folds != (-2 if holdout is None else holdout)))

    def __call__(self, trial) -> float:
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        values = {key: suggest(trial, key, spec) for key, spec in self.space.items()}
        params = with_values(self.params, values)
        if hasattr(self.stages, "run_params"):
            params = self.stages.run_params(params, self.inputs)
        run = self.stages.open_run(params, self.inputs)
        trial.set_user_attr("run_id", run.id)
        io.write_json(run.dir / "tune.json", {"study": trial.study.study_name, "trial": trial.number,
                                              "values": values})
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
        self.say(f"trial {trial.number}: {shown} -> run {run.id}")
        make_model = self.stages.model_factory(params, self.inputs, self.data)
        # two workers that drew the same values share one run: the second waits, then reuses the first's folds
        with open(run.dir / ".tune.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._train(trial, run, make_model)

    def _train(self, trial, run, make_model) -> float:
        import optuna
        scores = []
        # the held-out fold last (below), so a pruned trial never trains it
        for step, fold in enumerate(k for k in range(self.data.n_folds) if k != self.holdout):
            result = cv.train_fold(run, fold, self.data, make_model)
            scores.append(result["metrics"][self.data.headline])
            trial.report(float(np.mean(scores)), step)
            if not trial.user_attrs.get("default") and trial.should_prune():    # the default runs to the end
                self.say(f"trial {trial.number}: pruned after {len(scores)} fold(s), running mean "
                         f"{np.mean(scores):.4f}")
                raise optuna.TrialPruned()
        if self.holdout is not None:
            cv.train_fold(run, self.holdout, self.data, make_model)
        # a finished run (the default's, or a retry's) is read, not collected again: rewriting its cv.json
        # would make every make target that points at it look changed
        result = io.read_json(run.dir / "cv.json") if (run.dir / "cv.json").exists() else cv.collect(run, self.data)
        oof = cv.load_pred(run.dir, "oof")
        value = rows_score(self.data, oof, self.scored)
        trial.set_user_attr("cv_score", result["score"])
        if self.holdout is not None:
            trial.set_user_attr("holdout_score", rows_score(self.data, oof, np.flatnonzero(self.data.folds == self.holdout)))
        return value


# ---------------------------------------------------------------- outputs

def summary(study, holdout: int | None, n_holdout: int, metric: str) -> dict:
    """The default (trial 0's values) against the best trial: the study's objective (the best's OPTIMISTIC),
    the held-out fold (honest for both), the whole CV score (the best's OPTIMISTIC: folds it chose on)."""
    from optuna.trial import TrialState
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    rows = [{"number": t.number, "state": t.state.name, "value": t.value, "params": t.params,
             "run_id": t.user_attrs.get("run_id"), "cv_score": t.user_attrs.get("cv_score"),
             "holdout_score": t.user_attrs.get("holdout_score")} for t in trials]
    out = {"study": study.study_name, "metric": metric, "holdout_fold": holdout, "holdout_rows": n_holdout,
           "trials": rows, "n_complete": len(done),
           "n_pruned": sum(t.state == TrialState.PRUNED for t in trials)}
    if not done:
        return out
    best = max(done, key=lambda t: t.value)
    default = next((t for t in done if t.user_attrs.get("default")), None)
    pick = lambda t: None if t is None else {"number": t.number, "params": t.params, "run_id": t.user_attrs.get("run_id"),
                                             "objective": t.value, "cv_score": t.user_attrs.get("cv_score"),
                                             "holdout_score": t.user_attrs.get("holdout_score")}
    out.update(best=pick(best), default=pick(default))
    return out


def report_lines(s: dict) -> list[str]:
    if not s.get("best"):
        return [f"study {s['study']}: no complete trial yet"]
    b, d, m = s["best"], s["default"], s["metric"]
    fmt = lambda v: "-" if v is None else f"{v:.4f}"
    lines = [f"study {s['study']}: {s['n_complete']} complete, {s['n_pruned']} pruned trial(s)",
             f"{'':<16} {'objective':>10} {'held-out':>9} {'all folds':>10}   ({m}; objective: OOF on the folds "
             f"the study chose on)"]
    if d:
        lines.append(f"{'default (t' + str(d['number']) + ')':<16} {fmt(d['objective']):>10} "
                     f"{fmt(d['holdout_score']):>9} {fmt(d['cv_score']):>10}")
    lines.append(f"{'best (t' + str(b['number']) + ')':<16} {fmt(b['objective']):>10} {fmt(b['holdout_score']):>9} "
                 f"{fmt(b['cv_score']):>10}   <- objective and all folds OPTIMISTIC: the best of "
                 f"{s['n_complete'] + s['n_pruned']} trials chose on them")
    if s["holdout_fold"] is not None and d and b["holdout_score"] is not None:
        lines.append(f"honest: on held-out fold {s['holdout_fold']} ({s['holdout_rows']} rows, never scored by the "
                     f"choice) the best trial scores {fmt(b['holdout_score'])} against the default's "
                     f"{fmt(d['holdout_score'])} ({b['holdout_score'] - d['holdout_score']:+.4f})")
    elif s["holdout_fold"] is None:
        lines.append("no fold was held out (--holdout none, or a single fold): there is no honest comparison, "
                     "every number of the best trial is OPTIMISTIC")
    elif not d:
        lines.append("the default (trial 0) has not completed: no honest comparison yet; run make tune again")
    return lines


SUFFIX = "-optuna"
HEADER = "# written by `make tune`"


def tuned_yaml(config_path, s: dict, tuned_on: dict) -> str:
    """configs/<comp>/<config>-optuna.yaml: `base:` the config, the best trial's values, where they came from, and
    `tuned_on` (the data and folds that chose them: compare labels runs on those OPTIMISTIC)."""
    path = Path(config_path)
    cfg = config_lib.load_with_base(path)
    b, d = s["best"], s.get("default") or {}
    values = {}
    for key, value in b["params"].items():
        config_lib.set_dotted(values, key, value)
    fmt = lambda v: "-" if v is None else f"{v:.4f}"
    head = [f"{HEADER} from study {s['study']} ({s['n_complete']} complete trials): its best, trial "
            f"{b['number']} (run {b['run_id']}).",
            f"# {s['metric']}: all folds {fmt(b['cv_score'])} (OPTIMISTIC: the best of the trials on these folds)"
            + (f"; held-out fold {s['holdout_fold']} {fmt(b['holdout_score'])} against the default's "
               f"{fmt(d.get('holdout_score'))} (honest)" if s["holdout_fold"] is not None else ""),
            "# Train it with the model's train target and this config's name; rerun make tune to update it."]
    body = {"base": path.stem, "model": cfg["model"], "name": f"{path.stem}{SUFFIX}", "tuned_on": tuned_on, **values}
    import yaml
    return "\n".join(head) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def write_outputs(study, config_path, out_dir, s: dict, tuned_on: dict, say=print) -> None:
    out_dir = Path(out_dir)
    name = Path(config_path).stem
    io.write_json(out_dir / f"{name}-tune.json", s)
    if not s.get("best"):
        return
    tuned = Path(config_path).with_name(f"{name}{SUFFIX}.yaml")
    if tuned.exists() and not tuned.read_text(encoding="utf-8").startswith(HEADER):
        raise SystemExit(f"error: {tuned} exists and make tune did not write it; move it away (the study's result "
                         f"is in {out_dir / (name + '-tune.json')})")
    io.write_text_if_changed(tuned, tuned_yaml(config_path, s, tuned_on))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import optuna
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # Optuna marks its matplotlib plots experimental
            ax = optuna.visualization.matplotlib.plot_optimization_history(study)
            ax.set_title(f"{s['study']}: objective ({s['metric']} outside the held-out fold)")
            with io.atomic_path(out_dir / f"{name}-history.png") as tmp:
                ax.figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
            import matplotlib.pyplot as plt
            plt.close("all")
    except Exception as e:       # a plot must not cost the study; say why it is missing
        say(f"warning: no history plot ({type(e).__name__}: {e})")
    say(f"-> {tuned} (train it: the model's train target with this config), {out_dir / (name + '-history.png')}, "
        f"{out_dir / (name + '-tune.json')}")


# ---------------------------------------------------------------- command line

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="An Optuna study over a model config's `tune:` space, on the folds "
                                            "the models train on (kexue.core.tune).")
    p.add_argument("stages", help="the competition's stages module, e.g. kexue.spectra.stages")
    p.add_argument("--config", required=True, help="the model config (YAML) whose `tune:` section is searched")
    p.add_argument("--params", required=True, help="the config resolved for this data (JSON, as make trains it)")
    p.add_argument("--trials", type=int, default=20, help="finished trials the study should hold (all workers)")
    p.add_argument("--storage", default="", help="Optuna RDB URL (default sqlite:///<runs>/_tune/<config>.db)")
    p.add_argument("--holdout", default="last", help="fold kept out of the choice: last (default), a number, none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report-only", action="store_true", help="print the study's report and write its outputs")
    args, rest = p.parse_known_args(argv)
    stages = importlib.import_module(args.stages)
    q = argparse.ArgumentParser(prog=f"{p.prog} {args.stages}")
    protocol.add_inputs(q, stages.INPUTS)
    inputs = protocol.read_inputs(q.parse_args(rest), stages)
    say = lambda m: print(f"[tune {Path(args.config).stem}] {m}", flush=True)
    try:
        space = read_space(args.config)
    except (TuneError, config_lib.ConfigError) as e:
        raise SystemExit(f"error: {e}") from None
    params = io.read_json(args.params)
    data = stages.cv_data(params, inputs)
    n_folds = data.n_folds
    if args.holdout == "none" or n_folds < 2:
        holdout = None
    elif args.holdout == "last":
        holdout = n_folds - 1
    else:
        try:
            holdout = int(args.holdout)
        except ValueError:
            raise SystemExit(f"error: --holdout {args.holdout!r}: expected last, none or a fold number") from None
        if not 0 <= holdout < n_folds:
            raise SystemExit(f"error: --holdout {holdout}: the folds are 0..{n_folds - 1}")
    probe = stages.open_run(params, inputs)       # the default's run: its fingerprints name the study
    info = probe.info
    out_dir = Path(inputs["runs"]) / "_tune"
    out_dir.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(out_dir / (Path(args.config).stem + '.db')).resolve()}"
    name = study_name(params, space["space"], info["data_fingerprint"], info["folds_fingerprint"], holdout)
    study, created = open_study(storage, name, space["pruner"], space["startup_trials"], args.seed)
    say(f"study {name} in {_shown(storage)} ({'created' if created else 'resumed'}; {finished(study)} finished trials)")
    if not args.report_only:
        retried = recover_dead_trials(study)
        if retried:
            say(f"trial(s) {', '.join(map(str, retried))} were left running by a killed process: retried with the "
                f"same values (their finished folds are reused)")
        if ensure_default(study, default_values(params, space["space"])) and not created:
            say("the default (trial 0's values) has no finished trial: queued again")
        import optuna
        from optuna.study import MaxTrialsCallback
        from optuna.trial import TrialState
        left = args.trials - finished(study)
        if left <= 0:
            say(f"the study already holds {finished(study)} finished trials (--trials {args.trials}); nothing to run")
        else:
            objective = Objective(stages, params, space["space"], inputs, data, holdout, say)
            t0 = time.time()
            study.optimize(objective, n_trials=left, gc_after_trial=True, catch=(),
                           callbacks=[MaxTrialsCallback(args.trials, states=(TrialState.COMPLETE, TrialState.PRUNED))])
            say(f"this worker: {time.time() - t0:.0f} s; the study holds {finished(study)} finished trials")
            del optuna
    n_holdout = 0 if holdout is None else int((data.folds == holdout).sum())
    s = summary(study, holdout, n_holdout, data.headline)
    for line in report_lines(s):
        say(line)
    write_outputs(study, args.config, out_dir, s, {"data": info["data_fingerprint"], "folds": info["folds_fingerprint"]},
                  say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
