"""Reusable Keras layers, each small and built from existing Keras layers."""
from .residual import HalfSum, residual_dilated_block

__all__ = ["HalfSum", "residual_dilated_block"]
