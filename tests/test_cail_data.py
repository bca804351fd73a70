"""CAIL2019 要素识别 data layer: the tags and documents readers and their errors, flatten and multi-hot, the
submission writer and its validation, the synthetic sample, and the real files in ../shared."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED

from kexue.cail2019 import data, sample, submit
from kexue.cail2019.data import CAILDataError
from kexue.core.submission import SubmissionError

CAIL = SHARED / "data" / "multilabel" / "cail2019"
needs_cail = pytest.mark.skipif(not CAIL.exists(), reason="../shared is absent (real data lives there)")
TAGS = [f"DV{k}" for k in range(1, 21)]

DOCS = [
    [{"labels": [], "sentence": "原告林某某诉称：我与被告经人介绍相识。"},
     {"labels": ["DV1"], "sentence": "婚后生育一女李某乙。"}],
    [{"labels": ["DV6", "DV13"], "sentence": "被告对家庭不管不问，双方自2013年分居至今。"}],
    # the labor files' key order, and labels not in tags order, as the real files have them
    [{"sentence": "准予原告与被告离婚。", "labels": ["DV9"]},
     {"sentence": "案件受理费300元，由被告负担。", "labels": []},
     {"sentence": "婚生女由原告抚养，婚后购买住房一套。", "labels": ["DV3", "DV2"]}],
]
GOOD = '[{"labels": [], "sentence": "原告诉称。"}]'


def text(docs) -> str:
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)


def dump(path, content):
    path.write_text(content, encoding="utf-8")
    return path


def unlabelled(docs):
    return [[{k: [] if k == "labels" else v for k, v in s.items()} for s in d] for d in docs]


# ---------------------------------------------------------------- read_tags

def test_read_tags_strips_and_skips_blank_lines(tmp_path):
    path = tmp_path / "tags.txt"
    path.write_bytes("\ufeffDV1\n  DV2 \r\n\n\nDV3".encode())
    assert data.read_tags(path) == ["DV1", "DV2", "DV3"]


@pytest.mark.parametrize("content, message", [
    ("", r"tags\.txt: no tags \(the file is empty\)"),
    ("\n \n", r"tags\.txt: no tags"),
    ("DV1\nDV2\n\nDV1\n", r"tags\.txt:4: duplicate tag 'DV1' \(first at line 1\)"),
])
def test_read_tags_errors(tmp_path, content, message):
    with pytest.raises(CAILDataError, match=message):
        data.read_tags(dump(tmp_path / "tags.txt", content))


# ---------------------------------------------------------------- read_documents

def test_read_documents_keeps_order_keys_and_line_numbers(tmp_path):
    path = tmp_path / "train.json"
    path.write_bytes(("\ufeff" + text(DOCS[:1]) + "\n  \n" + text(DOCS[1:]).replace("\n", "\r\n")).encode())
    docs = data.read_documents(path, TAGS)
    assert docs == DOCS
    assert docs.lines == [1, 4, 5] and docs.path == path
    assert list(docs[2][0]) == ["sentence", "labels"] and list(docs[0][0]) == ["labels", "sentence"]
    assert docs[2][2]["labels"] == ["DV3", "DV2"]          # read as written; only the writer reorders


def test_read_documents_without_tags_accepts_any_label(tmp_path):
    path = dump(tmp_path / "x.json", '[{"labels": ["LB7", "ANY"], "sentence": "s"}]\n')
    assert data.read_documents(path)[0][0]["labels"] == ["LB7", "ANY"]
    with pytest.raises(CAILDataError, match=r"unknown label 'LB7'"):
        data.read_documents(path, TAGS)


def test_read_documents_unlabelled_accepts_missing_or_null_labels(tmp_path):
    path = dump(tmp_path / "test.json", '[{"sentence": "甲。"}, {"labels": null, "sentence": "乙。"}, '
                                        '{"sentence": "丙。", "labels": []}]\n')
    docs = data.read_documents(path, TAGS, labelled=False)
    assert docs == [[{"labels": [], "sentence": "甲。"}, {"labels": [], "sentence": "乙。"},
                     {"sentence": "丙。", "labels": []}]]
    assert [list(s) for s in docs[0]] == [["labels", "sentence"], ["labels", "sentence"], ["sentence", "labels"]]
    with pytest.raises(CAILDataError, match=r"test\.json:1: document 0, sentence 0: field 'labels' missing in a "
                                            r"labelled file"):
        data.read_documents(path, TAGS)
    bad = dump(tmp_path / "test2.json", '[{"labels": ["DV99"], "sentence": "甲。"}]\n')
    with pytest.raises(CAILDataError, match=r"test2\.json:1: document 0, sentence 0: field 'labels': unknown label"):
        data.read_documents(bad, TAGS, labelled=False)    # labels a test file does give are still checked


@pytest.mark.parametrize("line, message", [
    ('[{"labels": [], "sentence": "x"}', r"document 1: malformed JSON at column 33: Expecting ',' delimiter"),
    ('[{"labels": [], "sentence": "x"},]', r"document 1: malformed JSON at column 34"),
    ('{"labels": [], "sentence": "x"}', r"document 1: expected a JSON list of sentences .*got dict"),
    ("[]", r"document 1: the document has no sentences"),
    ('[{"labels": [], "sentence": "x"}, "y"]', r"document 1, sentence 1: expected an object \{labels, sentence\}, got str"),
    ('[{"labels": []}]', r"document 1, sentence 0: missing field 'sentence' \(has labels\)"),
    ('[{"sentence": "x"}]', r"document 1, sentence 0: field 'labels' missing in a labelled file"),
    ('[{"labels": null, "sentence": "x"}]', r"document 1, sentence 0: field 'labels' is null"),
    ('[{"labels": [], "sentence": 5}]', r"document 1, sentence 0: field 'sentence' must be a string, got 5"),
    ('[{"labels": "DV1", "sentence": "x"}]', r"document 1, sentence 0: field 'labels' must be a list of strings"),
    ('[{"labels": [1], "sentence": "x"}]', r"document 1, sentence 0: field 'labels' must be a list of strings"),
    ('[{"labels": [], "sentence": "x"}, {"labels": ["DV1", "DV21"], "sentence": "y"}]',
     r"document 1, sentence 1: field 'labels': unknown label 'DV21' \(known: DV1, DV2, DV3, DV4, …, DV20 \(20 tags\)\)"),
    ('[{"labels": ["DV2", "DV1", "DV2"], "sentence": "x"}]',
     r"document 1, sentence 0: field 'labels': label 'DV2' given 2 times"),
])
def test_read_documents_errors_name_file_line_and_field(tmp_path, line, message):
    # the bad document is the second, on line 3: the blank line 2 still counts
    path = dump(tmp_path / "bad.json", f"{GOOD}\n\n{line}\n")
    with pytest.raises(CAILDataError, match=r"bad\.json:3: " + message):
        data.read_documents(path, TAGS)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"])
def test_read_documents_empty_file(tmp_path, content):
    with pytest.raises(CAILDataError, match=r"empty\.json: no documents \(the file is empty\)"):
        data.read_documents(dump(tmp_path / "empty.json", content), TAGS)


def test_read_documents_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(CAILDataError, match=r"nope\.json: file not found"):
        data.read_documents(tmp_path / "nope.json")
    path = tmp_path / "gbk.json"
    path.write_bytes((GOOD + "\n").encode() + '[{"labels": [], "sentence": "婚"}]\n'.encode("gbk"))
    with pytest.raises(CAILDataError, match=r"gbk\.json:2: not UTF-8 at byte"):
        data.read_documents(path)


# ---------------------------------------------------------------- flatten, multi-hot

def test_flatten_and_multi_hot():
    sentences, doc_index, labels = data.flatten(DOCS)
    assert sentences[1] == "婚后生育一女李某乙。" and len(sentences) == 6
    assert doc_index.dtype == np.int64 and doc_index.tolist() == [0, 0, 1, 2, 2, 2]
    assert labels == [[], ["DV1"], ["DV6", "DV13"], ["DV9"], [], ["DV3", "DV2"]]
    y = data.to_multi_hot(labels, TAGS)
    assert y.shape == (6, 20) and y.dtype == np.int8
    assert y.sum() == 6 and y[0].sum() == 0 and y[2, 5] == y[2, 12] == 1 and y[5, 1] == y[5, 2] == 1
    assert data.from_multi_hot(y, TAGS) == [[], ["DV1"], ["DV6", "DV13"], ["DV9"], [], ["DV2", "DV3"]]
    with pytest.raises(CAILDataError, match=r"sentence 1: unknown label 'DV0'"):
        data.to_multi_hot([[], ["DV0"]], TAGS)
    with pytest.raises(ValueError, match=r"expected a matrix \(n_sentences, 20\)"):
        data.from_multi_hot(y[:, :3], TAGS)


def test_flatten_of_nothing_is_empty():
    sentences, doc_index, labels = data.flatten([])
    assert sentences == [] and labels == [] and doc_index.shape == (0,) and doc_index.dtype == np.int64


# ---------------------------------------------------------------- write_submission, validate_submission

def test_write_submission_round_trip(tmp_path):
    test = dump(tmp_path / "test.json", text(unlabelled(DOCS)))
    docs = data.read_documents(test, TAGS, labelled=False)
    predicted = [["DV20", "DV1"], [], ["DV13"], [], ["DV9"], ["DV4"]]
    out = tmp_path / "out" / "submission.json"
    assert submit.write_submission(out, docs, predicted, TAGS) == 3
    back = data.read_documents(out, TAGS)
    assert back == [[{**s, "labels": sorted(p, key=TAGS.index)} for s, p in zip(d, ps)]
                    for d, ps in zip(DOCS, [predicted[:2], predicted[2:3], predicted[3:]])]
    raw = out.read_text(encoding="utf-8").split("\n")
    assert raw[0] == ('[{"labels": ["DV1", "DV20"], "sentence": "原告林某某诉称：我与被告经人介绍相识。"}, '
                      '{"labels": [], "sentence": "婚后生育一女李某乙。"}]')
    assert raw[2].startswith('[{"sentence": "准予原告与被告离婚。", "labels": []}') and raw[3] == ""
    # a multi-hot matrix gives the same file
    again = tmp_path / "again.json"
    submit.write_submission(again, docs, data.to_multi_hot(predicted, TAGS), TAGS)
    assert again.read_bytes() == out.read_bytes()
    assert submit.validate_submission(out, test, TAGS) == 3
    assert sorted(p.name for p in out.parent.iterdir()) == ["submission.json"]     # no temporary left behind


def test_write_submission_of_the_true_labels_reproduces_the_input(tmp_path):
    gold = dump(tmp_path / "gold.json", text([[{**s, "labels": sorted(s["labels"], key=TAGS.index)} for s in d]
                                              for d in DOCS]))
    docs = data.read_documents(gold, TAGS)
    submit.write_submission(tmp_path / "sub.json", docs, data.flatten(docs)[2], TAGS)
    assert (tmp_path / "sub.json").read_bytes() == gold.read_bytes()


@pytest.mark.parametrize("predicted, message", [
    ([[]] * 5, r"sub\.json: 5 predictions for 6 sentences in 3 documents"),
    ([[]] * 5 + ["DV1"], r"sub\.json: document 2, sentence 2 \(prediction 5\): expected a list of labels, got 'DV1'"),
    ([[]] * 3 + [["DV21"]] + [[]] * 2, r"document 2, sentence 0 \(prediction 3\): unknown label 'DV21'"),
    ([["DV1", "DV1"]] + [[]] * 5, r"document 0, sentence 0 \(prediction 0\): a label is given twice"),
])
def test_write_submission_rejects_bad_predictions_and_writes_nothing(tmp_path, predicted, message):
    with pytest.raises(SubmissionError, match=message):
        submit.write_submission(tmp_path / "sub.json", DOCS, predicted, TAGS)
    assert list(tmp_path.iterdir()) == []


def test_write_submission_leaves_the_old_file_when_the_check_fails(tmp_path, monkeypatch):
    out = dump(tmp_path / "sub.json", "old\n")

    def broken(path, expected, tags, text=None):
        assert text is not None and Path(path).read_text() == "old\n"     # checked in memory, before any write
        raise CAILDataError(f"{path}:1: document 0: broken")

    monkeypatch.setattr(submit, "validate_submission", broken)
    with pytest.raises(CAILDataError, match=r"sub\.json:1: document 0: broken") as e:
        submit.write_submission(out, DOCS, data.flatten(DOCS)[2], TAGS)
    assert ".tmp" not in str(e.value)                  # the message names the final path, not the temporary file
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["sub.json"]


def test_validate_submission_catches_changes(tmp_path):
    test = dump(tmp_path / "test.json", text(unlabelled(DOCS)))
    good = text(DOCS).split("\n")[:-1]

    def check(name, lines, expected=test):
        return submit.validate_submission(dump(tmp_path / name, "\n".join(lines) + "\n"), expected, TAGS)

    assert check("same.json", good) == 3
    assert check("docs.json", good, expected=unlabelled(DOCS)) == 3          # documents in memory work too
    changed = [good[0], good[1].replace("不管不问", "不闻不问"), good[2]]
    with pytest.raises(CAILDataError, match=r"changed\.json:2: document 1, sentence 0: field 'sentence' differs "
                                            r"from the input: '被告对家庭不闻不问"):
        check("changed.json", changed)
    with pytest.raises(CAILDataError, match=r"dropped\.json:2: document 1: 3 sentences where the input's document 1 "
                                            r"has 1"):
        check("dropped.json", [good[0], good[2]])
    with pytest.raises(CAILDataError, match=r"short\.json:3: the file ends after 2 documents; the input has 3 "
                                            r"\(its document 2, line 3, is missing\)"):
        check("short.json", good[:2])
    with pytest.raises(CAILDataError, match=r"long\.json:4: document 3 is extra; the input has 3 documents"):
        check("long.json", good + [good[0]])
    with pytest.raises(CAILDataError, match=r"nolabels\.json:1: document 0, sentence 1: field 'labels' missing"):
        check("nolabels.json", [good[0].replace('"labels": ["DV1"], ', ""), *good[1:]])


# ---------------------------------------------------------------- the sample

def test_sample_is_deterministic(tmp_path):
    files = ["train.json", "test.json", "test_gold.json", "tags.txt", "selectedtags.txt"]
    summaries = [sample.generate(tmp_path / name, seed=seed, n_train_docs=20, n_test_docs=5)
                 for name, seed in [("a", 0), ("b", 0), ("c", 1)]]
    assert summaries[0] == summaries[1]
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert (tmp_path / "a" / "train.json").read_bytes() != (tmp_path / "c" / "train.json").read_bytes()
    assert (tmp_path / "a" / "test.json").read_bytes() != (tmp_path / "c" / "test.json").read_bytes()


@pytest.mark.parametrize("domain, key_order, unlabelled_range", [
    ("divorce", ["labels", "sentence"], (0.52, 0.62)),          # real: 56%
    ("labor", ["sentence", "labels"], (0.64, 0.76)),            # real: 73%
])
def test_sample_files_read_back_in_the_real_layout(tmp_path, domain, key_order, unlabelled_range):
    summary = sample.generate(tmp_path, seed=3, domain=domain)
    tags = data.read_tags(tmp_path / "tags.txt")
    prefix = "DV" if domain == "divorce" else "LB"
    assert tags == [f"{prefix}{k}" for k in range(1, 21)]
    assert data.read_tags(tmp_path / "selectedtags.txt") == list(sample.TAG_NAMES[domain])
    train = data.read_documents(tmp_path / "train.json", tags)
    test = data.read_documents(tmp_path / "test.json", tags, labelled=False)
    gold = data.read_documents(tmp_path / "test_gold.json", tags)
    assert (len(train), len(test), len(gold)) == (300, 80, 80)
    assert summary["train_sentences"] == len(data.flatten(train)[0]) and 8 * 300 <= summary["train_sentences"] <= 16 * 300
    assert all(list(s) == key_order for d in train + test for s in d)
    assert all(s["labels"] == [] for d in test for s in d)
    assert submit.validate_submission(tmp_path / "test_gold.json", tmp_path / "test.json", tags) == 80
    gold_labels = data.flatten(gold)[2]
    assert sum(map(bool, gold_labels)) > 0.2 * len(gold_labels)
    _, _, labels = data.flatten(train)
    y = data.to_multi_hot(labels + gold_labels, tags)
    lo, hi = unlabelled_range
    assert summary["unlabelled_fraction"] == pytest.approx((y.sum(1) == 0).mean(), abs=1e-4)
    assert lo < summary["unlabelled_fraction"] < hi
    counts = data.to_multi_hot(labels, tags).sum(0)
    assert counts.min() >= 1 and counts.max() > 10 * counts.min()         # every tag in train, skewed like the real
    assert max(map(len, labels)) >= 3
    # every labelled sentence is written in tags order and first sentences are not always unlabelled
    assert all(ls == sorted(ls, key=tags.index) for ls in labels)
    assert 0.2 < np.mean([bool(d[0]["labels"]) for d in train]) < 0.7


def _phrase_regex(template: str) -> re.Pattern:
    return re.compile(".+?".join(map(re.escape, re.split(r"\{\w+\}", template))))


@pytest.mark.parametrize("domain", ["divorce", "labor"])
def test_sample_labels_follow_the_phrases(tmp_path, domain):
    """A sentence's labels are exactly the tags of the phrases it holds, wherever they stand."""
    sample.generate(tmp_path, seed=0, n_train_docs=60, n_test_docs=1, domain=domain)
    tags = data.read_tags(tmp_path / "tags.txt")
    phrases = [(_phrase_regex(p if isinstance(p, str) else p[0]), {t} | (set() if isinstance(p, str) else {p[1]}))
               for t, ps in sample.PHRASES[domain].items() for p in ps]
    sentences, _, labels = data.flatten(data.read_documents(tmp_path / "train.json", tags))
    for sentence, ls in zip(sentences, labels):
        found = set().union(*(t for regex, t in phrases if regex.search(sentence)))
        assert {tags[t - 1] for t in found} == set(ls), sentence


def test_sample_rejects_unknown_domain(tmp_path):
    with pytest.raises(ValueError, match=r"domain must be one of \['divorce', 'labor'\], got 'traffic'"):
        sample.generate(tmp_path, domain="traffic")


# ---------------------------------------------------------------- the real files

@needs_cail
@pytest.mark.shared
@pytest.mark.parametrize("domain, n_docs, n_sentences, key_order", [
    ("divorce", 400, 11685, ["labels", "sentence"]),
    ("labor", 151, 5682, ["sentence", "labels"]),
])
def test_real_files_load(domain, n_docs, n_sentences, key_order):
    tags = data.read_tags(CAIL / domain / "tags.txt")
    names = data.read_tags(CAIL / domain / "selectedtags.txt")
    assert tags == [f"{sample.PREFIX[domain]}{k}" for k in range(1, 21)]
    assert names == list(sample.TAG_NAMES[domain])             # the sample's embedded names are the real ones
    docs = data.read_documents(CAIL / domain / "data_small_selected.json", tags)
    sentences, doc_index, labels = data.flatten(docs)
    assert (len(docs), len(sentences), doc_index[-1]) == (n_docs, n_sentences, n_docs - 1)
    assert all(list(s) == key_order for d in docs for s in d)
    y = data.to_multi_hot(labels, tags)
    assert y.sum(0).tolist() == list(sample.REAL_COUNTS[domain])


@needs_cail
@pytest.mark.shared
@pytest.mark.parametrize("domain, n_lines", [("divorce", 20), ("labor", 20)])
def test_real_file_round_trips_byte_for_byte(tmp_path, domain, n_lines):
    """Written back with their own labels, the organiser's lines come out identical but for the order inside each
    labels list (tags order), which is checked on the raw text, without json."""
    tags = data.read_tags(CAIL / domain / "tags.txt")
    with open(CAIL / domain / "data_small_selected.json", encoding="utf-8") as f:
        head = "".join(next(f) for _ in range(n_lines))
    source = dump(tmp_path / "input.json", head)
    docs = data.read_documents(source, tags)
    assert submit.write_submission(tmp_path / "sub.json", docs, data.flatten(docs)[2], tags) == n_lines

    def in_tags_order(m):
        labels = re.findall(r'"([^"]+)"', m.group(1))
        return '"labels": [' + ", ".join(f'"{t}"' for t in sorted(labels, key=tags.index)) + "]"

    expected = re.sub(r'"labels": \[([^\]]*)\]', in_tags_order, head)
    written = (tmp_path / "sub.json").read_text(encoding="utf-8")
    assert written == expected
    identical = sum(a == b for a, b in zip(written.split("\n"), head.split("\n")))
    assert 0 < identical <= n_lines + 1        # lines already in tags order are untouched, byte for byte
    assert submit.validate_submission(tmp_path / "sub.json", source, tags) == n_lines
