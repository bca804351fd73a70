"""Stage 7: decode a run's OOF (and, with test gold, test) probabilities; Sogou score with and without voting."""
import argparse

from kexue.core import io, runlog
from kexue.qa import evaluate

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
p.add_argument("--processed", default="data/processed/qa")
p.add_argument("--features", default="data/features/qa")
p.add_argument("--runs", default="data/runs/qa")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
evaluate.evaluate(run_dir, args.processed, args.features, io.read_json(args.decode))
