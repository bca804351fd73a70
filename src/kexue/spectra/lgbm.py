"""LightGBM on the hand-crafted spectral features, on the same folds as the CNN."""
from __future__ import annotations

import numpy as np


class SpectraLGBM:
    def __init__(self, params: dict, workdir, seed: int, classes: list):
        self.params, self.workdir, self.seed, self.classes = params, workdir, seed, list(classes)
        self.booster = None

    def fit(self, x_train, y_train, x_valid, y_valid) -> dict:
        import lightgbm as lgb

        p = dict(self.params["lgbm"])
        rounds = int(p.pop("num_boost_round"))
        weight = None
        if self.params.get("class_weight") == "balanced":  # macro-F1 counts every class alike
            counts = np.bincount(y_train, minlength=len(self.classes)).astype(float)
            weight = (len(y_train) / (len(self.classes) * np.maximum(counts, 1)))[y_train]
        train = lgb.Dataset(np.asarray(x_train), y_train, weight=weight, free_raw_data=True)
        # deterministic + force_row_wise: the same trees from the same data, seed and thread count
        self.booster = lgb.train({"deterministic": True, "force_row_wise": True, **p, "objective": "multiclass",
                                  "num_class": len(self.classes), "seed": self.seed, "verbosity": -1},
                                 train, num_boost_round=rounds)
        self.booster.save_model(str(self.workdir / "model.txt"))
        return {"trees": self.booster.num_trees()}

    def predict(self, x) -> np.ndarray:
        return self.booster.predict(np.asarray(x)).reshape(len(x), len(self.classes)).astype(np.float32)
