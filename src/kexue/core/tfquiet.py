"""Import TensorFlow without its C++ start-up chatter.

TF 2.21 prints CUDA probes and oneDNN notices to fd 2 before its logging is set up, so
TF_CPP_MIN_LOG_LEVEL cannot silence them. We mute fd 2 around the import and the first
device query only; Python errors raised there still surface normally afterwards.
"""
from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def _muted_stderr():
    if os.environ.get("KEXUE_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """keras (and tensorflow) imported quietly, devices already probed."""
    if "keras" not in sys.modules:
        with _muted_stderr():
            import keras  # noqa: F401
            import tensorflow as tf
            tf.config.list_logical_devices()
    return sys.modules["keras"]
