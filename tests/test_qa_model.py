"""DGCNN reader: DGC block and attention pooling, focal loss, encoding, word vectors, the model, decoding."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kexue.core.tfquiet import import_keras

keras = import_keras()

TINY = {"dim": 16, "kernel_size": 3, "dropout": 0.0, "gate_dropout": 0.0, "q_dilations": [1, 2, 1],
        "p_dilations": [1, 2, 4, 8, 16, 1], "lr": 0.01, "ema": 0.9, "focal_gamma": 2, "focal_alpha": 0.25}


# ---------------------------------------------------------------- layers and loss

def _conv_same(x, kernel, bias, d):
    """NumPy Conv1D, padding 'same', dilation d: x (L, c_in), kernel (k, c_in, c_out)."""
    k, L = kernel.shape[0], len(x)
    pad = (k - 1) * d // 2
    xp = np.pad(x, ((pad, (k - 1) * d - pad), (0, 0)))
    return sum(xp[i * d:i * d + L] @ kernel[i] for i in range(k)) + bias


@pytest.mark.parametrize("dim", [None, 6])
def test_dgc_gate_algebra_matches_numpy(dim):
    from kexue.layers import DGC
    x = np.random.default_rng(0).normal(size=(1, 9, 4)).astype("float32")
    layer = DGC(dim, dilation_rate=2, dropout=0.5, gate_dropout=0.5)
    y = np.asarray(layer(x))[0]                  # dropout is off outside training
    assert not np.allclose(np.asarray(layer(x, training=True))[0], y)
    kernel, bias = (np.asarray(w) for w in layer.conv.weights)
    out = dim or 4
    hg = _conv_same(x[0], kernel, bias, 2)
    h, g = hg[:, :out], 1 / (1 + np.exp(-hg[:, out:]))
    skip = x[0] if dim is None else x[0] @ np.asarray(layer.project.kernel)
    assert y.shape == (9, out)
    assert np.allclose(y, skip * (1 - g) + h * g, atol=1e-5)


def test_dgc_padding_never_leaks_and_follows_keras_masks():
    from kexue.layers import DGC
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 12, 6)).astype("float32")
    mask = np.arange(12)[None] < np.array([[7], [12]])
    layer = DGC(8, dilation_rate=4)              # 8 != 6: the projected skip path
    y = np.asarray(layer(x, mask=mask))
    noisy = np.where(mask[..., None], x, rng.normal(size=x.shape) * 100).astype("float32")
    y2 = np.asarray(layer(noisy, mask=mask))
    assert y.shape == (2, 12, 8)
    assert np.allclose(y[mask], y2[mask], atol=1e-5) and not y[~mask].any()
    # a Keras mask from Embedding(mask_zero=True) is the same as passing it
    ids = keras.Input((None,), dtype="int32")
    emb = keras.layers.Embedding(20, 6, mask_zero=True)
    block = DGC(dilation_rate=2)
    model = keras.Model(ids, block(emb(ids)))
    batch = np.array([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]], "int32")
    auto = np.asarray(model(batch))
    assert np.allclose(auto, np.asarray(block(emb(batch), mask=batch > 0)), atol=1e-6) and not auto[0, 3:].any()
    assert DGC.from_config(block.get_config()).get_config() == block.get_config()


def test_layers_run_in_mixed_precision():
    from kexue.layers import DGC, AttentionPooling1D
    x = np.random.default_rng(6).normal(size=(2, 10, 8)).astype("float32")
    mask = np.arange(10)[None] < np.array([[4], [10]])
    block, pool = DGC(8, dilation_rate=2, dtype="mixed_float16"), AttentionPooling1D(dtype="mixed_float16")
    y = block(x, mask=mask)
    v = pool(y, mask=mask)
    assert y.dtype == "float16" and block.conv.kernel.dtype == "float32" and not np.asarray(y)[0, 4:].any()
    assert v.dtype == "float16" and np.isfinite(np.asarray(v, np.float32)).all()


def test_attention_pooling_ignores_padding():
    from kexue.layers import AttentionPooling1D
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6, 4)).astype("float32")
    mask = np.arange(6)[None] < np.array([[3], [6], [0]])
    pool = AttentionPooling1D(5)
    v = np.asarray(pool(x, mask=mask))
    noisy = np.where(mask[..., None], x, 1e3).astype("float32")
    assert np.allclose(v, np.asarray(pool(noisy, mask=mask)), atol=1e-5)
    assert np.allclose(v[0], np.asarray(pool(x[:1, :3]))[0], atol=1e-5)     # = pooling the real steps alone
    assert np.isfinite(v).all() and not v[2].any()                           # an empty row pools to zeros
    s = np.tanh(x[1] @ np.asarray(pool.key.kernel)) @ np.asarray(pool.score.kernel)
    w = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    assert np.allclose(v[1], (w * x[1]).sum(0), atol=1e-5)
    assert AttentionPooling1D.from_config(pool.get_config()).hidden == 5


@pytest.mark.parametrize("gamma,alpha", [(2.0, 0.25), (0.0, 0.5), (1.5, 0.9)])
def test_focal_loss_matches_numpy(gamma, alpha):
    from kexue.losses import focal_loss
    rng = np.random.default_rng(3)
    y = (rng.random((4, 10)) < 0.2).astype("float32")
    p = rng.random((4, 10)).astype("float32")
    p[0, 0], p[0, 1] = 0.0, 1.0                  # saturated: clipped, finite
    m = rng.random((4, 10)) < 0.7
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    ref = -alpha * y * (1 - pc) ** gamma * np.log(pc) - (1 - alpha) * (1 - y) * pc ** gamma * np.log(1 - pc)
    assert np.isclose(float(focal_loss(y, p, m, gamma, alpha)), ref[m].mean(), rtol=1e-5)
    assert np.isclose(float(focal_loss(y, p, None, gamma, alpha)), ref.mean(), rtol=1e-5)
    assert float(focal_loss(y, p, np.zeros_like(m), gamma, alpha)) == 0.0


# ---------------------------------------------------------------- encoding

def _entries():
    return [{"id": "1", "question": "北京在哪里北京在哪",
             "passages": [{"passage": "首都北京，北京是城市", "answer": "北京"},
                          {"passage": "没有答案的段落", "answer": ""},
                          {"passage": "甲、乙和丙", "answer": "甲 乙 丙"},      # parts only: nothing marked
                          {"passage": "0123456789北京北京", "answer": "北京"},  # across and past p_max=11: cut
                          {"passage": "012345678北京", "answer": "北京"}]}]     # ends on the last kept character


def test_encode_marks_every_occurrence_and_counts_truncation(tmp_path):
    from kexue.qa.data import QADataError
    from kexue.qa.encode import SPECIALS, Encoded, build_char_vocab, encode, pad_batch
    entries = _entries()
    chars = build_char_vocab(entries, min_count=1)
    assert chars[:4] == [*SPECIALS, "京", "北"]          # most frequent first, ties by code point
    enc = encode(entries, chars, SPECIALS, segment=list, q_max=8, p_max=11)
    r = enc.row(0)
    assert np.flatnonzero(r["start"]).tolist() == [2, 5] and np.flatnonzero(r["end"]).tolist() == [3, 6]
    assert [chars[i] for i in r["p_chars"][:4]] == list("首都北京") and r["has_answer"] == 1
    assert len(enc.row(3)["p_chars"]) == 11 and not enc.row(3)["start"].any()
    assert enc.labels["has_answer"].tolist() == [1, 0, 0, 0, 1] and enc.row(4)["end"][10] == 1
    assert {k: enc.stats[k] for k in ("questions", "rows", "with_answer", "occurrences", "questions_truncated",
                                      "passages_truncated", "answers_cut", "occurrences_cut", "not_verbatim")} == \
        {"questions": 1, "rows": 5, "with_answer": 2, "occurrences": 3, "questions_truncated": 1,
         "passages_truncated": 1, "answers_cut": 1, "occurrences_cut": 2, "not_verbatim": 1}
    assert len(r["q_chars"]) == 8 and (r["q_words"] == 1).all()      # no word vocab: every word is [UNK]

    x, y = pad_batch([enc.row(i) for i in range(5)])
    assert x["p_chars"].shape == (5, 16) and x["q_chars"].shape == (5, 8) and x["p_words"].dtype == np.int32
    assert y["start"].dtype == np.float32 and y["start"][0, [2, 5]].tolist() == [1, 1] and y["has_answer"][0] == 1
    assert (x["p_chars"][1, 7:] == 0).all() and (x["p_chars"][1, :7] > 0).all()

    enc.save(tmp_path / "enc.npz")
    back = Encoded.load(tmp_path / "enc.npz")
    assert back.stats == enc.stats and back.p_max == 11 and back.qid.tolist() == ["1"]
    assert all(np.array_equal(back.row(3)[k], enc.row(3)[k]) for k in r)
    assert np.array_equal(enc.take([4, 0]).row(1)["p_chars"], r["p_chars"])

    test = [{"id": "2", "question": "问", "passages": [{"passage": "段落", "answer": None}]}]
    with pytest.raises(QADataError, match="with_labels=False"):
        encode(test, chars, SPECIALS)
    assert not encode(test, chars, SPECIALS, with_labels=False).labels


def test_word_id_is_repeated_over_its_characters():
    import jieba

    from kexue.qa.encode import encode, make_segmenter
    words = ["[PAD]", "[UNK]", "北京", "天安门", "我"]
    e = [{"id": "1", "question": "我爱北京天安门", "passages": [{"passage": "北京天安门", "answer": "天安门"}]}]
    fixed = lambda t: {"我爱北京天安门": ["我", "爱", "北京", "天安门"], "北京天安门": ["北京", "天安门"]}[t]
    r = encode(e, ["[PAD]", "[UNK]"], words, segment=fixed).row(0)
    assert r["q_words"].tolist() == [4, 1, 2, 2, 3, 3, 3] and r["p_words"].tolist() == [2, 2, 3, 3, 3]
    real = encode(e, ["[PAD]", "[UNK]"], words).row(0)     # jieba: one id across each word's characters
    cuts = np.cumsum([len(w) for w in jieba.lcut("我爱北京天安门", HMM=False)])[:-1]
    assert all(len(set(part)) == 1 for part in np.split(real["q_words"], cuts))
    seg = make_segmenter(["犇骉"])
    assert "犇骉" in seg("他说犇骉好") and "犇骉" not in jieba.lcut("他说犇骉好", HMM=False)   # global jieba untouched
    with pytest.raises(ValueError, match="segmenter"):
        encode(e, ["[PAD]", "[UNK]"], words, segment=lambda t: [t[:-1]])


# ---------------------------------------------------------------- word vectors

def test_word2vec_is_reproducible(tmp_path):
    from kexue.qa.encode import train_word2vec
    rng = np.random.default_rng(4)
    corpus = [[f"词{j}" for j in rng.integers(0, 30, 8)] for _ in range(200)]
    vocab, m = train_word2vec(corpus, dim=8, seed=7, min_count=1, epochs=2)
    vocab2, m2 = train_word2vec(corpus, dim=8, seed=7, min_count=1, epochs=2)
    _, m3 = train_word2vec(corpus, dim=8, seed=8, min_count=1, epochs=2)
    assert vocab[:2] == ["[PAD]", "[UNK]"] and len(vocab) == 32 and m.shape == (32, 8) and m.dtype == np.float32
    assert not m[:2].any() and vocab == vocab2 and np.array_equal(m, m2) and not np.allclose(m, m3)
    # another interpreter, with another string-hash salt, gives the same vectors
    (tmp_path / "corpus.json").write_text(json.dumps(corpus), encoding="utf-8")
    code = ("import json, sys, numpy as np; from kexue.qa.encode import train_word2vec; "
            "corpus = json.load(open(sys.argv[1], encoding='utf-8')); "
            "np.save(sys.argv[2], train_word2vec(corpus, dim=8, seed=7, min_count=1, epochs=2)[1])")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "corpus.json"), str(tmp_path / "m.npy")],
                   check=True, env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": src})
    assert np.array_equal(np.load(tmp_path / "m.npy"), m)


def test_load_word_vectors_round_trip(tmp_path):
    from gensim.models import KeyedVectors

    from kexue.qa.data import QADataError
    from kexue.qa.encode import load_word_vectors
    text = tmp_path / "vec.txt"
    text.write_text("3 4\n北京 0.1 0.2 0.3 0.4\n城市 1 2 3 4\n[UNK] 9 9 9 9\n", encoding="utf-8")
    vocab, m = load_word_vectors(text)
    assert vocab == ["[PAD]", "[UNK]", "北京", "城市"] and m.dtype == np.float32
    assert np.allclose(m, [[0] * 4, [0] * 4, [0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4]])
    kv = KeyedVectors(4)
    kv.add_vectors(["北京", "城市"], m[2:])
    kv.save_word2vec_format(str(tmp_path / "vec.bin"), binary=True)
    vocab_b, m_b = load_word_vectors(tmp_path / "vec.bin")
    assert vocab_b == vocab[:4] and np.allclose(m_b, m)
    assert load_word_vectors(text, limit=1)[0] == ["[PAD]", "[UNK]", "北京"]
    with pytest.raises(QADataError, match="missing.txt: word-vector file not found"):
        load_word_vectors(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("北京 0.1 0.2\n", encoding="utf-8")
    with pytest.raises(QADataError, match="bad.txt: not a readable word2vec text file"):
        load_word_vectors(bad)


# ---------------------------------------------------------------- the model

def test_model_builds_with_ema_and_masks_padding():
    from kexue.qa.model import build_dgcnn
    model = build_dgcnn(30, np.random.default_rng(0).normal(size=(20, 8)).astype("float32"), TINY)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.9
    assert not model.get_layer("word_vectors").trainable
    assert [model.get_layer(f"p_dgc{i}_d{d}").dilation_rate for i, d in enumerate([1, 2, 4, 8, 16, 1])] \
        == [1, 2, 4, 8, 16, 1]
    assert np.allclose(model.get_layer("word_vectors").get_weights()[0][3],
                       np.random.default_rng(0).normal(size=(20, 8))[3], atol=1e-6)
    x = {k: np.random.default_rng(1).integers(1, 20, (2, 16)).astype("int32")
         for k in ("q_chars", "q_words", "p_chars", "p_words")}
    x["p_chars"][0, 10:] = 0
    out = model(x)
    assert tuple(out["start"].shape) == (2, 16) and tuple(out["presence"].shape) == (2,)
    assert not np.asarray(out["start"])[0, 10:].any()
    assert not build_dgcnn(30, np.zeros((20, 8), "float32"), {**TINY, "ema": None}).optimizer.use_ema


def test_ema_momentum_fits_the_run():
    from kexue.core.keras_fit import ema_momentum
    assert ema_momentum("auto", 540) == (1 - 1 / 54, None)         # averages over a tenth of the run
    assert ema_momentum("auto", 10**6)[0] == 0.9999                 # never past the post's value
    assert ema_momentum("auto", 20)[0] == 0.9                       # at least 10 steps
    assert ema_momentum(None, 500) == (0.0, None) and ema_momentum(0, 500) == (0.0, None)
    assert ema_momentum(0.99, 5000) == (0.99, None)
    m, warning = ema_momentum(0.9999, 540)                          # the post's momentum on a short run
    assert m == 0.9999 and "95% the random initialisation" in warning and "ema=auto" in warning
    with pytest.raises(ValueError, match="ema must be auto"):
        ema_momentum(1.5, 100)


def _synthetic(n=8):
    rng = np.random.default_rng(5)
    pool = list("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉")
    out = []
    for i in range(n):
        answer = "".join(rng.choice(pool, 2))
        filler = lambda k: "".join(rng.choice(pool, k))
        out.append({"id": str(i), "question": f"第{i}个是什么",
                    "passages": [{"passage": filler(5) + "答案是" + answer + filler(6), "answer": answer},
                                 {"passage": filler(12), "answer": ""}]})
    return out


def test_tiny_model_overfits_and_decodes():
    from kexue.qa.decode import decode
    from kexue.qa.encode import build_char_vocab, encode
    from kexue.qa.model import build_dgcnn, dataset, predict
    keras.utils.set_random_seed(0)
    entries = _synthetic()
    enc = encode(entries, build_char_vocab(entries, 1), ["[PAD]", "[UNK]"], segment=list)
    model = build_dgcnn(len(build_char_vocab(entries, 1)), np.zeros((2, 4), "float32"), TINY)
    ema = model.optimizer
    loss = model.fit(dataset(enc, 16, seed=0), epochs=30, verbose=0, shuffle=False).history["loss"]
    assert loss[-1] < 0.01 * loss[0], loss[::5]
    assert len(ema._model_variables_moving_average) == len(model.trainable_variables)
    starts, ends, _ = predict(model, enc)                        # fit() ended by writing the EMA weights in
    assert [len(s) for s in starts] == np.diff(enc.p_off).tolist()
    answers = decode(entries, enc, starts, ends)
    truth = {e["id"]: e["passages"][0]["answer"] for e in entries}
    assert sum(answers[q] == truth[q] for q in truth) >= 6, (answers, truth)


# ---------------------------------------------------------------- decoding

def test_passage_spans_threshold_length_and_order():
    from kexue.qa.decode import passage_spans
    text = "abcdefghijklmnopqrst"
    s, e = np.zeros(20), np.zeros(20)
    s[[2, 5]], e[[1, 3, 19]] = [0.9, 0.05], [0.9, 0.8, 0.9]      # end 1 precedes start 2; start 5 under 0.1
    assert passage_spans(s, e, text) == {"cd": pytest.approx(0.72)}          # 'c'..'t' is 18 > 12 characters
    assert set(passage_spans(s, e, text, max_len=18)) == {"cd", "cdefghijklmnopqrst"}
    assert passage_spans(s, e, text, threshold=0.95) == {}
    assert passage_spans(s, e, text[:3]) == {}                                # text cut by encode: no end in it
    s2, e2 = np.zeros(4), np.zeros(4)
    s2[0], e2[0] = 0.9, 0.9
    assert passage_spans(s2, e2, "。abc") == {}                                # punctuation only: no answer


def test_voting_changes_the_answer():
    from kexue.qa.decode import decode_question, vote

    def passage(text, span, p):
        s, e = np.zeros(len(text)), np.zeros(len(text))
        i = text.index(span)
        s[i], e[i + len(span) - 1] = p, p
        return s, e, text

    rows = [passage("首都是北京。", "北京", 0.84),                 # one at 0.7056: 0.7056^2 / 1.7056 = 0.29
            passage("答案：上海市", "上海市", np.sqrt(0.5)),       # three at 0.5: 0.75 / 2.5 = 0.30 > 0.29
            passage("在上海市", "上海市", np.sqrt(0.5)),
            passage("上海市。", "上海市。", np.sqrt(0.5))]         # '上海市。' normalises to '上海市': same answer
    s, e, t = zip(*rows)
    scores = vote([("北京", 0.7056), ("上海市", 0.5), ("上海市", 0.5), ("上海市。", 0.5)])
    assert scores == {"北京": pytest.approx(0.7056 ** 2 / 1.7056), "上海市": pytest.approx(0.75 / 2.5)}
    assert decode_question(s, e, t, voting=False) == "北京"
    assert decode_question(s, e, t, voting=True) == "上海市"
    assert decode_question(s, e, t, threshold=0.9) == ""


def test_windows_of_a_passage_vote_once():
    from kexue.qa.decode import decode_question

    def row(text, span, p):
        s, e = np.zeros(len(text)), np.zeros(len(text))
        i = text.index(span)
        s[i], e[i + len(span) - 1] = p, p
        return s, e, text

    # "上海" sits in the overlap of two windows of passage 0; "北京" is in passage 1 only, more confident
    rows = [row("甲乙上海", "上海", 0.8), row("上海丙丁", "上海", 0.8), row("在北京", "北京", 0.85)]
    s, e, t = zip(*rows)
    assert decode_question(s, e, t) == "上海"                  # two votes of 0.64: 0.82 / 2.28 = 0.36 > 0.30
    assert decode_question(s, e, t, passages=[0, 0, 1]) == "北京"      # one vote: 0.41 / 1.64 = 0.25 < 0.30


def test_long_passages_become_overlapping_windows(tmp_path):
    from kexue.qa.decode import decode
    from kexue.qa.encode import (
        SPECIALS,
        Encoded,
        build_char_vocab,
        encode,
        window_offsets,
    )
    assert window_offsets(5, 8, 4) == [0] and window_offsets(20, 8, None) == [0]
    assert window_offsets(20, 8, 6) == [0, 6, 12] and window_offsets(17, 8, 4) == [0, 4, 8, 9]
    with pytest.raises(ValueError, match="p_stride"):
        window_offsets(20, 8, 9)
    # the answer at 10..11 is whole in windows 4..11 and 8..15 but crosses no cut; the one at 18..19 is in the last
    text = "0123456789北京456789北京"
    entries = [{"id": "1", "question": "哪里", "passages": [{"passage": text, "answer": "北京"},
                                                          {"passage": "短的", "answer": ""}]}]
    chars = build_char_vocab(entries, 1)
    enc = encode(entries, chars, SPECIALS, segment=list, p_max=8, p_stride=4)
    assert enc.row_offset.tolist() == [0, 4, 8, 12, 0] and enc.row_passage.tolist() == [0, 0, 0, 0, 1]
    assert [enc.row_text(entries, i) for i in range(5)] == [text[0:8], text[4:12], text[8:16], text[12:20], "短的"]
    assert [np.flatnonzero(enc.row(i)["start"]).tolist() for i in range(5)] == [[], [6], [2], [6], []]
    assert enc.labels["has_answer"].tolist() == [0, 1, 1, 1, 0]
    assert {k: enc.stats[k] for k in ("occurrences", "occurrences_cut", "passages_windowed", "passages_truncated",
                                      "answers_cut")} == \
        {"occurrences": 2, "occurrences_cut": 0, "passages_windowed": 1, "passages_truncated": 0, "answers_cut": 0}
    cut = encode(entries, chars, SPECIALS, segment=list, p_max=8)              # no stride: the post's cut
    assert cut.row_offset.tolist() == [0, 0] and cut.stats["answers_cut"] == 1

    # the decoder reads each row's window, not the passage's head
    starts = [np.zeros(len(enc.row(i)["p_chars"])) for i in range(5)]
    ends = [z.copy() for z in starts]
    starts[3][6], ends[3][7] = 0.9, 0.9
    assert decode(entries, enc, starts, ends) == {"1": "北京"}
    enc.save(tmp_path / "w.npz")
    assert Encoded.load(tmp_path / "w.npz").row_offset.tolist() == [0, 4, 8, 12, 0]
