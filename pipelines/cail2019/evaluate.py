"""Stage 6: the run's OOF scores, and the test's when the test gold is there (the generated sample has it)."""
import argparse

from kexue.cail2019 import evaluate
from kexue.core import runlog

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="the run folder, or a pointer file naming it")
p.add_argument("--processed", default="data/processed/cail2019")
p.add_argument("--features", default="data/features/cail2019")
p.add_argument("--runs", default="data/runs/cail2019")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
evaluate.evaluate(run_dir, args.processed, args.features)
