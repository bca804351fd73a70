"""Stage 4: average the member runs' head probabilities (seeds, folds or models) into one run."""
import argparse
from pathlib import Path

from kexue.core import io, runlog
from kexue.nl2sql import blend

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True)
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
p.add_argument("--members", nargs="+", required=True, help="pointer files (<model>.run) of the runs to average")
p.add_argument("--processed", default="data/processed/nl2sql")
p.add_argument("--runs", default="data/runs/nl2sql")
p.add_argument("--pointer", help="write the ensemble's run id here")
args = p.parse_args()
members = [runlog.read_pointer(m) for m in args.members]
result = blend.blend_runs(io.read_json(args.params), members, args.runs, args.processed, io.read_json(args.decode))
if args.pointer:
    runlog.write_pointer(args.pointer, Path(args.runs) / result["run_id"])
