"""wick.models: real architectures with Hugging Face's parameter names, generation, HF folders."""

from . import gpt2
from .generation import generate, next_token, stream
from .pretrained import ARCHITECTURES, Pretrained, from_pretrained, save_pretrained

__all__ = [
    "ARCHITECTURES",
    "Pretrained",
    "from_pretrained",
    "generate",
    "gpt2",
    "next_token",
    "save_pretrained",
    "stream",
]
