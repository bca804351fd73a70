import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED = ROOT.parent / "shared"
LAMOST = SHARED / "data" / "spectra" / "lamost"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

needs_shared = pytest.mark.skipif(not LAMOST.exists(), reason="../shared is absent (real data lives there)")


def write_spectrum(path: Path, values) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values))


@pytest.fixture
def tiny_raw(tmp_path):
    """A valid raw folder in the competition layout: 12 train spectra (3 classes), 4 test, 8 values each."""
    import numpy as np
    rng = np.random.default_rng(0)
    root = tmp_path / "raw"
    classes = ["star", "galaxy", "qso"] * 4
    lines = ["id,type"]
    for i, c in enumerate(classes):
        write_spectrum(root / "first_train_data_20180131" / f"{1000 + i}.txt", rng.normal(100, 10, 8).round(3).tolist())
        lines.append(f"{1000 + i},{c}")
    (root / "first_train_index_20180131.csv").write_text("\n".join(lines) + "\n")
    test_lines = ["id"]
    for i in range(4):
        write_spectrum(root / "first_test_data_20180131" / f"{5000 + i}.txt", rng.normal(100, 10, 8).round(3).tolist())
        test_lines.append(f"{5000 + i}")
    (root / "first_test_index_20180131.csv").write_text("\n".join(test_lines) + "\n")
    return root


@pytest.fixture
def data_cfg():
    from kexue.core import config
    cfg = config.resolve(ROOT / "configs" / "spectra" / "data.yaml")
    cfg["n_values"] = 8
    cfg["workers"] = 1
    cfg["folds"]["n"] = 2        # tiny_raw has 4 spectra a class
    return cfg


def make(tmp_path, *args, timeout: int = 900) -> str:
    """`make ARGS` from the repository root with every output under tmp_path; fails the test with the output's
    tail when make fails, returns stdout + stderr."""
    import subprocess
    cmd = ["make", "--no-print-directory", *args, f"DATA_DIR={tmp_path}/data", f"SUBMISSIONS_DIR={tmp_path}/subs"]
    out = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def copy_repo(dest: Path) -> Path:
    """The working tree's files (tracked and new, not ignored) copied to dest, mtimes kept so the venv stays
    current: a repository a test may edit."""
    import shutil
    import subprocess
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def make_in(repo: Path, *args, timeout: int = 900) -> str:
    """`make ARGS` in a copied repository, with its own kexue (not the installed one) and this checkout's venv."""
    import os
    import subprocess
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    out = subprocess.run(["make", "--no-print-directory", *args, f"VENV={ROOT / '.venv'}"], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def run_together(commands: list[list[str]], logs: list[Path], timeout: int = 600, **popen) -> list[tuple[int, str]]:
    """Start every command at once, each writing to its own log file (a pipe read one process after the other
    could fill and stall the rest: two workers waiting on each other would hang), wait for all; returns each
    one's (exit status, output)."""
    import subprocess
    files = [open(log, "w") for log in logs]
    try:
        procs = [subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, **popen) for cmd, fh in zip(commands, files)]
        for p in procs:
            p.wait(timeout=timeout)
    finally:
        for fh in files:
            fh.close()
    return [(p.returncode, Path(log).read_text()) for p, log in zip(procs, logs)]
