"""A CNN fold killed mid-training resumes from its last finished epoch instead of restarting."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT

from kexue.core import config, io
from kexue.spectra import data, prepare, sample

pytestmark = pytest.mark.slow


def epochs_logged(fold_dir):
    path = fold_dir / "history.jsonl"
    return [json.loads(l)["epoch"] for l in path.read_text().splitlines()] if path.exists() else []


def test_killed_fold_resumes(tmp_path, data_cfg):
    raw = sample.generate(tmp_path / "raw", 40, 6, {"star": 0.5, "qso": 0.5}, seed=1)
    data.preprocess({**data_cfg, "n_values": 2600}, raw, tmp_path / "store", "sample")
    io.save_npy(tmp_path / "store" / "folds.npy", prepare.make_folds({"n": 2, "seed": 0}, tmp_path / "store"))
    params = config.resolve(ROOT / "configs" / "spectra" / "cnn.yaml",
                            ["epochs_ce=8", "epochs_f1=0", "steps_per_epoch=3", "batch_size=8",
                             "filters=[4, 4, 4, 4, 4, 4, 4, 4]", "verbose=0"])
    io.write_json(tmp_path / "cnn.json", params)
    io.write_json(tmp_path / "predict.json", "test")
    cmd = [sys.executable, str(ROOT / "pipelines" / "spectra" / "train.py"), "--params", str(tmp_path / "cnn.json"),
           "--predict-set", str(tmp_path / "predict.json"), "--store", str(tmp_path / "store"),
           "--runs", str(tmp_path / "runs"), "--fold", "0"]
    run_id = subprocess.run([*cmd[:-2], "--print-run-id"], capture_output=True, text=True, check=True).stdout.strip()
    fold_dir = tmp_path / "runs" / run_id / "fold0"

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while len(epochs_logged(fold_dir)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)  # let BackupAndRestore finish writing the epoch's checkpoint
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = epochs_logged(fold_dir)
    assert 3 <= len(before) < 8, f"the kill should land mid-training, epochs seen: {before}"
    assert not (fold_dir / "done.json").exists()

    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    after = epochs_logged(fold_dir)[len(before):]
    assert after[0] >= len(before) - 1, f"restarted from scratch: {after}"  # at most the interrupted epoch again
    assert after[-1] == 7
    done = json.loads((fold_dir / "done.json").read_text())
    assert done["n_valid"] == 20 and np.load(fold_dir / "valid_pred.npy").shape == (20, 2)
