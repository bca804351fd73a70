"""ZLPR against binary cross-entropy on two public multi-label sets (../shared/data/multilabel):

    .venv/bin/python benchmarks/zlpr_vs_bce.py yeast          # MULAN yeast, official train/test split
    .venv/bin/python benchmarks/zlpr_vs_bce.py goemotions     # GoEmotions, train -> dev
    .venv/bin/python benchmarks/zlpr_vs_bce.py all --seeds 0 1 2

Each (loss, seed) trains the same network from the same initial weights: an MLP on yeast's 103 features, the
CAIL DGC tagger (kexue.cail2019.model) over word ids on GoEmotions. 15% of the training set (fixed by the seed)
picks the epoch (best (micro-F1 + macro-F1) / 2 at each loss's own rule) and, for `bce-tuned`, one threshold per
label; the test (yeast) or dev (GoEmotions) set is touched once, at the end. Reported: micro-F1, macro-F1 (sklearn's
zero_division=0: a label never predicted scores 0), exact match, Hamming loss, mean and std over seeds.
Results go to benchmarks/results/zlpr_vs_bce.json.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "multilabel"
sys.path.insert(0, str(ROOT / "src"))


def read_arff(path: Path, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    rows, data = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if data and line and not line.startswith("%"):
            rows.append([float(v) for v in line.split(",")])
        data = data or line.lower() == "@data"
    a = np.asarray(rows, np.float32)
    return a[:, :-n_labels], a[:, -n_labels:].astype(np.int8)


def yeast():
    x, y = read_arff(SHARED / "yeast" / "yeast-train.arff", 14)
    xt, yt = read_arff(SHARED / "yeast" / "yeast-test.arff", 14)
    mean, std = x.mean(0), x.std(0) + 1e-6
    return (x - mean) / std, y, (xt - mean) / std, yt, [f"Class{i}" for i in range(1, 15)]


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+|[^\sa-z0-9']", text.lower())


def goemotions(max_len: int = 64):
    names = (SHARED / "goemotions" / "emotions.txt").read_text(encoding="utf-8").split()

    def read(name):
        texts, labels = [], []
        for n, line in enumerate((SHARED / "goemotions" / name).read_text(encoding="utf-8").split("\n"), 1):
            if line:
                text, ids, _ = line.split("\t")
                texts.append(text)
                labels.append([int(i) for i in ids.split(",")])
        y = np.zeros((len(texts), len(names)), np.int8)
        for i, ids in enumerate(labels):
            y[i, ids] = 1
        return texts, y

    texts, y = read("train.tsv")
    dev_texts, y_dev = read("dev.tsv")
    counts = Counter(t for s in texts for t in tokens(s))
    vocab = {w: i + 2 for i, (w, c) in enumerate(counts.most_common()) if c >= 2}     # 0 padding, 1 unknown

    def ids(batch):
        x = np.zeros((len(batch), max_len), np.int32)
        for i, s in enumerate(batch):
            row = [vocab.get(t, 1) for t in tokens(s)][:max_len] or [1]
            x[i, :len(row)] = row
        return x

    return ids(texts), y, ids(dev_texts), y_dev, names, len(vocab) + 2


def scores(y, pred) -> dict:
    from kexue.core import multilabel
    return {"micro_f1": multilabel.micro_f1(y, pred), "macro_f1": multilabel.macro_f1(y, pred, empty=0.0),
            "exact_match": multilabel.exact_match(y, pred), "hamming_loss": float((y != pred).mean())}


def train_one(task: str, loss: str, seed: int, data, epochs: int, batch: int) -> tuple:
    """(validation labels, validation and test probabilities at the best validation epoch, timing)."""
    from kexue.cail2019.model import build_tagger, dataset, probabilities
    from kexue.core import multilabel
    from kexue.core.tfquiet import import_keras
    keras = import_keras()
    x, y, xt = data[:3]
    rng = np.random.default_rng(seed)
    val = rng.permutation(len(x))[:int(0.15 * len(x))]
    train = np.setdiff1d(np.arange(len(x)), val)
    keras.utils.set_random_seed(seed)
    if task == "yeast":
        inp = keras.Input((x.shape[1],))
        h = keras.layers.Dropout(0.3)(keras.layers.Dense(512, activation="relu")(inp))
        model = keras.Model(inp, keras.layers.Dense(y.shape[1])(h))
        from kexue.losses import ZLPR
        model.compile(keras.optimizers.Adam(1e-3),
                      ZLPR() if loss == "zlpr" else keras.losses.BinaryCrossentropy(from_logits=True))
        feed = lambda e: (x[train], y[train].astype(np.float32))
        predict = lambda a: probabilities(model.predict(a, batch_size=1024, verbose=0), loss)
    else:
        cfg = {"dim": 128, "kernel_size": 3, "dilations": [1, 2, 4, 1], "dropout": 0.1, "gate_dropout": 0.1,
               "head_dropout": 0.2, "lr": 1e-3, "ema": 0, "loss": loss}
        model = build_tagger(data[5], y.shape[1], cfg)
        stream = dataset(x[train], y[train], batch, seed)
        feed = lambda e: (stream,)

        def predict(a):
            out = np.zeros((len(a), y.shape[1]), np.float32)
            for i in range(0, len(a), 1024):
                out[i:i + 1024] = model.predict_on_batch(a[i:i + 1024])
            return probabilities(out, loss)

    best, best_weights, t0 = -1.0, None, time.time()
    for e in range(epochs):
        args = feed(e)
        model.fit(*args, epochs=1, verbose=0, **({"batch_size": batch, "shuffle": True} if task == "yeast" else
                                                 {"shuffle": False}))    # the stream shuffles itself
        p = predict(x[val])
        s = multilabel.cail_score(y[val], p > 0.5)
        if s > best:
            best, best_weights, best_epoch = s, model.get_weights(), e
    model.set_weights(best_weights)
    return y[val], predict(x[val]), predict(xt), {"seconds": round(time.time() - t0, 1), "epoch": best_epoch + 1}


def compare(task: str, seeds, epochs: int, batch: int) -> dict:
    from kexue.core import multilabel
    data = yeast() if task == "yeast" else goemotions()
    yt = data[3]
    rows = {"zlpr": [], "bce": [], "bce-tuned": []}
    grid = np.round(np.arange(0.05, 0.96, 0.05), 6)
    for seed in seeds:
        for loss in ("zlpr", "bce"):
            yv, pv, pt, info = train_one(task, loss, seed, data, epochs, batch)
            rows[loss].append({**scores(yt, pt > 0.5), **info})
            if loss == "bce":
                th = multilabel.tune_thresholds(yv, pv, grid, default=0.5, empty=0.0)
                rows["bce-tuned"].append({**scores(yt, pt > th), **info})
            r = rows[loss][-1]
            print(f"{task} seed {seed} {loss:5s}: micro-F1 {r['micro_f1']:.4f} macro-F1 {r['macro_f1']:.4f} "
                  f"(epoch {r['epoch']}, {r['seconds']}s)", flush=True)
    summary = {}
    for name, rs in rows.items():
        summary[name] = {k: [round(float(np.mean([r[k] for r in rs])), 4), round(float(np.std([r[k] for r in rs])), 4)]
                         for k in ("micro_f1", "macro_f1", "exact_match", "hamming_loss")}
    print(f"\n{task}: mean ± std over seeds {list(seeds)} ({'test' if task == 'yeast' else 'dev'} set)")
    print(f"{'':10s} {'micro-F1':>16s} {'macro-F1':>16s} {'exact match':>16s} {'Hamming loss':>16s}")
    for name, s in summary.items():
        print(f"{name:10s} " + " ".join(f"{m:8.4f} ± {sd:.4f}" for m, sd in s.values()))
    return {"seeds": list(seeds), "epochs": epochs, "batch": batch, "summary": summary, "runs": rows}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=["yeast", "goemotions", "all"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, help="default: 60 (yeast), 6 (GoEmotions)")
    args = p.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} is absent: this benchmark needs the shared data")
        return 1
    from kexue.core import io
    out_path = ROOT / "benchmarks" / "results" / "zlpr_vs_bce.json"
    results = io.read_json(out_path) if out_path.exists() else {}
    for task in (["yeast", "goemotions"] if args.task == "all" else [args.task]):
        epochs = args.epochs or (60 if task == "yeast" else 6)
        results[task] = compare(task, args.seeds, epochs, 64 if task == "yeast" else 128)
        io.write_json(out_path, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
