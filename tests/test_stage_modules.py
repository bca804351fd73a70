"""make reruns a stage when a kexue module its process imported changes (kexue.core.codestamp), so the module
structure is the dependency structure: each stage's pipeline script imports its own stage module, and importing
that module must not load the modules of other stages. Every check imports one module in a fresh process (no kexue
module loaded before it) and looks at sys.modules, so an edit that couples two stages fails here instead of
silently rerunning stages."""
import ast
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

# the stage module of each competition's pipeline scripts
SCRIPTS = {
    "qa": {"preprocess": "prepare", "wordvec": "prepare", "encode": "prepare", "folds": "prepare", "train": "stages",
           "ensemble": "blend", "evaluate": "evaluate", "submit": "submit"},
    "nl2sql": {"preprocess": "prepare", "folds": "prepare", "train": "stages", "ensemble": "blend",
               "evaluate": "evaluate", "submit": "submit"},
    "cail2019": {"preprocess": "prepare", "encode": "prepare", "folds": "prepare", "train": "stages", "blend": "blend",
                 "evaluate": "evaluate", "submit": "submit"},
    "spectra": {"preprocess": "prepare", "folds": "prepare", "features": "prepare", "train": "stages",
                "ensemble": "blend", "submit": "submit"},
}
MODELS = {"qa": ["model"], "nl2sql": ["model"], "cail2019": ["model"], "spectra": ["cnn", "lgbm"]}
HEAVY = ["keras", "tensorflow", "lightgbm", "kexue.core.cv", "kexue.bert.checkpoint"]


def forbidden(comp: str) -> dict[str, list[str]]:
    """{stage module: the modules importing it must not load}. A model is imported by model_factory when a fold
    trains, never by importing the training module. prepare is imported only by its own stages (and by submit,
    which re-reads the source files as preprocess did); evaluate may read a blend's thresholds."""
    stage_modules = sorted(set(SCRIPTS[comp].values()))
    own = lambda *names: [f"kexue.{comp}.{m}" for m in names if m in stage_modules]
    submit = own("submit")
    models = [f"kexue.{comp}.{m}" for m in MODELS[comp]]
    rules = {
        "prepare": own("stages", "blend", "evaluate") + submit + models + HEAVY,
        # training must not load the blend code either: an edit to a blend would retrain every member
        "stages": own("prepare", "blend", "evaluate") + submit + models + ["keras", "tensorflow", "lightgbm",
                                                                           "kexue.core.blend", "kexue.core.stack"],
        "blend": own("prepare", "evaluate") + submit + models + ["keras", "tensorflow", "lightgbm"],
        "evaluate": own("prepare") + submit + models + ["keras", "tensorflow", "lightgbm"],
    }
    return {m: rules[m] for m in stage_modules if m in rules}


# One process per competition imports what every stage module imports anyway (numpy, scikit-learn: seconds), then
# forks a child per check: each child starts with no kexue module loaded, imports one stage module, and prints
# which of the modules it must not load are in its sys.modules.
CHECK = """
import importlib, json, os, sys, traceback
import numpy, sklearn.model_selection
for module, names in {rules!r}.items():
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            importlib.import_module("kexue.{comp}." + module)
            print(json.dumps([module, sorted(n for n in names if n in sys.modules)]))
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    if os.waitpid(pid, 0)[1]:
        print(json.dumps([module, "import failed"]), flush=True)
"""


@pytest.mark.parametrize("comp", sorted(SCRIPTS))
def test_a_stage_module_loads_no_other_stage(comp):
    rules = forbidden(comp)
    env = {k: v for k, v in os.environ.items() if k != "KEXUE_CODE_STAMP"}     # a check records no code stamp
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    out = subprocess.run([sys.executable, "-c", CHECK.format(comp=comp, rules=rules)], check=False, cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    loaded = dict(json.loads(line) for line in out.stdout.splitlines() if line.startswith("["))
    assert out.returncode == 0 and set(loaded) == set(rules), out.stdout[-2000:] + out.stderr[-3000:]
    assert loaded == {module: [] for module in rules}, \
        f"importing a {comp} stage module loads another stage's code (make would rerun that stage on its edits)"


@pytest.mark.parametrize("comp", sorted(SCRIPTS))
def test_each_pipeline_script_imports_its_own_stage_module(comp):
    scripts = sorted(p.stem for p in (ROOT / "pipelines" / comp).glob("*.py"))
    assert scripts == sorted(SCRIPTS[comp]), "a pipeline script was added or removed: name its stage module above"
    stage_modules = set(SCRIPTS[comp].values())
    wrong = {}
    for script, module in SCRIPTS[comp].items():
        imported = set()
        for node in ast.walk(ast.parse((ROOT / "pipelines" / comp / f"{script}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == f"kexue.{comp}":
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"kexue.{comp}."):
                imported.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                imported |= {a.name.split(".")[2] for a in node.names if a.name.startswith(f"kexue.{comp}.")}
        if (imported & stage_modules) != {module}:
            wrong[script] = sorted(imported & stage_modules)
    assert not wrong, f"pipelines/{comp}: scripts importing another stage's module (expected {SCRIPTS[comp]}): {wrong}"
