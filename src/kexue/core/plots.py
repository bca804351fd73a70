"""PNG plots written atomically (matplotlib's Agg backend: no display needed)."""
from __future__ import annotations

import numpy as np

from . import io


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    with io.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)


def confusion_matrix(cm, classes, path, title: str = "") -> None:
    """Counts, with each cell shaded by the share of its true class (so rare classes stay visible)."""
    plt = _pyplot()
    cm = np.asarray(cm)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * n, 1.0 + 0.6 * n))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(n), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def breakdown(run: dict) -> tuple[str, dict]:
    """Per-class F1 for a classifier; component accuracies (or other sub-scores) otherwise."""
    oof = run.get("oof", {})
    return ("per-class F1", oof["per_class_f1"]) if oof.get("per_class_f1") else ("components", oof.get("components") or {})


def compare_runs(runs: list[dict], path, metric: str) -> None:
    """OOF score per run as a bar, each fold's score as a dot; per-class F1 (or components) beside it."""
    plt = _pyplot()
    names = [r["run_id"] + (" (OPTIMISTIC)" if r.get("optimistic") else "") for r in runs]
    classes = list(dict.fromkeys(c for r in runs for c in breakdown(r)[1]))
    fig, axes = plt.subplots(1, 2 if classes else 1, figsize=(12 if classes else 7, 1.2 + 0.45 * len(runs)),
                             squeeze=False)
    ax = axes[0, 0]
    y = np.arange(len(runs))
    ax.barh(y, [r["score"] for r in runs], color=["#e0b0a0" if r.get("optimistic") else "#8fb3d9" for r in runs],
            label="OOF")
    for i, r in enumerate(runs):
        ax.scatter(r.get("fold_scores", []), [i] * len(r.get("fold_scores", [])), color="#1f3b73", s=12, zorder=3,
                   label="folds" if i == 0 else None)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(metric)
    lo = min([r["score"] for r in runs] + [s for r in runs for s in r.get("fold_scores", [])])
    ax.set_xlim(max(0.0, lo - 0.05), 1.0)
    for i, r in enumerate(runs):  # inside the bar's left end, clear of the fold dots
        ax.text(ax.get_xlim()[0] + 0.005, i, f"{r['score']:.4f}", va="center", fontsize=8)
    ax.legend(loc="lower right", fontsize=8)
    if classes:
        ax2 = axes[0, 1]
        grid = np.array([[breakdown(r)[1].get(c, np.nan) for c in classes] for r in runs], dtype=float)
        im = ax2.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                ax2.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=8)
        ax2.set_xticks(range(len(classes)), classes, rotation=30 if len(classes) > 5 else 0, fontsize=8)
        ax2.set_yticks([])
        ax2.set_title(f"{breakdown(runs[0])[0]} (OOF)", fontsize=9)
        fig.colorbar(im, ax=ax2, fraction=0.03)
    _save(fig, path)
