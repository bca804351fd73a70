"""What a competition package provides, and what the core does with it.

A competition is a package `kexue.<comp>` beside `kexue.core`; it imports the core, never another competition.
Its stages are thin scripts in `pipelines/<comp>/` and make rules in `mk/<comp>.mk`. Each stage imports one
module of the package (and what that needs), so that make, which hashes the code a stage imports
(kexue.core.codestamp), reruns exactly the stages an edit touches:

    preprocess, folds    <comp>.prepare   source_stamp(cfg, source) -> dict    what preprocess reads (cheap)
                                          preprocess(cfg, out_dir, source)     validated data + manifest.json
                                          make_folds(...)                      folds.npy, via core.folds
    train                <comp>.stages    the contract below; the core's cv.train_main runs it
    blend / ensemble     <comp>.blend     blend_runs(params, member_runs, runs_dir, ...) -> cv.json result
    evaluate, submit     <comp>.evaluate, <comp>.submit (nl2sql: submission)

What the core gives a competition: config resolution and checks (core.config, core.schema), the data source
and its generated sample (core.source), folds and inner selection splits (core.folds), the CV loop with
honest epoch selection, resume and provenance (core.cv, core.keras_fit), run folders and pointers
(core.runlog), blends (cv.average_blend, core.ensemble), submission checks (core.submission), compare
(core.compare), padded batches and length-bucketed tf.data streams (core.batching).

The train-stage contract, checked for every competition by `check` (tests/test_protocol.py):

    INPUTS: dict[str, str | None]   the train stage's folders and files as --<name> options with their
                                    defaults (None: required); `runs` is where its runs go
    JSON_INPUTS: tuple[str, ...]    the INPUTS that are JSON files (resolved configs), read into values
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

`inputs` maps each INPUTS name to its value. The blends and evaluate call cv_data with the inputs they have.
"""
from __future__ import annotations

import inspect

TRAIN_FUNCTIONS = {"open_run": ["params", "inputs"], "cv_data": ["params", "inputs"],
                   "model_factory": ["params", "inputs", "data"]}
OPTIONAL_FUNCTIONS = {"run_params": ["params", "inputs"]}


def check(stages) -> list[str]:
    """What a competition's stages module lacks or declares differently from the contract (empty: it complies)."""
    problems = []
    inputs = getattr(stages, "INPUTS", None)
    if not isinstance(inputs, dict) or "runs" not in inputs:
        problems.append("INPUTS: a dict of the train stage's inputs, 'runs' among them")
    json_inputs = getattr(stages, "JSON_INPUTS", None)
    if not isinstance(json_inputs, tuple) or not set(json_inputs) <= set(inputs or {}):
        problems.append("JSON_INPUTS: a tuple of names in INPUTS")
    for name, args in {**TRAIN_FUNCTIONS, **OPTIONAL_FUNCTIONS}.items():
        fn = getattr(stages, name, None)
        if fn is None:
            if name in TRAIN_FUNCTIONS:
                problems.append(f"{name}({', '.join(args)}) is missing")
            continue
        got = list(inspect.signature(fn).parameters)
        if got != args:
            problems.append(f"{name}({', '.join(got)}): expected {name}({', '.join(args)})")
    return problems
