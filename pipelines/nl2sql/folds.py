"""Stage 2: which labelled questions validate which model (holdout = the val split, or k folds)."""
from kexue.core import protocol
from kexue.nl2sql import prepare

protocol.folds_main(__doc__, prepare)
