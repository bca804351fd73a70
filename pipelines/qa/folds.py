"""Stage 4: k folds of questions (all passages of a question in one fold), shared by every model."""
from kexue.core import protocol
from kexue.qa import prepare

protocol.folds_main(__doc__, prepare)
