"""QA data layer: the DGCNN reader's validation and truncation handling, the SQuAD adapters (CMRC 2018, DRCD
with OpenCC), Sogou's tab-separated files, the submission writer, and the synthetic sample."""
import json
import re

import pytest
from conftest import SHARED

from kexue.core.submission import SubmissionError
from kexue.qa import data, metric, sample, submit
from kexue.qa.data import QADataError

QA = SHARED / "data" / "qa"
needs_qa = pytest.mark.skipif(not QA.exists(), reason="../shared is absent (real data lives there)")

ENTRIES = [
    {"id": "q1", "question": "多瑙河注入哪个海？",
     "passages": [{"passage": "多瑙河注入黑海！", "answer": "黑海"}, {"passage": "莱茵河注入北海", "answer": ""}]},
    {"id": "q2", "question": "金砖五国是哪五国",
     "passages": [{"passage": "金砖五国是指:巴西 俄罗斯 印度 中国 南非。", "answer": "巴西 俄罗斯 印度 中国 南非"},
                  {"passage": "分别是巴西、俄罗斯、印度、中国和南非", "answer": "巴西 俄罗斯 印度 中国 南非"}]},
    {"id": 3, "question": "安南是现在哪个国家？", "passages": [{"passage": "安南，在越南境内", "answer": "越南"}]},
]


def dump(path, obj, indent=1):
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, indent=indent),
                    encoding="utf-8")
    return path


def broken(tmp_path, change):
    entries = json.loads(json.dumps(ENTRIES))
    change(entries)
    return dump(tmp_path / "bad.json", entries)


# ---------------------------------------------------------------- read_dgcnn

def test_read_dgcnn_normalises_ids_and_keeps_answers(tmp_path):
    got = data.read_dgcnn(dump(tmp_path / "ok.json", ENTRIES))
    assert [e["id"] for e in got] == ["q1", "q2", "3"] and got.note is None
    assert got[0]["passages"][0] == {"passage": "多瑙河注入黑海！", "answer": "黑海"}
    assert got[1]["passages"][1]["answer"] == "巴西 俄罗斯 印度 中国 南非"      # parts rule: listed with 、


def test_unlabelled_passages_read_as_none(tmp_path):
    path = broken(tmp_path, lambda es: es[0]["passages"][1].pop("answer"))
    assert data.read_dgcnn(path, labelled=False)[0]["passages"][1]["answer"] is None
    with pytest.raises(QADataError, match=r"bad\.json:\d+: entry 0 \(id 'q1'\): field 'passages\[1\]\.answer' "
                                          r"missing in a labelled file"):
        data.read_dgcnn(path)


@pytest.mark.parametrize("change, message", [
    (lambda es: es[1].pop("question"), r"entry 1 \(id 'q2'\): missing field 'question'"),
    (lambda es: es[1].pop("id"), r"entry 1 \(no id\): missing field 'id'"),
    (lambda es: es[1].update(id=["x"]), r"entry 1 \(id \"\['x'\]\"\): field 'id' must be a non-empty string"),
    (lambda es: es[0].update(passages={"passage": "x"}), r"entry 0 \(id 'q1'\): field 'passages' must be a list"),
    (lambda es: es[0].update(question=""), r"entry 0 \(id 'q1'\): field 'question' must be a non-empty string"),
    (lambda es: es[0]["passages"].append("text"), r"entry 0 \(id 'q1'\): field 'passages\[2\]' must be an object"),
    (lambda es: es[0]["passages"][1].pop("passage"), r"entry 0 \(id 'q1'\): field 'passages\[1\]\.passage' missing"),
    (lambda es: es[2]["passages"][0].update(answer=7), r"entry 2 \(id '3'\): field 'passages\[0\]\.answer' must be a"),
    (lambda es: es[0]["passages"][0].update(answer=" "), r"entry 0 \(id 'q1'\): field 'passages\[0\]\.answer' is bl"),
    (lambda es: es[0]["passages"][0].update(answer="红海"),
     r"entry 0 \(id 'q1'\): field 'passages\[0\]\.answer': '红海' is not in the passage \(and it has no spaces\)"),
    (lambda es: es[1]["passages"][1].update(answer="巴西 日本"),
     r"entry 1 \(id 'q2'\): field 'passages\[1\]\.answer': '巴西 日本' is not in the passage \(nor are all"),
    (lambda es: es[2].update(id="q1"), r"entry 2 \(id 'q1'\): field 'id': duplicate id \(first used by entry 0\)"),
])
def test_read_dgcnn_errors_name_file_entry_and_field(tmp_path, change, message):
    with pytest.raises(QADataError, match=r"bad\.json:\d+: " + message):
        data.read_dgcnn(broken(tmp_path, change))


def test_error_line_points_at_the_entry(tmp_path):
    path = broken(tmp_path, lambda es: es[1].pop("question"))
    line = int(re.search(r"bad\.json:(\d+):", str(pytest.raises(QADataError, data.read_dgcnn, path).value))[1])
    assert path.read_text(encoding="utf-8").split("\n")[line - 1].strip() == "{"
    assert '"id": "q2"' in "\n".join(path.read_text(encoding="utf-8").split("\n")[line - 1:line + 2])


@pytest.mark.parametrize("text, message", [
    ("", r"expected a JSON array of entries .* found nothing \(empty file\)"),
    ('{"id": "q1"}', r"expected a JSON array of entries"),
    ('[{"id": "q1",, "question": "x"}]', r"bad\.json:1: entry 0: malformed JSON at column 14"),
    ('[{"id": "q1", "question": "x", "passages": []} {"id": "q2"}]', r"expected ',' or '\]' after entry 0"),
    ('[{"id": "q1", "question": "x", "passages": []}] []', r"text after the array's closing"),
])
def test_malformed_files(tmp_path, text, message):
    with pytest.raises(QADataError, match=message):
        data.read_dgcnn(dump(tmp_path / "bad.json", text))
    with pytest.raises(ValueError, match="on_truncated"):
        data.read_dgcnn(tmp_path / "bad.json", on_truncated="ignore")
    with pytest.raises(QADataError, match="file not found"):
        data.read_dgcnn(tmp_path / "missing.json")


@pytest.mark.parametrize("marker, keep, kept, why", [
    ('"answer": "越南"'.encode(), True, 2, "entry 2 is cut off"),      # mid-entry, between two fields
    ("在越".encode(), True, 2, "entry 2 is cut off"),                  # inside a string
    ("在越".encode()[:4], True, 2, "entry 2 is cut off"),              # inside a UTF-8 character
    (b"\n]", False, 3, r"the array is not closed after entry 2"),     # every entry complete, no closing bracket
])
def test_truncated_file_error_or_skip(tmp_path, marker, keep, kept, why):
    raw = json.dumps(ENTRIES, ensure_ascii=False, indent=1).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(raw[:raw.rindex(marker) + (len(marker) if keep else 0)])
    with pytest.raises(QADataError, match=rf"cut\.json: truncated at entry {kept} \(line \d+, byte \d+\): {why}.*"
                                          r"on_truncated='skip'"):
        data.read_dgcnn(path)
    got = data.read_dgcnn(path, on_truncated="skip")
    assert [e["id"] for e in got] == ["q1", "q2", "3"][:kept]
    assert f"kept the {kept} complete entries, dropped entry {kept}" in got.note


def test_last_entry_cut_and_closed_again(tmp_path):
    """The real excerpts' shape: the last entry is valid JSON but lost the keys after 'passages'."""
    path = broken(tmp_path, lambda es: (es[2].pop("question"), es[2].pop("id")))
    with pytest.raises(QADataError, match=r"truncated at entry 2 .*the last entry has no 'id' or 'question'"):
        data.read_dgcnn(path)
    assert len(data.read_dgcnn(path, on_truncated="skip")) == 2


@needs_qa
@pytest.mark.parametrize("name, complete", [("webqa/WebQA_sample.json", 11), ("sogouqa/SogouQA_sample.json", 21)])
def test_real_truncated_samples(name, complete):
    with pytest.raises(QADataError, match=rf"truncated at entry {complete} .*'id' or 'question'.*on_truncated='skip'"):
        data.read_dgcnn(QA / name)
    got = data.read_dgcnn(QA / name, on_truncated="skip")
    assert len(got) == complete and f"dropped entry {complete}" in got.note
    assert all(p["answer"] == "" or p["answer"] in p["passage"] for e in got for p in e["passages"])


@needs_qa
def test_real_webqa_files():
    ann = data.read_dgcnn(QA / "webqa" / "WebQA_test_ann.json")
    ir = data.read_dgcnn(QA / "webqa" / "WebQA_test_ir_first200.json")
    assert (len(ann), sum(len(e["passages"]) for e in ann)) == (3024, 3024)
    assert (len(ir), sum(len(e["passages"]) for e in ir)) == (200, 4000)
    assert ann[0]["passages"][0]["answer"] == "纣王"


# ---------------------------------------------------------------- read_squad

SQUAD = {"version": "x", "data": [{"paragraphs": [
    {"context": "臺灣的首都是臺北，位於北部。", "qas": [
        {"id": "a1", "question": "臺灣的首都是哪裡？", "answers": [{"text": "臺北", "answer_start": 7},   # off by one
                                                          {"text": "臺北市", "answer_start": -1}]},
        {"id": "a2", "question": "它在哪個部？", "answers": [{"text": "北部", "answer_start": 11}]}]}]}]}


def test_read_squad_repairs_offsets_and_keeps_all_answers(tmp_path):
    got = data.read_squad(dump(tmp_path / "s.json", SQUAD))
    assert got[0]["passages"][0] == {"passage": "臺灣的首都是臺北，位於北部。", "answer": "臺北", "answer_start": 6}
    assert got[0]["answers"] == ["臺北", "臺北市"] and got[1]["passages"][0]["answer_start"] == 11
    assert "1 answer offsets did not point" in got.note and "1 annotator answers are not in" in got.note


def test_read_squad_traditional_to_simplified(tmp_path):
    got = data.read_squad(dump(tmp_path / "s.json", SQUAD), traditional=True)
    assert got[0]["question"] == "台湾的首都是哪里？"
    assert got[0]["passages"][0] == {"passage": "台湾的首都是台北，位于北部。", "answer": "台北", "answer_start": 6}
    assert got[0]["answers"] == ["台北", "台北市"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["data"][0]["paragraphs"][0].pop("context"),
     r"s\.json: data\[0\]\.paragraphs\[0\]: missing field 'data\[0\]\.paragraphs\[0\]\.context'"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(question=None),
     r"s\.json: entry 1 \(id 'a2'\): field 'data\[0\]\.paragraphs\[0\]\.qas\[1\]\.question' must be a string"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"][1]["answers"][0].update(text="南部"),
     r"entry 1 \(id 'a2'\): field 'data\[0\]\.paragraphs\[0\]\.qas\[1\]\.answers': none of the 1 answers"),
    (lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(id="a1"), r"entry 1 \(id 'a1'\): .*duplicate id"),
    (lambda d: d.pop("data"), r"s\.json: expected SQuAD JSON"),
])
def test_read_squad_errors(tmp_path, change, message):
    squad = json.loads(json.dumps(SQUAD))
    change(squad)
    with pytest.raises(QADataError, match=message):
        data.read_squad(dump(tmp_path / "s.json", squad))


@needs_qa
@pytest.mark.parametrize("name, n, blank", [("cmrc2018_dev.json", 3219, 0), ("cmrc2018_trial.json", 1000, 2)])
def test_real_cmrc(name, n, blank):
    got = data.read_squad(QA / "cmrc2018" / name)
    assert len(got) == n and len({e["id"] for e in got}) == n
    assert all(e["question"].strip() for e in got)
    assert (f"{blank} questions with a blank question text skipped" in (got.note or "")) == bool(blank)
    for e in got:
        p = e["passages"][0]
        assert p["passage"][p["answer_start"]:].startswith(p["answer"]) and p["answer"] == e["answers"][0]


@needs_qa
def test_real_drcd_converted_to_simplified():
    trad = data.read_squad(QA / "drcd" / "DRCD_dev.json")
    simp = data.read_squad(QA / "drcd" / "DRCD_dev.json", traditional=True)
    assert len(simp) == len(trad) == 3524 and simp.note is None
    for t, s in zip(trad, simp):
        p = s["passages"][0]
        assert p["passage"][p["answer_start"]:].startswith(p["answer"])       # the offset survived conversion
        assert all(a in p["passage"] for a in s["answers"]) and len(s["answers"]) == len(t["answers"])
        assert p["answer_start"] == t["passages"][0]["answer_start"]
    assert simp[0]["question"].startswith("陆特和汉斯雷顿") and simp[0]["passages"][0]["answer"] == "欧洲"
    assert sum(t["passages"][0]["passage"] != s["passages"][0]["passage"] for t, s in zip(trad, simp)) > 3000


CJRC_LIKE = {"data": [{"paragraphs": [{"context": "原告请求离婚，法院判决准予离婚。", "qas": [
    {"id": "1_1", "question": "法院如何判决？", "is_impossible": "false",
     "answers": [{"text": "准予离婚", "answer_start": 11}, {"text": "", "answer_start": -1},
                 {"text": "YES", "answer_start": -1}]},
    {"id": "1_2", "question": "被告是否同意？", "is_impossible": "false",
     "answers": [{"text": "NO", "answer_start": -1}, {"text": "同意", "answer_start": -1}]},
    {"id": "1_3", "question": "双方有几个子女？", "is_impossible": "true",
     "answers": [{"text": "", "answer_start": -1}, {"text": "原告", "answer_start": 0}]}]}]}]}


def test_read_squad_unanswerable_and_yes_no_follow_the_first_annotator(tmp_path):
    got = data.read_squad(dump(tmp_path / "c.json", CJRC_LIKE), unanswerable=True, yes_no=True)
    assert [e["id"] for e in got] == ["1_1", "1_3"]                # the verdict question is skipped
    assert got[0]["passages"][0] == {"passage": "原告请求离婚，法院判决准予离婚。", "answer": "准予离婚", "answer_start": 11}
    assert got[0]["answers"] == ["准予离婚"]                       # "" and YES are no alternatives
    assert got[1]["passages"][0]["answer"] == "" and got[1]["answers"] == []    # a negative passage, no gold
    assert "1 unanswerable questions kept as negative" in got.note and "1 YES/NO questions skipped" in got.note
    para = CJRC_LIKE["data"][0]["paragraphs"][0]
    plain = data.read_squad(dump(tmp_path / "c2.json", {"data": [{"paragraphs": [{**para, "qas": para["qas"][2:]}]}]}))
    assert len(plain) == 0 and "1 questions whose first answer is empty skipped" in plain.note
    with pytest.raises(QADataError, match=r"entry 1 \(id '1_2'\).*none of the 2 answers.*yes_no: true"):
        data.read_squad(dump(tmp_path / "c3.json", CJRC_LIKE), unanswerable=True)


def test_questions_on_one_passage_share_a_group():
    entries = [{"id": "a", "question": "谁？", "passages": [{"passage": "甲乙丙", "answer": "甲"}]},
               {"id": "b", "question": "哪个？", "passages": [{"passage": "甲乙丙", "answer": "乙"}]},
               {"id": "c", "question": "什么？", "passages": [{"passage": "丁戊", "answer": "丁"}]},
               {"id": "d", "question": "什么?", "passages": [{"passage": "己", "answer": ""}, {"passage": "庚", "answer": ""}]}]
    assert metric.question_groups(entries).tolist() == [0, 0, 1, 1, 1]   # d: c's question (normalised), 2 rows


@needs_qa
def test_real_cjrc_dureader_xquad():
    cjrc = data.read_squad(QA / "cail2019_cjrc" / "dev_ground_truth.json", unanswerable=True, yes_no=True)
    assert len(cjrc) == 6000 - 657 and sum(not e["passages"][0]["answer"] for e in cjrc) == 1244
    for name, n in [("dureader_robust/dev.fixed.json", 1417), ("xquad/xquad.zh.json", 1190)]:
        got = data.read_squad(QA / name)
        assert len(got) == n and all(e["passages"][0]["answer"] for e in got)
    for e in [*cjrc, *got]:
        p = e["passages"][0]
        assert p["passage"][p["answer_start"]:].startswith(p["answer"]) if p["answer"] else p["answer_start"] == -1


# ---------------------------------------------------------------- Sogou's tab-separated files, submissions

def test_answer_expand_and_submission_readers(tmp_path):
    gold = data.read_answer_expand(dump(tmp_path / "g", "1\t巴西 俄罗斯\t巴西俄罗斯|巴西 俄罗斯\r\n2\t米\t|m|米\n\n"))
    assert gold == {"1": {"standard": "巴西 俄罗斯", "alternatives": ["巴西俄罗斯", "巴西 俄罗斯"]},
                    "2": {"standard": "米", "alternatives": ["m", "米"]}}
    assert data.read_submission(dump(tmp_path / "p", "1\t巴西 俄罗斯\n2\t\n")) == {"1": "巴西 俄罗斯", "2": ""}


@pytest.mark.parametrize("reader, text, message", [
    (data.read_answer_expand, "1\ta\ta\n2\tb\n", r"g:2: expected 3 tab-separated fields .* got 2"),
    (data.read_answer_expand, "1\ta\ta\n1\tb\tb\n", r"g:2: qid '1': duplicate \(first at line 1\)"),
    (data.read_answer_expand, "\ta\ta\n", r"g:1: field 'qid' is empty"),
    (data.read_submission, "1\ta\n2 b\n", r"g:2: expected 'id<TAB>answer' \(one tab\), got 0 tabs"),
    (data.read_submission, "1\ta\tb\n", r"g:1: expected 'id<TAB>answer' \(one tab\), got 2 tabs"),
    (data.read_submission, "1\ta\n\n1\tb\n", r"g:3: id '1': duplicate \(first at line 1\)"),
])
def test_tsv_errors_name_the_line(tmp_path, reader, text, message):
    with pytest.raises(QADataError, match=message):
        reader(dump(tmp_path / "g", text))


def test_write_submission_round_trip_and_errors(tmp_path):
    path = tmp_path / "sub.tsv"
    assert submit.write_submission(path, ["1", 2], ["黑海", ""], expected_ids=[2, "1"]) == 2
    assert path.read_text(encoding="utf-8") == "1\t黑海\n2\t\n"
    assert data.read_submission(path) == {"1": "黑海", "2": ""}
    bad = tmp_path / "bad.tsv"
    for ids, answers, message in [
        (["1", "2"], ["a"], r"bad\.tsv: 2 ids but 1 answers"),
        (["1", "2", "1"], ["a", "b", "c"], r"bad\.tsv: line 3 \(id '1'\): duplicate id \(first at line 1\)"),
        (["1", "2"], ["a", "b\tc"], r"bad\.tsv: line 2 \(id '2'\): the answer 'b\\tc' holds a tab or line break"),
        (["1", "2"], ["a\nb", "c"], r"line 1 \(id '1'\): the answer 'a\\nb' holds a tab or line break"),
        (["1", "a b\t"], ["a", "b"], r"line 2 \(id 'a b\\t'\): the id must be a non-empty string"),
        (["1"], [None], r"line 1 \(id '1'\): the answer must be a string"),
    ]:
        with pytest.raises(SubmissionError, match=message):
            submit.write_submission(bad, ids, answers)
    with pytest.raises(SubmissionError, match=r"1 test ids missing"):
        submit.write_submission(bad, ["1"], ["a"], expected_ids=["1", "2"])
    assert not bad.exists()


@needs_qa
def test_real_sogou_tsv_files():
    gold = data.read_answer_expand(QA / "sogouqa" / "qid_answer_expand")
    pred = data.read_submission(QA / "sogouqa" / "test_input")
    assert len(gold) == 30000 and len(pred) == 8000 and set(pred) <= set(gold)
    assert gold["32511"]["alternatives"] == ["microns", "微米"]          # the leading '|' dropped
    assert gold["10001"]["standard"] == "巴西 俄罗斯 印度 中国 南非"


# ---------------------------------------------------------------- sample

def test_sample_is_valid_deterministic_and_scores(tmp_path, capsys):
    sizes = sample.generate(tmp_path / "a", seed=3, n_train=60, n_test=24, n_passages=4)
    sample.main([str(tmp_path / "b"), "--seed", "3", "--n-train", "60", "--n-test", "24", "--n-passages", "4"])
    assert "train.json: 60 questions" in capsys.readouterr().out
    assert sizes == {"train.json": 60, "test.json": 24, "qid_answer_expand": 24}
    for name in sizes:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    sample.generate(tmp_path / "c", seed=4, n_train=60, n_test=24, n_passages=4)
    assert (tmp_path / "a" / "train.json").read_bytes() != (tmp_path / "c" / "train.json").read_bytes()

    train = data.read_dgcnn(tmp_path / "a" / "train.json")
    test = data.read_dgcnn(tmp_path / "a" / "test.json", labelled=False)
    gold = data.read_answer_expand(tmp_path / "a" / "qid_answer_expand")
    assert all(len(e["passages"]) == 4 and any(p["answer"] for p in e["passages"]) for e in train)
    assert any(sum(bool(p["answer"]) for p in e["passages"]) > 1 for e in train)          # voting has work
    assert any(" " in p["answer"] for e in train for p in e["passages"])                  # multi-entity answers
    assert {p["answer"] is None for e in test for p in e["passages"]} == {True, False}    # with and without
    assert [e["id"] for e in test] == list(gold) and not {e["id"] for e in train} & set(gold)
    assert not {e["question"] for e in train} & {e["question"] for e in test}
    assert metric.score({q: g["standard"] for q, g in gold.items()}, gold)["score"] == 1.0


@pytest.mark.parametrize("entry, message", [
    ({"path": "x.json", "format": "squad", "yes_no": "false"}, "yes_no must be true or false, not 'false'"),
    ({"path": "x.json", "format": "dgcnn", "traditional": False}, "unknown key\\(s\\) traditional"),
    ({"path": "x.json", "format": "squad", "yes-no": True}, "unknown key\\(s\\) yes-no"),
])
def test_file_entries_are_checked(entry, message):
    from kexue.qa import prepare
    with pytest.raises(SystemExit, match=message):
        prepare._spec(entry, "train[0]")
