"""Competition solutions from kexue.fm: a shared core plus one subpackage per competition."""
import os

# TensorFlow's C++ start-up chatter (CUDA probes, oneDNN notices) buries the pipeline's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
