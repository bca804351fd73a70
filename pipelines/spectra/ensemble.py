"""Stage 5: blend the member runs with weights and class offsets fitted on OOF predictions."""
import argparse
from pathlib import Path

from kexue.core import io, runlog
from kexue.spectra import blend

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True)
p.add_argument("--members", nargs="+", required=True, help="pointer files (<model>.run) of the runs to blend")
p.add_argument("--store", default="data/processed/spectra")
p.add_argument("--runs", default="data/runs/spectra")
p.add_argument("--pointer", help="write the ensemble's run id here")
args = p.parse_args()
member_runs = [runlog.read_pointer(m) for m in args.members]
result = blend.blend_runs(io.read_json(args.params), member_runs, args.runs, args.store)
if args.pointer:
    runlog.write_pointer(args.pointer, Path(args.runs) / result["run_id"])
