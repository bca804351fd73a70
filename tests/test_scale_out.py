"""Scale-out: the folds of one run split between two processes that share DATA_DIR (what two machines on a shared
folder do), collected by a third make call into the same run a single process makes."""
import subprocess

import numpy as np
import pytest
from conftest import ROOT, make


@pytest.mark.slow
def test_two_processes_split_the_folds_of_one_run(tmp_path):
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    make(shared, "spectra-features")                       # the data stages once, before the machines split
    cmd = lambda folds: ["make", "--no-print-directory", "spectra-flux_lr", f"FOLDS={folds}",
                         f"DATA_DIR={shared}/data", f"SUBMISSIONS_DIR={shared}/subs"]
    procs = [subprocess.Popen(cmd(f), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for f in ("0 1", "2 3 4")]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(outs)
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
