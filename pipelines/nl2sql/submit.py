"""Stage 6: decode a run's test predictions to SQL and write the submission (one JSON line per
test question, in order, in the organiser's standard.json format), validated before it is written."""
import argparse

from kexue.core import io, runlog
from kexue.nl2sql import submission

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
p.add_argument("--processed", default="data/processed/nl2sql")
p.add_argument("--runs", default="data/runs/nl2sql")
p.add_argument("--out", default="submissions/nl2sql")
p.add_argument("--predict-only", action="store_true", help="write <run>/predictions.jsonl, no submission")
p.add_argument("--pointer", help="write the submission's path here")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
decode = io.read_json(args.decode)
if args.predict_only:
    sqls = submission.predict(run_dir, args.processed, decode)
    print(f"[nl2sql] {len(sqls)} test predictions -> {run_dir}/predictions.jsonl")
else:
    out = submission.submit(run_dir, args.processed, args.out, decode)
    if args.pointer:
        io.write_text(args.pointer, str(out) + "\n")
