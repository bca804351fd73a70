"""The competition contract of kexue.core.protocol: each of the four stages modules implements it with the same
signatures, the checker catches a module that does not, and every train script is the one-line core entry."""
import importlib
import types

import pytest
from conftest import ROOT

from kexue.core import protocol

COMPETITIONS = ["spectra", "nl2sql", "qa", "cail2019"]


@pytest.mark.parametrize("comp", COMPETITIONS)
def test_each_competition_implements_the_train_contract(comp):
    stages = importlib.import_module(f"kexue.{comp}.stages")
    assert protocol.check(stages) == []
    script = (ROOT / "pipelines" / comp / "train.py").read_text()
    assert f"from kexue.{comp} import stages" in script and "cv.train_main(__doc__, stages)" in script


def test_the_checker_names_what_is_missing_or_different():
    bad = types.SimpleNamespace(INPUTS={"data": "x"}, JSON_INPUTS=("decode",),
                                open_run=lambda params, inputs: None, cv_data=lambda features, folds: None)
    problems = protocol.check(bad)
    assert "INPUTS: a dict of the train stage's inputs, 'runs' among them" in problems
    assert "JSON_INPUTS: a tuple of names in INPUTS" in problems
    assert "cv_data(features, folds): expected cv_data(params, inputs)" in problems
    assert "model_factory(params, inputs, data) is missing" in problems
    assert not any(p.startswith("open_run") or p.startswith("run_params") for p in problems)
