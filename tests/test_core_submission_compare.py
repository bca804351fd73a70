
import pytest

from kexue.core import compare, io
from kexue.core.submission import SubmissionError, check_ids, check_labels
from kexue.spectra.submit import validate_submission


def test_check_ids_reports_duplicates_missing_and_extra():
    check_ids(["a", "b"], ["b", "a"])
    with pytest.raises(SubmissionError, match=r"1 duplicated ids \(e.g. \['a'\]\); 1 test ids missing \(e.g. \['b'\]\)"):
        check_ids(["a", "b"], ["a", "a"])
    with pytest.raises(SubmissionError, match=r"1 ids not in the test set \(e.g. \['z'\]\)"):
        check_ids(["a"], ["a", "z"])
    with pytest.raises(SubmissionError, match=r"unknown labels \['Star'\]"):
        check_labels(["star", "Star"], ["star", "qso"])


def test_written_submission_is_checked_line_by_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("1,star\n2,qso\n")
    validate_submission(path, ["1", "2"], ["star", "qso"], header=False)
    with pytest.raises(ValueError, match="line 1: expected header 'id,type'"):
        validate_submission(path, ["1", "2"], ["star", "qso"], header=True)
    path.write_text("1,star\n2;qso\n")
    with pytest.raises(ValueError, match=r"s.csv line 2: expected 'id,type', got '2;qso'"):
        validate_submission(path, ["1", "2"], ["star", "qso"], header=False)


def fake_run(root, run_id, model, score, params):
    d = root / run_id
    io.write_json(d / "params.json", params)
    io.write_json(d / "cv.json", {"run_id": run_id, "model": model, "score": score, "metric": "macro_f1",
                                  "fold_scores": [score - 0.01, score + 0.01], "fold_mean": score, "fold_std": 0.01,
                                  "oof": {"per_class_f1": {"a": score, "b": 1 - score}},
                                  "data_fingerprint": "abcdef1234", "seconds": {"wall_total": 12.0}})


def test_compare_sorts_by_score_and_shows_only_what_differs(tmp_path):
    root = tmp_path / "runs" / "spectra"
    fake_run(root, "cnn-1", "cnn", 0.70, {"name": "cnn", "lr": 0.001, "epochs": 10})
    fake_run(root, "cnn-2", "cnn", 0.80, {"name": "cnn", "lr": 0.0003, "epochs": 10})
    fake_run(root, "lgbm-1", "lgbm", 0.75, {"name": "lgbm", "leaves": 15})
    text = compare.compare(root, tmp_path / "c.png")
    lines = text.splitlines()
    assert [l.split()[0] for l in lines[2:5]] == ["cnn-2", "lgbm-1", "cnn-1"]
    assert "lr=0.0003" in lines[2] and "epochs" not in text  # same in both cnn runs
    assert lines[3].rstrip().endswith("-")  # a lone lgbm run has nothing to differ from
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_compare_lists_a_blends_candidates_and_its_choice(tmp_path):
    root = tmp_path / "runs" / "spectra"
    fake_run(root, "lgbm-1", "lgbm", 0.85, {"name": "lgbm"})
    fake_run(root, "ensemble-1", "ensemble", 0.87, {"name": "ensemble"})
    cv = io.read_json(root / "ensemble-1" / "cv.json")
    io.write_json(root / "ensemble-1" / "cv.json", {**cv, "candidates": {"lgbm-1": 0.85, "mean": 0.83,
                                                                          "stack_lr": 0.88},
                                                    "chosen": "stack_lr", "chosen_per_fold": ["stack_lr", "lgbm-1"]})
    lines = compare.compare(root).splitlines()
    at = lines.index("ensemble-1: candidates, honest macro_f1 (nested cross-fitting):")
    assert [l.split()[0] for l in lines[at + 1:at + 4]] == ["stack_lr", "lgbm-1", "mean"]
    assert lines[at + 1].endswith("<- the test set") and "stack_lr, lgbm-1 -> 0.8700" in lines[at + 4]


def test_a_stage_finds_its_run_from_a_folder_or_a_pointer_and_says_what_is_missing(tmp_path):
    from kexue.core import runlog
    runs = tmp_path / "runs"
    (runs / "lgbm-abc").mkdir(parents=True)
    pointer = tmp_path / "lgbm.run"
    with pytest.raises(SystemExit, match="lgbm.run: no such run pointer; model 'lgbm' has not finished training"):
        runlog.resolve_run(pointer, runs)
    pointer.write_text("lgbm-abc\n0123\n")
    with pytest.raises(SystemExit, match="names run lgbm-abc, but .*lgbm-abc has no cv.json"):
        runlog.resolve_run(pointer, runs)
    (runs / "lgbm-abc" / "cv.json").write_text("{}")
    assert runlog.resolve_run(pointer, runs) == runs / "lgbm-abc"
    assert runlog.resolve_run(runs / "lgbm-abc", "elsewhere") == runs / "lgbm-abc"
