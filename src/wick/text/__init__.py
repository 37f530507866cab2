"""wick.text: GPT-2's tokenizer and next-token datasets (needs ``pip install 'wick[text]'``)."""

from .dataset import TokenDataset
from .tokenizer import END_OF_TEXT, END_OF_TEXT_ID, gpt2_tokenizer, tokenizer_from_file

__all__ = ["END_OF_TEXT", "END_OF_TEXT_ID", "TokenDataset", "gpt2_tokenizer", "tokenizer_from_file"]
