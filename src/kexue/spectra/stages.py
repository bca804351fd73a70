"""The spectra pipeline's stages, called by the thin scripts in pipelines/spectra/.

preprocess -> folds -> features -> train (cnn, lgbm; one fold per call) -> ensemble -> submit
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..core import cv, io, runlog
from ..core import ensemble as ens
from ..core.folds import assign_folds
from ..core.metrics import classification_report, macro_f1
from ..core.submission import check_ids, check_labels
from . import data, features, sample

# ---------------------------------------------------------------- data source

def choose_source(data_cfg: dict, source: str = "auto") -> tuple[str, Path]:
    """('raw', raw_dir) when the competition files are there, else ('sample', sample_dir)."""
    raw = Path(data_cfg["raw_dir"])
    if source == "raw" or (source == "auto" and list(raw.glob(data_cfg["sets"]["train"]["index"]))):
        return "raw", raw
    return "sample", Path(data_cfg["sample_dir"])


def source_stamp(data_cfg: dict, source: str = "auto") -> dict:
    """What preprocess reads, cheaply: make reruns preprocess when this changes. For raw data
    the index files and data folders (names, sizes, mtimes); for the sample, its settings."""
    kind, root = choose_source(data_cfg, source)
    stamp = {"source": kind, "dir": str(root), "sets": data_cfg["sets"], "classes": data_cfg.get("classes"),
             "n_values": data_cfg["n_values"], "store_dtype": data_cfg["store_dtype"],
             "on_bad_file": data_cfg["on_bad_file"]}
    if kind == "sample":
        stamp["sample"] = data_cfg["sample"]
    else:
        stamp["files"] = sorted((p.name, p.stat().st_size if p.is_file() else None, p.stat().st_mtime_ns)
                                for p in root.iterdir() if not p.name.startswith("."))
    return stamp


def preprocess(data_cfg: dict, out_dir, source: str = "auto") -> dict:
    kind, root = choose_source(data_cfg, source)
    if kind == "sample":
        s = data_cfg["sample"]
        print(f"[spectra] no competition files matching '{data_cfg['sets']['train']['index']}' in "
              f"{data_cfg['raw_dir']}/ -> using a GENERATED SAMPLE (seed {s['seed']}, {s['n_train']} train / "
              f"{s['n_test']} test spectra) in {root}/", flush=True)
        marker = root / "SAMPLE.json"
        made_with = io.read_json(marker) if marker.exists() else {}
        if any(made_with.get(k) != s[k] for k in ("seed", "n_train", "n_test", "class_shares")):
            if marker.exists():
                shutil.rmtree(root)  # a smaller sample must not leave the bigger one's files behind
            elif root.exists() and any(root.iterdir()):
                raise SystemExit(f"error: sample_dir {root}/ holds files that no sample generator wrote; "
                                 f"refusing to overwrite them. Point data.sample_dir elsewhere.")
            sample.generate(root, s["n_train"], s["n_test"], s["class_shares"], s["seed"])
    else:
        print(f"[spectra] using competition data in {root}/", flush=True)
    manifest = data.preprocess(data_cfg, root, out_dir, kind)
    for name, info in manifest["sets"].items():
        skipped = f", {len(info['skipped'])} bad files skipped (see {out_dir}/{name}/bad_files.csv)" if info["skipped"] else ""
        print(f"[spectra] {name}: {info['n']} spectra{skipped}")
    print(f"[spectra] classes {manifest['class_counts']} -> {out_dir}/manifest.json")
    return manifest


def make_folds(store_dir, n_folds: int, seed: int) -> np.ndarray:
    folds = assign_folds(n_folds, seed, y=data.load_set(store_dir, "train").labels)
    path = Path(store_dir) / "folds.npy"
    if not (path.exists() and np.array_equal(np.load(path), folds)):
        io.save_npy(path, folds)
    sizes = np.bincount(folds).tolist()
    print(f"[spectra] {n_folds} stratified folds (seed {seed}), valid sizes {sizes} -> {path}")
    return folds


# ---------------------------------------------------------------- features

def make_features(store_dir, out_dir, params: dict) -> None:
    manifest = io.read_json(Path(store_dir) / "manifest.json")
    out_dir = Path(out_dir)
    hashes = {}
    for name in manifest["sets"]:
        flux = data.load_set(store_dir, name).flux
        feats = features.extract(flux, params["bin_size"], params["chunk"], desc=f"features {name}")
        io.save_npy(out_dir / f"{name}.npy", feats)
        hashes[name] = io.sha256_file(out_dir / f"{name}.npy", 16)
        print(f"[spectra] features {name}: {feats.shape} -> {out_dir / name}.npy")
    # rewritten only when the features changed, so an edit that changes nothing retrains nothing
    io.write_json_if_changed(out_dir / "manifest.json", {
        "names": features.feature_names(params["bin_size"], manifest["n_values"]),
        "data_fingerprint": manifest["data_fingerprint"], "arrays": hashes, "params": params})


# ---------------------------------------------------------------- training

MODELS = {"cnn": "kexue.spectra.cnn:SpectraCNN", "lgbm": "kexue.spectra.lgbm:SpectraLGBM"}


def model_factory(kind: str):
    if kind not in MODELS:
        raise SystemExit(f"error: unknown model '{kind}' (known: {', '.join(MODELS)})")
    module, cls = MODELS[kind].split(":")
    import importlib
    return getattr(importlib.import_module(module), cls)


def cv_data(params: dict, store_dir, features_dir, predict_set: str) -> cv.CVData:
    manifest = io.read_json(Path(store_dir) / "manifest.json")
    train = data.load_set(store_dir, "train")
    if predict_set not in manifest["sets"]:
        raise SystemExit(f"error: predict_set '{predict_set}' is not in the store (sets: {', '.join(manifest['sets'])})")
    test = data.load_set(store_dir, predict_set)
    if params["model"] == "cnn":
        x, x_test = cv.Rows(train.flux), cv.Rows(test.flux)
    else:
        x, x_test = np.load(Path(features_dir) / "train.npy"), np.load(Path(features_dir) / f"{predict_set}.npy")
    return cv.CVData(x=x, y=train.labels.astype(int), folds=np.load(Path(store_dir) / "folds.npy"),
                     x_test=x_test, classes=manifest["classes"])


def open_run(params: dict, runs_dir, store_dir) -> runlog.Run:
    manifest = io.read_json(Path(store_dir) / "manifest.json")
    folds_fp = io.sha256_file(Path(store_dir) / "folds.npy", 16)
    return runlog.Run.create(runs_dir, params, manifest["data_fingerprint"], folds_fp,
                             extra={"data_source": manifest["source"], "data_dir": manifest["source_dir"]})


# ---------------------------------------------------------------- ensemble

def blend_runs(params: dict, member_runs: list[str], runs_dir, store_dir) -> dict:
    """Blend member runs' OOF probabilities into a new run with the same artefacts as a model run."""
    runs_dir = Path(runs_dir)
    members, cvs = runlog.load_members(runs_dir, member_runs, same=("data_fingerprint", "folds_fingerprint", "classes"))
    classes = cvs[0]["classes"]
    y = data.load_set(store_dir, "train").labels.astype(int)
    folds = np.load(Path(store_dir) / "folds.npy")
    oofs = [np.load(m.dir / "oof.npy") for m in members]
    tests = [np.load(m.dir / "test.npy") for m in members]
    n = len(classes)
    score = lambda yy, pp: macro_f1(yy, pp, n)
    weights, offsets = ens.fit(oofs, y, score, params["class_offsets"], params["weight_step"])
    oof = ens.blend(oofs, weights)
    decided = ens.decide(oof, offsets)
    honest = ens.cross_fitted(oofs, y, folds, score, params["class_offsets"], params["weight_step"])
    report = classification_report(y, decided, classes)
    fold_scores = [macro_f1(y[folds == k], decided[folds == k], n) for k in range(int(folds.max()) + 1)]
    run, result = cv.write_blend(
        runs_dir, params, members, cvs, oof, ens.blend(tests, weights), report, fold_scores, classes, "macro_f1",
        extra={"cross_fitted_macro_f1": macro_f1(y, honest, n),
               "weights": dict(zip(member_runs, np.round(weights, 4).tolist())),
               "offsets": dict(zip(classes, np.round(offsets, 3).tolist())),
               "blend_without_offsets": macro_f1(y, ens.decide(oof), n)},
        side_files={"decision.json": {"offsets": offsets.tolist(), "classes": classes}})
    run.log(f"ensemble OOF macro-F1 {result['score']:.4f} (offsets fitted on OOF; "
            f"cross-fitted {result['cross_fitted_macro_f1']:.4f}) -> {run.dir}")
    return result


# ---------------------------------------------------------------- submission

def submit(run_dir, store_dir, predict_set: str, out_dir, header: bool) -> Path:
    run_dir = Path(run_dir)
    test = data.load_set(store_dir, predict_set)
    if len(test.ids) == 0:
        raise SystemExit(f"error: the {predict_set} set in {store_dir} has no spectra; nothing to submit")
    proba = np.load(run_dir / "test.npy")
    decision = io.read_json(run_dir / "decision.json") if (run_dir / "decision.json").exists() else {}
    classes = io.read_json(run_dir / "cv.json")["classes"]
    if proba.shape != (len(test.ids), len(classes)):
        raise SystemExit(f"error: {run_dir}/test.npy has shape {proba.shape}, expected ({len(test.ids)}, "
                         f"{len(classes)}); the run predates the current {predict_set} set: retrain it")
    labels = [classes[k] for k in ens.decide(proba, decision.get("offsets"))]
    ids = [str(i) for i in test.ids]
    what = f"submission for {run_dir.name}"
    check_ids(ids, ids, what)
    check_labels(labels, classes, what)
    out = Path(out_dir) / f"{run_dir.name}.csv"
    lines = (["id,type"] if header else []) + [f"{i},{t}" for i, t in zip(ids, labels)]
    io.write_text(out, "\n".join(lines) + "\n")
    validate_submission(out, ids, classes, header)
    counts = {c: labels.count(c) for c in classes}
    print(f"[spectra] submission: {len(ids)} rows {counts} -> {out}")
    return out


def validate_submission(path, expected_ids, classes, header: bool) -> None:
    """Re-read a written submission and check it as the organiser would."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if header:
        if not lines or lines[0] != "id,type":
            raise ValueError(f"{path} line 1: expected header 'id,type'")
        lines = lines[1:]
    rows = []
    for lineno, line in enumerate(lines, start=2 if header else 1):
        parts = line.split(",")
        if len(parts) != 2:
            raise ValueError(f"{path} line {lineno}: expected 'id,type', got '{line[:60]}'")
        rows.append(parts)
    check_ids(expected_ids, [r[0] for r in rows], str(path))
    check_labels([r[1] for r in rows], classes, str(path))

