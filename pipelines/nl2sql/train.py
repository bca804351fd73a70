"""Stage 3: train one model (one config and seed). make calls it once per fold, then with --collect."""
from kexue.core import cv, io
from kexue.nl2sql import stages

p = cv.train_parser(__doc__, processed="data/processed/nl2sql", runs="data/runs/nl2sql")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
args = p.parse_args()
folds = f"{args.processed}/folds.npy"
params = stages.with_backbone(io.read_json(args.params), args.processed)
run = stages.open_run(params, args.runs, args.processed, folds)


def prepare(with_model):
    data, scorer, _ = stages.cv_data(params, args.processed, folds, io.read_json(args.decode))
    return data, stages.model_factory(params, scorer) if with_model else None


cv.train_command(args, run, prepare)
