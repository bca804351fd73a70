"""BERT tokenizer offsets and checkpoint loading, each checked against an independent oracle:
keras-hub's own BertTokenizer for WordPiece, and a NumPy BERT forward pass for the weights."""
import json
import math

import numpy as np
import pytest
from conftest import SHARED

from kexue.bert.tokenizer import Tokenizer, guess_mode, load_vocab

MINILM = SHARED / "models" / "minilm-l6-h384-uncased"
CHINESE_VOCAB = SHARED / "models" / "bert-chinese-vocab" / "vocab.txt"
needs_models = pytest.mark.skipif(not (SHARED / "models").exists(), reason="../shared/models is absent")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---------------------------------------------------------------- tokenizer

def test_load_vocab_splits_on_newline_only(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("\n".join(SPECIALS + ["a", "\u2028", "b\r", "c"]).encode() + b"\n")
    vocab = load_vocab(path)
    assert vocab == SPECIALS + ["a", "\u2028", "b", "c"]      # U+2028 kept as one token, "\r" stripped
    assert Tokenizer(path).token_to_id["c"] == 8


def test_load_vocab_names_missing_specials(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"vocab\.txt.*\[SEP\]"):
        load_vocab(path)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_vocab(tmp_path / "nope.txt")


def test_char_mode_offsets_unk_and_fullwidth():
    tok = Tokenizer(SPECIALS + list("北京年成交量?？abc"), mode="char", lowercase=True)
    text = "北京 2011年\u3000成交量 Abc？ ?"
    ids, spans = tok.tokenize(text)
    assert [text[s:e] for s, e in spans] == list("北京2011年成交量Abc？?")
    assert tok.ids_to_tokens(ids) == ["北", "京"] + ["[UNK]"] * 4 + list("年成交量abc？?")
    assert ids[-2] != ids[-1]                                  # full-width "？" is not folded to "?"
    assert Tokenizer(tok.vocab, mode="char").tokenize("A")[0] == [tok.unk_id]   # no lowercase -> [UNK]


def test_wordpiece_mode_offsets_and_unk():
    vocab = SPECIALS + ["un", "##aff", "##able", "jose", "'", "s", ",", "北", "run", "##ning", "x" * 101]
    tok = Tokenizer(vocab, mode="wordpiece", lowercase=True)
    text = "  Unaffable José's,北 Running qqq " + "x" * 101
    ids, spans = tok.tokenize(text)
    assert tok.ids_to_tokens(ids) == ["un", "##aff", "##able", "jose", "'", "s", ",", "北", "run", "##ning",
                                      "[UNK]", "[UNK]"]
    assert [text[s:e] for s, e in spans] == ["Un", "aff", "able", "José", "'", "s", ",", "北", "Run", "ning",
                                             "qqq", "x" * 101]


def test_from_dir_guesses_mode_and_lowercase(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(SPECIALS + list("的一是了我不人在他有")) + "\n", encoding="utf-8")
    tok = Tokenizer.from_dir(tmp_path)
    assert (tok.mode, tok.lowercase) == ("char", True)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    assert Tokenizer.from_dir(tmp_path, mode="wordpiece").lowercase is False
    assert guess_mode(SPECIALS + ["the", "##s", "Paris"]) == "wordpiece"


ORACLE_SENTENCES = [
    "Hello, world! How are you doing today?",
    "The U.S. economy grew 3.2% in Q4 2019, beating forecasts.",
    "State-of-the-art models don't always win; it's complicated.",
    "José Müller and François Côté visited São Paulo.",
    "E-mail me at john.doe@example.com (before 5:30pm).",
    "Tokenization of 'unbelievably' long-winded phrases",
    "The price was $1,299.99 — a 15-percent discount!",
    "Naïve café owners' résumé: «bonjour» & ‘hello’.",
    "1st, 2nd and 3rd place: 100m, 200m & 4x100m relay.",
    "WHO WON THE 1998–99 UEFA CHAMPIONS LEAGUE? Manchester United.",
    "北京 is the capital of 中国, isn't it?",
]


@needs_models
def test_wordpiece_matches_keras_hub_on_minilm_vocab():
    import keras_hub

    from kexue.core.tfquiet import import_keras
    import_keras()
    # keras-hub's BertTokenizer keeps accents unless told; uncased BERT (Google, HF) strips them
    oracle = keras_hub.models.BertTokenizer.from_preset(str(MINILM), strip_accents=True)
    tok = Tokenizer.from_dir(MINILM)
    assert (tok.mode, tok.lowercase, tok.vocab_size) == ("wordpiece", True, 30522)
    for text in ORACLE_SENTENCES:
        ids, spans = tok.tokenize(text)
        assert ids == np.asarray(oracle(text)).tolist(), text
        from kexue.bert.tokenizer import _fold
        for t, (s, e) in zip(tok.ids_to_tokens(ids), spans):
            if t != "[UNK]":
                assert "".join(map(_fold, text[s:e])) == t.removeprefix("##"), (text, t, text[s:e])


@needs_models
def test_chinese_vocab_layout():
    vocab = load_vocab(CHINESE_VOCAB)
    assert len(vocab) == 21128 and vocab[343] == "\u2028"
    tok = Tokenizer.from_dir(CHINESE_VOCAB.parent)
    assert (tok.mode, tok.cls_id, tok.sep_id, tok.pad_id, tok.unk_id) == ("char", 101, 102, 0, 100)
    ids, _ = tok.tokenize("？?")
    assert ids[0] != ids[1] and tok.ids_to_tokens(ids) == ["？", "?"]


# ---------------------------------------------------------------- NumPy reference BERT (the oracle)

def _gelu(x, exact=False):
    if exact:
        from scipy.special import erf
        return 0.5 * x * (1 + erf(x / math.sqrt(2)))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _ln(x, w, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def reference_bert(w, ids, segments, mask, heads, exact_gelu=False):
    """Post-LN BERT on HF-named arrays (Linear weights are (out, in)); returns (sequence, pooled)."""
    w = {k.removeprefix("bert."): np.asarray(v, np.float64) for k, v in w.items()}
    ln = "weight" if "embeddings.LayerNorm.weight" in w else "gamma"
    lb = "bias" if ln == "weight" else "beta"

    def dense(x, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    n = ids.shape[1]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][segments]
    x = _ln(x, w[f"embeddings.LayerNorm.{ln}"], w[f"embeddings.LayerNorm.{lb}"])
    bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9)
    layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
    for i in range(layers):
        p = f"encoder.layer.{i}"

        def split(t):
            return t.reshape(*t.shape[:2], heads, -1).transpose(0, 2, 1, 3)
        q, k, v = (split(dense(x, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
        a = q @ k.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1]) + bias
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        x = _ln(x + dense(ctx, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.{ln}"], w[f"{p}.attention.output.LayerNorm.{lb}"])
        h = dense(_gelu(dense(x, f"{p}.intermediate.dense"), exact_gelu), f"{p}.output.dense")
        x = _ln(x + h, w[f"{p}.output.LayerNorm.{ln}"], w[f"{p}.output.LayerNorm.{lb}"])
    return x, np.tanh(dense(x[:, 0], "pooler.dense"))


# ---------------------------------------------------------------- tiny checkpoints written by the tests

V, H, HEADS, FF, LAYERS, MAXPOS = 50, 32, 4, 64, 2, 32
CONFIG = {"vocab_size": V, "hidden_size": H, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
          "intermediate_size": FF, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
          "attention_probs_dropout_prob": 0.1, "max_position_embeddings": MAXPOS, "type_vocab_size": 2,
          "initializer_range": 0.02, "layer_norm_eps": 1e-12}
IDS = np.array([[2, 7, 8, 9, 10, 11, 3, 12, 13, 3], [2, 20, 21, 22, 3, 30, 3, 0, 0, 0]], np.int32)
SEGMENTS = np.array([[0] * 7 + [1] * 3, [0] * 5 + [1] * 2 + [0] * 3], np.int32)
MASK = (IDS > 0).astype(np.int32)


def tiny_weights(seed=0, vocab=V, maxpos=MAXPOS) -> dict:
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.2):
        return (rng.normal(size=shape) * scale).astype(np.float32)
    w = {"embeddings.word_embeddings.weight": r(vocab, H), "embeddings.position_embeddings.weight": r(maxpos, H),
         "embeddings.token_type_embeddings.weight": r(2, H),
         "embeddings.LayerNorm.weight": 1 + r(H), "embeddings.LayerNorm.bias": r(H),
         "pooler.dense.weight": r(H, H), "pooler.dense.bias": r(H)}
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        for name, (o, n) in {"attention.self.query": (H, H), "attention.self.key": (H, H),
                             "attention.self.value": (H, H), "attention.output.dense": (H, H),
                             "intermediate.dense": (FF, H), "output.dense": (H, FF)}.items():
            w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"] = r(o, n), r(o)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"] = 1 + r(H), r(H)
    return w


def to_google(w: dict) -> dict:
    """HF names/layout -> Google's TF names: "." -> "/", Linear (out, in) -> kernel (in, out)."""
    out = {}
    for k, v in w.items():
        name, kind = k.rsplit(".", 1)
        name = "bert/" + name.replace("encoder.layer.", "encoder.layer_").replace(".", "/")
        if "LayerNorm" in name:
            out[f"{name}/{'gamma' if kind == 'weight' else 'beta'}"] = v
        elif "embeddings" in name:
            out[name] = v
        else:
            out[f"{name}/{'kernel' if kind == 'weight' else 'bias'}"] = v.T if kind == "weight" else v
    return out


def write_vocab(d, extra=0, tokens=None):
    tokens = tokens or SPECIALS + [f"t{i}" for i in range(V + extra - len(SPECIALS))]
    (d / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")


def write_hf(d, w, config=CONFIG):
    from safetensors.numpy import save_file
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({**config, "model_type": "bert", "architectures": ["BertForPreTraining"]}))
    # as BertForPreTraining saves it: a "bert." scope plus a pretraining head the loader must skip
    save_file({"bert." + k: v for k, v in w.items()} | {"cls.predictions.bias": np.zeros(V, np.float32)},
              str(d / "model.safetensors"))
    write_vocab(d)
    return d


def write_google(d, w, config=CONFIG, drop=(), reshape=None, tokens=None):
    import tensorflow as tf
    d.mkdir(parents=True, exist_ok=True)
    g = to_google(w)
    if reshape:
        g[reshape[0]] = np.zeros(reshape[1], np.float32)
    with tf.Graph().as_default():
        for name, value in g.items():
            if name not in drop:
                tf.compat.v1.Variable(value, name=name)
        tf.compat.v1.Variable(np.ones((H, H), np.float32), name="bert/encoder/layer_0/attention/self/query/kernel/adam_m")
        tf.compat.v1.Variable(np.zeros(V, np.float32), name="cls/predictions/output_bias")
        tf.compat.v1.Variable(7, dtype=tf.int64, name="global_step")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, str(d / "bert_model.ckpt"), write_meta_graph=False)
    (d / "bert_config.json").write_text(json.dumps(config))
    write_vocab(d, tokens=tokens)
    return d


@pytest.fixture(scope="module")
def weights():
    return tiny_weights()


@pytest.fixture(scope="module")
def reference(weights):
    return reference_bert(weights, IDS, SEGMENTS, MASK, HEADS)


def run(backbone, ids=IDS, segments=SEGMENTS, mask=MASK):
    out = backbone({"token_ids": ids, "segment_ids": segments, "padding_mask": mask})
    return np.asarray(out["sequence_output"]), np.asarray(out["pooled_output"])


def test_huggingface_dir_matches_numpy_reference(tmp_path, weights, reference):
    from kexue.bert.checkpoint import load_backbone, read_config
    d = write_hf(tmp_path / "hf", weights)
    assert read_config(d)["format"] == "huggingface"
    seq, pooled = run(load_backbone(d))
    np.testing.assert_allclose(seq, reference[0], atol=1e-4)
    np.testing.assert_allclose(pooled, reference[1], atol=1e-4)


def test_huggingface_errors_name_the_problem(tmp_path, weights):
    from kexue.bert.checkpoint import load_backbone
    gone = "encoder.layer.1.output.dense.weight"
    with pytest.raises(ValueError, match=f"missing variable 'bert.{gone}'"):
        load_backbone(write_hf(tmp_path / "missing", {k: v for k, v in weights.items() if k != gone}))
    bad = "encoder.layer.0.intermediate.dense.weight"
    with pytest.raises(ValueError, match=rf"'bert.{bad}' has shape \(60, 32\) but config.json implies \(64, 32\)"):
        load_backbone(write_hf(tmp_path / "shape", weights | {bad: np.zeros((60, H), np.float32)}))
    d = write_hf(tmp_path / "vocab", weights)
    write_vocab(d, extra=3)
    with pytest.raises(ValueError, match=f"vocab.txt has {V + 3} tokens but config.json says vocab_size={V}"):
        load_backbone(d)


def test_google_checkpoint_matches_numpy_reference(tmp_path, weights, reference):
    import tensorflow as tf

    from kexue.bert.checkpoint import load_backbone, read_config
    d = write_google(tmp_path / "google", weights)
    names = tf.train.load_checkpoint(str(d / "bert_model.ckpt")).get_variable_to_shape_map()
    assert "bert/encoder/layer_1/attention/self/query/kernel" in names and "global_step" in names
    cfg = read_config(d)
    assert (cfg["format"], cfg["max_sequence_length"], cfg["num_heads"]) == ("google", MAXPOS, HEADS)
    backbone = load_backbone(d, dropout=0.0)
    assert backbone.dropout == 0.0
    seq, pooled = run(backbone)
    np.testing.assert_allclose(seq, reference[0], atol=1e-4)
    np.testing.assert_allclose(pooled, reference[1], atol=1e-4)
    seq2, _ = run(load_backbone(d / "bert_model.ckpt"))                 # the prefix itself works too
    # one checkpoint loaded twice: float32 sums in a busy machine's thread order differ by ~1e-6
    np.testing.assert_allclose(seq2, seq, atol=1e-5)


def test_google_checkpoint_errors_name_the_problem(tmp_path, weights):
    from kexue.bert.checkpoint import load_backbone
    gone = "bert/encoder/layer_1/output/dense/kernel"
    with pytest.raises(ValueError, match=f"missing variable '{gone}'"):
        load_backbone(write_google(tmp_path / "missing", weights, drop=[gone]))
    bad = "bert/encoder/layer_0/intermediate/dense/kernel"
    with pytest.raises(ValueError, match=rf"'{bad}' has shape \(32, 60\) but bert_config.json implies \(32, 64\)"):
        load_backbone(write_google(tmp_path / "shape", weights, reshape=(bad, (H, 60))))
    with pytest.raises(ValueError, match="3 encoder layers but bert_config.json says num_hidden_layers=2"):
        load_backbone(write_google(tmp_path / "layers", tiny_weights() | {
            k.replace("layer.1.", "layer.2."): v for k, v in weights.items() if "layer.1." in k}))


def test_unusable_directories_say_what_is_expected(tmp_path):
    from kexue.bert.checkpoint import load_backbone, read_config
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)empty is not a BERT checkpoint.*model\.safetensors.*bert_config"):
        load_backbone(tmp_path / "empty")
    torch_dir = tmp_path / "torch"
    torch_dir.mkdir()
    (torch_dir / "config.json").write_text(json.dumps({**CONFIG, "model_type": "bert"}))
    (torch_dir / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ValueError, match="(?s)only pytorch_model.bin.*safe_serialization"):
        read_config(torch_dir)
    (torch_dir / "model.safetensors").write_bytes(b"")
    (torch_dir / "config.json").write_text(json.dumps({**CONFIG, "model_type": "bert", "hidden_act": "relu"}))
    with pytest.raises(ValueError, match="hidden_act='relu' is not supported"):
        read_config(torch_dir)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_config(tmp_path / "nowhere")
    lfs = tmp_path / "lfs"
    lfs.mkdir()
    (lfs / "bert_config.json").write_text(json.dumps(CONFIG))
    for name in ("bert_model.ckpt.index", "bert_model.ckpt.data-00000-of-00001"):
        (lfs / name).write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(ValueError, match="cannot read the TF checkpoint .*bert_model.ckpt"):
        load_backbone(lfs)


def test_random_backbone_and_keras_preset_round_trip(tmp_path):
    from kexue.bert.checkpoint import load_backbone, random_backbone, read_config
    backbone = random_backbone(V, num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32,
                               max_sequence_length=MAXPOS, dropout=0.0)
    seq, pooled = run(backbone)
    assert seq.shape == (2, 10, 16) and pooled.shape == (2, 16)
    backbone.save_to_preset(str(tmp_path / "preset"))
    assert read_config(tmp_path / "preset")["format"] == "keras"
    np.testing.assert_allclose(run(load_backbone(tmp_path / "preset"))[0], seq, atol=1e-5)


@needs_models
def test_minilm_matches_numpy_reference():
    from safetensors.numpy import load_file

    from kexue.bert.checkpoint import load_backbone
    tok = Tokenizer.from_dir(MINILM)
    ids, _ = tok.tokenize("José's café serves 3.5 kinds of state-of-the-art espresso!")
    ids = np.array([[tok.cls_id, *ids, tok.sep_id, tok.pad_id, tok.pad_id]], np.int32)
    segments, mask = np.zeros_like(ids), (np.arange(ids.shape[1]) < ids.shape[1] - 2).astype(np.int32)[None]
    seq, pooled = run(load_backbone(MINILM), ids, segments, mask)
    w = {k: v for k, v in load_file(str(MINILM / "model.safetensors")).items() if k != "embeddings.position_ids"}
    ref_seq, ref_pooled = reference_bert(w, ids, segments, mask, heads=12)
    np.testing.assert_allclose(seq, ref_seq, atol=1e-3)
    np.testing.assert_allclose(pooled, ref_pooled, atol=1e-3)
    # what transformers computes (exact erf GELU) is close but not identical to keras-hub's tanh GELU
    exact_seq, _ = reference_bert(w, ids, segments, mask, heads=12, exact_gelu=True)
    assert 1e-5 < np.abs(seq - exact_seq)[mask > 0].max() < 5e-2
