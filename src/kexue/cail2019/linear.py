"""`model: tfidf_lr`: character 1-3-gram TF-IDF and one logistic regression per tag, on the same document folds
as the DGC tagger. A different kind of model (bag of n-grams, linear, no training schedule), seconds to train,
so its mistakes differ from the network's: the cheap, diverse member of the CAIL2019 blend. What the tfidf_lr
stage imports by name (stages.model_factory), so its code stamp covers the model."""
from __future__ import annotations

import numpy as np

PRIVATE_USE = 0xF0000      # char id i -> the code point PRIVATE_USE + i: n-grams of ids are n-grams of characters


def texts(x: np.ndarray) -> list[str]:
    """Each 0-padded row of char ids as a string of one code point per id (the encoder's vocabulary, so a char
    unseen in training is its <unk> here too)."""
    x = np.asarray(x)
    return ["".join(map(chr, (PRIVATE_USE + row[row != 0]).tolist())) for row in x]


class CAILTfidfLinear:
    """params: ngram_max, min_df, max_features, sublinear_tf, C, class_weight (balanced | null). Probabilities
    decide at 0.5 like the network's, so the two average in a blend."""
    selects = False         # nothing picked on validation rows: the CV loop gives it every training row

    def __init__(self, params: dict, workdir, seed: int, classes):
        self.params, self.seed, self.classes = params, seed, list(classes)
        self.vectorizer, self.models = None, []

    def fit(self, x_train, y_train, x_valid=None, y_valid=None) -> dict:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        p = self.params
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, int(p["ngram_max"])),
                                          min_df=int(p["min_df"]), max_features=p.get("max_features"),
                                          sublinear_tf=bool(p["sublinear_tf"]), dtype=np.float32)
        features = self.vectorizer.fit_transform(texts(x_train))
        y_train = np.asarray(y_train)
        weight = "balanced" if p.get("class_weight") == "balanced" else None
        self.models = []
        for t in range(y_train.shape[1]):
            if y_train[:, t].min() == y_train[:, t].max():      # a tag never (or always) on in these rows
                self.models.append(float(y_train[0, t]))
                continue
            model = LogisticRegression(C=float(p["C"]), class_weight=weight, solver="liblinear",
                                       random_state=self.seed)
            self.models.append(model.fit(features, y_train[:, t]))
        return {"n_features": int(features.shape[1])}

    def predict(self, x) -> np.ndarray:
        features = self.vectorizer.transform(texts(x))
        out = np.zeros((features.shape[0], len(self.models)), np.float32)
        for t, model in enumerate(self.models):
            out[:, t] = model if isinstance(model, float) else model.predict_proba(features)[:, 1]
        return out
