"""Stage 5: a blend of trained runs: their probabilities averaged, decided at 0.5 or at per-tag thresholds tuned
on OOF (configs/cail2019/<blend>.yaml names its members by model config)."""
from kexue.cail2019 import blend
from kexue.core import protocol

protocol.blend_main(__doc__, blend)
