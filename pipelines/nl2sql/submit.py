"""Stage 6: decode a run's test predictions to SQL and write the submission (one JSON line per
test question, in order, in the organiser's standard.json format), validated before it is written."""
from kexue.core import protocol
from kexue.nl2sql import submit

protocol.submit_main(__doc__, submit)
