"""Stage 2: which labelled questions validate which model (holdout = the val split, or k folds)."""
import argparse
from pathlib import Path

import numpy as np

from kexue.core import io
from kexue.core.folds import FoldsError
from kexue.nl2sql import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--processed", default="data/processed/nl2sql")
args = p.parse_args()
try:
    folds = prepare.make_folds(io.read_json(args.params), args.processed)
except FoldsError as e:
    raise SystemExit(f"error: {e}") from None
path = Path(args.processed) / "folds.npy"
if not path.exists() or not np.array_equal(np.load(path), folds):  # unchanged folds keep their mtime
    io.save_npy(path, folds)
print(f"[nl2sql] folds: {int(folds.max()) + 1} validation fold(s), {int((folds >= 0).sum())} questions scored")
