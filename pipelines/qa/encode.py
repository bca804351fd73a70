"""Stage 3: characters and jieba words to ids, start/end labels for every (question, passage) row."""
import argparse

from kexue.core import io
from kexue.qa import prepare

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--params", required=True, help="resolved 'encode' section of the features config (JSON)")
p.add_argument("--processed", default="data/processed/qa")
p.add_argument("--wordvec", default="data/features/qa/wordvec")
p.add_argument("--out", default="data/features/qa")
args = p.parse_args()
prepare.encode_features(io.read_json(args.params), args.processed, args.wordvec, args.out)
