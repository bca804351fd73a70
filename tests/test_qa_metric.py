"""The official SogouQA metric: normalisation, character F1, accuracy over expanded answers, the CLI, and the
self-score of Sogou's test_input (exactly 1.0) against qid_answer_expand."""
import pytest
from conftest import SHARED

from kexue.qa import data, metric, submit

SOGOU = SHARED / "data" / "qa" / "sogouqa"
needs_sogou = pytest.mark.skipif(not (SHARED / "data" / "qa").exists(), reason="../shared is absent (real data)")

GOLD = {"1": {"standard": "北京", "alternatives": ["北京", "北京市"]},
        "2": {"standard": "巴西 俄罗斯 南非", "alternatives": ["巴西俄罗斯南非", "巴西 俄罗斯 南非"]},
        "3": {"standard": "微米", "alternatives": ["microns", "微米"]}}


def test_normalise():
    assert metric.normalise("ＡＢＣ　１２３！") == "abc123"                 # full-width to half-width, lower case
    assert metric.normalise("《红楼梦》 “曹雪芹”…") == "红楼梦曹雪芹"
    assert metric.normalise(" 巴西 俄罗斯\t南非\n") == "巴西俄罗斯南非"
    assert metric.normalise("A-B_C (d)", punctuation="") == "a-b_c(d)"
    assert metric.normalise("¥5") == "¥5"                                    # the yen sign is not on the list


@pytest.mark.parametrize("pred, gold, prf", [
    ("北京市", "北京", (2 / 3, 1.0, 0.8)),
    ("北京", "北京市", (1.0, 2 / 3, 0.8)),
    ("aab", "abb", (2 / 3, 2 / 3, 2 / 3)),          # a multiset: the second 'a' and 'b' do not match
    ("上海", "北京", (0.0, 0.0, 0.0)),
    ("", "北京", (0.0, 0.0, 0.0)),
    ("", "", (1.0, 1.0, 1.0)),
])
def test_char_prf(pred, gold, prf):
    assert metric.char_prf(pred, gold) == pytest.approx(prf)


def test_score_by_hand():
    pred = {"1": "北京市。", "2": "巴西俄罗斯 南非", "3": "微米级"}
    rows = {r["qid"]: r for r in metric.evaluate(pred, GOLD)}
    assert rows["1"]["correct"] and rows["1"]["f1"] == 1.0 and rows["1"]["best"] == "北京市"
    assert rows["2"]["correct"]                                 # the token rule: spaces do not matter
    assert not rows["3"]["correct"] and rows["3"]["f1"] == pytest.approx(0.8) and rows["3"]["best"] == "微米"
    got = metric.score(pred, GOLD)
    assert got == pytest.approx({"accuracy": 2 / 3, "f1": 2.8 / 3, "score": (2 / 3 + 2.8 / 3) / 2, "n": 3})
    # over given qids a missing prediction is the empty answer: wrong, F1 0
    assert metric.score({"1": "北京"}, GOLD, qids=GOLD) == pytest.approx(
        {"accuracy": 1 / 3, "f1": 1 / 3, "score": 1 / 3, "n": 3})


def test_score_errors_and_empty_answers():
    with pytest.raises(ValueError, match=r"1 questions have no gold answers \(e\.g\. \['9'\]\)"):
        metric.score({"1": "北京", "9": "x"}, GOLD)
    with pytest.raises(ValueError, match="nothing to score"):
        metric.score({}, GOLD)
    # an empty alternative (the real file has one) must not make an empty prediction correct
    gold = {"1": {"standard": "微米", "alternatives": ["", "微米"]}}
    assert metric.score({"1": ""}, gold)["score"] == 0.0


def test_gold_from_entries():
    entries = [{"id": "a", "passages": [{"passage": "p", "answer": ""}, {"passage": "黑海", "answer": "黑海"}]},
               {"id": "b", "passages": [{"passage": "p", "answer": ""}]},
               {"id": "c", "passages": [{"passage": "北京市", "answer": "北京"}], "answers": ["北京", "北京市"]}]
    assert metric.gold_from_entries(entries) == {"a": {"standard": "黑海", "alternatives": ["黑海"]},
                                                 "c": {"standard": "北京", "alternatives": ["北京", "北京市"]}}


def test_cli(tmp_path, capsys):
    gold = tmp_path / "gold"
    gold.write_text("".join(f"{q}\t{g['standard']}\t{'|'.join(g['alternatives'])}\n" for q, g in GOLD.items()),
                    encoding="utf-8")
    submit.write_submission(tmp_path / "pred", ["1", "3"], ["北京", "微米级"])
    assert metric.main([str(gold), str(tmp_path / "pred"), "--out", str(tmp_path / "rows.tsv")]) == 0
    assert capsys.readouterr().out.strip() == "n 2  accuracy 0.500000  f1 0.900000  score 0.700000"
    assert (tmp_path / "rows.tsv").read_text(encoding="utf-8").split("\n")[1] == \
        "3\t微米级\t0\t0.800000\t0.666667\t1.000000\t微米"
    metric.main([str(gold), str(tmp_path / "pred"), "--all"])
    assert capsys.readouterr().out.startswith("n 3  accuracy 0.333333")
    (tmp_path / "bad").write_text("1\t北京\n1\t北京\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"error: .*bad:2: id '1': duplicate"):
        metric.main([str(gold), str(tmp_path / "bad")])


@needs_sogou
def test_embedded_punctuation_is_the_official_list():
    assert metric.load_punctuation(SOGOU / "punctuation") == metric.PUNCTUATION
    assert len(metric.PUNCTUATION) == 129


@needs_sogou
def test_official_test_input_scores_exactly_one_and_a_perturbed_copy_lower(tmp_path, capsys):
    gold = data.read_answer_expand(SOGOU / "qid_answer_expand")
    pred = data.read_submission(SOGOU / "test_input")
    assert metric.score(pred, gold) == {"accuracy": 1.0, "f1": 1.0, "score": 1.0, "n": 8000}
    # every 5th answer loses its last character, every 7th is replaced: both numbers drop, F1 less than accuracy
    perturbed = {q: "不知道" if i % 7 == 0 else a[:-1] if i % 5 == 0 else a for i, (q, a) in enumerate(pred.items())}
    got = metric.score(perturbed, gold)
    assert 0.6 < got["accuracy"] < 0.9 and got["accuracy"] < got["f1"] < 1.0 and got["score"] < 1.0
    submit.write_submission(tmp_path / "p", list(perturbed), list(perturbed.values()))
    metric.main([str(SOGOU / "qid_answer_expand"), str(SOGOU / "test_input")])
    metric.main([str(SOGOU / "qid_answer_expand"), str(tmp_path / "p")])
    out = capsys.readouterr().out.split("\n")
    assert out[0] == "n 8000  accuracy 1.000000  f1 1.000000  score 1.000000"
    assert out[1] == f"n 8000  accuracy {got['accuracy']:.6f}  f1 {got['f1']:.6f}  score {got['score']:.6f}"
