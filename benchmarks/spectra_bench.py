"""Spectra benchmarks: preprocess throughput and peak memory as the set grows; CNN throughput.

    .venv/bin/python benchmarks/spectra_bench.py                 # 10k, 25k, 50k spectra + CNN
    .venv/bin/python benchmarks/spectra_bench.py --sizes 50000 --skip-cnn

Spectrum files are made once (1,000 distinct synthetic spectra, hard-linked up to the largest
size, so parsing cost is real) in --workdir. Each measurement runs in a fresh process, so
peak RSS is that run's own. Results go to benchmarks/results/spectra.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from _bench import in_child


def make_files(workdir: Path, n: int) -> None:
    import numpy as np

    from kexue.spectra import sample
    data_dir = workdir / "train_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    have = len(list(data_dir.iterdir()))
    if have >= n:
        return
    rng = np.random.default_rng(0)
    labels = ["star", "galaxy", "qso", "unknown"]
    for i in range(min(have, 1000), min(n, 1000)):
        (data_dir / f"{i}.txt").write_text(",".join(f"{v:.6g}" for v in sample.spectrum(labels[i % 4], rng)))
    for i in range(max(have, 1000), n):
        os.link(data_dir / f"{i % 1000}.txt", data_dir / f"{i}.txt")


def preprocess_child(workdir: Path, n: int, workers: int) -> dict:
    """Runs in its own process: index of the first n files, then preprocess them."""
    from kexue.spectra import data
    root = workdir / f"n{n}"
    root.mkdir(exist_ok=True)
    link = root / "train_data"
    if not link.exists():
        link.symlink_to(workdir / "train_data")
    labels = ["star", "galaxy", "qso", "unknown"]
    (root / "train_index.csv").write_text("id,type\n" + "".join(f"{i},{labels[i % 4]}\n" for i in range(n)))
    cfg = {"sets": {"train": {"index": "train_index.csv", "data": "train_data"}}, "classes": None,
           "n_values": 2600, "store_dtype": "float32", "workers": workers, "on_bad_file": "error",
           "folds": {"n": 5, "seed": 0}}
    t0 = time.perf_counter()
    data.preprocess(cfg, root, root / "store", "raw")
    seconds = time.perf_counter() - t0
    return {"n": n, "workers": workers, "seconds": round(seconds, 2), "spectra_per_s": round(n / seconds),
            "peak_rss_mb_parent": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "peak_rss_mb_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "store_mb": round((root / "store" / "train" / "flux.npy").stat().st_size / 2**20)}


def cnn_child(batch_size: int, steps: int, precision: str) -> dict:
    import numpy as np

    from kexue.core.tfquiet import import_keras
    keras = import_keras()
    from kexue.spectra.cnn import build_model
    keras.mixed_precision.set_global_policy(precision)
    model = build_model(2600, 4)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch_size * steps, 2600, 1)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, len(x))]
    model.fit(x[: batch_size * 2], y[: batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # trace
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    train = len(x) / (time.perf_counter() - t0)
    model.predict(x[:256], batch_size=256, verbose=0)
    t0 = time.perf_counter()
    model.predict(x, batch_size=256, verbose=0)
    infer = len(x) / (time.perf_counter() - t0)
    return {"precision": precision, "batch_size": batch_size, "params": model.count_params(),
            "train_samples_per_s": round(train), "predict_samples_per_s": round(infer)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10000, 25000, 50000])
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--workdir", default="/tmp/kexue-spectra-bench")
    p.add_argument("--skip-cnn", action="store_true")
    p.add_argument("--cnn-steps", type=int, default=20)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, *rest = args.child
        result = preprocess_child(Path(rest[0]), int(rest[1]), int(rest[2])) if kind == "pre" else \
            cnn_child(int(rest[0]), int(rest[1]), rest[2])
        print(json.dumps(result))
        return
    workdir = Path(args.workdir)
    print(f"making {max(args.sizes)} spectrum files in {workdir} (once)...", flush=True)
    make_files(workdir, max(args.sizes))
    results = {"cpus": os.cpu_count(), "preprocess": [], "cnn": []}
    print(f"{'spectra':>8} {'workers':>7} {'seconds':>8} {'spectra/s':>10} {'peak RSS parent':>16} {'worker':>7} {'store':>8}")
    for n in args.sizes:
        r = in_child(__file__, "pre", workdir, n, args.workers)
        results["preprocess"].append(r)
        print(f"{r['n']:>8} {r['workers']:>7} {r['seconds']:>8} {r['spectra_per_s']:>10} "
              f"{r['peak_rss_mb_parent']:>13} MB {r['peak_rss_mb_worker']:>4} MB {r['store_mb']:>5} MB", flush=True)
    if not args.skip_cnn:
        print(f"\nCNN (2600x1 input, 8 residual dilated blocks), {args.cnn_steps} steps after warm-up")
        for precision, bs in (("float32", 64), ("float32", 256), ("mixed_bfloat16", 64)):
            r = in_child(__file__, "cnn", bs, args.cnn_steps, precision)
            results["cnn"].append(r)
            print(f"  {precision:>15} batch {bs:>3}: train {r['train_samples_per_s']:>4} samples/s, "
                  f"predict {r['predict_samples_per_s']:>4} samples/s ({r['params']} weights)", flush=True)
    out = ROOT / "benchmarks" / "results" / "spectra.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n-> {out}")


if __name__ == "__main__":
    main()
