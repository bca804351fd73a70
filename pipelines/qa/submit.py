"""Stage 8: decode a run's test probabilities and write the submission (one id<TAB>answer line per question of
the test file, in its order), validated before it is written."""
from kexue.core import protocol
from kexue.qa import submit

protocol.submit_main(__doc__, submit)
