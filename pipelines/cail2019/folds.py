"""Stage 3: k folds of documents (all sentences of a judgement in one fold), shared by every model."""
from kexue.cail2019 import prepare
from kexue.core import protocol

protocol.folds_main(__doc__, prepare)
