"""Scale-out: the folds of one run split between two processes that share DATA_DIR (what two machines on a shared
folder do), collected by a third make call into the same run a single process makes."""
import subprocess

import numpy as np
import pytest
from conftest import ROOT, make, run_together


@pytest.mark.slow
def test_two_processes_split_the_folds_of_one_run(tmp_path):
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    make(shared, "spectra-features")                       # the data stages once, before the machines split
    cmd = lambda folds: ["make", "--no-print-directory", "spectra-flux_lr", f"FOLDS={folds}",
                         f"DATA_DIR={shared}/data", f"SUBMISSIONS_DIR={shared}/subs"]
    results = run_together([cmd("0 1"), cmd("2 3 4")], [tmp_path / f"machine{i}.log" for i in (0, 1)], cwd=ROOT)
    outs = [out for _, out in results]
    assert all(rc == 0 for rc, _ in results), "\n".join(outs)
    for out, mine, theirs in zip(outs, ("01", "234"), ("234", "01")):
        trained = {c for c in "01234" if f"] fold {c} of 5" in out}
        assert trained == set(mine), out                      # each process trained its folds, and only those
        assert "done here; make without FOLDS" in out and "OOF macro_f1" not in out
    runs = shared / "data" / "runs" / "spectra"
    run, = [p for p in runs.iterdir() if p.name.startswith("flux_lr-")]
    assert not (run / "cv.json").exists()
    out = make(shared, "spectra-flux_lr")                   # any machine: nothing left to train, collect
    assert "of 5: train" not in out and "OOF macro_f1" in out
    make(alone, "spectra-flux_lr")
    run_alone = alone / "data" / "runs" / "spectra" / run.name             # the same run id: same config, data, folds
    np.testing.assert_array_equal(np.load(run / "oof.npy"), np.load(run_alone / "oof.npy"))
    np.testing.assert_array_equal(np.load(run / "test.npy"), np.load(run_alone / "test.npy"))
    assert make(shared, "spectra-flux_lr").strip() == ""     # and the run is complete: a rerun does nothing


def _strip(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(("WARNING", "I0000", "W0000", "E0000")))


@pytest.mark.slow
def test_two_workers_train_one_cnn_fold_as_one_process_does(tmp_path):
    """`distribute: multiworker`: two worker processes on loopback ports (MultiWorkerMirroredStrategy, each on half
    of every batch) train fold 0 of a small CNN; its predictions match the single-process fold within 1e-4.
    Cross-entropy only and no dropout: the soft macro-F1 phase is computed per worker's share of the batch, and
    dropout masks are drawn per worker (kexue.core.multiworker), so those differ from one process by design."""
    import sys

    from kexue.core import pglocal
    data = tmp_path / "data"
    make(tmp_path, "spectra-folds", "spectra-features", f"{data}/interim/spectra/predict_set.json")
    store = ["--store", f"{data}/processed/spectra", "--features", f"{data}/features/spectra",
             "--predict-set", f"{data}/interim/spectra/predict_set.json"]
    params = {}
    for kind in ("default", "multiworker"):
        params[kind] = tmp_path / f"{kind}.json"
        subprocess.run([sys.executable, "-m", "kexue.core.config", "configs/spectra/cnn.yaml", "--out", params[kind],
                        "--profile", "sample", "--set", "filters=[8,8]", "--set", "dilations=[1,2]", "--set", "dense=16",
                        "--set", "epochs_ce=3", "--set", "epochs_f1=0", "--set", "dropout=0.0", "--set", "verbose=0",
                        "--set", "steps_per_epoch=6", "--set", "batch_size=32", "--set", f"distribute={kind}"],
                       cwd=ROOT, check=True)
    train = lambda kind: ["pipelines/spectra/train.py", "--params", str(params[kind]), "--fold", "0", *store,
                          "--runs", str(tmp_path / kind)]
    one = subprocess.run([sys.executable, *train("default")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert one.returncode == 0, _strip(one.stdout + one.stderr)[-3000:]
    workers = ",".join(f"127.0.0.1:{pglocal.free_port()}" for _ in range(2))
    results = run_together([[sys.executable, "-m", "kexue.core.multiworker", "--workers", workers, "--index", str(i),
                             "--", *train("multiworker")] for i in (0, 1)],
                           [tmp_path / f"worker{i}.log" for i in (0, 1)], cwd=ROOT)
    outs = [_strip(out) for _, out in results]
    assert all(rc == 0 for rc, _ in results), "\n".join(o[-3000:] for o in outs)
    assert all("(2 workers)" in o for o in outs)
    (single,), (multi,) = (list((tmp_path / k).glob("cnn-*/fold0")) for k in ("default", "multiworker"))
    a, b = np.load(single / "valid_pred.npy"), np.load(multi / "valid_pred.npy")
    assert a.shape == b.shape == (120, 4)
    assert np.abs(a - b).max() < 1e-4, np.abs(a - b).max()
    assert (multi / "done.json").exists() and (multi / "history.jsonl").exists()
    assert len(list((tmp_path / "multiworker").glob("cnn-*"))) == 1      # worker 1 wrote nothing there
