"""Stage 7: the test file with the run's predicted labels filled in, validated before it is written:
submissions/cail2019/<run>.json."""
from kexue.cail2019 import submit
from kexue.core import protocol

protocol.submit_main(__doc__, submit)
