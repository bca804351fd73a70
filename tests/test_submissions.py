"""The submission contract (every competition): built in memory and validated before anything is written, so an
invalid submission leaves no file and an earlier valid one intact; every id of the test index (as the user gave
it, not as predicted) exactly once, or the stage stops naming the missing ids unless a stated fallback fills and
lists them; duplicated and unknown ids always refused; check_ids linear."""
import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import write_spectrum

from kexue.cail2019 import data as cail_data
from kexue.cail2019 import submit as cail_submit
from kexue.cail2019.data import CAILDataError
from kexue.core import io
from kexue.core.submission import (
    SubmissionError,
    check_ids,
    compare_ids,
    missing_predictions,
)
from kexue.nl2sql import submit as nl2sql_submission
from kexue.qa import data as qa_data
from kexue.qa import submit as qa_submit
from kexue.spectra import data as spectra_data
from kexue.spectra import submit as spectra_submit

# ---------------------------------------------------------------- core


def test_check_ids_on_200k_ids_finds_duplicates_missing_and_extra_in_input_order():
    expected = [f"id{i}" for i in range(200_000)]
    check_ids(expected, expected[::-1])                                  # order does not matter
    submitted = expected[:-2] + ["id7", "x1", "id5", "x2", "id7"]
    assert compare_ids(expected, submitted) == (["id5", "id7"], ["id199998", "id199999"], ["x1", "x2"])
    with pytest.raises(SubmissionError, match=r"^s: 2 duplicated ids \(e.g. \['id5', 'id7'\]\); 2 test ids missing "
                                              r"\(e.g. \['id199998', 'id199999'\]\); 2 ids not in the test set "
                                              r"\(e.g. \['x1', 'x2'\]\)$"):
        check_ids(expected, submitted, "s")


def test_missing_predictions_names_them_and_always_refuses_duplicates_and_extra_ids():
    expected = [str(i) for i in range(10)]
    with pytest.raises(SubmissionError, match=r"s: 7 of the 10 test ids have no prediction: '3' \(file is empty\), "
                                              r"'4', '5', '6', '7', and 2 more\. Fix it\.$"):
        missing_predictions(expected, ["0", "1", "2"], "s", fill=False, fix="Fix it.", why={"3": "file is empty"})
    assert missing_predictions(expected, ["0", "9"], "s", fill=True, fix="") == [str(i) for i in range(1, 9)]
    for predicted, problem in [(["0", "0"], r"1 duplicated ids \(e.g. \['0'\]\)"),
                               (["0", "z"], r"1 ids not in the test set \(e.g. \['z'\]\)")]:
        with pytest.raises(SubmissionError, match=problem):
            missing_predictions(expected, predicted, "s", fill=True, fix="")


# ---------------------------------------------------------------- spectra: the test index CSV is the reference


def spectra_run(raw, data_cfg, tmp_path, bad=()) -> Path:
    """Preprocess `raw` (bad test files skipped) into tmp/store and fake a run predicting 'star' for every stored
    test spectrum."""
    for sid in bad:
        (raw / "first_test_data_20180131" / f"{sid}.txt").write_text("")
    manifest = spectra_data.preprocess({**data_cfg, "on_bad_file": "skip"}, raw, tmp_path / "store", "raw")
    run = tmp_path / "run"
    star = manifest["classes"].index("star")
    io.save_npy(run / "test.npy", np.eye(3, dtype=np.float32)[[star] * manifest["sets"]["test"]["n"]])
    io.write_json(run / "cv.json", {"classes": manifest["classes"]})
    return run


def spectra_submit_(tmp_path, run, **kw) -> Path:
    return spectra_submit.write_submission(run, tmp_path / "store", "test", tmp_path / "subs", header=False, **kw)


def test_spectra_skipped_test_file_stops_submit_naming_it_and_writes_nothing(tiny_raw, data_cfg, tmp_path):
    run = spectra_run(tiny_raw, data_cfg, tmp_path, bad=["5001"])
    previous = tmp_path / "subs" / "run.csv"
    io.write_text(previous, "5000,star\n")
    with pytest.raises(SystemExit, match=r"1 of the 4 test ids have no prediction: '5001' \(skipped by preprocess: "
                                         r"file is empty \(.*5001\.txt\)\)\. Fix their files .*`missing: <class>` in "
                                         r"configs/spectra/submit\.yaml"):
        spectra_submit_(tmp_path, run)
    assert previous.read_text() == "5000,star\n"
    assert [p.name for p in previous.parent.iterdir()] == ["run.csv"]       # no temporary, no list


def test_spectra_fallback_fills_the_missing_id_and_lists_it(tiny_raw, data_cfg, tmp_path, capsys):
    run = spectra_run(tiny_raw, data_cfg, tmp_path, bad=["5001"])
    with pytest.raises(SystemExit, match=r"missing is 'Star'; use 'error' .* \(galaxy, qso, star\)"):
        spectra_submit_(tmp_path, run, missing="Star")
    out = spectra_submit_(tmp_path, run, missing="qso")
    assert out.read_text().splitlines() == ["5000,star", "5001,qso", "5002,star", "5003,star"]   # index order
    header, *listed = csv.reader((tmp_path / "subs" / "run.csv.filled").open())
    assert header == ["id", "filled_with", "why"] and len(listed) == 1
    assert listed[0][:2] == ["5001", "qso"] and re.fullmatch(r"skipped by preprocess: file is empty \(.*5001\.txt\)",
                                                             listed[0][2])
    assert "FILLED 1 test ids without a prediction with 'qso'" in capsys.readouterr().out
    # the file repaired, the next submission fills nothing and the stale list goes
    write_spectrum(tiny_raw / "first_test_data_20180131" / "5001.txt", [1.0] * 8)
    run = spectra_run(tiny_raw, data_cfg, tmp_path)
    spectra_submit_(tmp_path, run, missing="qso")
    assert sorted(p.name for p in out.parent.iterdir()) == ["run.csv"]


def test_spectra_ids_not_in_the_index_are_refused_even_with_a_fallback(tiny_raw, data_cfg, tmp_path):
    run = spectra_run(tiny_raw, data_cfg, tmp_path)
    (tiny_raw / "first_test_index_20180131.csv").write_text("id\n5000\n5001\n5002\n")      # edited after preprocess
    with pytest.raises(SystemExit, match=r"the predictions have 1 ids not in the test set \(e.g. \['5003'\]\)"):
        spectra_submit_(tmp_path, run, missing="star")
    assert not (tmp_path / "subs").exists()


def test_spectra_invalid_submission_leaves_the_previous_file(tiny_raw, data_cfg, tmp_path):
    """A stored id the test index does not hold (here one with a comma, which preprocess now refuses, so the store
    is edited after it): the in-memory check stops the submission before any write."""
    run = spectra_run(tiny_raw, data_cfg, tmp_path)
    ids_path = tmp_path / "store" / "test" / "ids.npy"
    ids = np.load(ids_path).astype(object)
    ids[3] = "5003,x"
    io.save_npy(ids_path, ids.astype(str))
    previous = tmp_path / "subs" / "run.csv"
    io.write_text(previous, "old\n")
    with pytest.raises(SystemExit, match=r"run\.csv: the predictions have 1 ids not in the test set .*'5003,x'"):
        spectra_submit_(tmp_path, run)
    assert previous.read_text() == "old\n" and [p.name for p in previous.parent.iterdir()] == ["run.csv"]


# ---------------------------------------------------------------- QA: the test file, re-read, is the reference

QA_TEST = [{"id": "q1", "question": "多瑙河注入哪个海？", "passages": [{"passage": "多瑙河注入黑海"}]},
           {"id": "q2", "question": "金砖五国是哪五国", "passages": [{"passage": "巴西 俄罗斯 印度 中国 南非"}]},
           {"id": "q3", "question": "安南是现在哪个国家？", "passages": [{"passage": "安南，在越南境内"}]}]


@pytest.fixture
def qa_dirs(tmp_path, monkeypatch):
    """A processed folder whose manifest names the test file, and a run predicting q1 and q2 (what preprocess kept
    of a test file cut inside q3, with data.on_truncated=skip)."""
    monkeypatch.setattr(qa_submit, "predict", lambda *a: (["q1", "q2"], ["黑海", ""]))
    io.write_json(tmp_path / "proc" / "manifest.json",
                  {"files": {"test": {"path": str(tmp_path / "test.json"), "format": "dgcnn"}}})
    return tmp_path


def qa_cut_test_file(tmp_path, after: str) -> None:
    raw = json.dumps(QA_TEST, ensure_ascii=False, indent=1)
    (tmp_path / "test.json").write_text(raw[:raw.index(after, raw.index('"q2"')) + len(after)], encoding="utf-8")


def qa_submit_(tmp_path, missing="error") -> Path:
    decode = {"threshold": 0.1, "max_answer_len": 12, "voting": True, "missing": missing}
    return qa_submit.submit(tmp_path / "run", {"processed": tmp_path / "proc", "features": tmp_path / "feat",
                                         "out": tmp_path / "subs", "decode": decode})


def test_qa_question_cut_off_the_test_file_stops_submit_naming_it(qa_dirs):
    qa_cut_test_file(qa_dirs, '"question": "安南')
    assert [d["id"] for d in qa_data.read_dgcnn(qa_dirs / "test.json", "skip", labelled=False).dropped] == ["q3"]
    previous = qa_dirs / "subs" / "run.txt"
    io.write_text(previous, "q1\told\n")
    with pytest.raises(SystemExit, match=r"1 of the 3 test ids have no prediction: 'q3' \(entry 2, cut off at .*"
                                         r"test\.json: line \d+, byte \d+; preprocess dropped it .*`missing: empty` in "
                                         r"configs/qa/decode\.yaml"):
        qa_submit_(qa_dirs)
    assert previous.read_text() == "q1\told\n" and [p.name for p in previous.parent.iterdir()] == ["run.txt"]
    with pytest.raises(SystemExit, match=r"missing is 'blank'; use 'error' .* or 'empty'"):
        qa_submit_(qa_dirs, missing="blank")


def test_qa_fallback_answers_the_missing_question_with_nothing_and_lists_it(qa_dirs, capsys):
    qa_cut_test_file(qa_dirs, '"question": "安南')
    out = qa_submit_(qa_dirs, missing="empty")
    assert out.read_text(encoding="utf-8") == "q1\t黑海\nq2\t\nq3\t\n"
    header, *listed = csv.reader((qa_dirs / "subs" / "run.txt.filled").open(encoding="utf-8"))
    assert header == ["id", "filled_with", "why"] and len(listed) == 1
    assert listed[0][:2] == ["q3", ""] and listed[0][2].startswith("entry 2, cut off at")
    assert "FILLED 1 test questions without a prediction with an empty answer" in capsys.readouterr().out


def test_qa_question_cut_before_its_id_stops_submit_unless_told_to_leave_it_out(qa_dirs, capsys):
    qa_cut_test_file(qa_dirs, '},\n {\n')                         # the cut leaves entry 2's '{' alone
    with pytest.raises(SystemExit, match=r"1 question\(s\) of the test file cannot be answered, their id is lost: "
                                         r"entry 2, cut off at .*test\.json: line \d+"):
        qa_submit_(qa_dirs)
    out = qa_submit_(qa_dirs, missing="empty")
    assert out.read_text(encoding="utf-8") == "q1\t黑海\nq2\t\n"
    assert "not in the submission" in (qa_dirs / "subs" / "run.txt.filled").read_text()
    assert "with an unreadable id left out" in capsys.readouterr().out


@pytest.mark.parametrize("ids, problem", [(["q1", "q1", "q2", "q3"], r"1 duplicated ids \(e.g. \['q1'\]\)"),
                                          (["q1", "q2", "q3", "zz"], r"1 ids not in the test set \(e.g. \['zz'\]\)")])
def test_qa_duplicated_or_unknown_ids_are_refused_even_with_a_fallback(qa_dirs, monkeypatch, ids, problem):
    (qa_dirs / "test.json").write_text(json.dumps(QA_TEST, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(qa_submit, "predict", lambda *a: (ids, ["a"] * len(ids)))
    with pytest.raises(SystemExit, match=problem):
        qa_submit_(qa_dirs, missing="empty")
    assert not (qa_dirs / "subs").exists()


def test_qa_invalid_submission_leaves_the_previous_file(tmp_path):
    path = tmp_path / "sub.txt"
    qa_submit.write_submission(path, ["1", "2"], ["黑海", ""])
    with pytest.raises(SubmissionError, match=r"sub\.txt: line 2 \(id '2'\): the answer 'a\\nb' holds a tab"):
        qa_submit.write_submission(path, ["1", "2"], ["黑海", "a\nb"])
    with pytest.raises(SubmissionError, match=r"1 test ids missing \(e.g. \['3'\]\)"):
        qa_submit.write_submission(path, ["1", "2"], ["x", "y"], expected_ids=["1", "2", "3"])
    assert path.read_text(encoding="utf-8") == "1\t黑海\n2\t\n" and [p.name for p in tmp_path.iterdir()] == ["sub.txt"]


# ---------------------------------------------------------------- CAIL2019 and NL2SQL: checked against the test file


def test_cail_submission_is_checked_against_the_test_file_before_it_is_written(tmp_path):
    doc = [{"labels": [], "sentence": "婚后生育一女。"}]
    test = tmp_path / "test.json"
    test.write_text("".join(cail_data.format_document(d) + "\n" for d in [doc, doc]), encoding="utf-8")
    previous = tmp_path / "sub.json"
    previous.write_text("old\n")
    with pytest.raises(CAILDataError, match=r"sub\.json:2: the file ends after 1 documents; the input has 2"):
        cail_submit.write_submission(previous, [doc], [["DV1"]], [f"DV{k}" for k in range(1, 21)], expected=test)
    assert previous.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["sub.json", "test.json"]


def test_nl2sql_invalid_submission_leaves_the_previous_file(tmp_path):
    table = {"id": "t1", "header": ["城市", "均价"], "types": ["text", "real"], "rows": [["长沙", 3.17]]}
    questions = [{"table_id": "t1", "question": "q"}] * 2
    sql = {"sel": [1], "agg": [0], "cond_conn_op": 0, "conds": [[0, 2, "长沙"]]}
    path = nl2sql_submission.write(tmp_path / "s.json", [sql, sql], questions, {"t1": table})
    before = path.read_text(encoding="utf-8")
    with pytest.raises(SubmissionError, match=r"s\.json: 1 predicted SQLs for 2 test questions"):
        nl2sql_submission.write(path, [sql], questions, {"t1": table})
    with pytest.raises(SubmissionError, match=r"s\.json:2: field 'sel\[0\]': column 5 is out of range"):
        nl2sql_submission.write(path, [sql, {**sql, "sel": [5]}], questions, {"t1": table})
    assert path.read_text(encoding="utf-8") == before and [p.name for p in tmp_path.iterdir()] == ["s.json"]
