"""`python -m kexue.nl2sql.metrics GOLD PRED`: scoring files as the organiser would."""
import json

import pytest
from conftest import SHARED

from kexue.nl2sql import metrics

TABLEQA = SHARED / "data" / "nl2sql" / "tableqa"


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.skipif(not TABLEQA.exists(), reason="../shared is absent")
def test_real_answer_file_scores_one_against_itself_and_less_with_one_wrong_field(tmp_path, capsys):
    gold = TABLEQA / "test.standard.json"
    assert metrics.main([str(gold), str(gold)]) == 0
    assert capsys.readouterr().out.startswith("score 1.0000 on 4086 questions")
    lines = _lines(gold)
    row = json.loads(lines[10])
    row["cond_conn_op"] = 2 if row["cond_conn_op"] != 2 else 1
    lines[10] = json.dumps(row, ensure_ascii=False)
    wrong = tmp_path / "pred.json"
    wrong.write_text("\n".join(lines) + "\n", encoding="utf-8")
    metrics.main([str(gold), str(wrong)])
    out = capsys.readouterr().out
    assert "score 0.9998" in out and "conn 0.9998" in out


def test_misaligned_files_are_refused_with_the_line(tmp_path):
    a = {"agg": [0], "cond_conn_op": 0, "sel": [1], "table_id": "t1", "conds": [[0, 2, "x"]]}
    b = {**a, "table_id": "t2"}
    gold, pred = tmp_path / "gold.json", tmp_path / "pred.json"
    gold.write_text(json.dumps(a) + "\n" + json.dumps(b) + "\n")
    pred.write_text(json.dumps(b) + "\n" + json.dumps(a) + "\n")
    with pytest.raises(SystemExit, match="line 1: table_id t2"):
        metrics.main([str(gold), str(pred)])


def test_wrong_parts_names_each_mistake():
    from kexue.nl2sql.metrics import wrong_parts
    gold = {"sel": [1], "agg": [0], "cond_conn_op": 0, "conds": [[0, 2, "Butler CC"]]}
    assert wrong_parts(gold, gold) == []
    assert wrong_parts(gold, {**gold, "conds": [[0, 2, "butler cc"]]}) == ["cond_val", "logic_form"]
    assert wrong_parts(gold, {**gold, "conds": [[0, 2, "butler cc"]]}, "casefold") == []
    assert wrong_parts(gold, {**gold, "sel": [2]}) == ["sel", "agg", "logic_form"]
    assert wrong_parts(gold, {**gold, "conds": [[3, 0, "Butler CC"]]}) == ["cond_col", "cond_op", "cond_val",
                                                                          "logic_form"]
    assert wrong_parts(gold, {"sel": "x"}) == ["malformed", "logic_form"]
