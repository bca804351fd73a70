"""Reusable Keras layers, each small and built from existing Keras layers."""
from .dgc import DGC, AttentionPooling1D
from .residual import HalfSum, residual_dilated_block

__all__ = ["DGC", "AttentionPooling1D", "HalfSum", "residual_dilated_block"]
