"""The core CV loop with multi-head (dict) predictions and always-train rows (fold -1), and the blends written
from its runs (kexue.core.blend)."""
import numpy as np

from kexue.core import blend as blends
from kexue.core import cv, io, runlog


class Heads:
    """Predicts each row's own index in head 'a' and a fold-dependent constant in head 'b'."""

    def __init__(self, params, workdir, seed, classes):
        self.seed, self.seen = seed, None

    def fit(self, x_train, y_train, x_valid, y_valid):
        self.seen = set(np.asarray(x_train).tolist())
        return {"n": len(x_train)}

    def predict(self, x):
        x = np.asarray(x, np.float32)
        return {"a": x[:, None].repeat(2, 1), "b": np.full((len(x), 3, 2), self.seed, np.float16)}


def score(rows, pred, classes):
    return {"exact": float(np.mean(pred["a"][:, 0] == rows)), "n": len(rows)}


def test_dict_heads_holdout_rows_and_averaging(tmp_path):
    n = 10
    folds = np.array([-1, -1, -1, -1, 0, 0, 1, 1, 1, -1])
    data = cv.CVData(x=np.arange(n), y=np.arange(n), folds=folds, x_test=np.arange(100, 104), classes=None,
                     score=score, headline="exact")
    run = runlog.Run.create(tmp_path / "runs" / "demo", {"name": "heads", "seed": 5}, "data", "folds")
    result = cv.run_cv(run, data, Heads)
    assert result["score"] == 1.0 and result["oof"]["n"] == 5           # fold -1 rows are never scored
    assert result["classes"] is None and not (run.dir / "confusion.png").exists()
    done = io.read_json(run.fold_dir(1) / "done.json")
    assert done["n_train"] == 7 and done["n_valid"] == 3                  # trained on fold 0 and the -1 rows
    oof = cv.load_pred(run.dir, "oof")
    assert set(oof) == {"a", "b"} and oof["b"].dtype == np.float16
    assert (oof["a"][folds < 0] == 0).all() and (oof["a"][folds >= 0, 0] == np.flatnonzero(folds >= 0)).all()
    test = cv.load_pred(run.dir, "test")
    assert np.allclose(test["b"], (5 + 6) / 2)                            # seeds 5 and 6 averaged head by head
    assert np.allclose(test["a"][:, 1], np.arange(100, 104))


def test_mean_pred_weights_dicts():
    a, b = {"h": np.ones((2, 2))}, {"h": np.zeros((2, 2))}
    assert np.allclose(cv.mean_pred([a, b], [0.25, 0.75])["h"], 0.25)
    assert np.allclose(cv.mean_pred([np.ones(3), np.zeros(3)]), 0.5)


def test_write_blend_is_a_run_of_its_own(tmp_path):
    folds = np.array([0, 0, 1, 1])
    data = cv.CVData(x=np.arange(4), y=np.arange(4), folds=folds, x_test=np.arange(100, 102), classes=None,
                     score=score, headline="exact")
    root = tmp_path / "runs" / "demo"
    members = []
    for seed in (1, 2):
        run = runlog.Run.create(root, {"name": "heads", "seed": seed}, "data", "folds")
        cv.run_cv(run, data, Heads)
        members.append(run)
    found, cvs = runlog.load_members(root, [m.id for m in members])
    oof = cv.mean_pred([cv.load_pred(m.dir, "oof") for m in found])
    test = cv.mean_pred([cv.load_pred(m.dir, "test") for m in found])
    blend, result = blends.write_blend(root, {"name": "avg"}, found, cvs, oof, test, score(np.arange(4), oof, None),
                                       [1.0, 1.0], headline="exact", extra={"weights": {members[0].id: 0.5}},
                                       side_files={"decision.json": {"offset": 0.1}})
    assert blend.id not in {m.id for m in members}
    assert blend.params == {"name": "avg", "members": [m.id for m in members]}
    assert blend.info["data_fingerprint"] == "data" and blend.info["folds_fingerprint"] == "folds"
    assert result["members"] == {m.id: 1.0 for m in members} and result["score"] == 1.0
    assert result["seconds"]["wall_total"] == round(sum(c["seconds"]["wall_total"] for c in cvs), 2)
    assert io.read_json(blend.dir / "decision.json") == {"offset": 0.1}
    assert np.allclose(cv.load_pred(blend.dir, "test")["b"], 2.0)           # fold seeds 1, 2 and 2, 3 averaged
    log = (blend.dir / "log.txt").read_text()
    assert f"member {members[0].id}: OOF exact 1.0000, weight 0.5" in log
    assert f"member {members[1].id}: OOF exact 1.0000\n" in log
    # the same members and params give the same run id: a rerun overwrites instead of adding a run
    again, _ = blends.write_blend(root, {"name": "avg"}, found, cvs, oof, test, score(np.arange(4), oof, None),
                                  [1.0, 1.0], headline="exact")
    assert again.id == blend.id


def test_average_blend_logs_its_gain_over_its_members(tmp_path):
    # two members each wrong, with little confidence, on different rows: their average is right everywhere
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    right = np.where(y == 1, 0.9, 0.1)
    wrong = np.where(y == 1, 0.4, 0.6)
    # keyed by seed // 10: a fold adds its index to the run seed
    table = {1: np.where(np.arange(8) < 2, wrong, right), 2: np.where(np.arange(8) >= 6, wrong, right)}

    class Fixed:
        def __init__(self, params, workdir, seed, classes):
            self.seed = seed // 10

        def fit(self, *args):
            return {}

        def predict(self, x):
            return table[self.seed][np.asarray(x) % 8][:, None].astype(np.float32)

    accuracy = lambda yy, p, classes: {"accuracy": float(np.mean((p[:, 0] > 0.5) == yy))}
    data = cv.CVData(x=np.arange(8), y=y, folds=np.array([0, 1] * 4), x_test=np.arange(8, 10), classes=None,
                     score=accuracy, headline="accuracy")
    root = tmp_path / "runs" / "demo"
    ids = []
    for seed in (10, 20):
        run = runlog.Run.create(root, {"name": "fixed", "seed": seed}, "data", "folds")
        assert cv.run_cv(run, data, Fixed)["score"] == 0.75
        ids.append(run.id)
    result = blends.average_blend(root, {"name": "avg"}, ids, data, lambda r: "")
    assert result["score"] == 1.0
    assert result["gain"] == {"best_member": ids[0], "over_best_member": 0.25, "over_members_mean": 0.25}
    log = (root / result["run_id"] / "log.txt").read_text()
    assert f"ensemble 1.0000: +0.2500 against its best member ({ids[0]}), +0.2500 against its members' mean" in log
    # the gain of an average below its best member is negative (the log then says it does not beat it)
    worse = blends.members_gain(0.7, {"a": 0.75, "b": 0.65})
    assert worse["best_member"] == "a" and np.isclose(worse["over_best_member"], -0.05)
    assert np.isclose(worse["over_members_mean"], 0.0)
