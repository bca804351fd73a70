"""Honest out-of-fold scores: the scored rows reach neither fit() nor the choice of epoch; blends are scored
cross-fitted; optimistic numbers say so."""
import numpy as np
import pytest

from kexue.core import compare, cv, folds, io, runlog


class Recorder:
    """A model that selects (like a network keeping its best epoch) and remembers every row it was shown."""
    selects = True
    seen: dict = {}  # noqa: RUF012 (the last fold's rows, read by the tests)

    def __init__(self, params, workdir, seed, classes):
        self.classes = classes

    def fit(self, x_train, y_train, x_valid, y_valid):
        Recorder.seen = {"fit": np.asarray(x_train).tolist(), "select": np.asarray(x_valid).tolist()}
        return {}

    def predict(self, x):
        return np.full((len(x), len(self.classes)), 1 / len(self.classes), np.float32)


class Fixed(Recorder):
    selects = False


def _data(n=120, groups=None):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    return cv.CVData(x=np.arange(n), y=y, folds=folds.assign_folds(4, 0, y=y), x_test=np.arange(5),
                     classes=["a", "b", "c"], groups=groups)


def _fold(tmp_path, data, model, **params):
    run = runlog.Run.create(tmp_path / "runs" / "demo", {"name": "rec", "seed": 3, **params}, "d", "f")
    done = cv.train_fold(run, 1, data, model)
    return run, done, Recorder.seen


def test_inner_selection_never_shows_the_scored_rows(tmp_path):
    data = _data()
    valid = set(np.flatnonzero(data.folds == 1).tolist())
    _, done, seen = _fold(tmp_path, data, Recorder)
    fit, select = set(seen["fit"]), set(seen["select"])
    assert not (fit | select) & valid                                  # neither fit() nor selection saw them
    assert not fit & select and len(fit) + len(select) == len(data.y) - len(valid)
    assert 0.10 < len(select) / (len(fit) + len(select)) < 0.20         # selection_fraction 0.15
    y_sel = data.y[sorted(select)]
    assert set(y_sel.tolist()) == {0, 1, 2}                             # stratified like the folds
    assert done["selection"] == "inner" and not done["optimistic"] and done["n_select"] == len(select)


def test_inner_selection_keeps_groups_whole(tmp_path):
    groups = np.repeat(np.arange(30), 4)
    data = _data(groups=groups)
    _, _, seen = _fold(tmp_path, data, Recorder)
    assert not set(groups[seen["fit"]]) & set(groups[seen["select"]])


def test_outer_selection_is_labelled_optimistic_everywhere(tmp_path):
    data = _data()
    run = runlog.Run.create(tmp_path / "runs" / "demo", {"name": "rec", "seed": 3, "selection": "outer"}, "d", "f")
    result = cv.run_cv(run, data, Recorder)
    assert Recorder.seen["select"] == np.flatnonzero(data.folds == 3).tolist()   # the last fold's own rows
    assert result["optimistic"] and result["selection"] == "outer"
    assert "OPTIMISTIC" in (run.dir / "log.txt").read_text()
    honest = runlog.Run.create(tmp_path / "runs" / "demo", {"name": "rec", "seed": 3}, "d", "f")
    cv.run_cv(honest, data, Recorder)
    table = compare.compare(tmp_path / "runs" / "demo")
    lines = table.splitlines()
    assert lines[2].startswith(honest.id) and lines[3].startswith(run.id) and "OPTIMISTIC" in lines[3]
    assert "OPTIMISTIC:" in table


def test_last_and_non_selecting_models_train_on_every_training_row(tmp_path):
    data = _data()
    n_train = int((data.folds != 1).sum())
    _, done, seen = _fold(tmp_path, data, Recorder, selection="last")
    assert len(seen["fit"]) == n_train and seen["select"] == [] and done["selection"] == "last"
    _, done, seen = _fold(tmp_path / "b", data, Fixed)
    assert len(seen["fit"]) == n_train and seen["select"] == [] and done["selection"] == "none"


def test_bad_selection_settings_are_clear_errors(tmp_path):
    with pytest.raises(SystemExit, match="selection must be one of"):
        _fold(tmp_path, _data(), Recorder, selection="valid")
    with pytest.raises(SystemExit, match="cannot carve a selection split"):
        _fold(tmp_path / "b", _data(groups=np.repeat([0, 1], 60)), Recorder)   # 2 groups: 1 left after the fold


def test_cv_json_records_the_code_that_trained_the_folds(tmp_path):
    data = _data()
    run = runlog.Run.create(tmp_path / "runs" / "demo", {"name": "rec", "seed": 3}, "d", "f")
    result = cv.run_cv(run, data, Recorder)
    done = io.read_json(run.fold_dir(0) / "done.json")
    assert result["code_hash"] == done["provenance"]["code_hash"] and len(result["code_hash"]) == 16
    assert result["git_commit"] == done["provenance"]["git_commit"] and result["versions"]["numpy"]
    # a fold retrained by other code shows up, rather than the run's creation-time commit
    done["provenance"]["git_commit"] = "0" * 40
    io.write_json(run.fold_dir(0) / "done.json", done)
    result = cv.collect(run, data)
    assert isinstance(result["git_commit"], list) and "0" * 40 in result["git_commit"]


def test_noise_blend_scores_at_chance_on_its_headline(tmp_path, monkeypatch):
    """Five members of pure noise: the blend's headline (each fold's candidate chosen, fitted and decided on the
    other folds) stays at chance, and so does the best candidate's own score."""
    from kexue.spectra import blend
    n, k = 300, 4
    rng = np.random.default_rng(0)
    y = rng.integers(0, k, n)
    store = tmp_path / "store"
    (store / "train").mkdir(parents=True)
    np.save(store / "folds.npy", folds.assign_folds(5, 0, y=y))
    oofs = [rng.dirichlet(np.ones(k), n).astype(np.float32) for _ in range(5)]
    runs = tmp_path / "runs"
    members = []
    for m in range(5):
        run = runlog.Run.create(runs, {"name": f"noise{m}"}, "d", io.sha256_file(store / "folds.npy", 16))
        p = oofs[m]
        cv.write_run(run, p, p[:5], {"macro_f1": 0.25}, [0.25], list("abcd"), extra={"seconds": {"wall_total": 1}})
        members.append(run.id)

    class Set:
        labels = y

    monkeypatch.setattr(blend.data, "load_set", lambda store_dir, name: Set)
    params = {"name": "ensemble", "class_offsets": True, "candidates": ["members", "mean", "weights", "stack_lr"]}
    result = blend.blend_runs(params, members, {"runs": runs, "store": store})
    chance = 1 / k
    assert abs(result["score"] - chance) < 0.05                                # the headline is at chance
    assert result["best_candidate_macro_f1_optimistic"] < chance + 0.08       # the choice found nothing either
    plain = {*members, "mean", "weights", "stack_lr"}
    assert set(result["candidates"]) == plain | {f"{c}+offsets" for c in plain}
