"""Losses written once and shared by every competition."""
from .f1 import soft_macro_f1_loss
from .focal import focal_loss
from .zlpr import ZLPR, zlpr_loss, zlpr_probabilities, zlpr_soft_loss, zlpr_sparse_loss

__all__ = ["ZLPR", "focal_loss", "soft_macro_f1_loss", "zlpr_loss", "zlpr_probabilities", "zlpr_soft_loss",
           "zlpr_sparse_loss"]
