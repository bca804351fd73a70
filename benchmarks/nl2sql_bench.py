"""NL2SQL benchmarks on this machine: training throughput (examples/s) and prediction latency.

    .venv/bin/python benchmarks/nl2sql_bench.py                       # sample BERT + MiniLM (if ../shared)
    .venv/bin/python benchmarks/nl2sql_bench.py --models sample --precisions float32

Inputs are real encodings: the generated Chinese sample for the small from-scratch BERT, and WikiSQL
(../shared) for the English MiniLM, batched by length exactly as in training. Each (model,
precision) runs in a fresh process so graph caches do not leak between them. Results go to
benchmarks/results/nl2sql.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "src"))
from _bench import in_child, write_results


def encoded_rows(model: str, n: int):
    from kexue.bert.tokenizer import Tokenizer
    from kexue.nl2sql import data, encode, prepare, sample
    if model == "sample":
        root = Path(tempfile.mkdtemp()) / "sample"
        sample.generate(root, n_train=n, n_val=10, n_test=10)
        q, t, _ = data.load_split(root, "train", True)
        vocab = prepare.sample_vocab([q], [t])
        tok = Tokenizer(vocab, mode="char")
        spec = {"kind": "random", "vocab_size": len(vocab), "max_len": 256}
    else:
        wk = SHARED / "data" / "nl2sql" / "wikisql"
        t = data.read_tables(wk / "train.tables.json")
        q = data.read_questions(wk / "train.json", t, labelled=True)[:n]
        bert = SHARED / "models" / "minilm-l6-h384-uncased"
        tok = Tokenizer.from_dir(bert)
        spec = {"kind": "pretrained", "path": str(bert), "max_len": 512}
    enc = encode.encode(q, t, tok, max_len=192, max_header_tokens=12)
    return enc.take(list(range(len(enc)))), spec


def child(model: str, precision: str, n: int, batch: int, steps: int) -> dict:
    import numpy as np

    from kexue.core.batching import length_batches
    from kexue.core.tfquiet import import_keras
    from kexue.nl2sql.encode import pad_batch
    from kexue.nl2sql.model import backbone_for, build_net, probabilities
    keras = import_keras()
    view, spec = encoded_rows(model, n)
    keras.mixed_precision.set_global_policy(precision)
    params = {"backbone": spec, "random_backbone": {"layers": 2, "hidden": 128, "heads": 2, "intermediate": 256}}
    net = build_net(backbone_for(params))
    lengths = [len(view.row(i)["ids"]) for i in range(len(view))]
    plan = length_batches(lengths, batch, np.random.default_rng(0))
    batches = [pad_batch([view.row(j) for j in rows]) for rows in plan]
    net.compile(optimizer=keras.optimizers.AdamW(1e-4))
    timed = (batches * 10)[:steps]
    # warm-up: one pass over the timed batches, so each padded shape is traced before the clock runs
    # (training proper feeds tf.data with free dimensions and traces once)
    for x, y in timed:
        net.train_on_batch(x, y)
        probabilities(net.predict_on_batch(x), "softmax")
        probabilities(net.predict_on_batch({k: v[:1] for k, v in x.items()}), "softmax")
    t0, seen = time.perf_counter(), 0
    for x, y in timed:
        net.train_on_batch(x, y)
        seen += len(x["token_ids"])
    train_eps = seen / (time.perf_counter() - t0)
    latencies = []
    for x, _ in timed:
        one = {k: v[:1] for k, v in x.items()}
        t = time.perf_counter()
        probabilities(net.predict_on_batch(one), "softmax")
        latencies.append(time.perf_counter() - t)
    t0, seen = time.perf_counter(), 0
    for x, _ in timed:
        probabilities(net.predict_on_batch(x), "softmax")
        seen += len(x["token_ids"])
    return {"model": model, "precision": precision, "batch": batch, "mean_tokens": float(np.mean(lengths)),
            "train_examples_per_s": round(train_eps, 1),
            "predict_examples_per_s": round(seen / (time.perf_counter() - t0), 1),
            "latency_one_question_ms_median": round(1000 * float(np.median(latencies)), 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["sample", "minilm"], choices=["sample", "minilm"])
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--n", type=int, default=600, help="questions to encode")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=15, help="timed batches")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.n, args.batch, args.steps)))
        return 0
    results = []
    for model in args.models:
        if model == "minilm" and not (SHARED / "models" / "minilm-l6-h384-uncased").exists():
            print("skipping minilm: ../shared is absent")
            continue
        for precision in args.precisions:
            r = in_child(__file__, model, precision, "--n", args.n, "--batch", args.batch, "--steps", args.steps)
            results.append(r)
            print(f"{model:7s} {precision:15s} train {r['train_examples_per_s']:7.1f} ex/s   predict "
                  f"{r['predict_examples_per_s']:7.1f} ex/s   one question {r['latency_one_question_ms_median']:6.1f} ms"
                  f"   (batch {r['batch']}, {r['mean_tokens']:.0f} tokens on average)", flush=True)
    print(f"-> {write_results('nl2sql', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
