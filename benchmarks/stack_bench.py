"""How long the blend stage's nested cross-fitting takes (kexue.core.stack.choose and fit_final): synthetic
members' OOF probabilities for N rows x C classes x M members on 5 folds, each candidate timed on its own.

    python benchmarks/stack_bench.py                       # 500,000 rows x 4 classes x 5 members
    python benchmarks/stack_bench.py --rows 20000 --candidates members mean weights stack_lr stack_lgbm

Writes benchmarks/results/stack.json. The time is dominated by the fitted candidates (5 outer x 4 inner fits
each, and the final fit) and by the offset search of the "+offsets" labels (coordinate ascent on macro-F1)."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from _bench import ROOT, write_results

sys.path.insert(0, str(ROOT / "src"))
from kexue.core import folds as folds_lib  # noqa: E402
from kexue.core import stack  # noqa: E402
from kexue.core.metrics import macro_f1  # noqa: E402


def members(n: int, c: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    probas = []
    for i in range(m):
        z = (1.0 + 0.3 * i) * np.eye(c)[y] + rng.normal(0, 1.0, (n, c))
        e = np.exp(z - z.max(1, keepdims=True))
        probas.append((e / e.sum(1, keepdims=True)).astype(np.float32))
    return probas, y, folds_lib.assign_folds(5, seed, y=y)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=500_000)
    p.add_argument("--classes", type=int, default=4)
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--candidates", nargs="+", default=["members", "mean", "weights", "stack_lr", "stack_lgbm"])
    args = p.parse_args()
    probas, y, folds = members(args.rows, args.classes, args.members)
    score = lambda yy, d: macro_f1(yy, d, args.classes)
    rules = stack.multiclass_rules(score)
    names = [f"m{i}" for i in range(args.members)]
    results = []
    for kind in args.candidates:
        cands = stack.candidates([kind], names)
        start = time.perf_counter()
        choice = stack.choose(cands, probas, y, folds, score, rules)
        predict, _ = stack.fit_final(cands, choice.best, probas, y, folds, choice, rules)
        predict([p[:1000] for p in probas])
        seconds = time.perf_counter() - start
        best = max(choice.scores.values())
        results.append({"candidate": kind, "labels": len(choice.names), "seconds": round(seconds, 1),
                        "best_honest_macro_f1": round(best, 4)})
        print(f"{kind:<12} {len(choice.names):>3} labels  {seconds:8.1f} s   best honest macro-F1 {best:.4f}",
              flush=True)
    total = sum(r["seconds"] for r in results)
    print(f"all: {total:.1f} s for {args.rows:,} rows x {args.classes} classes x {args.members} members")
    path = write_results("stack", {"rows": args.rows, "classes": args.classes, "members": args.members,
                                   "candidates": results, "total_seconds": round(total, 1)})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
