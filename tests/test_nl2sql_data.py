"""NL2SQL data layer: validation errors that name file/line/field, SQL execution, metrics, the answer
format, the synthetic sample, and (when ../shared is there) the real TableQA and WikiSQL files."""
import copy
import json
import re

import pytest
from conftest import SHARED

from kexue.core.submission import SubmissionError
from kexue.nl2sql import data, metrics, sample
from kexue.nl2sql import submit as submission
from kexue.nl2sql.data import NL2SQLDataError
from kexue.nl2sql.sql import Executor, render

TABLEQA = SHARED / "data" / "nl2sql" / "tableqa"
WIKISQL = SHARED / "data" / "nl2sql" / "wikisql"
needs_tableqa = pytest.mark.skipif(not TABLEQA.exists(), reason="../shared is absent (real data lives there)")
needs_wikisql = pytest.mark.skipif(not WIKISQL.exists(), reason="../shared is absent (real data lives there)")

TABLE = {"id": "t1", "name": "Table_t1", "title": "表1：房价", "header": ["城市", "均价", "年份"],
         "types": ["text", "real", "real"], "rows": [["长沙", 3.17, 2011], ["北京", "5", 2012], ["O'Hare", 4.5, 2011]]}
SQL = {"sel": [1], "agg": [0], "cond_conn_op": 0, "conds": [[0, 2, "长沙"]]}


def jl(path, objs):
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objs),
                    encoding="utf-8")
    return path


@pytest.fixture
def tables_file(tmp_path):
    return jl(tmp_path / "train.tables.json", [TABLE])


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("table, match", [
    ({**TABLE, "types": ["text", "real"]}, r":1: table 't1': field 'types' has 2 entries but 'header' has 3"),
    ({**TABLE, "types": ["text", "real", "number"]}, r":1: table 't1': field 'types\[2\]' \(column '年份'\) is 'number'"),
    ({**TABLE, "rows": [["长沙", 3.17]]}, r":1: table 't1': field 'rows\[0\]' has 2 cells but the header has 3"),
    ({k: v for k, v in TABLE.items() if k != "header"}, r":1: table is missing field 'header'"),
])
def test_bad_tables_name_file_line_and_field(tmp_path, table, match):
    path = jl(tmp_path / "x.tables.json", [table])
    with pytest.raises(NL2SQLDataError, match=r"x\.tables\.json" + match):
        data.read_tables(path)


def test_tables_reject_malformed_json_and_duplicate_ids(tmp_path):
    with pytest.raises(NL2SQLDataError, match=r"x\.tables\.json:2: malformed JSON at column \d+"):
        data.read_tables(jl(tmp_path / "x.tables.json", [TABLE, '{"id": "t2", "header": [']))
    with pytest.raises(NL2SQLDataError, match=r":3: table 't1': duplicate table id \(first seen at line 1\)"):
        data.read_tables(jl(tmp_path / "x.tables.json", [TABLE, "", TABLE]))


@pytest.mark.parametrize("line, match", [
    ('{"table_id": "t1", "question": "长沙', r":2: malformed JSON"),
    ({"table_id": "nope", "question": "q", "sql": SQL}, r":2: field 'table_id': unknown table 'nope'"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "sel": [3]}},
     r":2: field 'sql\.sel\[0\]': column 3 is out of range: the table has 3 columns \(0\.\.2\)"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "conds": [[7, 2, "x"]]}}, r":2: field 'sql\.conds\[0\]\[0\]'"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "agg": [6]}}, r":2: field 'sql\.agg\[0\]': 6 is not an agg"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "conds": [[0, 4, "x"]]}},
     r":2: field 'sql\.conds\[0\]\[1\]': 4 is not an operator code \(0:> 1:< 2:== 3:!=\)"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "cond_conn_op": 3}}, r":2: field 'sql\.cond_conn_op': 3 is not"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "agg": [0, 0]}},
     r":2: field 'sql\.agg': 2 aggregations for 1 selected columns"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "agg": [True]}},
     r":2: field 'sql\.agg\[0\]': expected an integer \(an aggregation code"),
    ({"table_id": "t1", "question": "q", "sql": {**SQL, "conds": [[0, 2, None]]}},
     r":2: field 'sql\.conds\[0\]\[2\]': the value must be a string or a number, got null"),
    ({"table_id": "t1", "question": "q"}, r":2: missing field 'sql' in a labelled file"),
    ({"table_id": "t1", "sql": SQL}, r":2: missing field 'question'"),
])
def test_bad_questions_name_file_line_and_field(tmp_path, tables_file, line, match):
    tables = data.read_tables(tables_file)
    path = jl(tmp_path / "train.json", [{"table_id": "t1", "question": "长沙的均价", "sql": SQL}, line])
    with pytest.raises(NL2SQLDataError, match=r"train\.json" + match):
        data.read_questions(path, tables, labelled=True)


def test_questions_normalise_values_and_skip_blank_lines(tmp_path, tables_file):
    sql = {"conds": [[1, 0, 3.17], [2, 2, 2011.0], [0, 2, "长沙"]], "cond_conn_op": 1, "agg": [0], "sel": [0]}
    path = jl(tmp_path / "q.json", [{"table_id": "t1", "question": "q", "sql": sql}, "", "  ",
                                    {"table_id": "t1", "question": "测试\u2028分隔"}])
    qs = data.read_questions(path, data.read_tables(tables_file))
    assert [c[2] for c in qs[0]["sql"]["conds"]] == ["3.17", "2011", "长沙"]
    assert list(qs[0]["sql"]) == ["sel", "agg", "cond_conn_op", "conds"] and "sql" not in qs[1]
    assert qs[1]["question"] == "测试\u2028分隔"       # U+2028 inside a string is not a line break
    # without tables, column ranges cannot be checked but codes still are
    assert data.read_questions(path, None, labelled=False)[0]["sql"]["conds"][0] == [1, 0, "3.17"]


def test_split_files_names_what_is_missing(tmp_path, tables_file):
    (tmp_path / "raw" / "val").mkdir(parents=True)
    jl(tmp_path / "raw" / "val" / "val.json", [{"table_id": "t1", "question": "q"}])
    with pytest.raises(NL2SQLDataError, match=r"split 'val' is incomplete: .*raw/val/val\.tables\.json not found"):
        data.split_files(tmp_path / "raw", "val")
    (tmp_path / "raw" / "val" / "val.tables.json").write_text(tables_file.read_text(encoding="utf-8"), encoding="utf-8")
    qs, tables, db = data.load_split(tmp_path / "raw", "val", labelled=False)
    assert len(qs) == 1 and set(tables) == {"t1"} and db is None


# ---------------------------------------------------------------- SQL


def test_render_is_valid_sqlite_and_numbers_compare_numerically():
    sql = {"sel": [1, 0], "agg": [1, 0], "cond_conn_op": 2, "conds": [[0, 2, "O'Hare"], [1, 0, " 3.5"]]}
    assert render(sql, TABLE) == ("SELECT AVG(col_2), col_1 FROM \"Table_t1\" WHERE col_1 == 'O''Hare' OR "
                                  "CAST(col_2 AS REAL) > 3.5")
    ex = Executor({"t1": TABLE})
    assert ex.can_execute("t1") and not ex.can_execute("zzz")
    # '5' (a numeric string in a real column) counts as 5; 2011.0 == 2011
    assert ex.execute({"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": [[1, 0, "4"]]}, "t1") == (("O'Hare",), ("北京",))
    assert ex.execute({"sel": [1], "agg": [5], "cond_conn_op": 0, "conds": [[2, 2, "2011.0"]]}, "t1") == ((7.67,),)
    assert ex.execute({"sel": [0], "agg": [4], "cond_conn_op": 0, "conds": []}, "t1") == ((3,),)


@pytest.mark.parametrize("bad", [
    {"sel": [9], "agg": [0], "cond_conn_op": 0, "conds": []},
    {"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": [[0, 2, "'; DROP TABLE Table_t1; --"]]},
    {"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": [[1, 0, "inf"]]},
    {"sel": [0], "agg": [7], "cond_conn_op": 0, "conds": []},
    {"sel": "x"}, None,
])
def test_executor_never_crashes_on_nonsense(bad):
    ex = Executor({"t1": copy.deepcopy(TABLE)})
    result = ex.execute(bad, "t1")
    assert result is None or isinstance(result, tuple)
    assert ex.execute(SQL, "t1") == ((3.17,),)          # the table survived


# ---------------------------------------------------------------- metrics


GOLD = [{"sel": [1], "agg": [0], "cond_conn_op": 0, "conds": [[0, 2, "长沙"]]},
        {"sel": [0, 1], "agg": [0, 0], "cond_conn_op": 1, "conds": [[1, 0, "4"], [2, 2, "2011"]]},
        {"sel": [1], "agg": [2], "cond_conn_op": 2, "conds": [[0, 2, "北京"], [0, 2, "O'Hare"]]},
        {"sel": [0], "agg": [4], "cond_conn_op": 0, "conds": [[2, 3, "2012"]]}]
IDS = ["t1"] * len(GOLD)


def test_evaluate_gold_against_itself_is_perfect():
    r = metrics.evaluate(GOLD, copy.deepcopy(GOLD), IDS, Executor({"t1": TABLE}))
    assert r["n"] == 4 and r["n_executable"] == 4 and r["score"] == r["logic_form_acc"] == r["execution_acc"] == 1.0
    assert all(r[k] == 1.0 for k in metrics.COMPONENTS)
    # order of sel and conds does not matter
    swapped = copy.deepcopy(GOLD)
    swapped[1] = {"sel": [1, 0], "agg": [0, 0], "cond_conn_op": 1, "conds": [[2, 2, "2011"], [1, 0, "4"]]}
    assert metrics.evaluate(GOLD, swapped, IDS)["logic_form_acc"] == 1.0
    r = metrics.evaluate(GOLD, GOLD, IDS)
    assert r["execution_acc"] is None and r["score"] == 1.0 and "no executor" in r["score_is"]
    assert "logic_form_acc only" in metrics.report_lines(r)[0]


@pytest.mark.parametrize("i, change, lowered", [
    (2, lambda s: s.update(agg=[3]), {"agg"}),
    (1, lambda s: s["conds"][0].__setitem__(1, 1), {"cond_op"}),
    (0, lambda s: s["conds"][0].__setitem__(2, "北京"), {"cond_val"}),
    (1, lambda s: s.update(cond_conn_op=2), {"conn"}),
    (0, lambda s: s.update(sel=[2]), {"sel", "agg"}),
    (3, lambda s: s.update(conds=[]), {"cond_col", "cond_op", "cond_val", "n_conds"}),
])
def test_one_wrong_field_lowers_logic_form_and_its_component(i, change, lowered):
    pred = copy.deepcopy(GOLD)
    change(pred[i])
    r = metrics.evaluate(GOLD, pred, IDS, Executor({"t1": TABLE}))
    assert r["logic_form_acc"] == 0.75
    assert {k for k in metrics.COMPONENTS if r[k] < 1} == lowered
    assert r["score"] == (r["logic_form_acc"] + r["execution_acc"]) / 2


def test_execution_can_be_right_when_logic_form_is_not():
    pred = copy.deepcopy(GOLD)
    pred[0]["conds"][0] = [1, 1, "3.2"]                  # a different condition selecting the same row
    r = metrics.evaluate(GOLD + GOLD[:1], pred + [None], IDS + ["t1"], Executor({"t1": TABLE}))
    assert r["logic_form_acc"] == 0.6 and r["execution_acc"] == 0.8


def test_casefold_value_compare():
    gold = [{"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": [[1, 2, "Butler CC (KS)"]]}]
    pred = [{"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": [[1, 2, "butler cc (ks)"]]}]
    assert metrics.evaluate(gold, pred, ["w"])["logic_form_acc"] == 0.0
    r = metrics.evaluate(gold, pred, ["w"], value_compare="casefold")
    assert r["logic_form_acc"] == 1.0 and r["cond_val"] == 1.0
    with pytest.raises(ValueError, match="value_compare"):
        metrics.evaluate(gold, pred, ["w"], value_compare="fuzzy")


# ---------------------------------------------------------------- submission


def test_write_then_validate_submission(tmp_path):
    tables = {"t1": TABLE}
    questions = [{"table_id": "t1", "question": "q"}] * len(GOLD)
    path = submission.write(tmp_path / "sub" / "s.json", GOLD, questions, tables)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[2] == ('{"agg": [2], "cond_conn_op": 2, "sel": [1], "table_id": "t1", "conds": '
                        '[[0, 2, "北京"], [0, 2, "O\'Hare"]]}')
    submission.validate(path, questions, tables)
    bad = copy.deepcopy(GOLD)
    bad[3]["sel"] = [5]
    with pytest.raises(SubmissionError, match=r"s2\.json:4: field 'sel\[0\]': column 5 is out of range"):
        submission.write(tmp_path / "s2.json", bad, questions, tables)
    assert not (tmp_path / "s2.json").exists()


# ---------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("nl2sql") / "sample"
    sample.generate(root, seed=3, n_tables=10, n_train=150, n_val=40, n_test=30)
    return root


def test_sample_layout_and_validation(sample_dir):
    for split in ("train", "val", "test"):
        for suffix in (".json", ".tables.json", ".db"):
            assert (sample_dir / split / f"{split}{suffix}").is_file()
    train, tt, _ = data.load_split(sample_dir, "train", labelled=True)
    val, vt, _ = data.load_split(sample_dir, "val", labelled=True)
    test, st, _ = data.load_split(sample_dir, "test", labelled=False)
    assert (len(train), len(tt), len(val), len(test)) == (150, 10, 40, 30)
    assert not any("sql" in q for q in test)
    assert not set(tt) & set(vt) and not set(tt) & set(st) and not set(vt) & set(st)
    for t in tt.values():
        assert {"text", "real"} <= set(t["types"]) and all("\u4e00" <= h[0] <= "\u9fff" for h in t["header"])
    for split, qs in (("train", train), ("val", val)):
        sqls = [q["sql"] for q in qs]
        assert {a for s in sqls for a in s["agg"]} == set(data.AGGS), split
        assert {c[1] for s in sqls for c in s["conds"]} == set(data.OPS), split
        assert {s["cond_conn_op"] for s in sqls} == set(data.CONNS), split
        assert all(len(s["conds"]) == (1 if s["cond_conn_op"] == 0 else 2) for s in sqls)
    assert any(len(q["sql"]["sel"]) == 2 for q in train)
    conds = [(c[2], q["question"]) for q in train for c in q["sql"]["conds"]]
    written_otherwise = sum(v not in question for v, question in conds) / len(conds)
    assert 0.03 < written_otherwise < 0.2
    assert len({q["question"][:2] for q in train}) > 20          # varied phrasings


def test_sample_executes_the_same_on_db_and_rows(sample_dir):
    for split in ("train", "val"):
        qs, tables, db = data.load_split(sample_dir, split, labelled=True)
        on_db, on_rows = Executor(tables, db), Executor(tables)
        for q in qs:
            a, b = on_db.execute(q["sql"], q["table_id"]), on_rows.execute(q["sql"], q["table_id"])
            assert a is not None and a == b, (q, a, b)
            rows = on_rows.execute({**q["sql"], "agg": [0] * len(q["sql"]["sel"])}, q["table_id"])
            assert rows, q          # the gold conditions hold on some row (an AND's two on the same row)
        on_db.close()


def test_sample_is_deterministic(tmp_path, sample_dir):
    sample.generate(tmp_path, seed=3, n_tables=10, n_train=150, n_val=40, n_test=30)
    for split in ("train", "val", "test"):
        for suffix in (".json", ".tables.json"):
            name = f"{split}/{split}{suffix}"
            assert (tmp_path / name).read_bytes() == (sample_dir / name).read_bytes(), name


def test_sample_cli(tmp_path, capsys):
    sample.main([str(tmp_path / "s"), "--seed", "1", "--n-tables", "3", "--n-train", "12", "--n-val", "6",
                 "--n-test", "6"])
    assert "12 questions on 3 tables" in capsys.readouterr().out
    assert len(data.load_split(tmp_path / "s", "train", labelled=True)[0]) == 12


# ---------------------------------------------------------------- the real files


@needs_tableqa
def test_real_tableqa_questions_read_without_tables():
    val = data.read_questions(TABLEQA / "val.json", None, labelled=True)
    test = data.read_questions(TABLEQA / "test.json", None, labelled=False)
    assert (len(val), len(test)) == (4396, 4086)
    assert all(isinstance(c[2], str) for q in val for c in q["sql"]["conds"])
    for name, n in (("test.standard.json", 4086), ("final_test.standard.json", 4055)):
        answers = data.read_answers(TABLEQA / name)
        assert len(answers) == n
    assert [a["table_id"] for a in data.read_answers(TABLEQA / "test.standard.json")] == [q["table_id"] for q in test]


@needs_tableqa
def test_real_answers_score_and_round_trip_byte_for_byte():
    path = TABLEQA / "test.standard.json"
    text = path.read_text(encoding="utf-8")
    parsed = [json.loads(line) for line in text.splitlines()]
    assert "".join(submission.format_line(p, p["table_id"]) + "\n" for p in parsed) == text
    answers = data.read_answers(path)
    gold, ids = [a["sql"] for a in answers], [a["table_id"] for a in answers]
    assert metrics.evaluate(gold, copy.deepcopy(gold), ids)["logic_form_acc"] == 1.0
    pred = copy.deepcopy(gold)
    pred[10]["conds"][0][2] += "x"
    r = metrics.evaluate(gold, pred, ids)
    assert r["logic_form_acc"] == 1 - 1 / len(gold) and r["cond_val"] < 1 and r["sel"] == 1


@needs_tableqa
def test_real_answers_validate_and_broken_copies_are_rejected(tmp_path):
    questions = data.read_questions(TABLEQA / "test.json", None, labelled=False)
    path = TABLEQA / "test.standard.json"
    submission.validate(path, questions)
    lines = path.read_text(encoding="utf-8").splitlines()

    first_change = next(i for i in range(len(lines) - 1) if questions[i]["table_id"] != questions[i + 1]["table_id"])
    missing = lines[:first_change] + lines[first_change + 1:]
    with pytest.raises(SubmissionError, match=rf"s\.json:{first_change + 1}: field 'table_id' .*one is missing"):
        submission.validate(jl(tmp_path / "s.json", missing), questions)
    with pytest.raises(SubmissionError, match=rf"submission:{len(lines)}: the submission has {len(lines) - 1} lines"):
        submission.validate(lines[:-1], questions)

    bad = list(lines)
    bad[6] = re.sub(r'"cond_conn_op": \d', '"cond_conn_op": 7', bad[6])
    with pytest.raises(SubmissionError, match=r"submission:7: field 'cond_conn_op': 7 is not a connector code"):
        submission.validate(bad, questions)

    swapped = list(lines)
    swapped[first_change], swapped[first_change + 1] = swapped[first_change + 1], swapped[first_change]
    with pytest.raises(SubmissionError, match=rf"submission:{first_change + 1}: field 'table_id' is '\w+' but test "
                                              rf"question {first_change + 1} is on table"):
        submission.validate(swapped, questions)


@needs_wikisql
def test_real_wikisql_reads_with_full_validation():
    for split, n_q, n_t in (("train", 15878, 5069), ("val", 4156, 1305)):
        qs, tables, db = data.load_split(WIKISQL, split, labelled=True)
        assert (len(qs), len(tables), db) == (n_q, n_t, None)
        assert not Executor(tables).can_execute(qs[0]["table_id"])
    assert data.split_files(WIKISQL, "val")["column_values"].name == "val.column_values.json"
