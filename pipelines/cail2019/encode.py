"""Stage 2: sentences to character ids, tags to multi-hot rows."""
import argparse

from kexue.cail2019 import prepare
from kexue.core import io

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved features config (JSON)")
p.add_argument("--processed", default="data/processed/cail2019")
p.add_argument("--out", default="data/features/cail2019")
args = p.parse_args()
prepare.encode(io.read_json(args.params), args.processed, args.out)
