"""Stage 1: validate the questions and tables, tokenise them and build the head labels."""
import argparse

from kexue.core import config, io
from kexue.nl2sql import stages
from kexue.nl2sql.data import NL2SQLDataError

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--config", default="configs/nl2sql/data.yaml")
p.add_argument("--out", default="data/processed/nl2sql")
p.add_argument("--source", choices=["auto", "raw", "sample"], default="auto",
               help="auto: the competition files when present in raw_dir, else the generated sample")
p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a data config value")
p.add_argument("--stamp", help="only write the source stamp (what make watches) to this path")
args = p.parse_args()
cfg = config.resolve(args.config, args.set)
if args.stamp:
    io.write_json_if_changed(args.stamp, stages.source_stamp(cfg, args.source))
else:
    try:
        stages.preprocess(cfg, args.out, args.source)
    except NL2SQLDataError as e:
        raise SystemExit(f"error: {e}")
