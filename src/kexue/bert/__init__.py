"""BERT for the kexue.fm solutions: vocab/tokenizer with exact offsets, and checkpoint loaders
(Hugging Face safetensors or Google's original TF checkpoints) into keras-hub's BertBackbone.

`checkpoint` imports keras lazily, so the tokenizer stays cheap to import.
"""
from .tokenizer import Tokenizer, load_vocab

__all__ = ["Tokenizer", "load_vocab"]
