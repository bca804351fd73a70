"""Stage 1: read and validate the CAIL2019 element-recognition documents, tags and test file."""
from kexue.cail2019 import prepare
from kexue.cail2019.data import CAILDataError
from kexue.core.source import preprocess_main

preprocess_main(__doc__, "cail2019", prepare, CAILDataError)
