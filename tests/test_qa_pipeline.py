"""`make qa-submit` end to end on a tiny generated sample (submission, CV logs with the Sogou score, fold and
seed averaging, no-op reruns, decode-only reruns, compare), the competition layout in data/raw/qa/ with a
user's word2vec file, the shared WebQA split, and the stage functions on their own."""
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED, make

WEBQA = SHARED / "data" / "qa" / "webqa"

TINY = ["data.sample.n_train=40", "data.sample.n_test=12", "features.word2vec.dim=16", "folds.k=2",
        "dgcnn.epochs=1", "dgcnn.dim=16", "QA_SEEDS=1 2"]



@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("qa")
    return tmp, make(tmp, "qa-submit", *TINY)


# ---------------------------------------------------------------- the pipeline on the generated sample

@pytest.mark.slow
def test_submission_has_one_line_per_test_question_in_order(pipeline):
    from kexue.qa import data
    tmp, out = pipeline
    assert "GENERATED SAMPLE" in out and "with voting" in out and "without voting" in out
    [sub] = list((tmp / "subs" / "qa").glob("ensemble-*.txt"))
    test = data.read_dgcnn(tmp / "data" / "sample" / "qa" / "test.json", labelled=False)
    lines = sub.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(test) == 12
    assert [line.split("\t")[0] for line in lines[:-1]] == [e["id"] for e in test]
    assert all(line.count("\t") == 1 for line in lines[:-1])
    assert list(data.read_submission(sub)) == [e["id"] for e in test]
    assert (tmp / "data" / "interim" / "qa" / "submission.txt").read_text().strip() == str(sub)


@pytest.mark.slow
def test_runs_log_the_sogou_score_and_folds_keep_questions_together(pipeline):
    from kexue.qa.encode import Encoded
    tmp, _ = pipeline
    runs = tmp / "data" / "runs" / "qa"
    members = sorted(runs.glob("dgcnn-*"))
    assert len(members) == 2
    enc = Encoded.load(tmp / "data" / "features" / "qa" / "train.enc.npz")
    folds = np.load(tmp / "data" / "processed" / "qa" / "folds.npy")
    assert len(folds) == len(enc) == 200 and set(folds) == {0, 1}
    assert all(len(set(folds[enc.row_q == q])) == 1 for q in range(40))     # a question's passages: one fold
    for run in members:
        cv = json.loads((run / "cv.json").read_text())
        assert cv["metric"] == "score" and 0 <= cv["score"] <= 1 and cv["oof"]["n"] == 40
        assert set(cv["oof"]["components"]) == {"accuracy", "f1"} and len(cv["fold_scores"]) == 2
        assert cv["score"] == pytest.approx((cv["oof"]["accuracy"] + cv["oof"]["f1"]) / 2)
        assert cv["data_fingerprint"] and cv["git_commit"] and cv["params"]["dim"] == 16
        assert "OOF score" in (run / "log.txt").read_text(encoding="utf-8")
        with np.load(run / "oof.npz") as z:
            assert z["start"].shape[0] == 200 and z["end"].shape == z["start"].shape
        with np.load(run / "test.npz") as z:
            assert z["start"].shape[0] == 60                               # 12 test questions x 5 passages


@pytest.mark.slow
def test_folds_and_seeds_are_averaged(pipeline):
    tmp, _ = pipeline
    runs = tmp / "data" / "runs" / "qa"
    tests = []
    for run in sorted(runs.glob("dgcnn-*")):
        folds = []
        for k in (0, 1):
            with np.load(run / f"fold{k}" / "test_pred.npz") as z:
                folds.append(z["start"].astype(np.float32))
        with np.load(run / "test.npz") as z:
            assert np.allclose(z["start"], (folds[0] + folds[1]) / 2, atol=1e-3)   # the CV loop: fold average
            tests.append({k: z[k] for k in ("start", "end")})
    [ens] = list(runs.glob("ensemble-*"))
    with np.load(ens / "test.npz") as z:
        for k in ("start", "end"):                                                 # the ensemble: seed average
            assert np.allclose(z[k], (tests[0][k] + tests[1][k]) / 2, atol=1e-3)
    report = json.loads((ens / "eval.json").read_text())
    assert report["cv"]["n"] == 40 and "cv_no_voting" in report
    assert set(report["test"]) == {"voting", "no_voting"} and report["test"]["voting"]["n"] == 12
    rows = [json.loads(line) for line in (ens / "oof_predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and {"id", "question", "pred", "gold", "correct", "f1"} <= set(rows[0])
    assert sum(r["correct"] for r in rows) == round(report["cv"]["accuracy"] * 40)


@pytest.mark.slow
def test_rerun_is_a_no_op_and_decode_changes_do_not_retrain(pipeline):
    tmp, _ = pipeline
    assert make(tmp, "qa-submit", *TINY).strip() == ""
    [sub] = list((tmp / "subs" / "qa").glob("ensemble-*.txt"))
    out = make(tmp, "qa-submit", *TINY, "decode.voting=false", "decode.threshold=0.05")
    assert "fold 0" not in out and "word2vec" not in out and "voting off" in out and "submission:" in out
    ens = sub.parent.parent.parent / "data" / "runs" / "qa" / sub.stem
    assert json.loads((ens / "eval.json").read_text())["decode"]["threshold"] == 0.05
    assert [p.name for p in (tmp / "subs" / "qa").glob("*.txt")] == [sub.name]     # same run, re-decoded


@pytest.mark.slow
def test_compare_lists_every_run(pipeline):
    tmp, _ = pipeline
    out = make(tmp, "compare", "COMP=qa")
    assert out.count("dgcnn-") >= 2 and "ensemble-" in out and "accuracy" in out and "OOF score" in out


# ---------------------------------------------------------------- real layouts

@pytest.mark.slow
def test_competition_layout_and_a_users_word_vectors(tmp_path):
    """data/raw/qa/ as the competition ships it (train.json, test.json, qid_answer_expand) and QA_W2V naming a
    word2vec text file: no sample, the file's vectors, the file's words known to the segmenter."""
    from kexue.qa import sample
    raw = tmp_path / "raw"
    sample.generate(raw, seed=3, n_train=30, n_test=8, n_passages=3)
    vec = tmp_path / "vectors.txt"
    vec.write_text("3 4\n首都 0.1 0.2 0.3 0.4\n作者 1 2 3 4\n海拔 0 1 0 1\n", encoding="utf-8")
    out = make(tmp_path, "qa-encode", "qa-folds", f"data.raw_dir={raw}", f"QA_W2V={vec}", "folds.k=3")
    assert "GENERATED SAMPLE" not in out and not (tmp_path / "data" / "sample").exists()
    manifest = json.loads((tmp_path / "data" / "processed" / "qa" / "manifest.json").read_text())
    assert manifest["source"] == "raw" and manifest["counts"]["test_gold"] == 8
    assert manifest["gold_from"].endswith("qid_answer_expand")
    wv = json.loads((tmp_path / "data" / "features" / "qa" / "wordvec" / "manifest.json").read_text())
    assert wv["kind"] == "file" and wv["n_words"] == 5 and wv["segmenter"] == "jieba+vocab"
    features = json.loads((tmp_path / "data" / "features" / "qa" / "manifest.json").read_text())
    assert features["rows"] == {"train": 90, "test": 24}
    assert make(tmp_path, "qa-encode", "qa-folds", f"data.raw_dir={raw}", f"QA_W2V={vec}", "folds.k=3").strip() == ""


def test_held_out_questions_are_scored_per_training_file(tmp_path):
    """Several training files (data/raw/qa/train*.json): preprocess records each question's file, and evaluate's
    per-source scores are each file's questions scored alone."""
    from kexue.qa import evaluate, sample
    from kexue.qa.stages import score_answers
    raw = tmp_path / "raw"
    sample.generate(raw, seed=5, n_train=20, n_test=4, n_passages=2)
    entries = json.loads((raw / "train.json").read_text(encoding="utf-8"))
    (raw / "train.json").unlink()
    for name, part in (("train_web.json", entries[:12]), ("train_law.json", entries[12:])):
        (raw / name).write_text(json.dumps(part, ensure_ascii=False), encoding="utf-8")
    make(tmp_path, "qa-preprocess", f"data.raw_dir={raw}")
    sources = evaluate.read_sources(tmp_path / "data" / "processed" / "qa")
    assert {q: Path(f).name for q, f in sources.items()} == \
        {**{e["id"]: "train_law.json" for e in entries[12:]}, **{e["id"]: "train_web.json" for e in entries[:12]}}

    gold = {e["id"]: {"standard": "甲", "alternatives": ["甲"]} for e in entries}
    answers = {e["id"]: ("甲" if i < 12 else "乙") for i, e in enumerate(entries)}   # the first file all right
    by = evaluate.scores_by_source(answers, gold, sources)
    assert [Path(f).name for f in by] == ["train_law.json", "train_web.json"]    # sorted by glob, as read
    law, web = (by[f] for f in by)
    assert web["score"] == 1.0 and web["n"] == 12 and law["score"] == 0.0 and law["n"] == 8
    assert score_answers(answers, gold)["score"] == pytest.approx(12 / 20)
    assert evaluate.scores_by_source(answers, gold, {q: "one.json" for q in answers}) == {}


@pytest.mark.shared
@pytest.mark.skipif(not WEBQA.exists(), reason="../shared is absent (real data lives there)")
def test_shared_webqa_split_preprocesses(tmp_path):
    """configs/qa/data-shared-webqa.yaml: train on WebQA_test_ann.json without the 200 test questions (and their
    repeats), test on WebQA_test_ir_first200.json with its passages' answers as gold."""
    make(tmp_path, "qa-preprocess", "QA_DATA_CFG=configs/qa/data-shared-webqa.yaml")
    m = json.loads((tmp_path / "data" / "processed" / "qa" / "manifest.json").read_text())
    assert m["source"] == "files" and m["counts"]["test_questions"] == 200 and m["counts"]["test_passages"] == 4000
    assert m["counts"]["test_gold"] == 198 and m["counts"]["dropped_test_questions"] == 203
    assert m["counts"]["train_questions"] == 3024 - 203


# ---------------------------------------------------------------- stage functions

def _entries():
    return [{"id": "a", "question": "北京是哪国的首都？", "passages": [{"passage": "北京是中国的首都。", "answer": "中国"},
                                                                 {"passage": "无关的话。", "answer": ""}]},
            {"id": "b", "question": "北京是哪国的首都?", "passages": [{"passage": "中国首都北京", "answer": "中国"}]},
            {"id": "c", "question": "谁写了红楼梦", "passages": [{"passage": "曹雪芹写了红楼梦", "answer": "曹雪芹"}]},
            {"id": "d", "question": "长江多长", "passages": [{"passage": "长江全长6300公里", "answer": "6300公里"},
                                                          {"passage": "长江很长", "answer": ""}]}]


def test_folds_group_passages_and_repeated_questions(tmp_path):
    from kexue.qa import prepare
    (tmp_path / "train.json").write_text(json.dumps(_entries(), ensure_ascii=False), encoding="utf-8")
    folds = prepare.make_folds({"k": 2, "seed": 0}, tmp_path)
    assert len(folds) == 6 and folds[0] == folds[1] == folds[2]      # 'a' twice, and 'b' asks the same question
    assert folds[4] == folds[5] and set(folds) == {0, 1}
    assert np.array_equal(folds, prepare.make_folds({"k": 2, "seed": 0}, tmp_path))
    holdout = prepare.make_folds({"k": 2, "seed": 0, "holdout": True}, tmp_path)    # fold 0 scored, the rest train
    assert np.array_equal(holdout, np.where(folds == 0, 0, -1))
    from kexue.core.folds import FoldsError
    with pytest.raises(FoldsError, match="cannot split 3 distinct training questions into 4 folds; lower folds.k"):
        prepare.make_folds({"k": 4, "seed": 0}, tmp_path)


def test_decode_rows_votes_over_a_questions_passages_and_scores():
    from kexue.qa import stages
    from kexue.qa.encode import encode
    entries = _entries()
    enc = encode(entries, ["[PAD]", "[UNK]"], ["[PAD]", "[UNK]"], segment=list)
    width = int(np.diff(enc.p_off).max())
    pred = {"start": np.zeros((len(enc), width), np.float16), "end": np.zeros((len(enc), width), np.float16)}
    for r in range(len(enc)):
        row = enc.row(r)
        if row["start"].any():
            pred["start"][r, np.flatnonzero(row["start"])[0]] = 0.9
            pred["end"][r, np.flatnonzero(row["end"])[0]] = 0.9
    opts = stages.decode_options({"threshold": 0.1, "max_answer_len": 12, "voting": True})
    answers = stages.decode_rows(entries, enc, np.arange(len(enc)), pred, opts)
    assert answers == {"a": "中国", "b": "中国", "c": "曹雪芹", "d": "6300公里"}
    rows = np.array([3, 4])                                    # only question 'c' and the first passage of 'd'
    assert stages.decode_rows(entries, enc, rows, {k: v[rows] for k, v in pred.items()}, opts) == \
        {"c": "曹雪芹", "d": "6300公里"}
    assert stages.decode_rows(entries, enc, rows, {k: v[rows] for k, v in pred.items()}, opts, every=True)["a"] == ""
    scorer = stages.Scorer(entries, enc, {"threshold": 0.1, "max_answer_len": 12, "voting": True})
    assert scorer(np.arange(len(enc)), pred)["score"] == 1.0
    half = {**answers, "c": "曹", "d": ""}
    r = stages.score_answers(half, scorer.gold)
    assert r["n"] == 4 and r["accuracy"] == 0.5 and r["f1"] == pytest.approx((1 + 1 + 0.5 + 0) / 4)


def test_submission_answers_stay_on_one_line(tmp_path):
    from kexue.qa import submit
    assert submit._clean("北京\t市\n中心\r") == "北京 市 中心"
    assert submit._clean("  ") == ""


@pytest.mark.slow
def test_a_killed_fold_resumes_where_it_stopped(tmp_path):
    """BackupAndRestore saves the raw weights and the EMA before SwapEMAWeights swaps them, and the shuffle
    follows the epoch: a fold killed after epoch 2 of 3 and started again ends with the uninterrupted weights.
    (Without dropout: the dropout masks' random state is not in the checkpoint, so with dropout the resumed
    epochs differ in the 4th digit.)"""
    from kexue.qa import sample
    from kexue.qa.encode import build_char_vocab, encode
    from kexue.qa.model import DGCNNReader, keras
    sample.generate(tmp_path / "s", n_train=16, n_test=1, n_passages=2)
    entries = json.loads((tmp_path / "s" / "train.json").read_text(encoding="utf-8"))
    chars = build_char_vocab(entries, 1)
    x = encode(entries, chars, ["[PAD]", "[UNK]"], segment=list)
    x = x.take(np.arange(len(x)))
    cfg = {"dim": 8, "q_dilations": [1], "p_dilations": [1, 2], "dropout": 0.0, "gate_dropout": 0.0, "lr": 0.01,
           "ema": 0.9, "epochs": 3, "batch_size": 8, "verbose": 0}
    matrix = np.zeros((2, 4), "float32")

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    def reader(workdir):
        return DGCNNReader(cfg, workdir, 0, n_chars=len(chars), word_matrix=matrix)

    whole = reader(tmp_path / "a")
    whole.fit(x)
    killed = reader(tmp_path / "b")
    killed.callbacks = [Kill()]
    with pytest.raises(KeyboardInterrupt):
        killed.fit(x)
    assert not (tmp_path / "b" / "last.weights.h5").exists() and (tmp_path / "b" / "backup").exists()
    resumed = reader(tmp_path / "b")
    resumed.fit(x)
    losses = lambda d: [json.loads(line)["loss"] for line in (d / "history.jsonl").read_text().splitlines()]
    assert len(losses(tmp_path / "b")) == 3                                  # epochs 1, 2, then 3 after the restart
    assert losses(tmp_path / "b") == pytest.approx(losses(tmp_path / "a"), rel=1e-5)
    assert np.allclose(resumed.predict(x)["start"].astype(np.float32), whole.predict(x)["start"].astype(np.float32),
                       atol=1e-3)


@pytest.mark.slow
def test_long_passages_train_as_windows_in_their_passage_fold(tmp_path):
    from kexue.qa import stages
    from kexue.qa.data import load_entries
    from kexue.qa.encode import Encoded
    make(tmp_path, "qa-encode", "qa-folds", "data.sample.n_train=40", "data.sample.n_test=12", "folds.k=2",
         "features.word2vec.dim=16", "features.encode.p_max=24", "features.encode.p_stride=16")
    processed, features = tmp_path / "data" / "processed" / "qa", tmp_path / "data" / "features" / "qa"
    decode = {"threshold": 0.1, "max_answer_len": 12, "voting": True}
    data = stages.cv_data({}, {"processed": processed, "features": features, "decode": decode})
    entries, folds = load_entries(processed, "train"), np.load(processed / "folds.npy")
    n_passages = sum(len(e["passages"]) for e in entries)
    assert len(folds) == n_passages < len(data.folds)                # windows: more rows than passages
    passage = {(q, p): i for i, (q, p) in enumerate((q, p) for q, e in enumerate(entries)
                                                    for p in range(len(e["passages"])))}
    enc = Encoded.load(features / "train.enc.npz")
    rows = [passage[int(q), int(p)] for q, p in zip(enc.row_q, enc.row_passage)]
    assert np.array_equal(data.folds, folds[rows]) and set(data.folds) == {0, 1}
