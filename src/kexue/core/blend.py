"""A blend written as a run of its own, and the plain average of runs (NL2SQL, reading comprehension, the
scaffold). Blend code lives apart from kexue.core.cv because make reruns a stage when a module it imports
changes (kexue.core.codestamp): the training stages import cv, the blend stages import this module, so an
edit to a blend reruns the blends and never retrains a member. The fitted candidates and the honest choice
among them are kexue.core.stack's."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .cv import CVData, load_pred, mean_pred, take, write_run
from .runlog import Run, load_members


def write_blend(runs_dir, params: dict, members: list[Run], member_cvs: list[dict], oof, test, oof_report: dict,
                fold_scores, classes=None, headline: str = "score", extra: dict | None = None,
                side_files: dict | None = None) -> tuple[Run, dict]:
    """A blend of finished runs written as a run of its own (the members' data and folds fingerprints, their
    ids in its params, their OOF scores and summed training time in cv.json), so that compare, evaluate and
    submit treat it like a model. `side_files` (name -> JSON) are written before cv.json marks it complete."""
    run = Run.create(runs_dir, {**params, "members": [m.id for m in members]}, member_cvs[0]["data_fingerprint"],
                     member_cvs[0]["folds_fingerprint"])
    for name, content in (side_files or {}).items():
        io.write_json(run.dir / name, content)
    member_scores = {m.id: c["score"] for m, c in zip(members, member_cvs)}
    optimistic = [m.id for m, c in zip(members, member_cvs) if c.get("optimistic")]
    result = write_run(run, oof, test, oof_report, fold_scores, classes, headline, extra={
        **(extra or {}), "optimistic": bool(optimistic or (extra or {}).get("optimistic")), "members": member_scores,
        "seconds": {"wall_total": round(sum(c["seconds"]["wall_total"] for c in member_cvs), 2)}})
    weights = result.get("weights", {})
    for m, s in member_scores.items():
        run.log(f"member {m}: OOF {headline} {s:.4f}" + (f", weight {weights[m]}" if m in weights else ""))
    return run, result


def average_members(runs_dir, member_runs: list[str]) -> tuple[list[Run], list[dict], Any, Any]:
    """(runs, their cv.json, mean OOF prediction, mean test prediction) of the finished runs a blend averages,
    checked to share data and folds (runlog.load_members)."""
    members, cvs = load_members(Path(runs_dir), member_runs)
    return (members, cvs, mean_pred([load_pred(m.dir, "oof") for m in members]),
            mean_pred([load_pred(m.dir, "test") for m in members]))


def average_blend(runs_dir, params: dict, member_runs: list[str], data: CVData, describe: Callable[[dict], str],
                  score: Callable | None = None) -> dict:
    """The plain ensemble: the members' predictions averaged, scored on the scored rows and on each fold, written
    as a run of its own. Nothing is fitted, so its OOF score is as honest as its members'. `score(rows, pred) ->
    report` scores rows by index (default: data.score on their labels); report[data.headline] is the headline.
    `describe(report)` is the log's detail."""
    score = score or (lambda rows, pred: data.score(take(data.y, rows), pred, data.classes))
    members, cvs, oof, test = average_members(runs_dir, member_runs)
    scored = np.flatnonzero(data.folds >= 0)
    report = score(scored, take(oof, scored))
    fold_scores = [score(rows, take(oof, rows))[data.headline]
                   for rows in (np.flatnonzero(data.folds == k) for k in range(data.n_folds))]
    gain = members_gain(report[data.headline], {m.id: c["score"] for m, c in zip(members, cvs)})
    run, result = write_blend(runs_dir, params, members, cvs, oof, test, report, fold_scores, data.classes,
                              data.headline, extra={"gain": gain})
    run.log(f"ensemble of {len(members)}: score {result['score']:.4f} ({describe(report)}) -> {run.dir}")
    if len(members) > 1:
        run.log(f"ensemble {result['score']:.4f}: {gain['over_best_member']:+.4f} against its best member "
                f"({gain['best_member']}), {gain['over_members_mean']:+.4f} against its members' mean"
                + ("" if gain["over_best_member"] > 0 else "; it does not beat its best member"))
    return result


def members_gain(score: float, member_scores: dict) -> dict:
    """What a plain average buys (seed bags and fold averaging included): its OOF score against its best member's
    and against the members' mean (a member picked at random). Nothing is fitted, so all three are honest."""
    best = max(member_scores, key=member_scores.get)
    return {"best_member": best, "over_best_member": float(score - member_scores[best]),
            "over_members_mean": float(score - np.mean(list(member_scores.values())))}
