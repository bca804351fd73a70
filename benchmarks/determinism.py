"""What TensorFlow's op determinism costs (kexue.core.cv.set_seeds turns it on for every fold; `deterministic:
false` in a model config turns it off): training time of the CAIL tagger and the spectra CNN, with and without,
each measurement in a fresh process after a warm-up epoch that traces every shape.

    .venv/bin/python benchmarks/determinism.py [--repeats 3]      -> benchmarks/results/determinism.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench import ROOT, in_child, write_results


def _cail(epochs: int) -> float:
    from kexue.cail2019.model import build_tagger, dataset
    rng = np.random.default_rng(0)
    x = rng.integers(3, 3000, (4000, 64)).astype(np.int32)
    x[:, 40:] *= rng.random((4000, 1)) < 0.5                        # sentences of two lengths
    y = (rng.random((4000, 20)) < 0.1).astype(np.float32)
    model = build_tagger(3000, 20, {"dim": 128, "dilations": [1, 2, 4, 8, 1], "lr": 3e-3, "loss": "zlpr",
                                    "dropout": 0.1, "gate_dropout": 0.1, "head_dropout": 0.2})
    model.fit(dataset(x, y, 64, 0), epochs=1, verbose=0)           # traces every shape
    t0 = time.perf_counter()
    model.fit(dataset(x, y, 64, 1), epochs=epochs, verbose=0)
    return len(x) * epochs / (time.perf_counter() - t0)


def _cnn(epochs: int) -> float:
    import keras

    from kexue.spectra.cnn import build_model
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 2600, 1)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 512)]
    model = build_model(2600, 4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=64, epochs=epochs, verbose=0)
    return len(x) * epochs / (time.perf_counter() - t0)


def child(model: str, deterministic: str) -> None:
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(0)
    if deterministic == "on":
        tf.config.experimental.enable_op_determinism()
    rows_per_s = {"cail": _cail, "cnn": _cnn}[model](2)
    print(json.dumps({"rows_per_s": rows_per_s}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--models", nargs="+", default=["cail", "cnn"])
    args = p.parse_args()
    results = []
    for model in args.models:
        runs = {"off": [], "on": []}
        for _ in range(args.repeats):            # alternated, so a change in machine load hits both alike
            for mode, measured in runs.items():
                measured.append(in_child(__file__, model, mode)["rows_per_s"])
        speed = {mode: round(statistics.median(r), 1) for mode, r in runs.items()}
        for mode, r in runs.items():
            print(f"{model}: op determinism {mode}: {speed[mode]} rows/s (median of {args.repeats}: "
                  f"{', '.join(f'{x:.0f}' for x in r)})", flush=True)
        cost = 1 - speed["on"] / speed["off"]
        print(f"{model}: determinism costs {cost:+.1%} of training speed", flush=True)
        results.append({"model": model, "rows_per_s": speed, "cost": round(cost, 4), "repeats": args.repeats})
    print(f"-> {write_results('determinism', results).relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sys.path.insert(0, str(ROOT / "src"))
        child(*sys.argv[2:])
    else:
        main()
