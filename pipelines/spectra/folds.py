"""Stage 2: stratified k-fold assignment shared by every model."""
import argparse

from kexue.core import io
from kexue.spectra import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved 'folds' section of the data config")
p.add_argument("--store", default="data/processed/spectra")
args = p.parse_args()
folds = io.read_json(args.params)
prepare.make_folds(args.store, int(folds["n"]), int(folds["seed"]))
