"""Stage 5: blend the member runs with weights and class offsets fitted on OOF predictions."""
from kexue.core import protocol
from kexue.spectra import blend

protocol.blend_main(__doc__, blend)
