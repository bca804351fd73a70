"""`make compare COMP=<comp>`: every finished run of a competition side by side, best first."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import io, plots, runlog
from .config import public

HIDDEN = {"name", "model"}     # and the private keys (config.public)
TUNED_NOTE = ("the config's values were chosen by make tune on these data (its `tuned_on`), so its score on them chose "
              "and is OPTIMISTIC; the study's report (<runs>/_tune/<config>-tune.json) has the honest held-out "
              "comparison. (trial N): a run of a study, honest on its own")


def tuned_here(run: dict) -> bool:
    """The run's config was tuned (make tune, `tuned_on`) on the data this run scores."""
    tuned_on = run.get("params", {}).get("tuned_on")
    return isinstance(tuned_on, dict) and tuned_on.get("data") == run.get("data_fingerprint")
OPTIMISTIC_NOTE = ("the run picked its epochs on the rows it scores (selection: outer), or blends such a run; its "
                   "score flatters it and is not comparable with the others, which are listed first")


def _flatten(d: dict, prefix="") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_differences(runs: list[dict]) -> list[dict]:
    """For each run, the config values that are not the same in every run of the same model."""
    flat = [_flatten(public(r.get("params", {}))) for r in runs]
    diffs = []
    for r, f in zip(runs, flat):
        peers = [g for s, g in zip(runs, flat) if s.get("model") == r.get("model")]
        keys = sorted({k for g in peers for k in g} - HIDDEN)
        diffs.append({k: f.get(k) for k in keys
                      if len({json.dumps(g.get(k), sort_keys=True) for g in peers}) > 1})
    return diffs


def table(runs: list[dict]) -> str:
    if not runs:
        return "no finished runs"
    diffs = config_differences(runs)
    classes = list(dict.fromkeys(c for r in runs for c in plots.breakdown(r)[1]))
    metric = runs[0].get("metric", "score")
    header = ["run", "model", "data", f"OOF {metric}", "folds (mean±std)", *classes, "wall s", "config differs"]
    rows = []
    for r, d in zip(runs, diffs):
        pcf = plots.breakdown(r)[1]
        folds = r.get("fold_scores", [])
        trial = Path(r.get("path", "")) / "tune.json"
        trial = io.read_json(trial)["trial"] if r.get("path") and trial.is_file() else None
        tuned = tuned_here(r)
        rows.append([
            r["run_id"] + (f" (trial {trial})" if trial is not None else ""), str(r.get("model")), str(r.get("data_fingerprint", "?"))[:8],
            f"{r['score']:.4f}" + (" OPTIMISTIC" if r.get("optimistic") or tuned else ""),
            " ".join(f"{s:.3f}" for s in folds) + (f" ({r['fold_mean']:.3f}±{r['fold_std']:.3f})" if folds else ""),
            *[f"{pcf[c]:.3f}" if c in pcf else "-" for c in classes],
            f"{r.get('seconds', {}).get('wall_total', 0):.0f}",
            ", ".join(f"{k}={json.dumps(v)}" for k, v in d.items()) or "-",
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
    note = ["", f"OPTIMISTIC: {OPTIMISTIC_NOTE}"] if any(r.get("optimistic") for r in runs) else []
    if any(tuned_here(r) for r in runs):
        note += ["", f"OPTIMISTIC (tuned): {TUNED_NOTE}"]
    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, rows), *note, *candidates(runs)])


def candidates(runs: list[dict]) -> list[str]:
    """For each blend that chose among candidates (kexue.core.stack): every candidate's honest score, the one
    the test set gets, and each fold's choice."""
    out = []
    for r in runs:
        if not r.get("candidates"):
            continue
        scores = sorted(r["candidates"].items(), key=lambda kv: -kv[1])
        out += ["", f"{r['run_id']}: candidates, honest {r.get('metric', 'score')} (nested cross-fitting):"]
        out += [f"  {name:<28} {s:.4f}" + ("   <- the test set" if name == r.get("chosen") else "")
                for name, s in scores]
        pick = {"one_se": " (the label fitting least within one standard error of the top)",
                "best": " (the top label)"}.get(r.get("pick"), "")
        out.append(f"  each fold's choice, made on the other folds{pick}: {', '.join(r.get('chosen_per_fold', []))} "
                   f"-> {r['score']:.4f}, the run's score")
    return out


def compare(root, plot_path=None) -> str:
    runs = sorted(runlog.completed_runs(root), key=lambda r: (bool(r.get("optimistic")), -r["score"]))
    text = table(runs)
    if runs and plot_path:
        plots.compare_runs(runs, plot_path, runs[0].get("metric", "score"))
        text += f"\n\nplot: {plot_path}"
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Compare the CV logs of all finished runs of a competition.")
    p.add_argument("comp", help="competition name, e.g. spectra")
    p.add_argument("--runs", default="data/runs", help="folder holding <comp>/<run-id>/cv.json")
    p.add_argument("--plot", help="PNG path (default: <runs>/<comp>/compare.png)")
    args = p.parse_args(argv)
    root = Path(args.runs) / args.comp
    if not root.exists():
        raise SystemExit(f"error: no runs for '{args.comp}' in {root}; train a model first (e.g. make {args.comp})")
    print(compare(root, args.plot or root / "compare.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
