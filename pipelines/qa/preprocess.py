"""Stage 1: read and validate the reading-comprehension files (DGCNN JSON, SQuAD) and the test gold."""
from kexue.core.source import preprocess_main
from kexue.qa import prepare
from kexue.qa.data import QADataError

preprocess_main(__doc__, "qa", prepare, QADataError)
