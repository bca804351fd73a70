"""The competition contract of kexue.core.protocol: each competition's train, blend, evaluate and submit modules
implement it with the same signatures, the checker catches a module that does not, and every run-stage script is
the one-line core entry."""
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


# stage -> (module, pipeline script, core entry); spectra has no evaluate stage (its CV log is the report)
RUN_STAGES = {"folds": ("prepare", "folds", "protocol.folds_main"),
              "blend": ("blend", "ensemble", "protocol.blend_main"),
              "evaluate": ("evaluate", "evaluate", "protocol.evaluate_main"),
              "submit": ("submit", "submit", "protocol.submit_main")}


@pytest.mark.parametrize("comp,stage", [(c, s) for c in COMPETITIONS for s in RUN_STAGES
                                        if (c, s) != ("spectra", "evaluate")])
def test_each_competition_implements_the_run_stage_contracts(comp, stage):
    module_name, script_name, entry = RUN_STAGES[stage]
    if comp == "cail2019" and stage == "blend":
        script_name = "blend"
    module = importlib.import_module(f"kexue.{comp}.{module_name}")
    assert protocol.check(module, stage) == []
    script = (ROOT / "pipelines" / comp / f"{script_name}.py").read_text()
    assert f"from kexue.{comp} import {module_name}" in script and f"{entry}(__doc__, {module_name})" in script
    # the script is the call and its docstring: nothing else to repeat
    code = [line for line in script.split('"""')[-1].splitlines() if line.strip()]
    assert len(code) == 3, code


def test_a_stage_entry_turns_inputs_into_options_and_reads_the_json_ones(tmp_path):
    """blend_main: --params, --members, one option per INPUTS name (underscores as dashes, None required), the JSON
    inputs read, the pointer written with the blend's run id under `runs`."""
    (tmp_path / "p.json").write_text('{"name": "e"}')
    (tmp_path / "d.json").write_text('{"k": 1}')
    (tmp_path / "m.run").write_text("run-1\n")
    seen = {}

    def blend_runs(params, member_runs, inputs):
        seen.update(params=params, members=member_runs, inputs=inputs)
        (tmp_path / "runs" / "e-1").mkdir(parents=True)
        (tmp_path / "runs" / "e-1" / "cv.json").write_text("{}")
        return {"run_id": "e-1"}

    blend = types.SimpleNamespace(INPUTS={"runs": str(tmp_path / "runs"), "decode_cfg": None},
                                  JSON_INPUTS=("decode_cfg",), blend_runs=blend_runs)
    protocol.blend_main("test", blend, ["--params", str(tmp_path / "p.json"), "--members", str(tmp_path / "m.run"),
                                        "--decode-cfg", str(tmp_path / "d.json"), "--pointer", str(tmp_path / "e.run")])
    assert seen == {"params": {"name": "e"}, "members": ["run-1"],
                    "inputs": {"runs": str(tmp_path / "runs"), "decode_cfg": {"k": 1}}}
    assert (tmp_path / "e.run").read_text().split("\n")[0] == "e-1"
    with pytest.raises(SystemExit):             # a required input left out is argparse's message, exit 2
        protocol.blend_main("test", blend, ["--params", str(tmp_path / "p.json"), "--members", "x"])


def test_the_checker_names_what_is_missing_or_different():
    bad = types.SimpleNamespace(INPUTS={"data": "x"}, JSON_INPUTS=("decode",),
                                open_run=lambda params, inputs: None, cv_data=lambda features, folds: None)
    problems = protocol.check(bad)
    assert "INPUTS: a dict of the train stage's inputs, 'runs' among them" in problems
    assert "JSON_INPUTS: a tuple of names in INPUTS" in problems
    assert "cv_data(features, folds): expected cv_data(params, inputs)" in problems
    assert "model_factory(params, inputs, data) is missing" in problems
    assert not any(p.startswith("open_run") or p.startswith("run_params") for p in problems)



def test_the_checker_knows_each_run_stage():
    bad = types.SimpleNamespace(INPUTS={"runs": "r"}, JSON_INPUTS=(), submit=lambda run_dir, out_dir: None,
                                predict=lambda run_dir, inputs: None)
    problems = protocol.check(bad, "submit")
    assert "INPUTS: a dict of the submit stage's inputs, 'runs', 'out' among them" in problems
    assert "submit(run_dir, out_dir): expected submit(run_dir, inputs)" in problems
    assert not any(p.startswith("predict") for p in problems)
    assert protocol.check(types.SimpleNamespace(INPUTS={"runs": "r"}, JSON_INPUTS=()), "blend") == [
        "blend_runs(params, member_runs, inputs) is missing"]
