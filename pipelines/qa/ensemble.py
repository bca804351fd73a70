"""Stage 6: average the member runs' start and end probabilities (seeds, models) into one run."""
from kexue.core import protocol
from kexue.qa import blend

protocol.blend_main(__doc__, blend)
