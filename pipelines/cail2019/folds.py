"""Stage 3: k folds of documents (all sentences of a judgement in one fold), shared by every model."""
import argparse
from pathlib import Path

from kexue.cail2019 import prepare
from kexue.core import io
from kexue.core.folds import folds_stage

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved folds config (JSON)")
p.add_argument("--features", default="data/features/cail2019")
args = p.parse_args()
folds = folds_stage(lambda: prepare.make_folds(io.read_json(args.params), args.features),
                    Path(args.features) / "folds.npy")
prepare.say(f"folds: {int(folds.max()) + 1} folds over {len(folds)} sentences")
