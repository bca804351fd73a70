"""Models on the flux itself, scaled and averaged into bins: members that see the whole spectrum at once where
LightGBM sees hand-made line and band features and the CNN local patterns, so their mistakes differ from theirs.

    flux_lr    a logistic regression on the bins
    flux_knn   the nearest training spectra (distance-weighted) in a PCA of the bins: no parametric form at all
    flux_rf    a random forest on the bins: deep trees on bootstrap samples, averaged, where LightGBM boosts shallow
               ones on the hand-made features, so its errors are its own

`views` (scaling -> bin size, features.normalise) say what each sees: `continuum: 10` the lines and bands with the
continuum divided out, `median: 50` the broad shape with its slope. What the flux_lr/flux_knn/flux_rf stages import by
name (stages.MODELS), so their code stamps cover the models."""
from __future__ import annotations

import numpy as np

from ..core.tabular import LinearClassifier
from .features import SCALINGS, normalise


def downsample(flux, bin_size: int, scaling: str, chunk: int = 4096) -> np.ndarray:
    """(n, length // bin_size) float32: each spectrum scaled (features.normalise), then the mean of each bin of
    `bin_size` fluxes (a few bins' worth at the red end are dropped when the length is not a multiple)."""
    n = len(flux)
    out = None
    for start in range(0, n, chunk):              # a memmap in slices: the whole flux need not fit in memory
        x = normalise(np.asarray(flux[start:start + chunk]), scaling)
        width = x.shape[1] // bin_size * bin_size
        part = x[:, :width].reshape(len(x), -1, bin_size).mean(2)
        out = np.empty((n, part.shape[1]), np.float32) if out is None else out
        out[start:start + len(x)] = part
    return out if out is not None else np.zeros((0, 0), np.float32)


def views(flux, spec: dict) -> np.ndarray:
    """The binned views of `spec` ({scaling: bin size}) side by side, (n, sum of bins) float32."""
    for scaling in spec:
        if scaling not in SCALINGS:
            raise SystemExit(f"error: views: unknown scaling '{scaling}' (choose from {', '.join(SCALINGS)})")
    return np.concatenate([downsample(flux, int(b), s) for s, b in spec.items()], 1)


class SpectraFluxLinear(LinearClassifier):
    """`model: flux_lr` in configs/spectra/*.yaml: params views, C, class_weight."""

    def _x(self, flux) -> np.ndarray:
        return views(flux, self.params["views"])

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        return super().fit(self._x(x_train), y_train)

    def predict(self, x) -> np.ndarray:
        return super().predict(self._x(x))


class SpectraFluxKNN:
    """`model: flux_knn`: params views, pca (components), neighbours. Standardised bins, a PCA fitted on the
    fold's training spectra, then the nearest training spectra vote, weighted by 1 / distance. A class with no
    neighbour gets 0: averaged with the other members' probabilities in the blend."""
    selects = False

    def __init__(self, params: dict, workdir, seed: int, classes: list):
        self.params, self.seed, self.classes = params, seed, list(classes)
        self.model = None

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        from sklearn.decomposition import PCA
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        x = views(x_train, self.params["views"])
        components = min(int(self.params["pca"]), x.shape[0] - 1, x.shape[1])
        self.model = make_pipeline(StandardScaler(), PCA(components, random_state=self.seed),
                                   KNeighborsClassifier(min(int(self.params["neighbours"]), len(x)), weights="distance"))
        self.model.fit(x, np.asarray(y_train))
        return {"pca_variance": round(float(self.model[1].explained_variance_ratio_.sum()), 4)}

    def predict(self, x) -> np.ndarray:
        out = np.zeros((len(x), len(self.classes)), np.float32)
        out[:, self.model[-1].classes_] = self.model.predict_proba(views(x, self.params["views"]))
        return out


class SpectraFluxForest:
    """`model: flux_rf`: params views, trees, max_features (share of the bins each split may use), min_leaf,
    class_weight. A forest averages fully grown trees on bootstrap samples: its probabilities are smooth where
    the LightGBM's are sharp, and its mistakes fall elsewhere (the point of a member)."""
    selects = False

    def __init__(self, params: dict, workdir, seed: int, classes: list):
        self.params, self.seed, self.classes = params, seed, list(classes)
        self.model = None

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        from sklearn.ensemble import RandomForestClassifier
        p = self.params
        share = p["max_features"]           # sklearn reads a float as a share of the bins, an int > 1 as a count
        if share is not None:
            share = float(share) if share <= 1 else int(share)
        self.model = RandomForestClassifier(int(p["trees"]), max_features=share,
                                            min_samples_leaf=int(p["min_leaf"]), class_weight=p["class_weight"],
                                            random_state=self.seed, n_jobs=-1)   # same trees whatever the cores
        self.model.fit(views(x_train, p["views"]), np.asarray(y_train))
        return {}

    def predict(self, x) -> np.ndarray:
        out = np.zeros((len(x), len(self.classes)), np.float32)
        out[:, self.model.classes_] = self.model.predict_proba(views(x, self.params["views"]))
        return out
