"""The CAIL2019 blend stage (pipelines/cail2019/blend.py): combinations of trained runs (their mean, log-loss
weights, a stacked logistic regression per tag) decided with the 0.5 rule or per-tag thresholds tuned on OOF,
scored and chosen by nested cross-fitting (kexue.core.stack). Its thresholds_of reads a run's decision
thresholds for evaluate and submit; no training code imports this module, so editing it reruns the blends (and
what reads their thresholds) alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import cv, io, multilabel, runlog, stack
from ..core.blend import write_blend
from .data import say
from .stages import cv_data

INPUTS = {"features": "data/features/cail2019", "runs": "data/runs/cail2019"}    # kexue.core.protocol
JSON_INPUTS = ()


def thresholds_of(run_dir, n_tags: int) -> np.ndarray:
    path = Path(run_dir) / "thresholds.json"
    return np.asarray(io.read_json(path)["thresholds"], float) if path.exists() else np.full(n_tags, 0.5)


def select_members(params: dict, pointers: list[str]) -> list[str]:
    """The trained runs' pointer files (<model>.s<seed>.run) of the models the blend's member_models names."""
    wanted = params["member_models"]
    chosen = [m for m in pointers if wanted == "all" or Path(m).name.split(".s")[0] in wanted]
    if not chosen:
        raise SystemExit(f"error: blend {params['name']}: none of the trained models {[Path(m).name for m in pointers]} "
                         f"is in its member_models {wanted}; add it to CAIL_MODELS")
    return chosen


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """The candidates of params["candidates"] (default: the members' mean) decided at 0.5, at per-tag thresholds
    tuned on OOF, or either (params["thresholds"]: fixed | tuned | choose), each scored by nested cross-fitting
    (kexue.core.stack): the run's score is that of "choose on the other folds, then predict", honest. The test set
    gets the label with the best honest score, fitted on every OOF row, its thresholds in thresholds.json."""
    runs_dir = inputs["runs"]
    members, cvs = runlog.load_members(runs_dir, member_runs)
    d = cv_data(params, inputs)
    configs = [c["params"]["name"] for c in cvs]
    names, oofs, bags = stack.bag_seeds(member_runs, configs, [cv.load_pred(m.dir, "oof") for m in members])
    tests = stack.bag_seeds(member_runs, configs, [cv.load_pred(m.dir, "test") for m in members])[1]
    try:
        rules = stack.multilabel_rules(np.round(np.arange(*params["grid"]), 6), params.get("thresholds", "fixed"))
        cands = stack.candidates(params.get("candidates", ["mean"]), names, params,
                                 seed=int(params.get("seed", 0)))
        choice = stack.choose(cands, oofs, d.y, d.folds, multilabel.cail_score, rules,
                              progress=lambda m: say(f"blend {params['name']}: {m}"), pick=params.get("pick", "best"))
    except ValueError as e:     # an unknown candidate, stack_lgbm on tags, too few folds for fitted candidates
        raise SystemExit(f"error: blend {params['name']}: {e}") from None
    predict, thresholds = stack.fit_final(cands, choice.best, oofs, d.y, d.folds, choice, rules)
    mode = "tuned" if stack.split_label(choice.best, rules)[1] else "fixed"
    decisions = choice.ensemble_decisions
    report = multilabel.report(d.y, decisions, d.classes)
    fold_scores = [multilabel.cail_score(d.y[d.folds == k], decisions[d.folds == k]) for k in range(d.n_folds)]
    extra = {"thresholds": mode, "chosen": choice.best, "chosen_per_fold": choice.chosen_per_fold,
             "candidates": dict(choice.scores),
             "pick": params.get("pick", "best"), "top": choice.top,
             "best_candidate_cail_score_optimistic": choice.scores[choice.top],
             "bags": {b: r for b, r in bags.items() if len(r) > 1}}
    run, result = write_blend(
        runs_dir, params, members, cvs, choice.ensemble_proba, predict(tests), report, fold_scores,
        headline="cail_score", extra=extra,
        side_files={"thresholds.json": {"thresholds": [float(t) for t in thresholds], "tags": d.classes,
                                        "mode": mode, "candidate": choice.best}})
    for line in stack.bag_gains(bags, {m.id: c["score"] for m, c in zip(members, cvs)},
                                {b: multilabel.cail_score(d.y, oofs[i] > 0.5) for i, b in enumerate(names)}):
        run.log(line)
    if len(choice.names) > 1:
        for c, v in choice.scores.items():
            run.log(f"candidate {c}: honest CAIL score {v:.4f}{'   <- the test set' if c == choice.best else ''}")
    run.log(f"blend of {len(members)} ({choice.best if len(choice.names) > 1 else mode + ' thresholds'}): CAIL score "
            f"{result['score']:.4f} (micro-F1 {report['micro_f1']:.4f}, macro-F1 {report['macro_f1']:.4f}) "
            f"-> {run.dir}")
    if len(choice.names) > 1:
        run.log(f"(honest: each fold got the label {stack.PICKED[choice.pick]} on the other folds: "
                f"{', '.join(choice.chosen_per_fold)}; the top label's own score ({choice.top} "
                f"{choice.scores[choice.top]:.4f}) chose and is OPTIMISTIC)")
    return result
