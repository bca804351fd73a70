"""How the spectra stages grow with the data on one machine: preprocess (text files -> the memory-mapped store),
features (the 592 LightGBM features, a chunk at a time) and one LightGBM fold (the config's parameters, 4/5 of
the rows), at 50,000, 200,000 and the competition's 483,851 training spectra.

    .venv/bin/python benchmarks/scale_bench.py                        # 50k, 200k, 483,851
    .venv/bin/python benchmarks/scale_bench.py --sizes 50000 --stages preprocess features

Spectrum files are made once (1,000 distinct synthetic spectra hard-linked up to the largest size, so parsing
is real; spectra_bench.py's files, in --workdir). Each stage at each size runs in a fresh process, so its peak
RSS is its own. Results: benchmarks/results/scale.json.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
from _bench import in_child, write_results  # noqa: E402
from spectra_bench import make_files, preprocess_child  # noqa: E402

SIZES = [50_000, 200_000, 483_851]


def _peak_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def features_child(workdir: Path, n: int) -> dict:
    import numpy as np

    from kexue.core import config
    from kexue.spectra import data, features
    params = config.resolve(ROOT / "configs" / "spectra" / "features.yaml")
    flux = data.load_set(workdir / f"n{n}" / "store", "train").flux
    t0 = time.perf_counter()
    feats = features.extract(flux, params["bin_size"], params["chunk"], desc=f"features {n}")
    np.save(workdir / f"n{n}" / "features.npy", feats)
    seconds = time.perf_counter() - t0
    return {"n": n, "seconds": round(seconds, 1), "spectra_per_s": round(n / seconds), "peak_rss_mb": _peak_mb(),
            "shape": list(feats.shape), "features_mb": round(feats.nbytes / 2**20)}


def lgbm_child(workdir: Path, n: int, rounds: int) -> dict:
    import numpy as np

    from kexue.core import config
    from kexue.core.folds import assign_folds
    from kexue.spectra import data
    from kexue.spectra.lgbm import SpectraLGBM
    params = config.resolve(ROOT / "configs" / "spectra" / "lgbm.yaml")
    if rounds:
        params["lgbm"]["num_boost_round"] = rounds
    x = np.load(workdir / f"n{n}" / "features.npy", mmap_mode="r")
    y = data.load_set(workdir / f"n{n}" / "store", "train").labels.astype(int)
    folds = assign_folds(5, 0, y=y)
    train, valid = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
    (workdir / f"n{n}" / "fold0").mkdir(exist_ok=True)
    model = SpectraLGBM(params, workdir / f"n{n}" / "fold0", 0, ["galaxy", "qso", "star", "unknown"])
    t0 = time.perf_counter()
    model.fit(x[train], y[train])
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.predict(x[valid])
    predict = time.perf_counter() - t0
    return {"n": n, "train_rows": len(train), "rounds": int(params["lgbm"]["num_boost_round"]),
            "fit_seconds": round(fit, 1), "predict_seconds": round(predict, 1), "peak_rss_mb": _peak_mb()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    p.add_argument("--stages", nargs="+", default=["preprocess", "features", "lgbm"],
                   choices=["preprocess", "features", "lgbm"])
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--lgbm-rounds", type=int, default=0, help="0: the config's num_boost_round")
    p.add_argument("--workdir", default="/tmp/kexue-spectra-bench")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, workdir, n, *rest = args.child
        fn = {"pre": lambda: preprocess_child(Path(workdir), int(n), int(rest[0])),
              "feat": lambda: features_child(Path(workdir), int(n)),
              "lgbm": lambda: lgbm_child(Path(workdir), int(n), int(rest[0]))}[kind]
        print(json.dumps(fn()))
        return
    workdir = Path(args.workdir)
    print(f"making {max(args.sizes):,} spectrum files in {workdir} (once)...", flush=True)
    make_files(workdir, max(args.sizes))
    results = []
    for n in args.sizes:
        row = {"n": n}
        if "preprocess" in args.stages:
            r = in_child(__file__, "pre", workdir, n, args.workers)
            row["preprocess"] = r
            print(f"{n:>8,} preprocess {r['seconds']:>7} s ({r['spectra_per_s']:,}/s), peak RSS parent "
                  f"{r['peak_rss_mb_parent']} MB, worker {r['peak_rss_mb_worker']} MB, store {r['store_mb']} MB",
                  flush=True)
        if "features" in args.stages:
            r = in_child(__file__, "feat", workdir, n)
            row["features"] = r
            print(f"{n:>8,} features   {r['seconds']:>7} s ({r['spectra_per_s']:,}/s), peak RSS {r['peak_rss_mb']} MB, "
                  f"{r['shape'][1]} features ({r['features_mb']} MB)", flush=True)
        if "lgbm" in args.stages:
            r = in_child(__file__, "lgbm", workdir, n, args.lgbm_rounds)
            row["lgbm"] = r
            print(f"{n:>8,} lgbm fold  {r['fit_seconds']:>7} s fit on {r['train_rows']:,} rows x {r['rounds']} rounds, "
                  f"predict {r['predict_seconds']} s, peak RSS {r['peak_rss_mb']} MB", flush=True)
        results.append(row)
    print(f"\n-> {write_results('scale', results)}")


if __name__ == "__main__":
    main()
