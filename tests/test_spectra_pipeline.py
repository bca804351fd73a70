"""`make spectra` end to end on a tiny generated sample: outputs, no-op reruns, targeted reruns, compare."""
import json
import re

import numpy as np
import pytest
from conftest import make

pytestmark = pytest.mark.slow

TINY = ["data.sample.n_train=90", "data.sample.n_test=25", "data.folds.n=3", "cnn.epochs_ce=1", "cnn.epochs_f1=1",
        "cnn.steps_per_epoch=2", "cnn.filters=[4, 4, 8, 8, 8, 8, 8, 8]", "lgbm.lgbm.num_boost_round=20"]



@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipe")
    first = make(tmp, "-j2", "spectra", *TINY)
    return tmp, first


def test_first_run_announces_the_sample_and_writes_a_valid_submission(pipeline):
    tmp, out = pipeline
    assert "GENERATED SAMPLE" in out
    subs = list((tmp / "subs" / "spectra").glob("ensemble-*.csv"))
    assert len(subs) == 1
    lines = subs[0].read_text().splitlines()
    test_ids = (tmp / "data" / "sample" / "spectra" / "test_index.csv").read_text().split()[1:]
    assert [l.split(",")[0] for l in lines] == test_ids  # no header, every test id once, in order
    assert {l.split(",")[1] for l in lines} <= {"star", "galaxy", "qso", "unknown"}


def test_cv_logs_hold_what_a_comparison_needs(pipeline):
    tmp, _ = pipeline
    runs = tmp / "data" / "runs" / "spectra"
    for model in ("cnn", "lgbm", "ensemble"):
        [run] = list(runs.glob(f"{model}-*"))
        cv = json.loads((run / "cv.json").read_text())
        assert len(cv["fold_scores"]) == 3 and 0 <= cv["score"] <= 1
        assert set(cv["oof"]["per_class_f1"]) == {"galaxy", "qso", "star", "unknown"}
        assert np.array(cv["oof"]["confusion"]).sum() == 90
        assert cv["data_fingerprint"] and cv["git_commit"] and cv["params"]
        assert (run / "confusion.png").stat().st_size > 1000
        oof = np.load(run / "oof.npy")
        assert oof.shape == (90, 4) and np.allclose(oof.sum(1), 1, atol=1e-3)
        assert np.load(run / "test.npy").shape == (25, 4)
    ens = json.loads((next(runs.glob("ensemble-*")) / "cv.json").read_text())
    member_ids = {p.name for m in ("cnn", "lgbm", "flux_lr", "flux_rf") for p in runs.glob(f"{m}-*")}
    plain = member_ids | {"mean", "weights", "stack_lr", "stack_lgbm"}
    assert set(ens["candidates"]) == plain | {f"{c}+offsets" for c in plain}
    assert ens["chosen"] in ens["candidates"] and len(ens["chosen_per_fold"]) == 3
    assert not ens["optimistic"] and ens["score"] <= max(ens["candidates"].values()) + 1e-9   # nested: honest


def test_rerun_with_nothing_changed_does_nothing(pipeline):
    tmp, _ = pipeline
    out = make(tmp, "spectra", *TINY)
    assert out.strip() == "", out  # not even a log line


def test_changed_config_reruns_only_what_depends_on_it(pipeline):
    tmp, _ = pipeline
    changed = [a for a in TINY if not a.startswith("lgbm.")] + ["lgbm.lgbm.num_boost_round=25"]
    out = make(tmp, "spectra", *changed)
    assert re.search(r"lgbm-\w+\] fold 0 of 3", out)
    assert not re.search(r"cnn-\w+\] fold", out) and "[spectra] train:" not in out and "features train" not in out
    assert "ensemble OOF macro-F1" in out and "[spectra] submission:" in out
    assert len(list((tmp / "data" / "runs" / "spectra").glob("lgbm-*"))) == 2  # the old run is kept

    table = make(tmp, "compare", "COMP=spectra")
    assert "lgbm.num_boost_round=25" in table and "lgbm.num_boost_round=20" in table
    assert (tmp / "data" / "runs" / "spectra" / "compare.png").stat().st_size > 1000


def test_a_single_stage_reruns_alone(pipeline):
    tmp, _ = pipeline
    (tmp / "data" / "interim" / "spectra" / "features.done").unlink()
    out = make(tmp, "spectra-features", *TINY)
    assert "[spectra] features train" in out and "] fold" not in out
