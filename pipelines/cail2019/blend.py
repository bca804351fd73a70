"""Stage 5: a blend of trained runs: their probabilities averaged, decided at 0.5 or at per-tag thresholds tuned
on OOF (configs/cail2019/<blend>.yaml names its members by model config)."""
import argparse
from pathlib import Path

from kexue.cail2019 import blend
from kexue.core import io, runlog

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True)
p.add_argument("--members", nargs="+", required=True, help="pointer files (<model>.s<seed>.run) of trained runs")
p.add_argument("--features", default="data/features/cail2019")
p.add_argument("--runs", default="data/runs/cail2019")
p.add_argument("--pointer", help="write the blend's run id here")
args = p.parse_args()
params = io.read_json(args.params)
wanted = params["member_models"]
pointers = [m for m in args.members if wanted == "all" or Path(m).name.split(".s")[0] in wanted]
if not pointers:
    raise SystemExit(f"error: blend {params['name']}: none of the trained models {[Path(m).name for m in args.members]} "
                     f"is in its member_models {wanted}; add it to CAIL_MODELS")
result = blend.blend_runs(params, [runlog.read_pointer(m) for m in pointers], args.runs, args.features)
if args.pointer:
    runlog.write_pointer(args.pointer, Path(args.runs) / result["run_id"])
