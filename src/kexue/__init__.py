"""Competition solutions from kexue.fm: a shared core plus one subpackage per competition."""
import os

# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notices) buries the pipeline's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# make runs each stage with KEXUE_CODE_STAMP=<stamp>: the stage records the code it imported there at exit, so
# that make reruns it exactly when that code changes (kexue.core.codestamp)
if os.environ.get("KEXUE_CODE_STAMP"):
    from .core import codestamp as _codestamp

    _codestamp.record_at_exit(os.environ["KEXUE_CODE_STAMP"])
