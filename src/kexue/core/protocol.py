"""What a competition package provides, and what the core does with it.

A competition is a package `kexue.<comp>` beside `kexue.core`; it imports the core, never another competition.
Its stages are thin scripts in `pipelines/<comp>/` and make rules in `mk/<comp>.mk`. Each stage imports one
module of the package (and what that needs), so that make, which hashes the code a stage imports
(kexue.core.codestamp), reruns exactly the stages an edit touches:

    preprocess, folds    <comp>.prepare   source_stamp(cfg, source) -> dict    what preprocess reads (cheap)
                                          preprocess(cfg, out_dir, source)     validated data + manifest.json
                                          make_folds(params, directory)        the folds of the training rows
                                          FOLDS_INPUT = {name: default}        the folder make_folds reads, and
                                                                               where folds.npy goes
    train                <comp>.stages    open_run, cv_data, model_factory     cv.train_main runs it
    blend                <comp>.blend     blend_runs(params, member_runs, inputs) -> the blend run's cv.json
    evaluate             <comp>.evaluate  evaluate(run_dir, inputs)            scores printed and logged
    submit               <comp>.submit    submit(run_dir, inputs) -> Path      the submission, validated first
                                          predict(run_dir, inputs)             optional: --predict-only

Every run-stage module (train, blend, evaluate, submit) declares its inputs the same way:

    INPUTS: dict[str, str | None]   the stage's folders and files as --<name> options with their defaults
                                    (None: required); `runs` is where the runs are (and `out`, for submit,
                                    where submissions go)
    JSON_INPUTS: tuple[str, ...]    the INPUTS that are JSON files (resolved configs), read into values

and gets `inputs`, a dict of each INPUTS name to its value, so that the four competitions' stage functions
have the same signatures and one command line each (preprocess_main in core.source, train_main in core.cv;
folds_main, blend_main, evaluate_main and submit_main here) serves them all. The stage scripts are those calls and nothing else.

The train contract (<comp>.stages):

    open_run(params, inputs) -> runlog.Run
                                    the run these params map to on this data and folds (its id hashes them)
    cv_data(params, inputs) -> cv.CVData
                                    the training rows, labels, folds, groups, test rows and classes, and
                                    `score`, the competition's metric on OOF predictions
    model_factory(params, inputs, data) -> make_model
                                    make_model(params, workdir, seed, classes) -> a fold model: fit(), predict(),
                                    load() (core.keras_fit.FoldModel for Keras models)
    run_params(params, inputs) -> dict
                                    optional: the params as the run records them (NL2SQL adds its BERT)

A blend may also provide select_members(params, pointers) -> pointers, to keep the members its config names.
What the core gives a competition: config resolution and checks (core.config, core.schema), the data source
and its generated sample (core.source), folds and inner selection splits (core.folds), the CV loop with
honest epoch selection, resume and provenance (core.cv, core.keras_fit), run folders and pointers
(core.runlog), blends (core.blend, core.stack), submission checks (core.submission), compare
(core.compare), padded batches and length-bucketed tf.data streams (core.batching).
`check(module, stage)` says what a module lacks (tests/test_protocol.py runs it on every competition).
"""
from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import numpy as np

from . import io, runlog
from .folds import folds_stage

# stage -> (functions it must have, functions it may have), each with its parameters
CONTRACTS = {
    "folds": ({"make_folds": ["params", "directory"]}, {}),
    "train": ({"open_run": ["params", "inputs"], "cv_data": ["params", "inputs"],
               "model_factory": ["params", "inputs", "data"]}, {"run_params": ["params", "inputs"]}),
    "blend": ({"blend_runs": ["params", "member_runs", "inputs"]}, {"select_members": ["params", "pointers"]}),
    "evaluate": ({"evaluate": ["run_dir", "inputs"]}, {}),
    "submit": ({"submit": ["run_dir", "inputs"]}, {"predict": ["run_dir", "inputs"]}),
}
REQUIRED_INPUTS = {"folds": (), "train": ("runs",), "blend": ("runs",), "evaluate": ("runs",), "submit": ("runs", "out")}


def check(module, stage: str = "train") -> list[str]:
    """What a competition's stage module lacks or declares differently from the contract (empty: it complies)."""
    problems = []
    if stage == "folds":
        folds_input = getattr(module, "FOLDS_INPUT", None)
        if not isinstance(folds_input, dict) or len(folds_input) != 1:
            problems.append("FOLDS_INPUT: {name: default folder}, the one folder make_folds reads and folds.npy goes")
        inputs, json_inputs = {}, ()
    else:
        inputs, json_inputs = getattr(module, "INPUTS", None), getattr(module, "JSON_INPUTS", None)
    wanted = REQUIRED_INPUTS[stage]
    if not isinstance(inputs, dict) or not set(wanted) <= set(inputs):
        problems.append(f"INPUTS: a dict of the {stage} stage's inputs, {', '.join(map(repr, wanted))} among them")
    if not isinstance(json_inputs, tuple) or not set(json_inputs) <= set(inputs or {}):
        problems.append("JSON_INPUTS: a tuple of names in INPUTS")
    required, optional = CONTRACTS[stage]
    for name, args in {**required, **optional}.items():
        fn = getattr(module, name, None)
        if fn is None:
            if name in required:
                problems.append(f"{name}({', '.join(args)}) is missing")
            continue
        got = list(inspect.signature(fn).parameters)
        if got != args:
            problems.append(f"{name}({', '.join(got)}): expected {name}({', '.join(args)})")
    return problems


def add_inputs(parser: argparse.ArgumentParser, inputs: dict) -> None:
    """One --<name> option per input, with its default (None: required)."""
    for name, default in inputs.items():
        parser.add_argument(f"--{name.replace('_', '-')}", default=default, required=default is None)


def read_inputs(args, module) -> dict:
    """The stage's `inputs`: each INPUTS option's value, the JSON_INPUTS read."""
    return {name: io.read_json(getattr(args, name)) if name in module.JSON_INPUTS else getattr(args, name)
            for name in module.INPUTS}


def folds_main(description: str, prepare, argv=None) -> None:
    """A competition's folds stage: --params (the resolved folds config) and its FOLDS_INPUT folder; writes
    <folder>/folds.npy only when the assignment changed (core.folds.folds_stage) and says what it holds."""
    (name, default), = prepare.FOLDS_INPUT.items()
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", required=True, help="resolved folds config (JSON)")
    add_inputs(p, prepare.FOLDS_INPUT)
    args = p.parse_args(argv)
    directory, params = getattr(args, name), io.read_json(args.params)
    path = Path(directory) / "folds.npy"
    folds = folds_stage(lambda: prepare.make_folds(params, directory), path)
    sizes = np.bincount(folds[folds >= 0]).tolist()
    scored = f", {sum(sizes)} of them scored" if sum(sizes) < len(folds) else ""
    print(f"[{prepare.__name__.split('.')[1]}] folds: {len(sizes)} fold(s) over {len(folds)} training rows{scored}, "
          f"sizes {sizes} -> {path}", flush=True)


def blend_main(description: str, blend, argv=None) -> None:
    """A competition's blend stage (pipelines/<comp>/ensemble.py): --params, --members (pointer files of the
    member runs), its INPUTS, and --pointer (written with the blend's run id)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", required=True, help="resolved blend config (JSON)")
    p.add_argument("--members", nargs="+", required=True, help="pointer files (<model>.run) of the member runs")
    add_inputs(p, blend.INPUTS)
    p.add_argument("--pointer", help="write the blend's run id here")
    args = p.parse_args(argv)
    params, inputs = io.read_json(args.params), read_inputs(args, blend)
    pointers = blend.select_members(params, args.members) if hasattr(blend, "select_members") else args.members
    result = blend.blend_runs(params, [runlog.read_pointer(m) for m in pointers], inputs)
    if args.pointer:
        runlog.write_pointer(args.pointer, Path(inputs["runs"]) / result["run_id"])


def _run_parser(description: str, module) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
    add_inputs(p, module.INPUTS)
    return p


def evaluate_main(description: str, evaluate, argv=None) -> None:
    """A competition's evaluate stage: --run (a run folder or pointer) and its INPUTS."""
    args = _run_parser(description, evaluate).parse_args(argv)
    inputs = read_inputs(args, evaluate)
    evaluate.evaluate(runlog.resolve_run(args.run, inputs["runs"]), inputs)


def submit_main(description: str, submit, argv=None) -> None:
    """A competition's submit stage: --run, its INPUTS, --pointer (written with the submission's path) and,
    where the module has predict(), --predict-only (the run's test predictions, no submission)."""
    p = _run_parser(description, submit)
    p.add_argument("--pointer", help="write the submission's path here")
    if hasattr(submit, "predict"):
        p.add_argument("--predict-only", action="store_true", help="write the run's decoded test predictions only")
    args = p.parse_args(argv)
    inputs = read_inputs(args, submit)
    run_dir = runlog.resolve_run(args.run, inputs["runs"])
    if getattr(args, "predict_only", False):
        submit.predict(run_dir, inputs)
        return
    out = submit.submit(run_dir, inputs)
    if args.pointer:
        io.write_text(args.pointer, f"{out}\n")
