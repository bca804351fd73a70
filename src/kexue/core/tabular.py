"""Fold models for a table of numbers and a class per row, in the core CV loop's interface (fit on the fold's
training rows, predict (rows, classes) probabilities). The spectra LightGBM and every scaffolded competition
(kexue.core.scaffold) use them; a competition names them in its stages.MODELS."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def balanced_weights(y, n_classes: int) -> np.ndarray:
    """Per-row weights that give every class the same total: macro-F1 counts every class alike."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    return (len(y) / (n_classes * np.maximum(counts, 1)))[y]


class LGBMClassifier:
    """LightGBM multiclass; params: `lgbm` (LightGBM's parameters, num_boost_round among them) and
    `class_weight` (balanced | null). Deterministic: the same trees from the same data, seed and threads."""

    def __init__(self, params: dict, workdir, seed: int, classes: list):
        self.params, self.workdir, self.seed, self.classes = params, Path(workdir), seed, list(classes)
        self.booster = None

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        import lightgbm as lgb

        p = dict(self.params["lgbm"])
        rounds = int(p.pop("num_boost_round"))
        y_train = np.asarray(y_train)
        weight = balanced_weights(y_train, len(self.classes)) if self.params.get("class_weight") == "balanced" else None
        train = lgb.Dataset(np.asarray(x_train), y_train, weight=weight, free_raw_data=True)
        self.booster = lgb.train({"deterministic": True, "force_row_wise": True, **p, "objective": "multiclass",
                                  "num_class": len(self.classes), "seed": self.seed, "verbosity": -1},
                                 train, num_boost_round=rounds)
        self.booster.save_model(str(self.workdir / "model.txt"))
        return {"trees": self.booster.num_trees()}

    def predict(self, x) -> np.ndarray:
        return self.booster.predict(np.asarray(x)).reshape(len(x), len(self.classes)).astype(np.float32)


class LinearClassifier:
    """Standardised features and a multinomial logistic regression; params: `C` (inverse regularisation) and
    `class_weight` (balanced | null). A quick, different member for a blend."""

    def __init__(self, params: dict, workdir, seed: int, classes: list):
        self.params, self.workdir, self.seed, self.classes = params, Path(workdir), seed, list(classes)
        self.model = None

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        weight = "balanced" if self.params.get("class_weight") == "balanced" else None
        self.model = make_pipeline(StandardScaler(), LogisticRegression(
            C=float(self.params["C"]), class_weight=weight, max_iter=int(self.params.get("max_iter", 1000)),
            random_state=self.seed))
        self.model.fit(np.asarray(x_train), np.asarray(y_train))
        return {"iterations": int(np.max(self.model[-1].n_iter_))}

    def predict(self, x) -> np.ndarray:
        out = np.zeros((len(x), len(self.classes)), np.float32)
        out[:, self.model[-1].classes_] = self.model.predict_proba(np.asarray(x))   # a class absent from training: 0
        return out
