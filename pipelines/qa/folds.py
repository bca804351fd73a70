"""Stage 4: k folds of questions (all passages of a question in one fold), shared by every model."""
import argparse
from pathlib import Path

import numpy as np

from kexue.core import io
from kexue.core.folds import FoldsError
from kexue.qa import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--processed", default="data/processed/qa")
args = p.parse_args()
try:
    folds = prepare.make_folds(io.read_json(args.params), args.processed)
except FoldsError as e:
    raise SystemExit(f"error: {e}") from None
path = Path(args.processed) / "folds.npy"
if not path.exists() or not np.array_equal(np.load(path), folds):  # unchanged folds keep their mtime
    io.save_npy(path, folds)
prepare.say(f"folds: {int(folds.max()) + 1} folds over {len(folds)} passages")
