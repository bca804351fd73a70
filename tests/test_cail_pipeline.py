"""`make cail-submit` end to end on a tiny generated sample (ZLPR and BCE runs on the same folds, tuned-threshold
blends, the submission in the organiser's format, no-op reruns, compare), the competition layout in
data/raw/cail2019/, the real divorce file through preprocess, and tuned thresholds that never grade a fold on its own rows."""
import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import ROOT, SHARED, copy_repo, make, make_in

CAIL = SHARED / "data" / "multilabel" / "cail2019"

TINY = ["data.sample.n_train_docs=24", "data.sample.n_test_docs=6", "folds.k=2", "dgc-zlpr.epochs=2",
        "dgc-zlpr.dim=16", "dgc-bce.epochs=2", "dgc-bce.dim=16"]



@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cail")
    return tmp, make(tmp, "cail-submit", *TINY)


@pytest.mark.slow
def test_submission_is_the_test_file_with_labels(pipeline):
    from kexue.cail2019 import data, submit
    tmp, out = pipeline
    assert "GENERATED SAMPLE" in out and "test (gold): CAIL score" in out
    [sub] = list((tmp / "subs" / "cail2019").glob("ensemble-*.json"))
    sample = tmp / "data" / "sample" / "cail2019"
    tags = data.read_tags(sample / "tags.txt")
    test = data.read_documents(sample / "test.json", tags, labelled=False)
    got = data.read_documents(sub, tags)
    assert submit.validate_submission(sub, sample / "test.json", tags) == len(test) == 6
    assert [[s["sentence"] for s in d] for d in got] == [[s["sentence"] for s in d] for d in test]
    assert (tmp / "data" / "interim" / "cail2019" / "submission.txt").read_text().strip() == str(sub)


@pytest.mark.slow
def test_zlpr_and_bce_share_folds_and_blends_tune_thresholds(pipeline):
    from kexue.cail2019 import data
    tmp, _ = pipeline
    runs = tmp / "data" / "runs" / "cail2019"
    cvs = {p.parent.name.rsplit("-", 1)[0]: json.loads(p.read_text()) for p in runs.glob("*/cv.json")}
    assert set(cvs) == {"dgc-zlpr", "dgc-bce", "tfidf-lr", "dgc-zlpr-tuned", "dgc-bce-tuned", "ensemble"}
    assert len({c["folds_fingerprint"] for c in cvs.values()}) == 1
    assert len({c["data_fingerprint"] for c in cvs.values()}) == 1
    assert cvs["dgc-zlpr"]["params"]["loss"] == "zlpr" and cvs["dgc-bce"]["params"]["loss"] == "bce"
    for c in cvs.values():
        assert c["metric"] == "cail_score"
        assert c["score"] == pytest.approx((c["oof"]["micro_f1"] + c["oof"]["macro_f1"]) / 2)
    tuned = next(runs.glob("dgc-bce-tuned-*"))
    th = json.loads((tuned / "thresholds.json").read_text())
    assert th["mode"] == "tuned" and len(th["thresholds"]) == 20
    assert all(0.05 <= t <= 0.95 for t in th["thresholds"])
    assert cvs["dgc-bce-tuned"]["members"] == {next(runs.glob("dgc-bce-[0-9a-f]*")).name: cvs["dgc-bce"]["score"]}
    # the blend's probabilities are its member's, only the decision moved
    np.testing.assert_array_equal(np.load(tuned / "oof.npy"), np.load(next(runs.glob("dgc-bce-[0-9a-f]*")) / "oof.npy"))
    # folds are whole documents
    folds = np.load(tmp / "data" / "features" / "cail2019" / "folds.npy")
    with np.load(tmp / "data" / "features" / "cail2019" / "train.npz") as z:
        doc, y = z["doc"], z["y"]
    assert all(len(set(folds[doc == d])) == 1 for d in np.unique(doc))
    train = data.read_documents(tmp / "data" / "sample" / "cail2019" / "train.json")
    assert len(folds) == sum(map(len, train)) and y.shape == (len(folds), 20)


@pytest.mark.slow
def test_rerun_is_a_no_op_and_compare_lists_every_run(pipeline):
    tmp, _ = pipeline
    assert make(tmp, "cail-submit", *TINY).strip() == ""
    out = make(tmp, "compare", "COMP=cail2019")
    for name in ("dgc-zlpr-", "dgc-bce-", "dgc-bce-tuned-", "dgc-zlpr-tuned-", "ensemble-"):
        assert name in out
    assert (tmp / "data" / "runs" / "cail2019" / "compare.png").exists()


@pytest.mark.slow
def test_make_tune_trials_are_runs_and_the_tuned_config_trains(tmp_path):
    """make tune on the tiny sample, in a copy of the repository (it writes configs/cail2019/tfidf-lr-optuna.yaml):
    3 trials, the report with its honest held-out line, a tuned config the train target accepts, compare
    marking trials and the tuned run, and a second make tune that runs nothing."""
    repo = copy_repo(tmp_path / "repo")
    out = make_in(repo, "tune", "COMP=cail2019", "MODEL=tfidf-lr", "TRIALS=3", *TINY)
    assert "(created; 0 finished trials)" in out and "trial 2:" in out
    assert "honest: on held-out fold 1" in out and "OPTIMISTIC" in out
    tuned = repo / "configs" / "cail2019" / "tfidf-lr-optuna.yaml"
    assert "base: tfidf-lr" in tuned.read_text()
    assert (repo / "data" / "runs" / "cail2019" / "_tune" / "tfidf-lr-history.png").exists()
    out = make_in(repo, "cail-train-tfidf-lr-optuna.s42", *TINY)
    assert "OOF cail_score" in out
    out = make_in(repo, "compare", "COMP=cail2019")
    assert "(trial 0)" in out and "(trial 2)" in out
    assert next(line for line in out.splitlines() if line.startswith("tfidf-lr-optuna-")).count("OPTIMISTIC") == 1
    out = make_in(repo, "tune", "COMP=cail2019", "MODEL=tfidf-lr", "TRIALS=3", *TINY)
    assert "nothing to run" in out and "trial 3:" not in out


@pytest.mark.slow
def test_competition_layout_without_a_test_gold(tmp_path):
    from kexue.cail2019 import sample
    sample.generate(tmp_path / "gen", seed=3, n_train_docs=20, n_test_docs=4)
    raw = tmp_path / "data" / "raw" / "cail2019"
    raw.mkdir(parents=True)
    for name in ("train.json", "test.json", "tags.txt"):
        shutil.copy(tmp_path / "gen" / name, raw / name)
    out = make(tmp_path, "cail-submit", f"data.raw_dir={raw}", "folds.k=2", "CAIL_MODELS=dgc-zlpr",
               "CAIL_BLENDS=ensemble", "dgc-zlpr.epochs=1", "dgc-zlpr.dim=8")
    assert "GENERATED SAMPLE" not in out and "test (gold)" not in out and "submission: 4 documents" in out
    manifest = json.loads((tmp_path / "data" / "processed" / "cail2019" / "manifest.json").read_text())
    assert manifest["source"] == "raw" and manifest["counts"]["test_gold"] is False


def test_bad_input_names_the_file_and_line(tmp_path):
    from kexue.cail2019 import sample
    sample.generate(tmp_path / "gen", seed=1, n_train_docs=5, n_test_docs=2)
    raw = tmp_path / "data" / "raw" / "cail2019"
    raw.mkdir(parents=True)
    shutil.copy(tmp_path / "gen" / "tags.txt", raw / "tags.txt")
    lines = (tmp_path / "gen" / "train.json").read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2].replace('"DV', '"XX', 1) if '"DV' in lines[2] else lines[2].replace('[]', '["XX1"]', 1)
    (raw / "train.json").write_text("\n".join(lines), encoding="utf-8")
    cmd = ["make", "--no-print-directory", "cail-preprocess", f"data.raw_dir={raw}", f"DATA_DIR={tmp_path}/data"]
    out = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "train.json:3:" in out.stderr and "unknown label 'XX" in out.stderr


def test_tuned_thresholds_never_grade_a_fold_on_its_own_rows():
    from kexue.core import multilabel, stack
    from kexue.core.multilabel import tune_thresholds
    # fold 0 is separable at (0.1, 0.3), fold 1 at (0.6, 0.8): each fold is decided with the other's threshold
    # (the grid value closest to 0.5 of its perfect range: 0.25 and 0.6), never with one fitted to itself
    y = np.array([[1], [0], [1], [0]])
    prob = np.array([[0.3], [0.1], [0.8], [0.6]])
    folds = np.array([0, 0, 1, 1])
    grid = np.round(np.arange(0.05, 0.96, 0.05), 6)
    rules = stack.multilabel_rules(grid, "tuned")
    cands = stack.candidates(["mean"], ["p"])
    choice = stack.choose(cands, [prob], y, folds, multilabel.cail_score, rules)
    assert choice.names == ["mean+thresholds"]
    assert choice.decisions["mean+thresholds"][:, 0].tolist() == [False, False, True, True]  # 0.6, then 0.25
    assert tune_thresholds(y[:2], prob[:2], grid, default=0.5)[0] == 0.25
    _, final = stack.fit_final(cands, "mean+thresholds", [prob], y, folds, choice, rules)
    np.testing.assert_array_equal(final, tune_thresholds(y, prob.astype(np.float32), grid, default=0.5))


@pytest.mark.slow
@pytest.mark.shared
@pytest.mark.skipif(not CAIL.exists(), reason="../shared is absent")
def test_real_divorce_file_preprocesses_and_encodes(tmp_path):
    out = make(tmp_path, "cail-folds", "CAIL_DATA_CFG=configs/cail2019/data-shared-divorce.yaml")
    assert "train: 400 documents, 11685 sentences" in out and "no test file" in out
    folds = np.load(tmp_path / "data" / "features" / "cail2019" / "folds.npy")
    assert len(folds) == 11685 and set(folds) == set(range(5))
