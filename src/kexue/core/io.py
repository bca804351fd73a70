"""Atomic writes and content fingerprints.

Every stage writes through these helpers, so a crash leaves either the old
artefact or the new one, never half of one that a later stage would trust.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give them the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(directory) -> list[Path]:
    """Delete the `.<name>.*.tmp` files atomic_path leaves when its process is killed (a crash inside the
    block removes its own). Call it only where the calling stage is the directory's one writer."""
    directory = Path(directory)
    stale = sorted(directory.rglob(".*.tmp")) if directory.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return stale


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def write_json(path, obj: Any) -> None:
    write_text(path, dumps(obj))


def write_text_if_changed(path, text: str) -> bool:
    """Rewrite `path` only when its content changes, so make sees a new mtime only then."""
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


def write_json_if_changed(path, obj: Any) -> bool:
    return write_text_if_changed(path, dumps(obj))


def retire(manifest) -> None:
    """Move a stage's manifest aside (`<name>.stale`) while the stage rewrites what it describes: until
    `reinstate_or_write_json` puts one back, nothing downstream trusts the half-rewritten folder."""
    manifest = Path(manifest)
    if manifest.exists():
        os.replace(manifest, manifest.with_name(manifest.name + ".stale"))


def reinstate_or_write_json(manifest, obj: Any) -> None:
    """Write the manifest; when it equals the retired one, restore that file with its old mtime instead, so
    make reruns nothing downstream of an unchanged result."""
    manifest = Path(manifest)
    stale = manifest.with_name(manifest.name + ".stale")
    if stale.exists() and stale.read_text(encoding="utf-8") == dumps(obj):
        os.replace(stale, manifest)
    else:
        write_json(manifest, obj)
        stale.unlink(missing_ok=True)


class DuplicateKeyError(ValueError):
    pass


def unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json object_pairs_hook: a key given twice in one object is an error (json keeps the last silently)."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(f"key {key!r} appears twice in one object; JSON readers keep only the last")
        out[key] = value
    return out


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def unencodable(obj: Any, text: str) -> str | None:
    """Where parsed JSON `obj` (from `text`) holds a string UTF-8 cannot store: a lone surrogate escape such as
    "\\ud83d" (half an emoji), which reads fine and crashes the first write. None when there is none (only text
    with such an escape is walked, so clean files cost a regex scan)."""
    if not _SURROGATE_ESCAPE.search(text):
        return None
    stack = [(obj, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError as e:
                return (f"field '{where or '(value)'}' holds the lone surrogate {node[e.start:e.end]!r} (half of a "
                        f"\\ud83d\\ude00-style pair), which is not text; fix or remove it")
        elif isinstance(node, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in node.items())
            stack.extend((k, f"{where}.<key {k!r}>") for k in node if isinstance(k, str))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
    return None


def loads_checked(text: str, where: str, error: type[Exception], *, line: bool = False, unique: bool = True) -> Any:
    """json.loads with each way it fails raised as error(f"{where}: ..."): malformed JSON (its column, and its line
    when `text` is a whole file; the line's start when `line`, the text is one line of a file), a value Python
    cannot hold (a number of > 4,300 digits, nesting past the stack), a key twice in one object (`unique`), a
    lone surrogate escape."""
    try:
        obj = json.loads(text, object_pairs_hook=unique_keys if unique else None)
    except json.JSONDecodeError as e:
        at, start = (where, f" (line starts {text[:60]!r})") if line else (f"{where}:{e.lineno}", "")
        raise error(f"{at}: malformed JSON at column {e.colno}: {e.msg}{start}") from None
    except (ValueError, RecursionError) as e:
        raise error(f"{where}: unreadable JSON value ({type(e).__name__}: {str(e)[:80]})") from None
    if (bad := unencodable(obj, text)) is not None:
        raise error(f"{where}: {bad}")
    return obj


def read_json(path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_npy(path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def save_npz(path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def sha256_text(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def sha256_file(path, length: int = 64, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:length]


def short_hash(obj: Any, length: int = 8) -> str:
    """Stable hash of a JSON-able object (key order does not matter)."""
    return sha256_text(json.dumps(obj, sort_keys=True, default=_json_default), length)
