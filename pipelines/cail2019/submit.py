"""Stage 7: the test file with the run's predicted labels filled in, validated before it is written:
submissions/cail2019/<run>.json."""
import argparse

from kexue.cail2019.submit import submit
from kexue.core import runlog

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="the run folder, or a pointer file naming it")
p.add_argument("--processed", default="data/processed/cail2019")
p.add_argument("--features", default="data/features/cail2019")
p.add_argument("--runs", default="data/runs/cail2019")
p.add_argument("--out", default="submissions/cail2019")
p.add_argument("--pointer", help="write the submission's path here")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
out = submit(run_dir, args.processed, args.features, args.out)
if args.pointer:
    from kexue.core import io
    io.write_text(args.pointer, f"{out}\n")
