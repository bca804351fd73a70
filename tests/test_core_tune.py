"""make tune (kexue.core.tune): the search space from the YAML, trials as ordinary runs, pruning, the held-out
fold, resuming after a kill, and two workers sharing a study in a real PostgreSQL server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import toy_stages
from conftest import run_together

from kexue.core import config, io, pglocal, runlog, tune

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TOY = """name: toy
model: toy
seed: 0
C: 1.0
sleep: 0.0
tune:
  space:
    C: {low: 0.0001, high: 100.0, log: true}
  pruner: median
  startup_trials: %d
"""


def _setup(tmp_path, startup: int = 1, sleep: float = 0.0):
    cfg = tmp_path / "configs" / "toy.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(TOY % startup)
    params = config.resolve(cfg, [f"sleep={sleep}"] if sleep else [])
    io.write_json(tmp_path / "toy.params.json", params)
    toy_stages.write_data(tmp_path / "toy.npz")
    return cfg


def _args(tmp_path, cfg, trials: int, *extra: str) -> list[str]:
    return ["toy_stages", "--config", str(cfg), "--params", str(tmp_path / "toy.params.json"),
            "--trials", str(trials), *extra, "--data", str(tmp_path / "toy.npz"), "--runs", str(tmp_path / "runs")]


def _study(tmp_path, storage: str | None = None):
    import optuna
    storage = storage or f"sqlite:///{tmp_path / 'runs' / '_tune' / 'toy.db'}"
    name, = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    return optuna.load_study(study_name=name, storage=storage)


def _env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT / "src")])}


# ---------------------------------------------------------------- the search space

def test_space_errors_name_the_file_and_key(tmp_path):
    cfg = tmp_path / "m.yaml"
    cases = {
        "tune: {space: {lr: {low: 0.1, high: 1.0}}}": "no key 'lr'",
        "tune: {space: {C: {low: 1.0, high: 0.5}}}": "low < high",
        "tune: {space: {C: {low: 0.0, high: 1.0, log: true}}}": "log range must start above 0",
        "tune: {space: {C: [1, 2]}}": "expected {low",
        "tune: {space: {C: {choices: []}}}": "non-empty list",
        "tune: {space: {C: {low: 1, high: 2}}, pruner: hyperband}": "tune.pruner",
        "C: 1.0": "no `tune:` section",
    }
    for text, message in cases.items():
        cfg.write_text("name: m\nmodel: m\nC: 1.0\n" + ("" if text == "C: 1.0" else text + "\n"))
        with pytest.raises(tune.TuneError) as e:
            tune.read_space(cfg)
        assert message in str(e.value) and str(cfg) in str(e.value), text


def test_tune_section_never_reaches_the_params(tmp_path):
    """Editing the search space must not change a run id (it would retrain every model)."""
    cfg = tmp_path / "toy.yaml"
    cfg.write_text(TOY % 1)
    with_space = config.resolve(cfg)
    cfg.write_text(TOY.split("tune:")[0])
    assert "tune" not in with_space and config.public(with_space) == config.public(config.resolve(cfg))


def test_int_float_and_choice_suggestions():
    import optuna
    study = optuna.create_study()
    trial = study.ask()
    assert isinstance(tune.suggest(trial, "a", {"low": 2, "high": 9}), int)
    assert isinstance(tune.suggest(trial, "b", {"low": 0.1, "high": 0.9}), float)
    assert tune.suggest(trial, "c", {"choices": ["balanced", None]}) in ("balanced", None)


def test_a_default_queued_twice_by_racing_workers_runs_once(tmp_path):
    """Two workers that both found no default queued it twice (the interleaving the PostgreSQL test hit once):
    the later copy is dropped before any worker pops it; a copy some worker has already started is left alone."""
    import optuna
    from optuna.trial import TrialState
    storage = f"sqlite:///{tmp_path / 'race.db'}"
    study = optuna.create_study(study_name="race", storage=storage)
    other = optuna.load_study(study_name="race", storage=storage)        # the second worker's handle
    for handle in (study, other):
        handle.enqueue_trial({"x": 1.0}, user_attrs={"default": True})
    assert tune.drop_duplicate_defaults(other) == [1]
    assert tune.drop_duplicate_defaults(study) == []
    t0, t1 = study.get_trials(deepcopy=False)
    assert t0.state == TrialState.WAITING and t0.user_attrs["default"] is True
    assert t1.state == TrialState.FAIL and t1.user_attrs == {"default": False, "duplicate_of": 0}
    assert tune.ensure_default(study, {"x": 1.0}) is False               # the waiting one still counts
    study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=2)
    assert sum(bool(t.user_attrs.get("default")) for t in study.trials) == 1
    # a duplicate already running (popped by a worker) is never failed under that worker
    racing = optuna.create_study(study_name="racing", storage=storage)
    for _ in range(2):
        racing.enqueue_trial({"x": 1.0}, user_attrs={"default": True})
    started = racing.ask()                                                 # pops trial 0
    racing._storage.set_trial_state_values(racing.get_trials(deepcopy=False)[1]._trial_id, TrialState.RUNNING)
    assert tune.drop_duplicate_defaults(racing) == []
    assert [t.state for t in racing.get_trials(deepcopy=False)] == [TrialState.RUNNING] * 2
    racing.tell(started, 1.0)


# ---------------------------------------------------------------- a study

def test_trials_are_runs_and_the_holdout_stays_out_of_the_choice(tmp_path, capsys):
    cfg = _setup(tmp_path, startup=10)          # no pruning: every trial complete
    tune.main(_args(tmp_path, cfg, 4))
    study = _study(tmp_path)
    trials = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(trials) == 4
    assert trials[0].params == {"C": 1.0} and trials[0].user_attrs["default"]
    data = toy_stages.cv_data({}, {"data": tmp_path / "toy.npz"})
    outside = np.flatnonzero(data.folds != 4)
    for t in trials:
        run = tmp_path / "runs" / t.user_attrs["run_id"]
        assert (run / "cv.json").exists() and json.loads((run / "tune.json").read_text())["trial"] == t.number
        assert io.read_json(run / "params.json")["C"] == pytest.approx(t.params["C"])
        oof = np.load(run / "oof.npy")
        # the objective is the OOF score of the rows outside fold 4; fold 4's score is kept apart
        assert t.value == pytest.approx(tune.rows_score(data, oof, outside))
        assert t.user_attrs["holdout_score"] == pytest.approx(tune.rows_score(data, oof, np.flatnonzero(data.folds == 4)))
    out = capsys.readouterr().out
    assert "OPTIMISTIC" in out and "held-out fold 4 (60 rows" in out
    best = max(trials, key=lambda t: t.value)
    tuned = cfg.with_name("toy-optuna.yaml")
    body = config.load(tuned)
    assert body["base"] == "toy" and body["C"] == pytest.approx(best.params["C"]) and body["name"] == "toy-optuna"
    assert "OPTIMISTIC" in tuned.read_text()
    resolved = config.resolve(tuned)     # a config the train stage accepts, with the untuned values of its base
    assert resolved["sleep"] == 0.0 and "tune" not in resolved
    assert (tmp_path / "runs" / "_tune" / "toy-history.png").stat().st_size > 1000
    summary = io.read_json(tmp_path / "runs" / "_tune" / "toy-tune.json")
    assert summary["best"]["number"] == best.number and summary["default"]["number"] == 0
    # the study holds its trials: asking for as many again runs nothing
    tune.main(_args(tmp_path, cfg, 4))
    assert len(_study(tmp_path).trials) == 4


def test_a_poor_trial_is_pruned_before_the_holdout_fold(tmp_path):
    import optuna
    cfg = _setup(tmp_path, startup=1)
    tune.main(_args(tmp_path, cfg, 1))                                   # the default, complete
    study = _study(tmp_path)
    study.enqueue_trial({"C": 0.0001})                                   # predicts one class: far below the median
    tune.main(_args(tmp_path, cfg, 2))
    poor = _study(tmp_path).trials[1]
    assert poor.state == optuna.trial.TrialState.PRUNED and poor.params == {"C": 0.0001}
    assert list(poor.intermediate_values) == [0]                         # stopped after its first fold
    run = tmp_path / "runs" / poor.user_attrs["run_id"]
    assert (run / "fold0" / "done.json").exists() and not (run / "fold4").exists() and not (run / "cv.json").exists()


def test_killed_worker_resumes_without_repeating_a_trial(tmp_path):
    """kill -9 in the middle of a trial; the next start fails that trial, retries its values (reusing its finished
    folds) and completes the study to --trials, each finished trial once."""
    cfg = _setup(tmp_path, startup=10, sleep=0.4)
    cmd = [sys.executable, "-m", "kexue.core.tune", *_args(tmp_path, cfg, 3)]
    proc = subprocess.Popen(cmd, env=_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    # wait until trial 1 has finished a fold, then kill
    while time.time() < deadline:
        done = [r for r in toy_stages.runs_of(tmp_path / "runs") if (r / "tune.json").exists()
                and io.read_json(r / "tune.json")["trial"] == 1 and (r / "fold1" / "done.json").exists()]
        if done:
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("trial 1 never finished a fold within 2 minutes")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_run = done[0]
    assert not (killed_run / "cv.json").exists()
    out = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "left running by a killed process" in out.stdout
    study = _study(tmp_path)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") == 3 and states.count("FAIL") == 1
    retry = next(t for t in study.trials if t.user_attrs.get("retry_of") == 1)
    assert retry.state.name == "COMPLETE" and retry.user_attrs["run_id"] == killed_run.name
    assert "fold 0: already done, skipping" in (killed_run / "log.txt").read_text()
    complete_runs = [t.user_attrs["run_id"] for t in study.trials if t.state.name == "COMPLETE"]
    assert len(set(complete_runs)) == 3


# ---------------------------------------------------------------- two workers, one PostgreSQL study

@pytest.fixture
def postgres():
    reason = pglocal.available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL test: {reason}")
        pytest.skip(reason)
    parent = Path(tempfile.mkdtemp(prefix="kexue-pg-"))
    parent.chmod(0o755)          # as root the server runs as `postgres`, which must reach its folder
    directory = parent / "cluster"
    try:
        yield pglocal.start(directory)
    finally:
        pglocal.stop(directory)
        import shutil
        shutil.rmtree(parent, ignore_errors=True)


def test_two_workers_share_one_postgres_study(tmp_path, postgres):
    cfg = _setup(tmp_path, startup=2, sleep=0.2)
    cmd = [sys.executable, "-m", "kexue.core.tune", *_args(tmp_path, cfg, 8, "--storage", postgres)]
    results = run_together([cmd, cmd], [tmp_path / f"worker{i}.log" for i in range(2)], env=_env(), cwd=tmp_path)
    outs = [out for _, out in results]
    assert all(rc == 0 for rc, _ in results), "\n".join(outs)
    assert sum("(created;" in o for o in outs) == 1                     # one worker made the study
    study = _study(tmp_path, postgres)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 8 <= len(finished) <= 9                # each worker checks the count before it starts a trial
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(len(numbers)))                  # every trial recorded once
    assert len({t.user_attrs["pid"] for t in finished}) == 2             # both workers contributed
    assert sum(bool(t.user_attrs.get("default")) for t in study.trials) == 1
    for t in study.trials:
        if t.state.name == "COMPLETE":
            assert (tmp_path / "runs" / t.user_attrs["run_id"] / "cv.json").exists()
    assert runlog.completed_runs(tmp_path / "runs")
