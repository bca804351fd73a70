"""Stage 6: write the submission CSV (id,type) of a run: every id of the test index once, validated before it
is written."""
from kexue.core import protocol
from kexue.spectra import submit

protocol.submit_main(__doc__, submit)
