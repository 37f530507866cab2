"""The tokenizer a GGUF file carries (``tokenizer.ggml.*``) as a ``tokenizers.Tokenizer``.

GGUF stores a byte-level BPE ("gpt2" model) as its vocabulary, merges and token types, and
names the pre-tokenizer (``tokenizer.ggml.pre``) that splits text before BPE. Each name maps
to the split llama.cpp applies for it; a name wick does not know raises rather than
tokenizing differently from the model's training.
"""

from __future__ import annotations

from .reader import GgufError

# llama.cpp's token types: 3 = control (special, e.g. <|im_start|>), 4 = user-defined.
_CONTROL, _USER_DEFINED = 3, 4

_GPT2_SPLIT = "gpt2"
_DIGITS_THEN_GPT2 = "digits+gpt2"  # each digit its own piece, then GPT-2's split
_LLAMA3 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2 = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
PRE_TOKENIZERS = {
    "default": _GPT2_SPLIT,
    "gpt2": _GPT2_SPLIT,
    "gpt-2": _GPT2_SPLIT,
    "smollm": _DIGITS_THEN_GPT2,
    "starcoder": _DIGITS_THEN_GPT2,
    "refact": _DIGITS_THEN_GPT2,
    "llama-bpe": _LLAMA3,
    "llama3": _LLAMA3,
    "qwen2": _QWEN2,
}


def _tokenizers():
    try:
        import tokenizers
    except ImportError as exc:
        raise GgufError(
            "a GGUF file's tokenizer needs the tokenizers package: pip install 'wick[text]'"
        ) from exc
    return tokenizers


def _pre_tokenizer(tk, kind: str):
    pre = tk.pre_tokenizers
    if kind == _GPT2_SPLIT:
        return pre.ByteLevel(add_prefix_space=False, use_regex=True)
    if kind == _DIGITS_THEN_GPT2:
        return pre.Sequence(
            [
                pre.Digits(individual_digits=True),
                pre.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    return pre.Sequence(
        [
            pre.Split(tk.Regex(kind), behavior="isolated", invert=False),
            pre.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )


def tokenizer_from_gguf(metadata: dict, path: str = "GGUF file"):
    """A ``tokenizers.Tokenizer`` equal to the one ``metadata`` (a GGUF file's) describes."""
    model = metadata.get("tokenizer.ggml.model")
    if model is None:
        raise GgufError(f"{path}: carries no tokenizer (no tokenizer.ggml.model)")
    if model != "gpt2":
        raise GgufError(
            f"{path}: tokenizer model {model!r} is not supported yet (wick reads byte-level BPE, 'gpt2')"
        )
    pre_name = metadata.get("tokenizer.ggml.pre", "default")
    kind = PRE_TOKENIZERS.get(pre_name)
    if kind is None:
        known = ", ".join(sorted(PRE_TOKENIZERS))
        raise GgufError(f"{path}: unknown pre-tokenizer {pre_name!r} (wick knows {known})")
    tokens = metadata["tokenizer.ggml.tokens"]
    merges = [tuple(m.split(" ", 1)) for m in metadata.get("tokenizer.ggml.merges", [])]
    tk = _tokenizers()
    vocab = {token: i for i, token in enumerate(tokens)}
    tokenizer = tk.Tokenizer(tk.models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False))
    tokenizer.pre_tokenizer = _pre_tokenizer(tk, kind)
    tokenizer.decoder = tk.decoders.ByteLevel()
    types = metadata.get("tokenizer.ggml.token_type", [])
    added = [
        tk.AddedToken(tokens[i], special=t == _CONTROL, normalized=False)
        for i, t in enumerate(types)
        if t in (_CONTROL, _USER_DEFINED)
    ]
    if added:
        tokenizer.add_tokens(added)
    return tokenizer
