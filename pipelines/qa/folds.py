"""Stage 4: k folds of questions (all passages of a question in one fold), shared by every model."""
import argparse
from pathlib import Path

from kexue.core import io
from kexue.core.folds import folds_stage
from kexue.qa import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--processed", default="data/processed/qa")
args = p.parse_args()
folds = folds_stage(lambda: prepare.make_folds(io.read_json(args.params), args.processed),
                    Path(args.processed) / "folds.npy")
prepare.say(f"folds: {int(folds.max()) + 1} folds over {len(folds)} passages")
