"""`make nl2sql-submit` end to end on a tiny generated sample: submission, CV logs, ensembling,
no-op reruns, decode-only reruns and compare."""
import json

import numpy as np
import pytest
from conftest import make

pytestmark = pytest.mark.slow

TINY = ["data.sample.n_tables=8", "data.sample.n_train=160", "data.sample.n_val=40", "data.sample.n_test=30",
        "bert.epochs=2", "bert.random_backbone.layers=1", "bert.random_backbone.hidden=32",
        "bert.random_backbone.intermediate=64", "bert.csel_dim=32", "NL_SEEDS=1 2"]



@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nl2sql")
    return tmp, make(tmp, "nl2sql-submit", *TINY)


def test_submission_has_one_valid_line_per_test_question(pipeline):
    from kexue.nl2sql import data
    from kexue.nl2sql import submit as submission
    tmp, out = pipeline
    assert "GENERATED SAMPLE" in out and "logic-form" in out
    [sub] = list((tmp / "subs" / "nl2sql").glob("ensemble-*.json"))
    questions, tables, _ = data.load_split(tmp / "data" / "sample" / "nl2sql", "test", labelled=False)
    submission.validate(sub, questions, tables)
    lines = sub.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30 and list(json.loads(lines[0])) == ["agg", "cond_conn_op", "sel", "table_id", "conds"]


def test_runs_log_scores_and_the_ensemble_averages_two_seeds(pipeline):
    tmp, _ = pipeline
    runs = tmp / "data" / "runs" / "nl2sql"
    members = sorted(runs.glob("bert-*"))
    assert len(members) == 2
    probs = []
    for run in members:
        cv = json.loads((run / "cv.json").read_text())
        assert cv["metric"] == "score" and 0 <= cv["score"] <= 1 and cv["oof"]["n"] == 40
        assert cv["oof"]["execution_acc"] is not None and set(cv["oof"]["components"]) >= {"sel", "agg", "conn"}
        assert cv["data_fingerprint"] and cv["git_commit"] and cv["params"]["backbone"]["kind"] == "random"
        with np.load(run / "test.npz") as z:
            probs.append({k: z[k].astype(np.float32) for k in z.files})
    [ens] = list(runs.glob("ensemble-*"))
    with np.load(ens / "test.npz") as z:
        assert np.allclose(z["sel"], (probs[0]["sel"] + probs[1]["sel"]) / 2, atol=1e-3)
    assert json.loads((ens / "eval.json").read_text())["n"] == 40
    rows = [json.loads(line) for line in (ens / "val_predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and {"question", "gold", "pred", "wrong"} <= set(rows[0])
    lf = json.loads((ens / "eval.json").read_text())["logic_form_acc"]
    assert sum("logic_form" not in r["wrong"] for r in rows) == round(lf * 40)


def test_rerun_is_a_no_op_and_decode_changes_do_not_retrain(pipeline):
    tmp, _ = pipeline
    assert make(tmp, "nl2sql-submit", *TINY).strip() == ""
    out = make(tmp, "nl2sql-submit", *TINY, "decode.snap=false")
    assert "fold 0" not in out and "submission:" in out


def test_compare_lists_every_run(pipeline):
    tmp, _ = pipeline
    out = make(tmp, "compare", "COMP=nl2sql")
    assert out.count("bert-") >= 2 and "ensemble-" in out and "cond_val" in out


def test_competition_files_and_a_google_checkpoint(tmp_path):
    """data/raw/nl2sql/ in the competition layout (with .db files) and NL_BERT naming a Google TF
    checkpoint: no sample, the checkpoint's vocab and weights, execution on the .db, a valid submission."""
    from test_bert import CONFIG, tiny_weights, write_google

    from kexue.nl2sql import data, prepare, sample
    from kexue.nl2sql import submit as submission
    raw = tmp_path / "raw"
    sample.generate(raw, seed=5, n_tables=8, n_train=120, n_val=30, n_test=20)
    splits = {s: data.load_split(raw, s, labelled=s != "test") for s in ("train", "val", "test")}
    vocab = prepare.sample_vocab([q for q, _, _ in splits.values()], [t for _, t, _ in splits.values()])
    ckpt = write_google(tmp_path / "chinese_L-2_H-32", tiny_weights(vocab=len(vocab), maxpos=256),
                        {**CONFIG, "vocab_size": len(vocab), "max_position_embeddings": 256}, tokens=vocab)
    out = make(tmp_path, "nl2sql-submit", f"data.raw_dir={raw}", f"NL_BERT={ckpt}", "bert.epochs=1",
               "bert.csel_dim=16")
    assert "GENERATED SAMPLE" not in out and not (tmp_path / "data" / "sample").exists()
    [run] = [r for r in (tmp_path / "data" / "runs" / "nl2sql").glob("bert-*")]
    cv = json.loads((run / "cv.json").read_text())
    assert cv["params"]["backbone"]["kind"] == "pretrained" and cv["oof"]["n"] == 30
    assert cv["oof"]["n_executable"] == 30            # executed on val.db
    [sub] = list((tmp_path / "subs" / "nl2sql").glob("ensemble-*.json"))
    questions, tables, _ = splits["test"]
    submission.validate(sub, questions, tables)
