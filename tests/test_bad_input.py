"""Bad input, one case a row, run as a user runs it (the stage's command line in a fresh process).

Each row builds a small valid input, breaks one thing, runs the command and asserts: the exit status, that the
message names what it must (file, line or id, field, value, what was expected), that no Python traceback
reached the user, and that nothing a later stage would trust was written. Rows whose input is odd but valid
(CRLF line endings, a stale temporary file) assert that the run succeeds and says what it did.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT, write_spectrum


@dataclass
class Case:
    id: str
    run: Callable[[Path], list[str]]          # writes the input under tmp, returns the command's arguments
    says: tuple[str, ...] = ()                # substrings of stdout + stderr
    ok: bool = False                          # True: the command must succeed
    not_written: tuple[str, ...] = ()         # paths under tmp that must not exist afterwards
    not_said: tuple[str, ...] = ()


def run_case(case: Case, tmp: Path) -> str:
    args = case.run(tmp)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert (out.returncode == 0) == case.ok, f"exit status {out.returncode}:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]
    for s in case.says:
        assert s in text, f"{s!r} not in:\n{text[-3000:]}"
    for s in case.not_said:
        assert s not in text, f"{s!r} in:\n{text[-3000:]}"
    for p in case.not_written:
        assert not (tmp / p).exists(), f"{p} was written"
    return text


# ---------------------------------------------------------------- configs (kexue.core.config, what make calls)

def resolve(config: str, *overrides: str, body: str | None = None,
            beside: tuple[str, ...] = ()) -> Callable[[Path], list[str]]:
    """Resolve configs/<config> (or `body` written to tmp/configs/<config>, with copies of the shipped configs
    `beside` it) with overrides into tmp/p.json."""
    def cmd(tmp: Path) -> list[str]:
        path = ROOT / "configs" / config
        if body is not None:
            path = tmp / "configs" / config
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body.encode("utf-8") if isinstance(body, str) else body)
            for name in beside:
                (tmp / "configs" / name).write_text((ROOT / "configs" / name).read_text())
        return ["-m", "kexue.core.config", str(path), "--out", str(tmp / "p.json"),
                *[a for o in overrides for a in ("--set", o)]]
    return cmd


CONFIG_CASES = [
    Case("non-numeric epochs", resolve("spectra/cnn.yaml", "epochs_ce=abc"),
         ("cnn.yaml", "epochs_ce = 'abc'", "override 'epochs_ce=abc'", "an integer >= 0")),
    Case("one fold", resolve("spectra/data.yaml", "folds.n=1"), ("data.yaml", "folds.n = 1", "an integer >= 2")),
    Case("negative folds qa", resolve("qa/folds.yaml", "k=-1"), ("folds.yaml", "k = -1", ">= 2")),
    Case("one fold cail", resolve("cail2019/folds.yaml", "k=1"), ("k = 1", ">= 2")),
    Case("enum typo", resolve("spectra/data.yaml", "on_bad_file=skp"), ("on_bad_file = 'skp'", "error | skip")),
    Case("selection typo", resolve("qa/dgcnn.yaml", "selection=outr"), ("selection = 'outr'", "inner | last | outer")),
    Case("loss typo", resolve("cail2019/dgc-zlpr.yaml", "loss=zlrp"), ("loss = 'zlrp'", "zlpr | bce")),
    Case("zero learning rate", resolve("nl2sql/bert.yaml", "lr=0"), ("lr = 0", "a number > 0")),
    Case("dropout of one", resolve("qa/dgcnn.yaml", "dropout=1"), ("dropout = 1", "< 1")),
    Case("fill rule typo", resolve("qa/decode.yaml", "missing=emty"), ("missing = 'emty'", "error | empty")),
    Case("float epochs", resolve("cail2019/dgc-bce.yaml", "epochs=2.5"), ("epochs = 2.5", "an integer")),
    Case("list where a number goes", resolve("spectra/lgbm.yaml", "lgbm.num_leaves=[3]"), ("num_leaves", "[3]")),
    Case("bad value in the file itself", resolve("qa/x.yaml", body="name: x\nepochs: ten\n"),
         ("x.yaml", "epochs = 'ten'", "in the file", "an integer >= 0")),
    Case("two bad values at once", resolve("spectra/cnn.yaml", "lr=-1", "batch_size=0"), ("2 bad values", "lr", "batch_size")),
    Case("duplicated key", resolve("qa/x.yaml", body="name: x\nepochs: 3\nepochs: 4\n"),
         ("x.yaml", "key 'epochs' appears twice", "line 3")),
    Case("config not UTF-8", resolve("qa/x.yaml", body=b"name: \xd6\xd0\n"), ("x.yaml", "not UTF-8")),
    Case("unknown key", resolve("spectra/cnn.yaml", "epoch_ce=3"), ("no key 'epoch_ce'", "Did you mean 'epochs_ce'")),
    Case("values wrong only together", resolve("qa/features.yaml", "encode.p_stride=300"),
         ("encode.p_stride and encode.p_max = (300, 256)", "override 'encode.p_stride=300'", "p_stride <= p_max")),
    Case("config path is a folder", lambda tmp: ["-m", "kexue.core.config", str(ROOT / "configs" / "qa"), "--out",
                                                 str(tmp / "p.json")], ("configs/qa", "a folder, not a config file")),
    Case("invalid YAML", resolve("qa/x.yaml", body="name: [x\n"), ("x.yaml", "invalid YAML")),
    Case("a model config of yours missing keys", resolve("spectra/lgbm_big.yaml", beside=("spectra/lgbm.yaml",),
                                                          body="name: lgbm_big\nmodel: lgbm\nlgbm: {num_leaves: 255}\n"),
         ("lgbm_big.yaml", "model 'lgbm' reads", "class_weight", "lgbm.num_boost_round", "base: lgbm"),
         not_written=("p.json",)),
    Case("base: fills them", resolve("spectra/lgbm_big.yaml", beside=("spectra/lgbm.yaml",),
                                     body="base: lgbm\nmodel: lgbm\nlgbm: {num_leaves: 255}\n"), ok=True),
    Case("base: with a typo", resolve("spectra/lgbm_big.yaml", beside=("spectra/lgbm.yaml",),
                                      body="base: lgbn\nmodel: lgbm\n"),
         ("lgbm_big.yaml", "base: 'lgbn' names no config beside it", "lgbm"), not_written=("p.json",)),
    Case("a model name with a typo (SP_SUBMIT=lgbmm)", resolve("spectra/lgbmm.yaml"),
         ("lgbmm.yaml: config file not found", "cnn, data", "did you mean lgbm?"), not_written=("p.json",)),
    Case("valid overrides pass", resolve("spectra/cnn.yaml", "epochs_ce=3", "lr=1", "steps_per_epoch=20",
                                         "verbose=2"), ok=True),
]


# ---------------------------------------------------------------- spectra preprocess

def spectra(edit: Callable[[Path], None] = lambda raw: None, *sets: str, out: str | None = None):
    """A valid raw folder (12 train spectra of 3 classes, 4 test, 8 values each), `edit` breaks it."""
    def cmd(tmp: Path) -> list[str]:
        raw = tmp / "raw"
        lines = ["id,type"]
        for i, c in enumerate(["star", "galaxy", "qso"] * 4):
            write_spectrum(raw / "first_train_data_20180131" / f"{1000 + i}.txt", [100.0 + i + k for k in range(8)])
            lines.append(f"{1000 + i},{c}")
        (raw / "first_train_index_20180131.csv").write_text("\n".join(lines) + "\n")
        for i in range(4):
            write_spectrum(raw / "first_test_data_20180131" / f"{5000 + i}.txt", [50.0 + i + k for k in range(8)])
        (raw / "first_test_index_20180131.csv").write_text("id\n" + "".join(f"{5000 + i}\n" for i in range(4)))
        edit(raw)
        return ["pipelines/spectra/preprocess.py", "--source", "raw", "--out", out or str(tmp / "store"),
                *[a for s in ("raw_dir=" + str(raw), "n_values=8", "folds.n=2", "workers=1", *sets)
                  for a in ("--set", s)]]
    return cmd


def set_line(path: Path, lineno: int, text: str) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = text
    path.write_text("\n".join(lines) + "\n")


TRAIN_INDEX = "first_train_index_20180131.csv"
STORE = ("store/manifest.json",)

SPECTRA_CASES = [
    Case("misspelt label", spectra(lambda raw: set_line(raw / TRAIN_INDEX, 4, "1002,qsoo")),
         (TRAIN_INDEX, "'qsoo' has 1 member (line 4)", "a typo for 'qso'", "data.classes"), not_written=STORE),
    Case("label outside pinned classes", spectra(lambda raw: set_line(raw / TRAIN_INDEX, 4, "1002,qsoo"),
                                                 "classes=[galaxy, qso, star]"),
         (TRAIN_INDEX, "qsoo", "not in the configured classes", "line 4 'qsoo'"), not_written=STORE),
    Case("misspelt label after a blank line", spectra(lambda raw: (set_line(raw / TRAIN_INDEX, 3, "1001,galaxy\n"),
                                                                   set_line(raw / TRAIN_INDEX, 5, "1002,qsoo"))),
         (TRAIN_INDEX, "'qsoo' has 1 member (line 5)"), not_written=STORE),
    Case("flux beyond float32", spectra(lambda raw: write_spectrum(raw / "first_train_data_20180131" / "1003.txt",
                                                                    [1.0] * 7 + ["1e39"])),
         ("1003.txt", "value 8 is '1e39'", "float32", "line 5"), not_written=STORE),
    Case("non-number flux hints at skip", spectra(lambda raw: write_spectrum(
        raw / "first_train_data_20180131" / "1003.txt", [1.0] * 7 + ["abc"])),
         ("1003.txt", "value 8 is 'abc'", "data.on_bad_file=skip"), not_written=STORE),
    Case("GBK byte in the index", spectra(lambda raw: (raw / TRAIN_INDEX).write_bytes(
        (raw / TRAIN_INDEX).read_bytes().replace(b"1001,galaxy", "1001,星系".encode("gbk")))),
         (TRAIN_INDEX, "line 3", "not UTF-8"), not_written=STORE, not_said=("on_bad_file",)),
    Case("duplicate id: skipping cannot help", spectra(lambda raw: set_line(raw / TRAIN_INDEX, 5, "1000,qso")),
         (TRAIN_INDEX, "line 5", "duplicates line 2"), not_written=STORE, not_said=("on_bad_file",)),
    Case("empty test index", spectra(lambda raw: (raw / "first_test_index_20180131.csv").write_text("id\n")),
         ("first_test_index_20180131.csv", "test index has no rows"), not_written=STORE),
    Case("an id that walks into another folder", spectra(lambda raw: set_line(
        raw / TRAIN_INDEX, 2, "../first_test_data_20180131/5000,star")),
         (TRAIN_INDEX, "line 2", "not a plain file name"), not_written=STORE),
    Case("header-only training index", spectra(lambda raw: (raw / TRAIN_INDEX).write_text("id,type\n")),
         (TRAIN_INDEX, "no rows"), not_written=STORE),
    Case("empty training index file", spectra(lambda raw: (raw / TRAIN_INDEX).write_text("")),
         (TRAIN_INDEX, "empty file"), not_written=STORE),
    Case("truncated index line", spectra(lambda raw: set_line(raw / TRAIN_INDEX, 6, "1004")),
         (TRAIN_INDEX, "line 6", "1 fields"), not_written=STORE),
    Case("empty spectrum file", spectra(lambda raw: (raw / "first_test_data_20180131" / "5001.txt").write_text("")),
         ("5001.txt", "file is empty"), not_written=STORE),
    Case("a spectrum of two million values", spectra(lambda raw: (raw / "first_train_data_20180131" / "1005.txt")
                                                     .write_text("1," * 1_999_999 + "1")),
         ("1005.txt", "2000000 values", "expected 8", "line 7"), not_written=STORE),
    Case("a 50 MB index line", spectra(lambda raw: set_line(raw / TRAIN_INDEX, 6, "1004," + "x" * 50_000_000)),
         (TRAIN_INDEX, "line 6"), not_written=STORE),
    Case("CRLF and LF mixed in the index", spectra(lambda raw: (raw / TRAIN_INDEX).write_bytes(
        (raw / TRAIN_INDEX).read_bytes().replace(b"\n", b"\r\n", 4))), ("train: 12 spectra",), ok=True),
    Case("stale temporary file of a killed run", spectra(lambda raw: (
        (raw.parent / "store" / "train").mkdir(parents=True),
        (raw.parent / "store" / "train" / ".flux.npy.k1ll3d.tmp").write_bytes(b"\0" * 1000))),
         ("removed", ".flux.npy.k1ll3d.tmp", "killed run"), ok=True,
         not_written=("store/train/.flux.npy.k1ll3d.tmp",)),
    Case("read-only DATA_DIR", spectra(out="/sys/kexue-bad-input-test/store"),
         ("/sys/kexue-bad-input-test", "error:")),
]


# ---------------------------------------------------------------- QA, NL2SQL, CAIL2019 preprocess

def qa(edit: Callable[[list, list], None], raw_edit: Callable[[Path], None] = lambda raw: None):
    def cmd(tmp: Path) -> list[str]:
        raw = tmp / "raw"
        raw.mkdir()
        train = [{"id": f"q{i}", "question": f"问题{i}是什么", "passages": [{"passage": f"答案是甲{i}乙", "answer": f"甲{i}乙"}]}
                 for i in range(6)]
        test = [{"id": f"t{i}", "question": f"问题{i}", "passages": [{"passage": "一段话"}]} for i in range(3)]
        edit(train, test)
        (raw / "train.json").write_text(json.dumps(train))          # \\u escapes: a lone surrogate stays writable
        (raw / "test.json").write_text(json.dumps(test, ensure_ascii=False))
        raw_edit(raw)
        return ["pipelines/qa/preprocess.py", "--source", "raw", "--out", str(tmp / "processed"),
                "--set", f"raw_dir={raw}"]
    return cmd


def qa_folds(k: int):
    """The folds stage after a valid preprocess of 6 questions, asked for k folds."""
    def cmd(tmp: Path) -> list[str]:
        args = qa(lambda train, test: None)(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=True, capture_output=True)
        (tmp / "folds.json").write_text(json.dumps({"k": k, "seed": 0}))
        return ["pipelines/qa/folds.py", "--params", str(tmp / "folds.json"), "--processed", str(tmp / "processed")]
    return cmd


def nl2sql(edit: Callable[[Path], None], *sets: str):
    def cmd(tmp: Path) -> list[str]:
        from kexue.nl2sql import sample
        raw = tmp / "raw"
        sample.generate(raw, seed=1, n_tables=4, n_train=20, n_val=10, n_test=5)
        edit(raw)
        return ["pipelines/nl2sql/preprocess.py", "--source", "raw", "--out", str(tmp / "processed"),
                "--set", f"raw_dir={raw}", *[a for s in sets for a in ("--set", s)]]
    return cmd


def cail(edit: Callable[[Path], None]):
    def cmd(tmp: Path) -> list[str]:
        from kexue.cail2019 import sample
        raw = tmp / "raw"
        sample.generate(raw, seed=1, n_train_docs=12, n_test_docs=3)
        edit(raw)
        return ["pipelines/cail2019/preprocess.py", "--source", "raw", "--out", str(tmp / "processed"),
                "--set", f"raw_dir={raw}"]
    return cmd


def replace_in(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def clash_table(raw: Path) -> None:
    """Append to val's tables a train table's id with a renamed first column."""
    table = json.loads((raw / "train" / "train.tables.json").read_text(encoding="utf-8").splitlines()[0])
    table["header"][0] += "X"
    with open(raw / "val" / "val.tables.json", "a", encoding="utf-8") as f:
        f.write(json.dumps(table, ensure_ascii=False) + "\n")


def edit_json_line(path: Path, lineno: int, change: Callable[[dict], None]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    obj = json.loads(lines[lineno - 1])
    change(obj)
    lines[lineno - 1] = json.dumps(obj, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


OTHER_CASES = [
    Case("qa: no passages in training", qa(lambda train, test: train[2].update(passages=[])),
         ("train.json", "entry 2", "'passages' is empty"), not_written=("processed/manifest.json",)),
    Case("qa: no passages in test", qa(lambda train, test: test[1].update(passages=[])),
         ("test.json", "entry 1", "'passages' is empty"), not_written=("processed/manifest.json",)),
    Case("qa: blank question", qa(lambda train, test: train[0].update(question="  ")),
         ("train.json", "'question'", "non-empty"), not_written=("processed/manifest.json",)),
    Case("qa: more folds than questions", qa_folds(10), ("6 distinct training questions", "10 folds", "lower folds.k"),
         not_written=("processed/folds.npy",)),
    Case("qa: a data config without raw_dir", lambda tmp: (
        (tmp / "qa").mkdir(), (tmp / "qa" / "data.yaml").write_text("sample_dir: x\n"),
        ["pipelines/qa/preprocess.py", "--config", str(tmp / "qa" / "data.yaml"), "--out", str(tmp / "processed")])[-1],
         ("data.yaml: no ", "'raw_dir'", "copy them from configs/qa/data.yaml"), not_written=("processed",)),
    Case("qa: lone surrogate escape", qa(lambda train, test: train[3].update(question="问题\ud83d")),
         ("train.json", "entry 3", "question", "lone surrogate"), not_written=("processed/manifest.json",)),
    Case("qa: tab inside a test id", qa(lambda train, test: test[0].update(id="t\t0")),
         ("test.json", "entry 0", "field 'id'", "control characters"), not_written=("processed/manifest.json",)),
    Case("qa: empty test file", qa(lambda train, test: test.clear()),
         ("test.json", "no test questions"), not_written=("processed/manifest.json",)),
    Case("qa: a folder named like a training file", qa(lambda train, test: None,
                                                       lambda raw: (raw / "train_b.json").mkdir()),
         ("train_b.json", "is a folder"), not_written=("processed/manifest.json",)),
    Case("nl2sql: number of 5000 digits", nl2sql(lambda raw: replace_in(
        raw / "train" / "train.json", "{", '{"extra": ' + "1" * 5000 + ", ")),
         ("train.json:1", "unreadable JSON value"), not_written=("processed/manifest.json",)),
    Case("nl2sql: empty val file", nl2sql(lambda raw: (raw / "val" / "val.json").write_text("")),
         ("val.json", "no questions"), not_written=("processed/manifest.json",)),
    Case("nl2sql: a table id in train and val with other columns", nl2sql(clash_table),
         ("train.tables.json and ", "val.tables.json", "names different tables"), not_written=("processed/manifest.json",)),
    Case("nl2sql: a .db that is not a database", nl2sql(lambda raw: (raw / "val" / "val.db").write_text("garbage")),
         ("val.db", "cannot be read as a sqlite database"), not_written=("processed/manifest.json",)),
    Case("nl2sql: missing BERT folder", nl2sql(lambda raw: None, "bert=/no/such/bert"),
         ("bert=/no/such/bert", "does not exist"), not_written=("processed/manifest.json",)),
    Case("cail: lone surrogate in a sentence", cail(lambda raw: replace_in(raw / "train.json", '"sentence": "',
                                                                          '"sentence": "\\udc00')),
         ("train.json:1", "document 0", "lone surrogate"), not_written=("processed/manifest.json",)),
    Case("cail: a key twice in one sentence", cail(lambda raw: replace_in(raw / "train.json", '"sentence": "',
                                                                         '"labels": [], "sentence": "')),
         ("train.json:1", "document 0", "key 'labels' appears twice"), not_written=("processed/manifest.json",)),
    Case("cail: no training sentence carries a tag", cail(lambda raw: (raw / "train.json").write_text(
        re.sub(r'"labels": \[[^\]]*\]', '"labels": []', (raw / "train.json").read_text(encoding="utf-8")),
        encoding="utf-8")),
         ("train.json", "none of the", "carries a tag", "unlabelled test file"), not_written=("processed/manifest.json",)),
    Case("cail: arrays nested 100,000 deep", cail(lambda raw: (raw / "test.json").write_text("[" * 100000 + "]" * 100000)),
         ("test.json:1", "unreadable JSON value"), not_written=("processed/manifest.json",)),
    Case("nl2sql: empty question", nl2sql(lambda raw: edit_json_line(
        raw / "train" / "train.json", 3, lambda q: q.update(question=""))),
         ("train.json:3", "'question' is empty"), not_written=("processed/manifest.json",)),
    Case("nl2sql: table too wide even at one token a header", nl2sql(lambda raw: None, "max_len=8"),
         ("train.tables.json or ", "table '", "columns need", "max_len=8"), not_written=("processed/manifest.json",)),
]


@pytest.mark.parametrize("case", CONFIG_CASES + SPECTRA_CASES + OTHER_CASES, ids=lambda c: c.id)
def test_bad_input(case, tmp_path):
    run_case(case, tmp_path)


def test_a_bad_override_stops_make_before_training(tmp_path):
    """Through make, as typed at 2 a.m.: the resolve step refuses the value; no run folder, no TensorFlow."""
    out = subprocess.run(["make", "--no-print-directory", "spectra-cnn", "cnn.epochs_ce=abc", f"DATA_DIR={tmp_path}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert "epochs_ce = 'abc' (set by the override 'epochs_ce=abc'): expected an integer >= 0" in text, text[-3000:]
    assert not (tmp_path / "runs").exists() and "tensorflow" not in text.lower()
