"""Stage 5: train one model (one config and seed). make calls it once per fold, then with --collect."""
from kexue.core import cv, io
from kexue.qa import stages

p = cv.train_parser(__doc__, processed="data/processed/qa", features="data/features/qa", runs="data/runs/qa")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
args = p.parse_args()
folds = f"{args.processed}/folds.npy"
params = io.read_json(args.params)
run = stages.open_run(params, args.runs, args.features, folds)


def prepare(with_model):
    data, scorer = stages.cv_data(args.processed, args.features, folds, io.read_json(args.decode))
    return data, stages.model_factory(params, scorer, args.features, f"{args.features}/wordvec") if with_model else None


cv.train_command(args, run, prepare)
