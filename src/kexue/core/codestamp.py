"""Code stamps: a stage reruns when the source of a kexue module it imports changes, and only then.

`<interim>/code/<stage>.json` maps every repository file a stage's process imported (kexue modules, directly
or not, and its pipeline script) to a hash of its content. make lists the stamp as a prerequisite of the stage;
two writers keep it honest:

    record   the stage's own process, at exit, when make set KEXUE_CODE_STAMP=<stamp> on its command: the files
             it imported are added with their hashes, and the stamp keeps its mtime (what the stage ran with
             has not changed). A model's module imported through a string (kexue.spectra.cnn) counts; a module
             the stage never imports (plots, another model, the submit code) does not.
    check    `python -m kexue.core.codestamp check <dir>`, run by make before it looks at any stage: every stamp
             whose files changed in content is rewritten, and so is newer than the stage's outputs.

A stamp that changed is marked stale; the next stage process that records replaces its file list instead of
adding to it, so a module a stage stopped importing drops out at the rerun. This module imports nothing
heavy: the check runs on every make call.

What counts as a change: a Python file is hashed on its syntax tree without docstrings (`HASHING`), so editing a
comment, a docstring, blank lines or line breaks reruns nothing; any change to the code itself does. A file
Python cannot parse, and any other file, is hashed on its bytes. The tree's printed form can differ between
Python versions, so a new interpreter may rerun the stages once. Stamps written before this hashing (no
`hashing` key) are compared on their bytes' hashes and converted in place, without rerunning anything.
"""
from __future__ import annotations

import ast
import atexit
import fcntl
import functools
import hashlib
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HASHING = "python-ast-1"     # written into every stamp: how its hashes were computed
_STARTED_NS = time.time_ns()
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _code_only(source: bytes) -> bytes:
    """The syntax tree of a Python source without its docstrings, printed: what the code does, not how it reads."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, _DOCUMENTED) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def file_hash(relpath: str, raw: bool = False) -> str:
    """A Python file's code hash (docstrings and comments left out), or the bytes' hash of any other file, of a
    file that does not parse, or with raw=True (how stamps were hashed before HASHING)."""
    try:
        content = (ROOT / relpath).read_bytes()
    except FileNotFoundError:
        return "missing"
    if relpath.endswith(".py") and not raw:
        try:
            content = b"python-ast\0" + _code_only(content)
        except (SyntaxError, ValueError):       # the stage will fail on it anyway; its bytes still say it changed
            pass
    return hashlib.sha256(content).hexdigest()[:16]


def imported_files() -> list[str]:
    """The repository files this process runs: its kexue modules and its script, relative to the root."""
    files = {getattr(m, "__file__", None) for n, m in list(sys.modules.items()) if n == "kexue" or n.startswith("kexue.")}
    if sys.argv and sys.argv[0].endswith(".py"):
        files.add(sys.argv[0])
    out = set()
    for f in filter(None, files):
        path = Path(f).resolve()
        if ROOT in path.parents and path.is_file():
            out.add(str(path.relative_to(ROOT)))
    return sorted(out - {str(Path(__file__).resolve().relative_to(ROOT))})   # the stamping itself computes nothing


@contextmanager
def _locked(stamp: Path):
    stamp.parent.mkdir(parents=True, exist_ok=True)
    with open(stamp.with_name(f".{stamp.name}.lock"), "w") as lock:   # parallel folds record into one stamp
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _read(stamp: Path) -> dict | None:
    try:
        content = json.loads(stamp.read_text(encoding="utf-8"))
        return content if isinstance(content.get("files"), dict) else None
    except (FileNotFoundError, ValueError, AttributeError):
        return None


def _write(stamp: Path, content: dict, mtime_ns: int | None = None) -> None:
    tmp = stamp.with_name(f".{stamp.name}.tmp")
    tmp.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if mtime_ns is not None:
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    os.replace(tmp, stamp)


def record(stamp) -> None:
    """Add what this process imported to `stamp`, keeping its mtime (or this process's start time for a new one).
    Hashes already in the stamp are kept: a file edited while the stage ran still looks changed to the next check."""
    stamp = Path(stamp)
    with _locked(stamp):
        old = _read(stamp)
        mtime = stamp.stat().st_mtime_ns if old is not None else _STARTED_NS
        if old is None or old.get("stale"):
            keep = {}
        elif "hashing" not in old:      # an older stamp: a file whose bytes changed keeps its old hash (stale next)
            keep = {f: h if file_hash(f, raw=True) != h else file_hash(f) for f, h in old["files"].items()}
        else:
            keep = old["files"]
        files = {**{f: file_hash(f) for f in imported_files() if f not in keep}, **keep}
        if old is None or files != old["files"] or old.get("stale") or old.get("hashing") != HASHING:
            _write(stamp, {"hashing": HASHING, "files": files}, mtime)


def record_at_exit(stamp) -> None:
    def at_exit():
        try:
            record(stamp)
        except OSError as e:            # a read-only or full DATA_DIR: the stage's own error says more
            print(f"warning: could not write the code stamp {stamp}: {e.strerror or e}", file=sys.stderr)
    atexit.register(at_exit)


def check(directory) -> list[str]:
    """Rewrite every stamp under `directory` whose files changed; returns a line per rewritten stamp."""
    lines = []
    code = functools.cache(file_hash)               # a module is listed in most stamps: parse it once per call
    raw = functools.cache(lambda f: file_hash(f, raw=True))
    for stamp in sorted(Path(directory).glob("*.json")):
        with _locked(stamp):
            old = _read(stamp)
            if old is None:                       # unreadable: gone, so the stage reruns and records it anew
                stamp.unlink(missing_ok=True)
                lines.append(f"{stamp.stem}: code stamp unreadable, rerunning")
                continue
            files = {f: code(f) for f in old["files"]}
            converting = "hashing" not in old                 # an older stamp holds the hashes of the bytes
            now = {f: raw(f) for f in files} if converting else files
            changed = [f for f in files if now[f] != old["files"][f]]
            if changed:
                _write(stamp, {"hashing": HASHING, "files": files, "stale": True})
                more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
                lines.append(f"{stamp.stem}: {', '.join(changed[:3])}{more} changed")
            elif converting:                              # same code: new hashes, same mtime, nothing reruns
                _write(stamp, {"hashing": HASHING, "files": files, **({"stale": True} if old.get("stale") else {})},
                       stamp.stat().st_mtime_ns)
    return lines


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="Rewrite the code stamps whose files changed (make calls this).")
    p.add_argument("command", choices=["check"])
    p.add_argument("directory", help="a folder of <stage>.json code stamps")
    p.add_argument("--label", default="code", help="prefix of the lines naming what changed")
    args = p.parse_args(argv)
    for line in check(args.directory):
        print(f"[{args.label}] {line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
