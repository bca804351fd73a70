"""Stage 7: decode a run's OOF (and, with test gold, test) probabilities; Sogou score with and without voting."""
from kexue.core import protocol
from kexue.qa import evaluate

protocol.evaluate_main(__doc__, evaluate)
