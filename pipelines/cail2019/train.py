"""Stage 4: train one model (one config and seed). make calls it once per fold, then with --collect."""
from kexue.cail2019 import stages
from kexue.core import cv, io

p = cv.train_parser(__doc__, features="data/features/cail2019", runs="data/runs/cail2019")
args = p.parse_args()
folds = f"{args.features}/folds.npy"
params = io.read_json(args.params)
run = stages.open_run(params, args.runs, args.features, folds)
cv.train_command(args, run, lambda with_model: (
    stages.cv_data(args.features, folds), stages.model_factory(params, args.features) if with_model else None))
