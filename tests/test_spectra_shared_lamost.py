"""The whole spectra pipeline on the 387 real LAMOST spectra in ../shared (5 spectral types)."""
import json

import pytest
import yaml
from conftest import LAMOST, ROOT, needs_shared
from test_spectra_pipeline import make

from kexue.spectra import data

pytestmark = [needs_shared, pytest.mark.shared]


def shared_cfg(tmp_path):
    cfg = yaml.safe_load((ROOT / "configs" / "spectra" / "data-shared-lamost.yaml").read_text())
    cfg["raw_dir"] = str(LAMOST)
    path = tmp_path / "data-lamost.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_real_spectra_load_with_the_pipeline_classes(tmp_path, data_cfg):
    sets = data.find_sets(LAMOST, {"train": {"index": "train_index.csv", "data": "data"}})
    ids, types, _ = data.read_index(sets["train"].index, labelled=True)
    assert len(ids) == 387 and set(types) == {"star", "galaxy", "qso", "unknown"}
    # 1 QSO, 1 unknown: too rare for 2 folds, and preprocess says so, naming them and their lines
    with pytest.raises(data.SpectraDataError, match=r"2 classes with fewer members than the 2 folds: 'qso' has "
                                                    r"1 member \(line 388\); 'unknown' has 1 member \(line 138\)"):
        data.preprocess({**data_cfg, "n_values": 2600, "sets": {"train": {"index": "train_index.csv", "data": "data"}}},
                        LAMOST, tmp_path / "store", "raw")
    # as data-shared-lamost.yaml reads them: the stellar types train, the 387 spectra are the test set
    sets_cfg = {"train": {"index": "stellar_types.csv", "data": "data"},
                "test": {"index": "train_index.csv", "data": "data", "ignore_type": True}}
    manifest = data.preprocess({**data_cfg, "n_values": 2600, "sets": sets_cfg}, LAMOST, tmp_path / "store", "raw")
    assert manifest["classes"] == ["a", "f", "g", "k", "m"]
    flux = data.load_set(tmp_path / "store", "test").flux
    assert flux.shape == (387, 2600) and flux.min() < 0 and flux.max() > 1e5  # raw survey fluxes


@pytest.mark.slow
def test_pipeline_on_real_stellar_types(tmp_path):
    """The cheap members (the CNN's path is the sample pipeline's: the same 2600 values; its real-data numbers,
    an hour on 2 cores, are in docs/spectra.md) and the honest blend, which beats its best member here."""
    out = make(tmp_path, "spectra", f"SP_DATA_CFG={shared_cfg(tmp_path)}", "SP_MODELS=lgbm flux_lr flux_rf")
    assert "using competition data" in out
    runs = tmp_path / "data" / "runs" / "spectra"
    models = ("lgbm", "flux_lr", "flux_rf", "ensemble")
    score = {m: json.loads((next(runs.glob(f"{m}-*")) / "cv.json").read_text()) for m in models}
    assert set(score["lgbm"]["oof"]["per_class_f1"]) == {"a", "f", "g", "k", "m"}
    # measured (every member is deterministic, so the floors sit just under): lgbm 0.8759, flux_lr 0.8418,
    # flux_rf 0.8732; the ensemble's procedure (each fold's label chosen on the other folds: weights, mean, mean,
    # weights, mean) 0.8778, the top label's own score (weights, OPTIMISTIC: it chose) 0.8837. Majority-class
    # guessing scores 0.11; the data README's LightGBM reference is 0.826.
    assert score["lgbm"]["score"] > 0.875 and score["flux_lr"]["score"] > 0.841 and score["flux_rf"]["score"] > 0.873
    ens = score["ensemble"]
    assert ens["score"] > 0.877 and not ens["optimistic"] and ens["chosen"] in ens["candidates"]
    assert ens["score"] > max(score[m]["score"] for m in models[:3])           # above its best member, honestly
    assert ens["best_candidate_macro_f1_optimistic"] >= ens["score"] - 1e-9
    [sub] = list((tmp_path / "subs" / "spectra").glob("ensemble-*.csv"))
    rows = sub.read_text().splitlines()
    assert len(rows) == 387 and {r.split(",")[1] for r in rows} <= {"a", "f", "g", "k", "m"}
