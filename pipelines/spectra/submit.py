"""Stage 6: write the submission CSV (id,type) of a run: every id of the test index once, validated before it
is written."""
import argparse

from kexue.core import io, runlog
from kexue.spectra.submit import submit

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
p.add_argument("--params", required=True, help="resolved submit config (JSON)")
p.add_argument("--predict-set", required=True, help="JSON file holding the name of the set to predict")
p.add_argument("--store", default="data/processed/spectra")
p.add_argument("--runs", default="data/runs/spectra")
p.add_argument("--out", default="submissions/spectra")
p.add_argument("--pointer", help="write the submission's path here")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
params = io.read_json(args.params)
out = submit(run_dir, args.store, io.read_json(args.predict_set), args.out, bool(params["header"]),
             str(params.get("missing", "error")))
if args.pointer:
    io.write_text(args.pointer, str(out) + "\n")
