"""Encoding questions into head labels, value alignment, and decoding head probabilities back to SQL."""
import numpy as np
import pytest

from kexue.nl2sql.decode import ValueSnapper, breaks_types, decode_one
from kexue.nl2sql.encode import IGNORE, NO_AGG, NO_OP, align_value, encode, pad_batch


class CharTok:
    """One token per non-space character, ids by a growing dict: enough to test the layout."""
    cls_id, sep_id, pad_id, unk_id = 2, 3, 0, 1

    def __init__(self):
        self.ids = {}

    def tokenize(self, text):
        pairs = [(self.ids.setdefault(c, 10 + len(self.ids)), (i, i + 1)) for i, c in enumerate(text) if not c.isspace()]
        return [p[0] for p in pairs], [p[1] for p in pairs]


TABLE = {"id": "t1", "name": "Table_t1", "title": "", "header": ["城市", "成交量", "年份"],
         "types": ["text", "real", "real"], "rows": [["长沙市", 3.17, 2011], ["北京", 5, 2012]]}


def test_align_value_verbatim_variants_and_reuse():
    q = "PE2011大于11或者EPS2011大于11的公司"
    first = align_value(q, "11")
    assert q[first[0]:first[1]] == "11"
    second = align_value(q, "11", taken=[first])
    assert second != first and q[second[0]:second[1]] == "11"
    assert align_value("成交量是3的城市", "3.0") == (4, 5)          # numeric variant
    assert align_value("who is Butler CC (KS)?", "butler cc (ks)") == (7, 21)   # case-insensitive


def test_align_value_falls_back_to_closest_word_ngram():
    q = "长沙市去年的成交量是多少"
    s, e = align_value(q, "长沙")
    assert "长沙" in q[s:e]
    assert align_value("完全无关的问题", "Zebra") is None


def test_encode_layout_and_labels():
    q = {"table_id": "t1", "question": "长沙 2011年的成交量是多少",
         "sql": {"sel": [1], "agg": [5], "cond_conn_op": 1, "conds": [[0, 2, "长沙"], [2, 2, "2011"]]}}
    enc = encode([q], {"t1": TABLE}, CharTok())
    r = enc.row(0)
    n_q = len("长沙2011年的成交量是多少")
    assert enc.q_len[0] == n_q and enc.q_max == n_q and enc.h_max == 3
    assert r["ids"][0] == CharTok.cls_id and r["ids"][n_q + 1] == CharTok.sep_id
    assert list(r["h_pos"]) == [n_q + 2, n_q + 2 + 4, n_q + 2 + 4 + 5]      # [CLS] 城市 [SEP] [CLS] 成交量 [SEP] ...
    assert all(r["ids"][p] == CharTok.cls_id for p in r["h_pos"])
    assert r["conn"] == 1 and list(r["sel"]) == [NO_AGG, 5, NO_AGG]
    assert list(r["op"][:6]) == [2, 2, 2, 2, 2, 2] and r["op"][6] == NO_OP    # 长沙 then 2011 (space skipped)
    assert list(r["csel"][:6]) == [0, 0, 2, 2, 2, 2] and r["csel"][6] == IGNORE
    assert enc.stats["verbatim"] == 2


def test_a_value_past_the_token_limit_is_counted_not_called_found():
    """max_len=24 keeps [CLS] [SEP], 13 header tokens (城市 成交量 年份, each with [CLS] [SEP]) and 9 question
    tokens: the value 2011 at characters 11-14 is cut off, so no token is tagged and the stats say so."""
    q = {"table_id": "t1", "question": "长沙今年和去年以及前年2011年的成交量",
         "sql": {"sel": [1], "agg": [5], "cond_conn_op": 1, "conds": [[0, 2, "长沙"], [2, 2, "2011"]]}}
    enc = encode([q], {"t1": TABLE}, CharTok(), max_len=24)
    assert enc.q_len[0] == 24 - 2 - 13 and enc.stats["truncated"] == 1
    assert enc.stats["verbatim"] == 1 and enc.stats["past_limit"] == 1          # 长沙 found, 2011 past the limit
    assert set(enc.row(0)["csel"]) == {0, IGNORE}


def test_a_wide_table_gets_shorter_header_names_not_an_error():
    wide = {**TABLE, "header": [f"很长的列名第{i}列的说明文字" for i in range(6)]}      # 13 characters each
    q = {"table_id": "t1", "question": "长沙的成交量是多少"}
    enc = encode([q], {"t1": wide}, CharTok(), max_len=64, max_header_tokens=16, with_labels=False)
    r = enc.row(0)
    assert enc.stats["tables_shortened"] == 1 and enc.q_len[0] == 9
    # the question keeps >= min(16, 64 // 4) tokens: names cut to 5 tokens (6 x (5 + 2) = 42, 64 - 2 - 42 = 20)
    assert np.diff(r["h_pos"]).tolist() == [7] * 5 and len(r["ids"]) == 2 + 9 + 42
    with pytest.raises(ValueError, match="6 columns need 20 tokens"):
        encode([q], {"t1": wide}, CharTok(), max_len=16, with_labels=False)


def test_pad_batch_masks_and_ignores():
    tok = CharTok()
    qs = [{"table_id": "t1", "question": text, "sql": {"sel": [0], "agg": [0], "cond_conn_op": 0, "conds": []}}
          for text in ("长沙", "北京的成交量是多少")]
    enc = encode(qs, {"t1": TABLE}, tok)
    x, y = pad_batch([enc.row(0), enc.row(1)])
    assert x["token_ids"].shape[1] % 8 == 0 and x["q_mask"].sum(1).tolist() == [2, 9]
    assert (y["op"][0, 2:] == IGNORE).all() and (y["sel"][:, 3:] == IGNORE).all()
    assert x["h_mask"].sum(1).tolist() == [3, 3]


def _probs(n_q, n_h, conn, sel, tags, cols):
    eye = lambda k, n: np.eye(n)[k]
    p = {"conn": eye(conn, 3)[None], "sel": np.stack([eye(a, 7) for a in sel])[None],
         "op": np.stack([eye(t, 5) for t in tags])[None],
         "csel": np.stack([eye(c, n_h) for c in cols])[None]}
    return p


def test_decode_spans_connector_and_snapping():
    question = "长沙或北京的成交量"
    spans = [(i, i + 1) for i in range(len(question))]
    tags = [2, 2, NO_OP, 2, 2, NO_OP, NO_OP, NO_OP, NO_OP]
    cols = [0] * 9
    prob = _probs(9, 3, 2, [NO_AGG, 5, NO_AGG], tags, cols)
    snap = ValueSnapper({"t1": TABLE})
    sql = decode_one(prob, 0, 9, 3, spans, question, "t1", TABLE["types"], snap)
    assert sql == {"sel": [1], "agg": [5], "cond_conn_op": 2, "conds": [[0, 2, "长沙市"], [0, 2, "北京"]]}
    one = decode_one(_probs(9, 3, 1, [NO_AGG] * 3, [2, 2] + [NO_OP] * 7, cols), 0, 9, 3, spans, question, "t1",
                     TABLE["types"])
    assert one["cond_conn_op"] == 0 and one["conds"] == [[0, 2, "长沙"]]     # one condition: no connector
    assert len(one["sel"]) == 1                                            # something is always selected


@pytest.mark.parametrize("value,expected", [("长沙", "长沙市"), ("上海", "上海")])
def test_snapper_keeps_far_values(value, expected):
    assert ValueSnapper({"t1": TABLE}, min_score=80)("t1", 0, value) == expected


def test_a_value_that_is_a_cell_picks_its_column():
    table = {"id": "t2", "header": ["Home", "Away", "Score"], "types": ["text", "text", "text"],
             "rows": [["Leeds", "Hull", "2-1"]]}
    values = {"t2": [[], [], ["3-0"]]}                 # a column-values file adds cells the rows lack
    snap = ValueSnapper({"t2": table}, values, match_min_prob=0.05)
    assert snap.columns_holding("t2", " hull ") == {1} and snap.columns_holding("t2", "3-0") == {2}
    prob = np.array([0.90, 0.08, 0.02])
    assert snap.pick_column("t2", prob, "HULL") == 1       # the model said Home; only Away holds "Hull"
    assert snap.pick_column("t2", prob, "3-0") == 0        # Score holds it, but at 0.02 < 0.05 the model wins
    assert snap.pick_column("t2", prob, "Leeds") == 0      # the predicted column holds it already
    assert snap.pick_column("t2", prob, "York") == 0       # no column holds it
    assert ValueSnapper({"t2": table}).pick_column("t2", prob, "Hull") == 0   # matching off
    question = "games with hull away"
    spans = [(0, 5), (6, 10), (11, 15), (16, 20)]
    prob = _probs(4, 3, 0, [NO_AGG, NO_AGG, 0], [NO_OP, NO_OP, 2, NO_OP], [0, 0, 0, 0])
    sql = decode_one(prob, 0, 4, 3, spans, question, "t2", table["types"], ValueSnapper({"t2": table}, values, 60, 0.0))
    assert sql["conds"] == [[1, 2, "Hull"]]


def test_k_folds_keep_each_table_on_one_side(tmp_path):
    from kexue.core import io
    from kexue.nl2sql import data, prepare, sample
    sample.generate(tmp_path / "s", seed=1, n_tables=10, n_train=80, n_val=20, n_test=5)
    files = {s: data.split_files(tmp_path / "s", s) for s in ("train", "val")}
    io.write_json(tmp_path / "manifest.json", {"files": {s: {k: str(v) for k, v in f.items() if v}
                                                           for s, f in files.items()}})
    np.save(tmp_path / "split_of.npy", np.array([0] * 80 + [1] * 20))
    folds = prepare.make_folds({"scheme": 3, "seed": 0}, tmp_path)
    questions, _ = prepare._labelled_questions(io.read_json(tmp_path / "manifest.json")["files"])
    assert sorted(set(folds.tolist())) == [0, 1, 2] and len(folds) == 100
    by_table = {}
    for q, f in zip(questions, folds):
        by_table.setdefault(q["table_id"], set()).add(int(f))
    assert all(len(s) == 1 for s in by_table.values())
    holdout = prepare.make_folds({"scheme": "holdout", "seed": 0}, tmp_path)
    assert holdout.tolist() == [-1] * 80 + [0] * 20


def _soft(n_q, n_h, sel_rows, op_rows, col_rows, conn=0):
    """Head probabilities given row by row (each a distribution), for the guided decoding tests."""
    return {"conn": np.eye(3)[conn][None], "sel": np.asarray(sel_rows, float)[None],
            "op": np.asarray(op_rows, float)[None], "csel": np.asarray(col_rows, float)[None]}


NOT = [0, 0, 0, 0, 0, 0, 1]                  # a column not selected
OUT = [0, 0, 0, 0, 1]                        # a token outside every condition


def test_types_rule_out_avg_of_a_text_column_and_a_comparison_on_one():
    from kexue.nl2sql.decode import Guide
    question = "城市小于4"
    spans = [(i, i + 1) for i in range(len(question))]
    sel = [[0, 0.6, 0, 0, 0.3, 0, 0.1], NOT, NOT]                     # AVG(城市) 0.6, COUNT(城市) 0.3
    ops = [OUT, OUT, OUT, OUT, [0, 0.7, 0.3, 0, 0]]                   # "4": < 0.7, == 0.3
    cols = [[1, 0, 0]] * 4 + [[0.6, 0.4, 0]]                          # "4" on 城市 0.6, 成交量 0.4
    prob = _soft(5, 3, sel, ops, cols)
    plain = decode_one(prob, 0, 5, 3, spans, question, "t1", TABLE["types"])
    assert plain["agg"] == [1] and plain["conds"] == [[0, 1, "4"]]    # AVG of a city, a city below 4
    typed = decode_one(prob, 0, 5, 3, spans, question, "t1", TABLE["types"], guide=Guide(types=True))
    assert typed["sel"] == [0] and typed["agg"] == [4]                 # COUNT, the likeliest allowed
    assert typed["conds"] == [[1, 1, "4"]]    # (成交量, <) 0.4 x 0.7 beats (城市, ==) 0.6 x 0.3
    assert breaks_types(plain, TABLE["types"]) and not breaks_types(typed, TABLE["types"])


def test_cells_move_a_value_to_the_text_column_it_is_close_to():
    from kexue.nl2sql.decode import Guide
    table = {"id": "t3", "header": ["城市", "省份", "成交量"], "types": ["text", "text", "real"],
             "rows": [["长沙市", "湖南", 3.17], ["广州市", "广东", 5]]}
    question = "湖南省的成交量"
    spans = [(i, i + 1) for i in range(len(question))]
    sel = [NOT, NOT, [1, 0, 0, 0, 0, 0, 0]]
    ops = [[0, 0, 1, 0, 0]] * 3 + [OUT] * 4
    cols = [[0.7, 0.3, 0]] * 3 + [[1, 0, 0]] * 4
    prob = _soft(7, 3, sel, ops, cols)
    snap = ValueSnapper({"t3": table}, match_min_prob=0.0)            # exact-cell matching finds nothing here
    plain = decode_one(prob, 0, 7, 3, spans, question, "t3", table["types"], snap)
    assert plain["conds"] == [[0, 2, "湖南省"]]                         # no city is called 湖南省
    cells = decode_one(prob, 0, 7, 3, spans, question, "t3", table["types"], snap, Guide(cells=True))
    assert cells["conds"] == [[1, 2, "湖南"]]                           # the province, snapped to its cell


def test_execution_replaces_a_query_that_returns_nothing_with_the_likeliest_that_returns_rows():
    from kexue.nl2sql.decode import Guide
    from kexue.nl2sql.sql import Executor
    question = "小于4的城市"
    spans = [(i, i + 1) for i in range(len(question))]
    sel = [[1, 0, 0, 0, 0, 0, 0], NOT, NOT]
    ops = [OUT, OUT, [0, 1, 0, 0, 0], OUT, OUT, OUT]
    cols = [[1, 0, 0]] * 2 + [[0, 0.45, 0.55]] + [[1, 0, 0]] * 3     # "4": 年份 0.55, 成交量 0.45
    prob = _soft(6, 3, sel, ops, cols)
    executor = Executor({"t1": TABLE})
    plain = decode_one(prob, 0, 6, 3, spans, question, "t1", TABLE["types"])
    assert plain["conds"] == [[2, 1, "4"]] and executor.execute(plain, "t1") == ()     # no year below 4
    guided = decode_one(prob, 0, 6, 3, spans, question, "t1", TABLE["types"],
                        guide=Guide(execution=True, executor=executor))
    assert guided["conds"] == [[1, 1, "4"]] and executor.execute(guided, "t1") == (("长沙市",),)
    rowless = {"t1": {**TABLE, "rows": []}}                           # nothing to run on: the plain decoding
    assert decode_one(prob, 0, 6, 3, spans, question, "t1", TABLE["types"],
                      guide=Guide(execution=True, executor=Executor(rowless))) == plain


def test_evaluate_warns_when_training_gold_queries_select_no_row(capsys):
    from types import SimpleNamespace

    from kexue.nl2sql.evaluate import _check_execution_rule
    from kexue.nl2sql.sql import Executor
    from kexue.nl2sql.stages import _Dispatch
    sql = lambda value: {"sel": [0], "agg": [4], "cond_conn_op": 0, "conds": [[0, 2, value]]}
    questions = [{"table_id": "t1", "question": "长沙市有几个", "sql": sql("长沙市")},
                 {"table_id": "t1", "question": "上海市有几个", "sql": sql("上海市")}]     # no such row
    scorer = SimpleNamespace(questions=questions, executor=_Dispatch({"train": (Executor({"t1": TABLE}), {"t1"})}))
    _check_execution_rule(scorer, [0])
    assert capsys.readouterr().out == ""
    _check_execution_rule(scorer, [0, 1])
    assert "1 of 2 executable training questions' gold queries select none" in capsys.readouterr().out


@pytest.mark.parametrize("value, after, cells, read", [
    ("1.3", "万", (), "13000"),                       # the span holds the digits, the unit follows
    ("2.3万", "", (), "23000"),                       # or the span holds both
    ("2.3", "亿", (), "230000000"), ("1.15", "亿", (), "115000000"),     # exactly, not 229999999.99999997
    ("1.3", "万", ("0.5", "4.8"), "1.3"),             # a column that stores 万 units keeps the number
    ("92", "年", (), "1992"), ("15", "年", (), "2015"), ("15", "年", ("1901", "1950"), "1915"),
    ("五", "", (), "5"), ("十五", "的", (), "15"), ("二十三", "", (), "23"),
    ("3", "年", (), "3"),                             # one digit before 年 is a duration, not a year
    ("十五", "年", (), "15"),                          # and so is a Chinese numeral
    ("5", "万", ("1", "120000"), "50000"),            # both readings in the cells' range: the unit's
    ("0.50", "", (), "0.50"), ("长沙", "万", (), "长沙"),   # plain numbers and words stay as written
])
def test_read_number(value, after, cells, read):
    from kexue.nl2sql.decode import read_number
    assert read_number(value, after, cells) == read


def test_numbers_read_a_value_on_a_real_column_in_decoding():
    from kexue.nl2sql.decode import Guide
    question = "成交量大于1.3万的城市"
    spans = [(i, i + 1) for i in range(len(question))]
    sel = [[1, 0, 0, 0, 0, 0, 0], NOT, NOT]
    ops = [OUT] * 5 + [[1, 0, 0, 0, 0]] * 3 + [OUT] * 4                # "1.3" tagged >, "万" not
    cols = [[1, 0, 0]] * 5 + [[0, 1, 0]] * 3 + [[1, 0, 0]] * 4
    prob = _soft(12, 3, sel, ops, cols)
    plain = decode_one(prob, 0, 12, 3, spans, question, "t1", TABLE["types"])
    assert plain["conds"] == [[1, 0, "1.3"]]
    table = {**TABLE, "rows": [["长沙市", 31700, 2011], ["北京", 50000, 2012]]}
    read = decode_one(prob, 0, 12, 3, spans, question, "t1", TABLE["types"], ValueSnapper({"t1": table}),
                      Guide(numbers=True))
    assert read["conds"] == [[1, 0, "13000"]]
