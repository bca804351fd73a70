"""Where a result came from: git commit, library versions, machine."""
from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
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


def code_hash() -> str:
    """A hash of the code this process runs: the repository files it imported (kexue.core.codestamp's list, the
    one make's code stamps use), by path and content."""
    from .codestamp import file_hash, imported_files
    h = hashlib.sha256()
    for f in imported_files():
        h.update(f"{f}\0{file_hash(f)}\0".encode())
    return h.hexdigest()[:16]


def provenance() -> dict:
    """What produced a result, taken when it is produced: commit (+dirty), library versions, code hash."""
    return {"git_commit": git_commit(), "versions": versions(), "code_hash": code_hash()}
