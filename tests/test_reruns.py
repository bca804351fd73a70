"""make reruns a stage exactly when a file it reads changed in content: its data, its resolved config, its pipeline
script or the kexue code it imports (kexue.core.codestamp); stage variables (SP_SUBMIT) and model configs a user
adds count too. The spectra pipeline runs in a copy of the repository, so the tests can edit its code."""
import os
import re
from pathlib import Path

import pytest
from conftest import copy_repo as _copy_repo
from conftest import make_in as make

pytestmark = pytest.mark.slow

TINY = ["data.sample.n_train=90", "data.sample.n_test=25", "data.folds.n=3", "cnn.epochs_ce=1", "cnn.epochs_f1=1",
        "cnn.steps_per_epoch=2", "cnn.filters=[4, 4, 8, 8, 8, 8, 8, 8]", "lgbm.lgbm.num_boost_round=20",
        "SP_MODELS=cnn lgbm"]   # the rerun rules are shown on two members; flux_lr is the spectra pipeline test's
FOLD = re.compile(r"(\w+)-\w+\] fold \d of")


def edit(repo: Path, rel: str, line: str = "\n_EDITED = True   # code, so it counts, though it changes no result\n") -> None:
    with open(repo / rel, "a", encoding="utf-8") as f:
        f.write(line)


def trained(out: str) -> set[str]:
    return set(FOLD.findall(out))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = _copy_repo(tmp_path_factory.mktemp("repo"))
    out = make(repo, "-j2", "spectra", *TINY)
    assert trained(out) == {"cnn", "lgbm"}
    assert make(repo, "spectra", *TINY).strip() == ""         # nothing changed: nothing runs, nothing prints
    return repo


def test_the_code_stamps_list_what_each_stage_imported(repo):
    import json
    code = repo / "data" / "interim" / "spectra" / "code"
    files = {p.stem: set(json.loads(p.read_text())["files"]) for p in code.glob("*.json")}
    assert {"preprocess", "folds", "features", "cnn", "lgbm", "ensemble", "submit"} <= set(files)
    assert "src/kexue/spectra/cnn.py" in files["cnn"] and "src/kexue/spectra/cnn.py" not in files["lgbm"]
    assert "src/kexue/spectra/lgbm.py" in files["lgbm"] and "pipelines/spectra/train.py" in files["cnn"]
    assert "src/kexue/core/plots.py" not in files["cnn"] | files["lgbm"]
    assert "src/kexue/spectra/submit.py" in files["submit"] and "src/kexue/spectra/submit.py" not in files["cnn"]


def test_editing_plots_retrains_nothing(repo):
    edit(repo, "src/kexue/core/plots.py")
    out = make(repo, "spectra", *TINY)
    assert trained(out) == set() and "[spectra] submission" not in out, out


def test_a_comment_or_docstring_edit_reruns_nothing(repo):
    edit(repo, "src/kexue/spectra/lgbm.py", "\n# a comment on the model\n")
    path = repo / "src" / "kexue" / "core" / "cv.py"          # every training stage imports it
    path.write_text(path.read_text().replace('"""The one k-fold loop', '"""The one k-fold loop (docs edited)', 1))
    assert make(repo, "spectra", *TINY).strip() == ""


def test_editing_blend_code_reruns_the_blend_and_retrains_no_member(repo):
    edit(repo, "src/kexue/core/blend.py")
    out = make(repo, "spectra", *TINY)
    assert "blend.py changed" in out and "ensemble OOF" in out and trained(out) == set(), out


def test_editing_preprocess_code_re_preprocesses_only(repo):
    edit(repo, "src/kexue/spectra/prepare.py")
    out = make(repo, "spectra", *TINY)
    assert "prepare.py changed" in out and "[spectra] train:" in out      # preprocess ran again ...
    assert trained(out) == set() and "[spectra] submission" not in out   # ... and its store did not change


def test_editing_the_model_code_retrains_that_model_only(repo):
    edit(repo, "src/kexue/spectra/lgbm.py")
    out = make(repo, "spectra", *TINY)
    assert trained(out) == {"lgbm"} and "[spectra] train:" not in out


def test_editing_submit_code_resubmits_only(repo):
    edit(repo, "src/kexue/spectra/submit.py")
    out = make(repo, "spectra", *TINY)
    assert "[spectra] submission" in out and trained(out) == set() and "ensemble OOF" not in out


def test_editing_a_pipeline_script_reruns_its_stage(repo):
    edit(repo, "pipelines/spectra/features.py")
    out = make(repo, "spectra", *TINY)
    assert "features train" in out and trained(out) == set()           # same features: nothing downstream


def test_changing_sp_submit_writes_that_runs_submission(repo):
    out = make(repo, "spectra", *TINY, "SP_SUBMIT=lgbm")
    assert re.search(r"submission: .* -> .*/lgbm-\w+\.csv", out) and trained(out) == set()
    out = make(repo, "spectra", *TINY)
    assert re.search(r"submission: .* -> .*/ensemble-\w+\.csv", out)


def test_a_user_model_config_depends_on_the_features(repo):
    """configs/spectra/lgbm_big.yaml says `model: lgbm`: it reads the features as lgbm does, the CNN does not."""
    cfg = (repo / "configs" / "spectra" / "lgbm.yaml").read_text().replace("name: lgbm", "name: lgbm_big")
    (repo / "configs" / "spectra" / "lgbm_big.yaml").write_text(cfg)
    out = make(repo, "spectra-train-lgbm_big", *TINY, "lgbm_big.lgbm.num_boost_round=30")
    assert trained(out) == {"lgbm_big"}
    # the features changed (a second later: file times are coarse enough for a bare utime to tie with the stamp)
    later = (repo / "data" / "interim" / "spectra" / "lgbm_big.trained").stat().st_mtime + 1
    os.utime(repo / "data" / "features" / "spectra" / "manifest.json", (later, later))
    assert trained(make(repo, "spectra-train-lgbm_big", *TINY, "lgbm_big.lgbm.num_boost_round=30")) == {"lgbm_big"}
    assert trained(make(repo, "spectra-cnn", *TINY)) == set()
