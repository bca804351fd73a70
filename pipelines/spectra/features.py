"""Stage 3: hand-crafted spectral features for LightGBM."""
import argparse

from kexue.core import io
from kexue.spectra import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True)
p.add_argument("--store", default="data/processed/spectra")
p.add_argument("--out", default="data/features/spectra")
args = p.parse_args()
for tmp in io.remove_stale_temporaries(args.out):     # the features stage is the folder's one writer
    print(f"[spectra] removed {tmp}, a temporary file left by a killed run", flush=True)
prepare.make_features(args.store, args.out, io.read_json(args.params))
