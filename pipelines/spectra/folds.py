"""Stage 2: stratified k-fold assignment shared by every model."""
from kexue.core import protocol
from kexue.spectra import prepare

protocol.folds_main(__doc__, prepare)
