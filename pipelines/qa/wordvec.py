"""Stage 2: word vectors for the mixed char-word embedding: gensim word2vec trained on the segmented questions
and passages, or a user's word2vec file (features.word2vec.path, or QA_W2V=... on the make command line)."""
import argparse

from kexue.core import config, io
from kexue.qa import prepare
from kexue.qa.data import QADataError

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--config", default="configs/qa/features.yaml")
p.add_argument("--processed", default="data/processed/qa")
p.add_argument("--out", default="data/features/qa/wordvec")
p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a features config value")
p.add_argument("--profile-from", help="a data manifest JSON; its 'source' names the profile")
p.add_argument("--stamp", help="only write the resolved word2vec section (+ the vector file's size and mtime) here")
p.add_argument("--params", help="a stamp written by --stamp: the settings to use")
args = p.parse_args()
if args.params:
    cfg = io.read_json(args.params)
else:
    profile = io.read_json(args.profile_from).get("source") if args.profile_from else None
    try:
        cfg = config.resolve(args.config, args.set, profile)["word2vec"]
    except config.ConfigError as e:
        raise SystemExit(f"error: {e}")
if args.stamp:
    io.write_json_if_changed(args.stamp, prepare.wordvec_stamp(cfg))
else:
    try:
        prepare.word_vectors(cfg, args.processed, args.out)
    except QADataError as e:
        raise SystemExit(f"error: {e}")
