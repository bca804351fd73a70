"""Where a result came from: git commit, library versions, machine."""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def git_commit() -> str:
    """HEAD's hash, with '+dirty' when tracked files differ from it; 'unknown' outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def versions(packages=("numpy", "pandas", "scikit-learn", "lightgbm", "tensorflow", "keras")) -> dict:
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def machine() -> dict:
    return {"host": platform.node(), "cpus": os.cpu_count(), "platform": platform.platform()}


def imported_sources() -> list[Path]:
    """The kexue source files this process has imported, sorted."""
    root = REPO_ROOT / "src"
    files = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (name == "kexue" or name.startswith("kexue.")) and path and path.endswith(".py"):
            files.add(Path(path).resolve())
    return sorted(f for f in files if root in f.parents)


def code_hash(files=None) -> str:
    """A hash of the kexue code this process runs (the files it imported, by path and content)."""
    h = hashlib.sha256()
    for f in files if files is not None else imported_sources():
        h.update(str(Path(f).relative_to(REPO_ROOT)).encode() + b"\0" + Path(f).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def provenance() -> dict:
    """What produced a result, taken when it is produced: commit (+dirty), library versions, code hash."""
    return {"git_commit": git_commit(), "versions": versions(), "code_hash": code_hash()}
