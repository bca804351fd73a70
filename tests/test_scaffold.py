"""`make new-competition NAME=<name>` in a copy of the repository: the scaffold writes a competition that keeps
the protocol, runs end to end with `make <name>-submit` on its generated sample, reruns nothing the second time,
and passes the test it wrote; bad or taken names and existing files stop it before it writes anything."""
import subprocess
import sys

import pytest
from conftest import ROOT, copy_repo, make_in

from kexue.core import scaffold


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("repo"))
    (repo / ".venv").symlink_to(ROOT / ".venv")                 # the test it writes runs make without VENV=
    out = make_in(repo, "new-competition", "NAME=churn")
    assert "wrote 18 files" in out and (repo / "Makefile").read_text().endswith("include mk/churn.mk\n")
    return repo


@pytest.mark.slow
def test_the_scaffold_runs_end_to_end_and_keeps_the_protocol(repo):
    out = make_in(repo, "churn-submit")
    assert "GENERATED SAMPLE" in out and "ensemble of 2" in out
    [sub] = (repo / "submissions" / "churn").glob("ensemble-*.csv")
    assert len(sub.read_text().splitlines()) == 201            # the header and the 200 test rows
    assert make_in(repo, "churn-submit").strip() == ""          # nothing changed: nothing runs
    check = subprocess.run([sys.executable, "-c", "import kexue.churn.stages as s, kexue.core.protocol as p; "
                            "print(p.check(s))"], cwd=repo, env={"PYTHONPATH": str(repo / "src")},
                           capture_output=True, text=True)
    assert check.stdout.strip() == "[]", check.stderr
    assert "churn-submit" in make_in(repo, "help")
    out = make_in(repo, "tune", "COMP=churn", "MODEL=lgbm", "TRIALS=2")     # its lgbm config has a tune: section
    assert "trial 1:" in out and "honest: on held-out fold" in out
    assert (repo / "configs" / "churn" / "lgbm-optuna.yaml").exists()


@pytest.mark.slow
def test_the_test_it_wrote_passes(repo):
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_churn_pipeline.py"],
                         cwd=repo, env={"PYTHONPATH": str(repo / "src"), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0 and "4 passed" in out.stdout, out.stdout[-3000:] + out.stderr[-2000:]


@pytest.mark.parametrize("name, says", [("Churn", "lower-case"), ("2fast", "lower-case"), ("class", "lower-case"),
                                        ("spectra", "taken"), ("core", "taken"), ("", "lower-case")])
def test_bad_or_taken_names_are_refused(name, says):
    with pytest.raises(SystemExit, match=says):
        scaffold.check_name(name, ROOT)


def test_it_never_overwrites(tmp_path):
    (tmp_path / "Makefile").write_text("include mk/cv.mk\n")
    (tmp_path / "configs" / "churn").mkdir(parents=True)
    (tmp_path / "configs" / "churn" / "lgbm.yaml").write_text("mine\n")
    with pytest.raises(SystemExit, match="configs/churn/lgbm.yaml exist already; nothing was written"):
        scaffold.scaffold("churn", tmp_path)
    assert (tmp_path / "configs" / "churn" / "lgbm.yaml").read_text() == "mine\n"
    assert not (tmp_path / "src").exists() and (tmp_path / "Makefile").read_text() == "include mk/cv.mk\n"
