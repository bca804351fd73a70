"""Competition files -> a compact array store.

Layout read (names are globs in the data config, because the organiser dated them):
    <raw>/first_train_index_20180131.csv   header `id,type`  (test/rank index: `id` alone, or `id,type`)
    <raw>/first_train_data_20180131/<id>.txt   2,600 comma-separated fluxes on one line

Store written, per set (data/processed/spectra/<set>/):
    flux.npy (N, n_values) float32 (or float16), ids.npy, labels.npy (class index, -1 when unlabelled)
and manifest.json, written last: while it is missing the store is not to be trusted.

Parsing streams batches of files through worker processes into the open flux file, so
memory does not grow with the number of spectra.
"""
from __future__ import annotations

import csv
import hashlib
import io as _io
import multiprocessing as mp
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..core import io

BATCH = 256


class SpectraDataError(ValueError):
    """A problem with the competition files, naming the file, line or id, and field."""


class BadSpectrumFile(SpectraDataError):
    """One spectrum file that does not parse: `data.on_bad_file=skip` can drop it (and list it)."""
    skippable = True


FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass
class SetFiles:
    name: str
    index: Path
    data_dir: Path
    ignore_type: bool = False  # a test index whose `type` column is not this task's label


def _resolve_one(root: Path, pattern: str, want_dir: bool, what: str) -> Path | None:
    matches = sorted(p for p in root.glob(pattern) if p.is_dir() == want_dir)
    if len(matches) > 1:
        raise SpectraDataError(f"{root}: {what} pattern '{pattern}' matches {len(matches)} "
                               f"{'folders' if want_dir else 'files'} ({', '.join(m.name for m in matches[:4])}); "
                               f"name the one to use in the data config")
    return matches[0] if matches else None


def find_sets(root, sets_cfg: dict) -> dict[str, SetFiles]:
    """Resolve each configured set's index and data folder under `root`; optional sets may be absent."""
    root = Path(root)
    found = {}
    for name, spec in sets_cfg.items():
        index = _resolve_one(root, spec["index"], False, f"{name} index")
        if index is None:
            if spec.get("optional"):
                continue
            raise SpectraDataError(f"{root}: no {name} index matching '{spec['index']}' "
                                   f"(expected e.g. first_{name}_index_20180131.csv)")
        data_dir = _resolve_one(root, spec["data"], True, f"{name} data folder")
        if data_dir is None:
            raise SpectraDataError(f"{root}: no {name} data folder matching '{spec['data']}' beside {index.name}")
        found[name] = SetFiles(name, index, data_dir, bool(spec.get("ignore_type")))
    return found


class Index(NamedTuple):
    """One index CSV: ids, types (None without a type column) and each row's line in the file, for messages."""
    ids: list[str]
    types: list[str] | None
    lines: list[int]


def read_index(path, labelled: bool) -> Index:
    """Ids (and types) from an index CSV, with errors that name the line and field."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        lineno = raw[:e.start].count(b"\n") + 1
        raise SpectraDataError(f"{path} line {lineno}: byte {raw[e.start:e.start + 1]!r} is not UTF-8; save the "
                               f"index as UTF-8 (e.g. iconv -f GBK -t UTF-8)") from None
    reader = csv.reader(_io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as e:      # a field over csv's 128 KB limit, a NUL byte: not an index of ids and types
        raise SpectraDataError(f"{path} line {reader.line_num}: not a readable CSV row ({e}); an index "
                               f"holds 'id,type' lines") from None
    if not rows:
        raise SpectraDataError(f"{path}: empty file, expected a header 'id,type'")
    header = [h.strip() for h in rows[0]]
    if "id" not in header:
        raise SpectraDataError(f"{path} line 1: header is {rows[0]}, expected 'id,type'")
    if labelled and "type" not in header:
        raise SpectraDataError(f"{path} line 1: header has no 'type' column; a training index needs 'id,type'")
    id_col = header.index("id")
    type_col = header.index("type") if "type" in header else None
    ids, types, lines, seen = [], [], [], {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise SpectraDataError(f"{path} line {lineno}: {len(row)} fields {row}, expected {len(header)} "
                                   f"({','.join(header)}); is the file truncated?")
        sid = row[id_col].strip()
        if not sid:
            raise SpectraDataError(f"{path} line {lineno}: field 'id' is empty")
        if sid in (".", "..") or any(c in sid for c in "/\\,") or not sid.isprintable():
            raise SpectraDataError(f"{path} line {lineno}: field 'id' {sid!r} is not a plain file name (the spectrum "
                                   f"is read from <data folder>/<id>.txt): no '/', '\\', ',', '..' or control "
                                   f"characters")
        if sid in seen:
            raise SpectraDataError(f"{path} line {lineno}: id '{sid}' duplicates line {seen[sid]}")
        seen[sid] = lineno
        ids.append(sid)
        lines.append(lineno)
        if type_col is not None:
            label = row[type_col].strip()
            if labelled and not label:
                raise SpectraDataError(f"{path} line {lineno}: field 'type' is empty for id '{sid}'")
            types.append(label)
    return Index(ids, types if type_col is not None else None, lines)


def _diagnose(path: Path, n_values: int) -> str | None:
    """Why one file does not parse into `n_values` finite numbers (None when it does)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "file is missing"
    except (OSError, UnicodeDecodeError) as e:
        return f"cannot be read ({e})"
    if not text:
        return "file is empty"
    if "\n" in text:
        return f"{text.count(chr(10)) + 1} lines, expected one line of {n_values} values"
    fields = text.split(",")
    for i, field in enumerate(fields, start=1):
        try:
            value = float(field)
        except ValueError:
            return f"value {i} is '{field.strip()[:20]}', not a number"
        if not np.isfinite(value):
            return f"value {i} is '{field.strip()}', not a finite number"
        if abs(value) > FLOAT32_MAX:  # finite as text, infinite once parsed into the float32 arrays
            return f"value {i} is '{field.strip()}', beyond the float32 range (±{FLOAT32_MAX:.3g})"
    if len(fields) != n_values:
        return f"{len(fields)} values, expected {n_values}"
    return None


def parse_batch(paths: list[str], n_values: int) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Parse files into an (n, n_values) float32 array. Rows of bad files are NaN and reported
    as (position, problem). The fast path parses the whole batch with pandas' C reader."""
    try:
        blob = b"\n".join(Path(p).read_bytes().strip() for p in paths)
        arr = pd.read_csv(_io.BytesIO(blob), header=None, dtype=np.float32, engine="c",
                          skip_blank_lines=False, na_filter=True).to_numpy()
        if arr.shape == (len(paths), n_values) and np.isfinite(arr).all():
            return arr, []
    except (OSError, ValueError, pd.errors.ParserError):
        pass
    arr = np.full((len(paths), n_values), np.nan, dtype=np.float32)
    errors = []
    for i, p in enumerate(paths):
        problem = _diagnose(Path(p), n_values)
        if problem:
            errors.append((i, problem))
        else:
            arr[i] = np.array(Path(p).read_text().strip().split(","), dtype=np.float32)
    return arr, errors


def _parse_batch_star(args):
    """Worker side: parse, then cast, range-check and hash the good rows, so the parent only writes."""
    paths, n_values, dtype = args
    arr, errors = parse_batch(paths, n_values)
    good = np.ones(len(arr), dtype=bool)
    good[[pos for pos, _ in errors]] = False
    rows = arr[good]
    narrower = np.finfo(dtype).max < np.finfo(rows.dtype).max  # only a float16 store can overflow
    too_big = narrower and rows.size > 0 and float(np.abs(rows).max()) > float(np.finfo(dtype).max)
    if not too_big:  # the parent stops on too_big; casting would only overflow
        rows = rows.astype(dtype, copy=False)
    return rows, errors, hashlib.sha256(rows.tobytes()).digest(), too_big


def _npy_header(shape, dtype) -> bytes:
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                              "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def convert_set(files: SetFiles, index: Index, out_dir, classes: list[str] | None, *, n_values: int,
                dtype: str = "float32", workers: int = 2, on_bad_file: str = "error") -> dict:
    """Parse one set (its index already read) into out_dir/<set>/ and return its summary (counts, skipped files,
    fingerprint)."""
    ids, types, index_lines = index
    if files.ignore_type:
        types = None
    if types is not None and classes is not None:
        for lineno, sid, t in zip(index_lines, ids, types):
            if t and t not in classes:
                hint = [c for c in classes if c.lower() == t.lower().strip()]
                raise SpectraDataError(f"{files.index} line {lineno}: id '{sid}': type '{t}' is not a known class "
                                       f"({', '.join(classes)})" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    set_dir = Path(out_dir) / files.name
    set_dir.mkdir(parents=True, exist_ok=True)
    paths = [str(files.data_dir / f"{sid}.txt") for sid in ids]
    batches = [(paths[i:i + BATCH], n_values, dtype) for i in range(0, len(paths), BATCH)]
    digest = hashlib.sha256(files.index.read_bytes())
    bad: list[dict] = []
    keep = np.ones(len(ids), dtype=bool)
    flux_path = set_dir / "flux.npy"
    with io.atomic_path(flux_path) as tmp, open(tmp, "wb") as out:
        header = _npy_header((len(ids), n_values), dtype)
        out.write(header)
        ctx = mp.get_context("fork")
        pool = ctx.Pool(workers) if workers > 1 and len(batches) > 1 else None
        results = pool.imap(_parse_batch_star, batches) if pool else map(_parse_batch_star, batches)
        try:
            bar = tqdm(results, total=len(batches), unit="batch", desc=f"parse {files.name}",
                       disable=len(batches) < 4, mininterval=2)
            for b, (rows, errors, batch_digest, too_big) in enumerate(bar):
                start = b * BATCH
                for pos, problem in errors:
                    row = start + pos
                    message = f"{paths[row]}: {problem} (id '{ids[row]}', {files.index.name} line {index_lines[row]})"
                    if on_bad_file != "skip":
                        raise BadSpectrumFile(message)
                    bad.append({"id": ids[row], "file": paths[row], "problem": problem})
                    keep[row] = False
                if too_big:
                    raise SpectraDataError(f"{files.data_dir}: a flux exceeds the range of {dtype} "
                                           f"(±{np.finfo(dtype).max:.0f}); store as float32 (data config store_dtype)")
                digest.update(batch_digest)
                rows.tofile(out)
        finally:
            if pool:
                pool.terminate()
        n_good = int(keep.sum())
        if n_good != len(ids):  # rewrite the header for the rows actually kept
            new_header = _npy_header((n_good, n_values), dtype)
            if len(new_header) != len(header):
                raise RuntimeError("npy header length changed; cannot shrink in place")
            out.seek(0)
            out.write(new_header)
    kept_ids = np.array([i for i, k in zip(ids, keep) if k])
    class_index = {c: k for k, c in enumerate(classes or [])}
    labels = np.array([class_index.get(t, -1) for t, k in zip(types or [""] * len(ids), keep) if k], dtype=np.int16)
    io.save_npy(set_dir / "ids.npy", kept_ids)
    io.save_npy(set_dir / "labels.npy", labels)
    if bad:
        pd.DataFrame(bad).to_csv(set_dir / "bad_files.csv", index=False)
    return {"n": n_good, "n_index": len(ids), "skipped": bad, "index": str(files.index),
            "data_dir": str(files.data_dir), "fingerprint": digest.hexdigest()[:16],
            "labelled": types is not None and all(types)}


def class_set(train: Index, configured: list[str] | None, index_path) -> list[str]:
    """The classes, read from the training labels (sorted), or checked against the config's list."""
    found = sorted(set(train.types))
    if configured:
        unknown = sorted(set(found) - set(configured))
        if unknown:
            where = [f"line {n} '{t}'" for n, t in zip(train.lines, train.types) if t in unknown]
            raise SpectraDataError(f"{index_path}: types {unknown} are not in the configured classes {configured} "
                                   f"({', '.join(where[:5])}{', ...' if len(where) > 5 else ''})")
        return list(configured)
    return found


def check_class_counts(types: list[str], index_lines: list[int], classes: list[str], n_folds: int,
                       index_path) -> None:
    """Every class needs a member in each fold: a rarer one is almost always a typo (`unknwn`), and stratified
    folds cannot hold it. Stops naming the class, its count, its index lines and the likely intended class."""
    counts = {c: 0 for c in classes}
    lines: dict[str, list[int]] = {}
    for lineno, t in zip(index_lines, types):
        counts[t] = counts.get(t, 0) + 1
        lines.setdefault(t, []).append(lineno)
    rare = [c for c in classes if counts[c] < n_folds]
    if not rare:
        return
    import difflib
    parts = []
    for c in rare:
        at = lines.get(c, [])
        where = f" (line{'s' if len(at) > 1 else ''} {', '.join(map(str, at[:5]))}{', ...' if len(at) > 5 else ''})"
        close = difflib.get_close_matches(c, [k for k in classes if k != c and counts[k] >= n_folds], n=1, cutoff=0.6)
        parts.append(f"'{c}' has {counts[c]} member{'s' if counts[c] != 1 else ''}{where if at else ''}"
                     + (f" (a typo for '{close[0]}'?)" if close else ""))
    raise SpectraDataError(f"{index_path}: {len(rare)} class{'es' if len(rare) > 1 else ''} with fewer members than "
                           f"the {n_folds} folds: " + "; ".join(parts) + ". Fix the labels, or pin the class set with "
                           "data.classes=[...] (a type outside it then stops with its line).")


def preprocess(cfg: dict, source_dir, out_dir, source: str) -> dict:
    """Convert every configured set under `source_dir` into the store under `out_dir`."""
    out_dir = Path(out_dir)
    manifest_path = out_dir / "manifest.json"
    io.retire(manifest_path)    # from here until the new manifest exists, nothing downstream trusts the store
    sets = find_sets(source_dir, cfg["sets"])
    # Every index is read and checked before the first spectrum is parsed: a bad label or an empty test index
    # stops here in a second, not after minutes of parsing.
    indexes = {name: read_index(files.index, labelled=name == "train") for name, files in sets.items()}
    train = indexes["train"]
    if not train.ids:
        raise SpectraDataError(f"{sets['train'].index}: the training index has no rows")
    classes = class_set(train, cfg.get("classes"), sets["train"].index)
    check_class_counts(train.types, train.lines, classes, int(cfg["folds"]["n"]), sets["train"].index)
    for name, files in sets.items():
        if name != "train" and not indexes[name].ids:
            raise SpectraDataError(f"{files.index}: the {name} index has no rows; there would be nothing to "
                                   f"predict. Check the file, or point data.sets.{name}.index at the right one")
    summary = {}
    for name, files in sets.items():
        summary[name] = convert_set(files, indexes[name], out_dir, classes, n_values=cfg["n_values"],
                                    dtype=cfg["store_dtype"], workers=cfg.get("workers") or os.cpu_count(),
                                    on_bad_file=cfg["on_bad_file"])
    for old in out_dir.iterdir():  # a set dropped from the config must not linger in the store
        if old.is_dir() and old.name not in sets:
            shutil.rmtree(old)
    counts = np.bincount(np.load(out_dir / "train" / "labels.npy"), minlength=len(classes))
    manifest = {
        "source": source, "source_dir": str(source_dir), "classes": classes,
        "class_counts": dict(zip(classes, counts.tolist())), "n_values": cfg["n_values"],
        "store_dtype": cfg["store_dtype"], "sets": summary,
        "data_fingerprint": io.short_hash({k: v["fingerprint"] for k, v in summary.items()}, 16),
    }
    io.reinstate_or_write_json(manifest_path, manifest)
    return manifest


@dataclass
class SpectraSet:
    ids: np.ndarray
    labels: np.ndarray
    flux: np.ndarray  # memmap


def load_set(processed_dir, name: str) -> SpectraSet:
    processed_dir = Path(processed_dir)
    manifest_path = processed_dir / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path} is missing: the store is incomplete; run `make spectra-preprocess`")
    manifest = io.read_json(manifest_path)
    if name not in manifest["sets"]:
        raise KeyError(f"{processed_dir}: no set '{name}' (have {', '.join(manifest['sets'])})")
    d = processed_dir / name
    out = SpectraSet(np.load(d / "ids.npy"), np.load(d / "labels.npy"), np.load(d / "flux.npy", mmap_mode="r"))
    n = manifest["sets"][name]["n"]
    if not (len(out.ids) == len(out.labels) == out.flux.shape[0] == n):
        raise ValueError(f"{d}: store is inconsistent with its manifest ({n} spectra expected); "
                         f"rerun `make spectra-preprocess`")
    return out
