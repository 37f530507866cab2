"""GGUF files (llama.cpp's format): tensors dequantized to wick tensors, metadata as Python
values, the tokenizer and chat template they carry. Built on the ``gguf`` package, llama.cpp's
own memory-mapped reader (``pip install 'wick[gguf]'``)."""

from .reader import GGUF_TYPES, GgufError, GgufFile, load, open_gguf
from .tokenizer import tokenizer_from_gguf

__all__ = ["GGUF_TYPES", "GgufError", "GgufFile", "load", "open_gguf", "tokenizer_from_gguf"]
