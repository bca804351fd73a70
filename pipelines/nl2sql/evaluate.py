"""Stage 5: decode a run's validation predictions and report logic-form, execution and component accuracies."""
from kexue.core import protocol
from kexue.nl2sql import evaluate

protocol.evaluate_main(__doc__, evaluate)
