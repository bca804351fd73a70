"""Stage 4: train one model with k-fold CV. make calls it once per fold, then with --collect."""
import argparse
import shutil

from kexue.core import cv, io
from kexue.spectra import stages

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved model config (JSON)")
p.add_argument("--predict-set", required=True, help="JSON file holding the name of the set to predict")
p.add_argument("--store", default="data/processed/spectra")
p.add_argument("--features", default="data/features/spectra")
p.add_argument("--runs", default="data/runs/spectra")
g = p.add_mutually_exclusive_group(required=True)
g.add_argument("--print-run-id", action="store_true", help="print the run id these inputs map to")
g.add_argument("--fold", type=int, help="train this fold")
g.add_argument("--all", action="store_true", help="train every fold, then collect")
g.add_argument("--collect", action="store_true", help="assemble OOF/test predictions and write cv.json")
p.add_argument("--redo", action="store_true", help="discard a finished fold's results and train it again")
args = p.parse_args()

params = io.read_json(args.params)
run = stages.open_run(params, args.runs, args.store)
if args.print_run_id:
    print(run.id)
    raise SystemExit(0)
data = stages.cv_data(params, args.store, args.features, io.read_json(args.predict_set))
make_model = stages.model_factory(params["model"])
if args.fold is not None:
    if args.redo and (run.fold_dir(args.fold) / "done.json").exists():
        shutil.rmtree(run.fold_dir(args.fold))
    cv.train_fold(run, args.fold, data, make_model)
elif args.all:
    cv.run_cv(run, data, make_model)
else:
    cv.collect(run, data)
