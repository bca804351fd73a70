"""Stage 3: k folds of documents (all sentences of a judgement in one fold), shared by every model."""
import argparse
from pathlib import Path

import numpy as np

from kexue.cail2019 import prepare
from kexue.core import io
from kexue.core.folds import FoldsError

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--features", default="data/features/cail2019")
args = p.parse_args()
try:
    folds = prepare.make_folds(io.read_json(args.params), args.features)
except FoldsError as e:
    raise SystemExit(f"error: {e}") from None
path = Path(args.features) / "folds.npy"
if not path.exists() or not np.array_equal(np.load(path), folds):  # unchanged folds keep their mtime
    io.save_npy(path, folds)
prepare.say(f"folds: {int(folds.max()) + 1} folds over {len(folds)} sentences")
