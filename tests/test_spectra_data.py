"""Validation of the competition files: every problem names the file, the id or line, and the field."""
import numpy as np
import pytest
from conftest import write_spectrum

from kexue.spectra import data


def run(cfg, raw, tmp_path):
    return data.preprocess(cfg, raw, tmp_path / "store", "raw")


def test_store_holds_exactly_the_parsed_values(tiny_raw, data_cfg, tmp_path):
    manifest = run(data_cfg, tiny_raw, tmp_path)
    assert manifest["classes"] == ["galaxy", "qso", "star"]  # read from the data, sorted
    assert manifest["class_counts"] == {"galaxy": 4, "qso": 4, "star": 4}
    train = data.load_set(tmp_path / "store", "train")
    assert isinstance(train.flux, np.memmap) and train.flux.shape == (12, 8)
    expected = np.array((tiny_raw / "first_train_data_20180131" / "1005.txt").read_text().split(","), np.float32)
    assert np.array_equal(train.flux[5], expected)
    assert train.ids[5] == "1005" and manifest["classes"][train.labels[5]] == "qso"
    test = data.load_set(tmp_path / "store", "test")
    assert test.flux.shape == (4, 8) and (test.labels == -1).all()
    assert "rank" not in manifest["sets"]  # optional and absent


def test_parallel_parse_equals_serial(tiny_raw, data_cfg, tmp_path):
    data.BATCH, old = 3, data.BATCH  # several batches through the worker pool
    try:
        m1 = data.preprocess({**data_cfg, "workers": 2}, tiny_raw, tmp_path / "a", "raw")
        m2 = data.preprocess({**data_cfg, "workers": 1}, tiny_raw, tmp_path / "b", "raw")
    finally:
        data.BATCH = old
    assert m1["data_fingerprint"] == m2["data_fingerprint"]
    assert np.array_equal(data.load_set(tmp_path / "a", "train").flux, data.load_set(tmp_path / "b", "train").flux)


@pytest.mark.parametrize("content, problem", [
    (None, r"1003.txt: file is missing \(id '1003', first_train_index_20180131.csv line 5\)"),
    ("1,2,3,4,5,6,7", r"1003.txt: 7 values, expected 8"),
    ("1,2,3,4,5,6,7,8,9", r"1003.txt: 9 values, expected 8"),
    ("1,2,3,abc,5,6,7,8", r"1003.txt: value 4 is 'abc', not a number"),
    ("1,2,3,4,nan,6,7,8", r"1003.txt: value 5 is 'nan', not a finite number"),
    ("1,2,3,4,5,6,inf,8", r"1003.txt: value 7 is 'inf', not a finite number"),
    ("", r"1003.txt: file is empty"),
])
def test_bad_spectrum_file_names_id_file_and_problem(tiny_raw, data_cfg, tmp_path, content, problem):
    f = tiny_raw / "first_train_data_20180131" / "1003.txt"
    if content is None:
        f.unlink()
    else:
        f.write_text(content)
    with pytest.raises(data.SpectraDataError, match=problem):
        run(data_cfg, tiny_raw, tmp_path)
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_skip_mode_drops_and_reports_bad_files(tiny_raw, data_cfg, tmp_path):
    (tiny_raw / "first_train_data_20180131" / "1003.txt").write_text("1,2,x")
    (tiny_raw / "first_train_data_20180131" / "1007.txt").unlink()
    manifest = run({**data_cfg, "on_bad_file": "skip"}, tiny_raw, tmp_path)
    assert manifest["sets"]["train"]["n"] == 10
    assert [b["id"] for b in manifest["sets"]["train"]["skipped"]] == ["1003", "1007"]
    train = data.load_set(tmp_path / "store", "train")
    assert train.flux.shape == (10, 8) and "1003" not in train.ids and "1007" not in train.ids
    assert (tmp_path / "store" / "train" / "bad_files.csv").read_text().count("\n") == 3


def test_duplicate_id_names_both_lines(tiny_raw, data_cfg, tmp_path):
    index = tiny_raw / "first_train_index_20180131.csv"
    index.write_text(index.read_text() + "1002,star\n")
    with pytest.raises(data.SpectraDataError, match=r"line 14: id '1002' duplicates line 4"):
        run(data_cfg, tiny_raw, tmp_path)


def test_unknown_label_in_test_index_and_configured_classes(tiny_raw, data_cfg, tmp_path):
    (tiny_raw / "first_test_index_20180131.csv").write_text("id,type\n5000,star\n5001,Star \n5002,qso\n5003,qso\n")
    with pytest.raises(data.SpectraDataError, match=r"id '5001': type 'Star' is not a known class .* did you mean 'star'"):
        run(data_cfg, tiny_raw, tmp_path)
    with pytest.raises(data.SpectraDataError, match=r"types \['galaxy'\] are not in the configured classes"):
        run({**data_cfg, "classes": ["star", "qso", "unknown"]}, tiny_raw, tmp_path)


def test_truncated_index_csv(tiny_raw, data_cfg, tmp_path):
    index = tiny_raw / "first_train_index_20180131.csv"
    index.write_text(index.read_text() + "1012")  # the download stopped mid-line
    with pytest.raises(data.SpectraDataError, match=r"line 14: 1 fields \['1012'\], expected 2 .*truncated"):
        run(data_cfg, tiny_raw, tmp_path)
    index.write_text("id,type\n1000,star\n1001,")
    with pytest.raises(data.SpectraDataError, match=r"line 3: field 'type' is empty for id '1001'"):
        run(data_cfg, tiny_raw, tmp_path)
    index.write_text("")
    with pytest.raises(data.SpectraDataError, match="empty file"):
        run(data_cfg, tiny_raw, tmp_path)


def test_missing_header_or_index(tiny_raw, data_cfg, tmp_path):
    (tiny_raw / "first_test_index_20180131.csv").write_text("5000\n5001\n")
    with pytest.raises(data.SpectraDataError, match=r"line 1: header is \['5000'\], expected 'id,type'"):
        run(data_cfg, tiny_raw, tmp_path)
    (tiny_raw / "first_test_index_20180131.csv").unlink()
    with pytest.raises(data.SpectraDataError, match="no test index matching"):
        run(data_cfg, tiny_raw, tmp_path)


def test_ambiguous_glob_is_an_error(tiny_raw, data_cfg, tmp_path):
    (tiny_raw / "second_train_index_20180301.csv").write_text("id,type\n")
    with pytest.raises(data.SpectraDataError, match="matches 2 files"):
        run(data_cfg, tiny_raw, tmp_path)


def test_empty_test_set_stops_preprocess_before_any_training(tiny_raw, data_cfg, tmp_path):
    (tiny_raw / "first_test_index_20180131.csv").write_text("id\n")
    with pytest.raises(data.SpectraDataError, match="test index has no rows"):
        run(data_cfg, tiny_raw, tmp_path)
    assert not (tmp_path / "store" / "manifest.json").exists()


def test_float16_store_refuses_fluxes_it_cannot_hold(tiny_raw, data_cfg, tmp_path):
    write_spectrum(tiny_raw / "first_train_data_20180131" / "1001.txt", [1.0, 2.0, 2e5, 4.0, 5.0, 6.0, 7.0, 8.0])
    with pytest.raises(data.SpectraDataError, match="exceeds the range of float16"):
        run({**data_cfg, "store_dtype": "float16"}, tiny_raw, tmp_path)


def test_load_refuses_a_store_without_manifest(tiny_raw, data_cfg, tmp_path):
    run(data_cfg, tiny_raw, tmp_path)
    (tmp_path / "store" / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="store is incomplete"):
        data.load_set(tmp_path / "store", "train")


def test_rerun_with_same_content_keeps_manifest_mtime(tiny_raw, data_cfg, tmp_path):
    run(data_cfg, tiny_raw, tmp_path)
    path = tmp_path / "store" / "manifest.json"
    before = path.stat().st_mtime_ns
    run(data_cfg, tiny_raw, tmp_path)
    assert path.stat().st_mtime_ns == before
    write_spectrum(tiny_raw / "first_train_data_20180131" / "1001.txt", [1.0] * 8)
    run(data_cfg, tiny_raw, tmp_path)
    assert path.stat().st_mtime_ns != before


def test_sample_is_in_the_competition_layout(tmp_path):
    from kexue.spectra import sample
    root = sample.generate(tmp_path / "s", 40, 10, {"star": 0.5, "qso": 0.5}, seed=3)
    train_ids, types, _ = data.read_index(root / "train_index.csv", labelled=True)
    assert len(train_ids) == 40 and set(types) == {"star", "qso"}
    test_ids, test_types, _ = data.read_index(root / "test_index.csv", labelled=False)
    assert len(test_ids) == 10 and test_types is None
    text = (root / "train_data" / f"{train_ids[0]}.txt").read_text()
    assert "\n" not in text and len(text.split(",")) == 2600
    again = sample.generate(tmp_path / "t", 40, 10, {"star": 0.5, "qso": 0.5}, seed=3)
    assert (again / "train_data" / f"{train_ids[0]}.txt").read_text() == text
