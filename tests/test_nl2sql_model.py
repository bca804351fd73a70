"""The four-head network: shapes, masking of padded headers, both column-selection losses, and
that it can fit a handful of examples."""
import numpy as np
import pytest

from kexue.nl2sql.encode import NO_AGG, encode, pad_batch

TABLE = {"id": "t1", "name": "Table_t1", "title": "", "header": ["城市", "人口", "年份"],
         "types": ["text", "real", "real"], "rows": []}
QUESTIONS = [
    {"table_id": "t1", "question": "长沙的人口是多少", "sql": {"sel": [1], "agg": [0], "cond_conn_op": 0,
                                                            "conds": [[0, 2, "长沙"]]}},
    {"table_id": "t1", "question": "人口大于100的城市有几个", "sql": {"sel": [0], "agg": [4], "cond_conn_op": 0,
                                                                "conds": [[1, 0, "100"]]}},
    {"table_id": "t2", "question": "年份最大是多少", "sql": {"sel": [0], "agg": [2], "cond_conn_op": 0, "conds": []}},
]
TABLES = {"t1": TABLE, "t2": {**TABLE, "id": "t2", "header": ["年份", "城市"], "types": ["real", "text"]}}


@pytest.fixture(scope="module")
def batch():
    from kexue.bert.tokenizer import Tokenizer
    chars = sorted({c for q in QUESTIONS for c in q["question"]} | {c for t in TABLES.values() for h in t["header"]
                                                                   for c in h})
    tok = Tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars], mode="char")
    enc = encode(QUESTIONS, TABLES, tok)
    return tok, pad_batch([enc.row(i) for i in range(len(enc))])


@pytest.mark.parametrize("sel_loss", ["softmax", "zlpr"])
def test_heads_fit_a_few_examples(batch, sel_loss):
    from kexue.bert.checkpoint import random_backbone
    from kexue.core.tfquiet import import_keras
    from kexue.nl2sql.model import build_net, probabilities
    keras = import_keras()
    keras.utils.set_random_seed(0)
    tok, (x, y) = batch
    net = build_net(random_backbone(tok.vocab_size, num_layers=1, hidden_dim=32, num_heads=2, intermediate_dim=64,
                                    max_sequence_length=64, dropout=0.0), csel_dim=16, sel_loss=sel_loss)
    net.compile(optimizer=keras.optimizers.Adam(3e-3))
    first = float(net.train_on_batch(x, y))
    for _ in range(60):
        last = float(net.train_on_batch(x, y))
    assert last < first / 4
    prob = probabilities(net.predict_on_batch(x), sel_loss)
    b, H = x["h_mask"].shape
    assert prob["sel"].shape == (b, H, NO_AGG + 1) and np.allclose(prob["sel"].sum(-1), 1, atol=1e-4)
    assert np.allclose(prob["csel"][2, :, 2:], 0)              # table t2 has two headers: the rest get nothing
    picked = prob["sel"][np.arange(3), [1, 0, 0]].argmax(-1)   # the memorised selections and aggregations
    assert picked.tolist() == [0, 4, 2]
