"""Stage 1: read and validate the CAIL2019 element-recognition documents, tags and test file."""
import argparse

from kexue.cail2019 import stages
from kexue.cail2019.data import CAILDataError
from kexue.core import config, io

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--config", default="configs/cail2019/data.yaml")
p.add_argument("--out", default="data/processed/cail2019")
p.add_argument("--source", choices=["auto", "raw", "sample"], default="auto",
               help="auto: the files in raw_dir when there are any, else the generated sample")
p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a data config value")
p.add_argument("--stamp", help="only write the source stamp (what make watches) to this path")
args = p.parse_args()
try:
    cfg = config.resolve(args.config, args.set)
except config.ConfigError as e:
    raise SystemExit(f"error: {e}")
if args.stamp:
    io.write_json_if_changed(args.stamp, stages.source_stamp(cfg, args.source))
else:
    try:
        stages.preprocess(cfg, args.out, args.source)
    except CAILDataError as e:
        raise SystemExit(f"error: {e}")
