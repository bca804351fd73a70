"""Stage 8: decode a run's test probabilities and write the submission (one id<TAB>answer line per question of
the test file, in its order), validated before it is written."""
import argparse

from kexue.core import io, runlog
from kexue.qa import submit

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--run", required=True, help="a run folder, or a pointer file (<model>.run) naming one")
p.add_argument("--decode", required=True, help="resolved decode config (JSON)")
p.add_argument("--processed", default="data/processed/qa")
p.add_argument("--features", default="data/features/qa")
p.add_argument("--runs", default="data/runs/qa")
p.add_argument("--out", default="submissions/qa")
p.add_argument("--predict-only", action="store_true", help="write <run>/predictions.tsv, no submission")
p.add_argument("--pointer", help="write the submission's path here")
args = p.parse_args()
run_dir = runlog.resolve_run(args.run, args.runs)
decode = io.read_json(args.decode)
if args.predict_only:
    ids, _ = submit.predict(run_dir, args.processed, args.features, decode)
    submit.say(f"{len(ids)} test predictions -> {run_dir}/predictions.tsv")
else:
    out = submit.submit(run_dir, args.processed, args.features, args.out, decode)
    if args.pointer:
        io.write_text(args.pointer, str(out) + "\n")
