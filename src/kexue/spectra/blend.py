"""The spectra ensemble stage (pipelines/spectra/ensemble.py): candidate combinations of the member runs (each
alone, the mean, log-loss weights, stacked logistic regression and LightGBM) with per-class offsets, scored and
chosen by nested cross-fitting (kexue.core.stack)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import runlog, stack
from ..core.blend import write_blend
from ..core.metrics import classification_report, macro_f1
from . import data

INPUTS = {"store": "data/processed/spectra", "runs": "data/runs/spectra"}     # kexue.core.protocol
JSON_INPUTS = ()


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """The candidates of params["candidates"] (each member alone, the mean, log-loss weights, stacks) scored by
    nested cross-fitting on the members' OOF probabilities (kexue.core.stack), the choice made fold by fold on the
    other folds: the run's score is that of "choose, then predict", honest. The test set gets the candidate with
    the best honest score, fitted on every OOF row; when that is a single member, the log says the ensemble does
    not beat it. A run like any other, plus decision.json (the test set's class offsets)."""
    runs_dir, store_dir = Path(inputs["runs"]), inputs["store"]
    members, cvs = runlog.load_members(runs_dir, member_runs, same=("data_fingerprint", "folds_fingerprint", "classes"))
    classes = cvs[0]["classes"]
    y = data.load_set(store_dir, "train").labels.astype(int)
    folds = np.load(Path(store_dir) / "folds.npy")
    n = len(classes)
    score = lambda yy, pp: macro_f1(yy, pp, n)
    configs = [c["params"]["name"] for c in cvs]
    names, oofs, bags = stack.bag_seeds(member_runs, configs, [np.load(m.dir / "oof.npy") for m in members])
    tests = stack.bag_seeds(member_runs, configs, [np.load(m.dir / "test.npy") for m in members])[1]
    rules = stack.multiclass_rules(score, offsets=bool(params["class_offsets"]))
    say = lambda m: print(f"[spectra] ensemble candidate {m}", flush=True)
    try:
        cands = stack.candidates(params["candidates"], names, params, seed=int(params.get("seed", 0)))
        choice = stack.choose(cands, oofs, y, folds, score, rules, progress=say, pick=params.get("pick", "best"))
    except ValueError as e:     # an unknown candidate, too few folds for fitted candidates
        raise SystemExit(f"error: {params['name']}: {e}") from None
    predict, offsets = stack.fit_final(cands, choice.best, oofs, y, folds, choice, rules)
    best = stack.split_label(choice.best, rules)[0]
    report = classification_report(y, choice.ensemble_decisions, classes)
    fold_scores = [macro_f1(y[folds == k], choice.ensemble_decisions[folds == k], n)
                   for k in range(int(folds.max()) + 1)]
    member_labels = [c for c in choice.names if stack.split_label(c, rules)[0] in names]
    best_member = max(member_labels, key=choice.scores.get) if member_labels else None
    extra = {"candidates": dict(choice.scores),
             "candidate_fold_scores": {c: [round(v, 4) for v in f] for c, f in choice.fold_scores.items()},
             "chosen_per_fold": choice.chosen_per_fold, "chosen": choice.best,
             "pick": params.get("pick", "best"), "top": choice.top,
             "best_candidate_macro_f1_optimistic": choice.scores[choice.top],
             "offsets": dict(zip(classes, np.round(offsets, 3).tolist())),
             "bags": {b: r for b, r in bags.items() if len(r) > 1}}
    if isinstance(getattr(cands[best], "weights", None), np.ndarray):
        extra["weights"] = dict(zip(names, np.round(cands[best].weights, 4).tolist()))
    run, result = write_blend(
        runs_dir, params, members, cvs, choice.ensemble_proba, predict(tests), report, fold_scores, classes,
        "macro_f1", extra=extra, side_files={"decision.json": {"offsets": offsets.tolist(), "classes": classes,
                                                               "candidate": choice.best}})
    for line in stack.bag_gains(bags, {m.id: c["score"] for m, c in zip(members, cvs)},
                                {b: score(y[folds >= 0], oofs[i][folds >= 0].argmax(1)) for i, b in enumerate(names)}):
        run.log(line)
    for c, v in choice.scores.items():
        run.log(f"candidate {c}: honest macro-F1 {v:.4f} (folds {' '.join(f'{x:.3f}' for x in choice.fold_scores[c])})"
                f"{'   <- the test set' if c == choice.best else ''}")
    run.log(f"ensemble OOF macro-F1 {result['score']:.4f} (honest: each fold gets the candidate {stack.PICKED[choice.pick]} "
            f"on the other folds: {', '.join(choice.chosen_per_fold)}); the top candidate's own score "
            f"({choice.top} {choice.scores[choice.top]:.4f}) chose and is OPTIMISTIC -> {run.dir}")
    if best in names:
        run.log(f"no combination beats the best member: the test set gets {choice.best} alone")
    elif best_member and choice.scores[choice.best] <= choice.scores[best_member]:
        run.log(f"the ensemble does not beat its best member {best_member}")
    return result
