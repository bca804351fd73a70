"""Losses written once and shared by every competition."""
from .f1 import soft_macro_f1_loss
from .zlpr import zlpr_loss

__all__ = ["soft_macro_f1_loss", "zlpr_loss"]
