"""Stage 4: average the member runs' head probabilities (seeds, folds or models) into one run."""
from kexue.core import protocol
from kexue.nl2sql import blend

protocol.blend_main(__doc__, blend)
