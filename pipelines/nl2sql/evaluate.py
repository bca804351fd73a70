"""Stage 5: decode a run's validation predictions and report logic-form, execution and component accuracies."""
import argparse

from kexue.core import io, runlog
from kexue.nl2sql import evaluate

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
p.add_argument("--processed", default="data/processed/nl2sql")
p.add_argument("--runs", default="data/runs/nl2sql")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
evaluate.evaluate(run_dir, args.processed, io.read_json(args.decode))
