"""Stage 2: which labelled questions validate which model (holdout = the val split, or k folds)."""
import argparse
from pathlib import Path

from kexue.core import io
from kexue.core.folds import folds_stage
from kexue.nl2sql import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--processed", default="data/processed/nl2sql")
args = p.parse_args()
folds = folds_stage(lambda: prepare.make_folds(io.read_json(args.params), args.processed),
                    Path(args.processed) / "folds.npy")
print(f"[nl2sql] folds: {int(folds.max()) + 1} validation fold(s), {int((folds >= 0).sum())} questions scored")
