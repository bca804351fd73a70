"""Stage 4: train one model with k-fold CV. make calls it once per fold, then with --collect."""
from kexue.core import cv, io
from kexue.spectra import stages

p = cv.train_parser(__doc__, store="data/processed/spectra", features="data/features/spectra",
                    runs="data/runs/spectra")
p.add_argument("--predict-set", required=True, help="JSON file holding the name of the set to predict")
args = p.parse_args()
params = io.read_json(args.params)
run = stages.open_run(params, args.runs, args.store)
cv.train_command(args, run, lambda with_model: (
    stages.cv_data(params, args.store, args.features, io.read_json(args.predict_set)),
    stages.model_factory(params["model"]) if with_model else None))
