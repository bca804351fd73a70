"""DGCNN reading-comprehension benchmarks on this machine: training and prediction throughput, one question's
latency.

    .venv/bin/python benchmarks/qa_bench.py                     # real WebQA rows (../shared), else the sample
    .venv/bin/python benchmarks/qa_bench.py --dims 128 --precisions float32

Rows are real encodings (characters + jieba words, windows of 256 characters): WebQA_test_ann.json passages for
training, WebQA_test_ir_first200.json (20 retrieved passages per question) for prediction and latency; without
../shared, the generated Chinese sample. Word vectors are random (their values do not change the speed). Batches
are planned by length exactly as in training, and every padded shape is traced once before the clock runs. Each
(dim, precision) runs in a fresh process. Results go to benchmarks/results/qa.json.
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


def entries() -> tuple[str, list, list]:
    from kexue.qa import data, sample
    webqa = SHARED / "data" / "qa" / "webqa"
    if webqa.exists():
        return ("WebQA", list(data.read_dgcnn(webqa / "WebQA_test_ann.json")),
                list(data.read_dgcnn(webqa / "WebQA_test_ir_first200.json")))
    root = Path(tempfile.mkdtemp()) / "qa"
    sample.generate(root, seed=0, n_train=800, n_test=100, n_passages=20)
    return ("sample", list(data.read_dgcnn(root / "train.json")),
            list(data.read_dgcnn(root / "test.json", labelled=False)))


def child(dim: int, precision: str, batch: int, steps: int) -> dict:
    from collections import Counter

    import numpy as np

    from kexue.core.tfquiet import import_keras
    from kexue.qa.decode import decode_question
    from kexue.qa.encode import SPECIALS, build_char_vocab, encode, segment
    from kexue.qa.model import build_dgcnn, dataset, predict
    from kexue.qa.prepare import _quiet_jieba
    keras = import_keras()
    _quiet_jieba()
    name, train, test = entries()
    counts = Counter(w for e in train for w in segment(e["question"] + "".join(p["passage"] for p in e["passages"])))
    words = SPECIALS + [w for w, c in counts.most_common() if c >= 2]
    chars = build_char_vocab(train + test, 2)
    enc = encode(train, chars, words, p_max=256, p_stride=192)
    enc_test = encode(test, chars, words, p_max=256, p_stride=192, with_labels=False)
    keras.mixed_precision.set_global_policy(precision)
    cfg = {"dim": dim, "kernel_size": 3, "dropout": 0.1, "gate_dropout": 0.1, "q_dilations": [1, 2, 1],
           "p_dilations": [1, 2, 4, 8, 16, 1], "lr": 1e-3, "ema": 0.99, "focal_gamma": 2, "focal_alpha": 0.25}
    net = build_dgcnn(len(chars), np.random.default_rng(0).normal(size=(len(words), 128)).astype("float32"), cfg)
    batches = list(dataset(enc, batch, seed=0).take(steps))
    for x, y in batches:                                 # warm-up: trace every padded shape
        net.train_on_batch(x, y)
    t0, seen = time.perf_counter(), 0
    for x, y in batches:
        net.train_on_batch(x, y)
        seen += int(x["p_chars"].shape[0])
    train_rows = seen / (time.perf_counter() - t0)

    view = enc_test.take(np.arange(len(enc_test)))
    predict(net, view, 256)                              # warm-up
    t0 = time.perf_counter()
    predict(net, view, 256)
    predict_rows = len(view) / (time.perf_counter() - t0)

    by_q: dict[int, list] = {}
    for r, q in enumerate(enc_test.row_q):
        by_q.setdefault(int(q), []).append(r)
    latencies = []
    for q, rows in list(by_q.items())[:40]:
        one = enc_test.take(rows)
        t = time.perf_counter()
        s, e, _ = predict(net, one, 256)
        decode_question(s, e, [enc_test.row_text(test, r) for r in rows],
                        passages=[int(enc_test.row_passage[r]) for r in rows])
        latencies.append(time.perf_counter() - t)
    return {"data": name, "dim": dim, "precision": precision, "batch": batch, "params": int(net.count_params()),
            "mean_passage_chars": float(np.diff(enc.p_off).mean()),
            "train_rows_per_s": round(train_rows, 1), "predict_rows_per_s": round(predict_rows, 1),
            "rows_per_question": round(len(enc_test) / len(test), 1),
            "latency_one_question_ms_median": round(1000 * float(np.median(latencies[5:])), 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dims", nargs="+", type=int, default=[128, 64], help="block widths (configs/qa/dgcnn.yaml dim)")
    p.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=12, help="timed training batches")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1], args.batch, args.steps)))
        return 0
    results = []
    for dim in args.dims:
        for precision in args.precisions:
            r = in_child(__file__, dim, precision, "--batch", args.batch, "--steps", args.steps)
            results.append(r)
            print(f"{r['data']} dim {dim:3d} {precision:15s} train {r['train_rows_per_s']:7.1f} rows/s   predict "
                  f"{r['predict_rows_per_s']:7.1f} rows/s   one question ({r['rows_per_question']} rows) "
                  f"{r['latency_one_question_ms_median']:6.1f} ms   ({r['params']:,} parameters, batch {r['batch']}, "
                  f"{r['mean_passage_chars']:.0f} passage characters on average)", flush=True)
    print(f"-> {write_results('qa', results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
