"""Stage 1: validate the spectra files and convert them to the array store (or write the source stamp)."""
from kexue.core.source import preprocess_main
from kexue.spectra import prepare
from kexue.spectra.data import SpectraDataError

preprocess_main(__doc__, "spectra", prepare, SpectraDataError,
                hint="\n(to drop bad files instead of stopping: make spectra-preprocess data.on_bad_file=skip)")
