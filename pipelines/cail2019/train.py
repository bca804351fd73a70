"""Stage 4: train one model (one config and seed). make calls it once per fold, then with --collect."""
import argparse
import shutil

from kexue.cail2019 import stages
from kexue.core import cv, io

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved model config (JSON)")
p.add_argument("--features", default="data/features/cail2019")
p.add_argument("--runs", default="data/runs/cail2019")
g = p.add_mutually_exclusive_group(required=True)
g.add_argument("--print-run-id", action="store_true", help="print the run id these inputs map to")
g.add_argument("--fold", type=int, help="train this fold")
g.add_argument("--all", action="store_true", help="train every fold, then collect")
g.add_argument("--collect", action="store_true", help="assemble OOF/test probabilities and write cv.json")
p.add_argument("--redo", action="store_true", help="discard a finished fold's results and train it again")
args = p.parse_args()

folds = f"{args.features}/folds.npy"
params = io.read_json(args.params)
run = stages.open_run(params, args.runs, args.features, folds)
if args.print_run_id:
    print(run.id)
    raise SystemExit(0)
data = stages.cv_data(args.features, folds)
if not args.collect:  # collecting needs no model (and so no TensorFlow)
    make_model = stages.model_factory(params, args.features)
if args.fold is not None:
    if args.redo and (run.fold_dir(args.fold) / "done.json").exists():
        shutil.rmtree(run.fold_dir(args.fold))
    cv.train_fold(run, args.fold, data, make_model)
elif args.all:
    cv.run_cv(run, data, make_model)
else:
    cv.collect(run, data)
