"""Ensembles chosen honestly: candidate combiners of the members' OOF probabilities (each member alone, their
mean, weights fitted on log-loss, second-level models), each scored by nested cross-fitting, and the choice
among them made fold by fold on the other folds.

The inputs are the members' OOF probabilities (each row predicted by a model that never saw it), the labels and
the outer folds the members were trained on. For each outer fold k:
  - a candidate is fitted on the rows of the other folds;
  - its decision rule (per-class offsets on log-probabilities, fitted for the metric) is fitted on the
    candidate's inner out-of-fold predictions over those rows (refitted without each inner fold), so the
    offsets see probabilities like the ones fold k gets;
  - fold k is predicted and decided. Nothing the blend fits for fold k has seen a label of fold k (the members'
    OOF probabilities of the other folds come from models that trained on fold k: stacking's usual small leak).
A candidate's honest score is the metric on the decisions so made for every fold. The ensemble's headline is
the score of the whole procedure "choose a candidate on the other folds, then predict": fold k gets the
candidate with the best inner score there. The best of the candidates' honest scores is not honest (it chose),
and is labelled so. The test set gets the candidate with the best honest score, fitted on every OOF row, its
offsets fitted on its outer OOF predictions.

"Best" is the top score (`pick="best"`, the default), or with `pick="one_se"` the one-standard-error rule: among
the labels whose score is within one standard error of the top (the error of their paired fold-by-fold
difference from it), the one that fits the least (a member or the mean fit nothing; a fitted combiner and a
fitted rule add one each), ties by score. On a few hundred rows the top of a dozen noisy scores is partly luck
(the winner's curse), and what fits more wins such draws more often; the rule gives up a real but small gain to
avoid them. On the real data here it moved the headline by -0.009 to +0.006 (docs/ensembles.md), so it is not the default.

Single-label multi-class (spectra, the scaffold: probabilities (n, classes), decided by the argmax, or with
per-class offsets) and multi-label (CAIL2019: probabilities (n, tags) each deciding at 0.5, or at per-tag
thresholds tuned for F1). A candidate is any object with fit(probas, y) -> a function of probas; `rules`
(multiclass_rules, multilabel_rules) say how probabilities become decisions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import ensemble as ens

EPS = 1e-7


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, EPS, 1.0))


def _truth(y, proba) -> np.ndarray:
    """The probability each prediction gave to what happened: p(true class) per row (y: class ids), or per
    (row, tag) p when the tag is on and 1 - p when off (y: multi-hot)."""
    y = np.asarray(y)
    if y.ndim == 1:
        return proba[np.arange(len(y)), y]
    return np.where(y > 0, proba, 1.0 - proba)


def log_loss(y, proba) -> float:
    """Mean negative log-likelihood of what happened: multi-class log-loss, or the binary cross-entropy of each
    tag (a proper scoring rule: only the true probabilities minimise it)."""
    return float(-_log(_truth(y, np.asarray(proba, np.float64))).mean())


# ---------------------------------------------------------------- candidates

class Member:
    """One member alone (nothing fitted)."""
    fits = False

    def __init__(self, index: int):
        self.index = index

    def fit(self, probas, y):
        return lambda ps: np.asarray(ps[self.index], np.float32)


class Mean:
    """The members' probabilities averaged (nothing fitted)."""
    fits = False

    def fit(self, probas, y):
        return lambda ps: np.mean(ps, 0).astype(np.float32)


class LogLossWeights:
    """Weights on the simplex (a softmax of free parameters) minimising the log-loss of the weighted mean: a
    proper score, smooth, so a few hundred L-BFGS steps find them where a macro-F1 grid would chase noise."""
    fits = True

    def fit(self, probas, y):
        from scipy.optimize import minimize
        # each member's probability of what happened, per row (and tag): the mixture's is their weighted mean
        truth = np.stack([_truth(y, np.asarray(p, np.float64)).ravel() for p in probas])

        def loss(a):
            w = np.exp(a - a.max())
            w /= w.sum()
            mix = np.clip(w @ truth, EPS, None)
            grad_w = -(truth / mix).mean(1)                            # d loss / d w
            return -np.log(mix).mean(), w * (grad_w - w @ grad_w)     # chain rule through the softmax

        a = minimize(loss, np.zeros(len(probas)), jac=True, method="L-BFGS-B").x
        self.weights = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
        w = self.weights
        return lambda ps: ens.blend(ps, w)


class StackLogistic:
    """Multi-class: a multinomial logistic regression on the members' log-probabilities (m x classes features).
    Multi-label: per tag, a logistic regression on the members' logits of that tag (m features): it learns how
    far to trust each member's probability, which a mean cannot when one member is sharp and another smooth."""
    fits = True

    def __init__(self, C: float = 1.0, seed: int = 0):
        self.C, self.seed = float(C), seed

    def fit(self, probas, y):
        from sklearn.linear_model import LogisticRegression
        if np.asarray(y).ndim == 2:
            return self._fit_per_tag(probas, np.asarray(y))
        n_classes = probas[0].shape[1]
        model = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        model.fit(np.hstack([_log(p) for p in probas]), y)

        def predict(ps):
            out = np.zeros((len(ps[0]), n_classes), np.float32)
            out[:, model.classes_] = model.predict_proba(np.hstack([_log(p) for p in ps]))
            return out
        return predict

    def _fit_per_tag(self, probas, y):
        from sklearn.linear_model import LogisticRegression
        logit = lambda p: _log(p) - _log(1.0 - p)
        models = []
        for t in range(y.shape[1]):
            if y[:, t].min() == y[:, t].max():             # never (or always) on in these rows: a constant
                models.append(float(y[0, t]))
                continue
            x = np.stack([logit(p[:, t]) for p in probas], 1)
            models.append(LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed).fit(x, y[:, t]))

        def predict(ps):
            out = np.empty((len(ps[0]), len(models)), np.float32)
            for t, m in enumerate(models):
                out[:, t] = m if isinstance(m, float) else m.predict_proba(
                    np.stack([logit(p[:, t]) for p in ps], 1))[:, 1]
            return out
        return predict


class StackLGBM:
    """A small LightGBM on the members' probabilities: it can learn where each member is to be trusted."""
    fits = True

    def __init__(self, params: dict | None = None, seed: int = 0):
        self.params = {"num_boost_round": 100, "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 10,
                       "lambda_l2": 1.0, **(params or {})}
        self.seed = seed

    def fit(self, probas, y):
        import lightgbm as lgb
        if np.asarray(y).ndim == 2:
            raise ValueError("stack_lgbm serves single-label tasks; for multi-label blends use stack_lr")
        n_classes = probas[0].shape[1]
        p = dict(self.params)
        rounds = int(p.pop("num_boost_round"))
        booster = lgb.train({"deterministic": True, "force_row_wise": True, "num_threads": 2, **p,
                             "objective": "multiclass", "num_class": n_classes, "seed": self.seed, "verbosity": -1},
                            lgb.Dataset(np.hstack(probas), np.asarray(y)), num_boost_round=rounds)
        return lambda ps: booster.predict(np.hstack(ps)).reshape(len(ps[0]), n_classes).astype(np.float32)


def candidates(names: list[str], member_names: list[str], params: dict | None = None,
               seed: int = 0) -> dict[str, object]:
    """The candidates a blend config names: `members` (each member alone), `mean`, `weights` (log-loss),
    `stack_lr`, `stack_lgbm` (params: the config's stack_lr / stack_lgbm sections)."""
    params = params or {}
    out = {}
    for name in names:
        if name == "members":
            out.update({m: Member(i) for i, m in enumerate(member_names)})
        elif name == "mean":
            out["mean"] = Mean()
        elif name == "weights":
            out["weights"] = LogLossWeights()
        elif name == "stack_lr":
            out["stack_lr"] = StackLogistic(seed=seed, **(params.get("stack_lr") or {}))
        elif name == "stack_lgbm":
            out["stack_lgbm"] = StackLGBM(params.get("stack_lgbm"), seed=seed)
        else:
            raise ValueError(f"unknown candidate {name!r}; the candidates are members, mean, weights, stack_lr, "
                             f"stack_lgbm")
    return out


# ---------------------------------------------------------------- seed bags

def bag_seeds(run_ids: list[str], model_names: list[str], probas: list[np.ndarray]):
    """Members trained from one model config with different seeds (`*_SEEDS="1 2 3"`) averaged into one bag
    before anything is fitted on them: a bag is one candidate, "<config>-bag<n>", not n near-copies competing
    for the per-fold choice. Returns (names, probabilities, {bag name: its run ids}); a config with one run
    keeps its run id."""
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(model_names):
        groups.setdefault(m, []).append(i)
    names, out, bags = [], [], {}
    for m, idx in groups.items():
        name = run_ids[idx[0]] if len(idx) == 1 else f"{m}-bag{len(idx)}"
        names.append(name)
        out.append(np.mean([probas[i] for i in idx], 0).astype(np.float32))
        bags[name] = [run_ids[i] for i in idx]
    return names, out, bags


def bag_gains(bags: dict, member_scores: dict, bag_scores: dict) -> list[str]:
    """One line per seed bag: its OOF score against its seeds' (nothing is fitted in a bag, so both are
    honest)."""
    lines = []
    for name, runs in bags.items():
        if len(runs) > 1:
            singles = [member_scores[r] for r in runs]
            lines.append(f"seed bag {name}: {bag_scores[name]:.4f} against its {len(runs)} seeds "
                         f"{' '.join(f'{v:.4f}' for v in singles)} (mean {np.mean(singles):.4f}): "
                         f"{bag_scores[name] - np.mean(singles):+.4f}")
    return lines


# ---------------------------------------------------------------- decision rules

def multiclass_rules(score: Callable, offsets: bool = True) -> dict:
    """How (n, classes) probabilities become class ids: the argmax (suffix ""), and per-class offsets on the
    log-probabilities fitted for the metric ("+offsets"). Each rule: (fit(proba, y) -> b, decide(proba, b))."""
    rules = {"": (lambda p, y: np.zeros(p.shape[1]), ens.decide)}
    if offsets:
        rules["+offsets"] = (lambda p, y: ens.fit_offsets(p, y, score)[0], ens.decide)
    return rules


def multilabel_rules(grid, mode: str = "choose") -> dict:
    """How (n, tags) probabilities become on/off: each tag at 0.5 ("", mode fixed), at a threshold per tag tuned
    for its F1 on `grid` ("+thresholds", mode tuned), or both for the nested choice to pick (mode choose)."""
    from . import multilabel
    if mode not in ("fixed", "tuned", "choose"):
        raise ValueError(f"thresholds must be fixed, tuned or choose, not {mode!r}")
    decide = lambda p, t: p > np.asarray(t)
    rules = {}
    if mode in ("fixed", "choose"):
        rules[""] = (lambda p, y: np.full(p.shape[1], 0.5), decide)
    if mode in ("tuned", "choose"):
        rules["+thresholds"] = (lambda p, y: multilabel.tune_thresholds(y, p, grid, default=0.5), decide)
    return rules


# ---------------------------------------------------------------- nested cross-fitting

def _cross_fit(candidate, probas, y, folds, rows) -> np.ndarray:
    """The candidate's out-of-fold probabilities over `rows`, by the folds those rows are in."""
    out = None
    for k in np.unique(folds[rows]):
        held = rows[folds[rows] == k]
        train = rows[folds[rows] != k]
        pred = candidate.fit([p[train] for p in probas], y[train])([p[held] for p in probas])
        out = np.zeros((len(y), pred.shape[1]), np.float32) if out is None else out
        out[held] = pred
    return out[rows]


def _cross_decided(rule, proba, y, folds) -> np.ndarray:
    """Decisions of each fold by a rule fitted on the other folds: the inner score that picks a candidate for
    an outer fold must not flatter the rules that fit more (offsets fitted and scored on the same rows would)."""
    fit_rule, decide = rule
    if len(np.unique(folds)) < 2:       # two outer folds leave one here: nothing to fit on but the rows themselves
        return decide(proba, fit_rule(proba, y))
    out = None
    for k in np.unique(folds):
        held = folds == k
        d = decide(proba[held], fit_rule(proba[~held], y[~held]))
        out = np.zeros((len(y), *d.shape[1:]), d.dtype) if out is None else out
        out[held] = d
    return out


@dataclass
class Choice:
    """What choose() found: each candidate's honest decisions and scores, the per-fold choice, and the
    ensemble's honest decisions (the chosen candidate's in each fold)."""
    names: list[str]
    decisions: dict[str, np.ndarray]            # label (candidate[+offsets]) -> honest decisions of every row
    proba: dict[str, np.ndarray]                # candidate -> outer OOF probabilities (fitted without the fold)
    scores: dict[str, float]                    # candidate -> honest score
    fold_scores: dict[str, list[float]]
    inner_scores: list[dict[str, float]]        # fold -> candidate -> score on the other folds
    chosen_per_fold: list[str]
    ensemble_decisions: np.ndarray
    ensemble_proba: np.ndarray
    best: str                                   # the candidate with the best honest score: the test set's
    fitted: dict[str, list] = field(default_factory=dict)   # label -> each fold's decision params
    top: str = ""                               # the top honest score's label (differs from best under one_se)
    pick: str = "best"                          # how best and chosen_per_fold were picked (pick_label)


PICKS = ("one_se", "best")
PICKED = {"one_se": "fitting least within one standard error of the best",      # for the logs
          "best": "that scored best"}


def pick_label(scores: dict[str, float], fold_scores: dict[str, list[float]], fits: dict[str, int],
               order: list[str], how: str = "best") -> str:
    """The label `how` picks from `scores` (higher is better): "best" the top score (ties: listed first);
    "one_se" the label fitting least (`fits`) among those within one standard error of the top, where the error
    is that of the mean paired difference of their `fold_scores` from the top's (ties: higher score, then listed
    first). One fold has no error to measure: the top score."""
    if how not in PICKS:
        raise ValueError(f"unknown pick {how!r}; choose from {', '.join(PICKS)}")
    rank = lambda c: (scores[c], -order.index(c))
    top = max(scores, key=rank)
    if how == "best" or len(fold_scores[top]) < 2:
        return top
    near = []
    for c in scores:
        diff = np.asarray(fold_scores[top]) - np.asarray(fold_scores[c])
        if scores[top] - scores[c] <= diff.std(ddof=1) / np.sqrt(len(diff)) + 1e-12:
            near.append(c)
    return min(near, key=lambda c: (fits[c], -scores[c], order.index(c)))


def choose(cands: dict[str, object], probas: list[np.ndarray], y, folds, score: Callable, rules: dict | None = None,
           progress: Callable[[str], None] | None = None, pick: str = "best") -> Choice:
    """Nested cross-fitting of every candidate (see the module's docstring). `score(y, decisions) -> float`,
    higher is better. Each candidate is decided by every rule (default multiclass_rules(score): the argmax, and
    per-class offsets as "<name>+offsets"): a rule fitted for the metric on a few hundred rows can cost more
    than it gives, and the nested choice is what tells. `pick` (pick_label) chooses among the labels, in each
    fold on its inner scores and for the test set on the honest ones. Rows with fold -1 (never scored) are left
    out."""
    if pick not in PICKS:
        raise ValueError(f"unknown pick {pick!r}; choose from {', '.join(PICKS)}")
    y, folds = np.asarray(y), np.asarray(folds)
    rules = multiclass_rules(score) if rules is None else rules
    scored = np.flatnonzero(folds >= 0)
    ks = [int(k) for k in np.unique(folds[scored])]
    shape = probas[0].shape[1:]
    if len(ks) < 3 and any(c.fits for c in cands.values()):
        if progress:
            progress(f"left out {', '.join(n for n, c in cands.items() if c.fits)}: a fitted candidate needs 3 folds "
                     f"or more to be scored honestly (these rows have {len(ks)})")
        cands = {n: c for n, c in cands.items() if not c.fits}
        if not cands:
            raise ValueError(f"every candidate is fitted and needs 3 folds or more (these rows have {len(ks)}); "
                             f"add members or mean to the candidates, or use more folds")
    decisions, proba, scores, fold_scores, fitted, fits = {}, {}, {}, {}, {}, {}
    inner = [dict() for _ in ks]
    inner_folds = [dict() for _ in ks]          # fold -> label -> its score on each of the other folds
    order = []
    for name, cand in cands.items():
        out = np.zeros((len(y), *shape), np.float32)
        dec, params = {r: None for r in rules}, {r: [] for r in rules}
        for i, k in enumerate(ks):
            held, rest = scored[folds[scored] == k], scored[folds[scored] != k]
            # the candidate's view of the other folds as fold k will see it: out of fold there too
            rest_pred = _cross_fit(cand, probas, y, folds, rest) if cand.fits else cand.fit(None, None)(
                [p[rest] for p in probas])
            out[held] = cand.fit([p[rest] for p in probas], y[rest])([p[held] for p in probas])
            for r, rule in rules.items():
                fit_rule, decide = rule
                b = fit_rule(rest_pred, y[rest])
                inner_dec = _cross_decided(rule, rest_pred, y[rest], folds[rest])
                inner[i][name + r] = score(y[rest], inner_dec)
                inner_folds[i][name + r] = [score(y[rest][folds[rest] == j], inner_dec[folds[rest] == j])
                                            for j in np.unique(folds[rest])]
                d = decide(out[held], b)
                if dec[r] is None:
                    dec[r] = np.zeros((len(y), *d.shape[1:]), d.dtype)
                dec[r][held] = d
                params[r].append(b)
        for r in rules:
            label = name + r
            order.append(label)
            decisions[label], proba[label], fitted[label] = dec[r], out, params[r]
            fits[label] = int(bool(cand.fits)) + int(bool(r))      # a fitted combiner, a fitted rule
            scores[label] = score(y[scored], dec[r][scored])
            fold_scores[label] = [score(y[folds == k], dec[r][folds == k]) for k in ks]
            if progress:
                progress(f"{label}: honest {scores[label]:.4f}")
    chosen = [pick_label(inner[i], inner_folds[i], fits, order, pick) for i in range(len(ks))]
    ens_dec, ens_proba = np.zeros_like(decisions[order[0]]), np.zeros((len(y), *shape), np.float32)
    for i, k in enumerate(ks):
        rows = folds == k
        ens_dec[rows], ens_proba[rows] = decisions[chosen[i]][rows], proba[chosen[i]][rows]
    best = pick_label(scores, fold_scores, fits, order, pick)
    top = pick_label(scores, fold_scores, fits, order, "best")
    return Choice(order, decisions, proba, scores, fold_scores, inner, chosen, ens_dec, ens_proba, best, fitted, top, pick)


def split_label(label: str, rules: dict) -> tuple[str, str]:
    """(candidate name, rule suffix) of a choice label such as "mean+offsets"."""
    for r in sorted((r for r in rules if r), key=len, reverse=True):
        if label.endswith(r):
            return label[:-len(r)], r
    return label, ""


def fit_final(cands: dict, label: str, probas, y, folds, choice: Choice, rules: dict):
    """(predict(probas) -> probabilities, decision params) for the test set: the labelled candidate fitted on
    every scored OOF row, its rule fitted on its outer OOF probabilities (probabilities of rows its fits never
    saw)."""
    name, r = split_label(label, rules)
    cand = cands[name]
    scored = np.flatnonzero(np.asarray(folds) >= 0)
    y = np.asarray(y)
    fitted = cand.fit([p[scored] for p in probas], y[scored]) if cand.fits else cand.fit(None, None)
    # a data set without test rows (the real divorce and LAMOST files) predicts nothing, in the right shape
    predict = lambda ps: fitted(ps) if len(ps[0]) else np.zeros((0, *probas[0].shape[1:]), np.float32)
    return predict, rules[r][0](choice.proba[label][scored], y[scored])
