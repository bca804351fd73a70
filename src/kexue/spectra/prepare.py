"""The spectra stages before training: choose the data source, preprocess (validate the files, build the array
store), folds, features. Called by pipelines/spectra/{preprocess,folds,features}.py; no training code imports
this module, so editing it reruns these stages and, when their outputs change, what reads them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core import io
from ..core.folds import assign_folds
from ..core.source import source_stamp as stamp
from ..core.source import use_sample
from . import data, features, sample

# ---------------------------------------------------------------- data source

def choose_source(data_cfg: dict, source: str = "auto") -> tuple[str, Path]:
    """('raw', raw_dir) when the competition files are there, else ('sample', sample_dir)."""
    raw = Path(data_cfg["raw_dir"])
    if source == "raw" or (source == "auto" and list(raw.glob(data_cfg["sets"]["train"]["index"]))):
        return "raw", raw
    return "sample", Path(data_cfg["sample_dir"])


def source_stamp(data_cfg: dict, source: str = "auto") -> dict:
    """What preprocess reads, cheaply (core.source): make reruns preprocess when this changes. For raw data
    the data config and the entries of raw_dir, the index files and data folders (names, sizes, mtimes: a
    folder's changes when a spectrum is added or removed); for the sample, the config, its settings included."""
    kind, root = choose_source(data_cfg, source)
    files = sorted(str(p) for p in root.iterdir() if not p.name.startswith(".")) if kind == "raw" else str(root)
    return stamp(kind, data_cfg, files)


def preprocess(data_cfg: dict, out_dir, source: str = "auto") -> dict:
    kind, root = choose_source(data_cfg, source)
    if kind == "sample":
        s = data_cfg["sample"]
        use_sample("spectra", data_cfg, sample.generate, data_cfg["sets"]["train"]["index"],
                   f"seed {s['seed']}, {s['n_train']} train / {s['n_test']} test spectra")
    else:
        print(f"[spectra] using competition data in {root}/", flush=True)
    manifest = data.preprocess(data_cfg, root, out_dir, kind)
    for name, info in manifest["sets"].items():
        skipped = f", {len(info['skipped'])} bad files skipped (see {out_dir}/{name}/bad_files.csv)" if info["skipped"] else ""
        print(f"[spectra] {name}: {info['n']} spectra{skipped}")
    print(f"[spectra] classes {manifest['class_counts']} -> {out_dir}/manifest.json")
    return manifest


FOLDS_INPUT = {"store": "data/processed/spectra"}       # kexue.core.protocol


def make_folds(params: dict, directory) -> np.ndarray:
    """Stratified folds of the training spectra (params: the data config's `folds` section, n and seed)."""
    return assign_folds(int(params["n"]), int(params["seed"]), y=data.load_set(directory, "train").labels,
                        row_name="training spectra", key="folds.n in the data config")


# ---------------------------------------------------------------- features

def make_features(store_dir, out_dir, params: dict) -> None:
    manifest = io.read_json(Path(store_dir) / "manifest.json")
    if manifest["n_values"] != len(features.WAVE):       # the lines and bands sit at fixed LAMOST wavelengths
        raise SystemExit(f"error: {store_dir}/manifest.json: the store holds {manifest['n_values']} fluxes a "
                         f"spectrum; the hand-crafted features read the {len(features.WAVE)} LAMOST wavelengths "
                         f"(3690-9100 Å). Use the CNN alone (SP_MODELS=cnn) on other grids")
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
