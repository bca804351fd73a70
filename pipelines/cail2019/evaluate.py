"""Stage 6: the run's OOF scores, and the test's when the test gold is there (the generated sample has it)."""
from kexue.cail2019 import evaluate
from kexue.core import protocol

protocol.evaluate_main(__doc__, evaluate)
