"""A model, its tokenizer and chat template from one GGUF file (``from_pretrained("x.gguf")``)."""

from __future__ import annotations

import os

from ..core import Device, DType
from ..core.errors import Msg
from ..nn import VarBuilder

# general.architecture -> the module implementing it (its config_from_gguf and GGUF names)
GGUF_ARCHITECTURES = {"llama": "llama", "mistral": "llama", "qwen2": "llama"}

# Files above this size show a progress bar while their tensors are dequantized.
_PROGRESS_BYTES = 50 * 1024 * 1024


def _progress(path: str):
    if os.path.getsize(path) < _PROGRESS_BYTES:
        return None
    from tqdm import tqdm

    def bar(names):
        # disable=None: a bar on a terminal only, never \r-lines in pipes and logs.
        return tqdm(
            names,
            desc=f"loading {os.path.basename(path)}",
            unit="tensor",
            leave=False,
            disable=None,
        )

    return bar


def load_gguf(path, device: Device = Device.Cpu, dtype: DType = DType.F32):
    """``Pretrained`` (model, config, tokenizer, eos id, chat template) from a GGUF file."""
    from ..gguf import open_gguf, tokenizer_from_gguf
    from . import llama
    from .pretrained import Pretrained

    path = os.fspath(path)
    f = open_gguf(path)
    arch = f.metadata.get("general.architecture")
    if arch not in GGUF_ARCHITECTURES:
        raise Msg(
            f"from_pretrained: {path}: general.architecture {arch!r} is not supported "
            f"(wick knows {', '.join(sorted(GGUF_ARCHITECTURES))})"
        )
    cfg = llama.config_from_gguf(f.metadata, f.tensor_names())
    tensors = llama.hf_tensors_from_gguf(f, cfg, dtype, device, _progress(path))
    model = llama.Model.load(VarBuilder.from_tensors(tensors, dtype, device), cfg)
    tokenizer = None
    if "tokenizer.ggml.model" in f.metadata:
        tokenizer = tokenizer_from_gguf(f.metadata, path)
    tokens = f.metadata.get("tokenizer.ggml.tokens", [])

    def token(key):
        i = f.metadata.get(key)
        return tokens[i] if i is not None and 0 <= i < len(tokens) else None

    specials = {
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
    }
    specials = {k: v for k, v in specials.items() if v is not None}
    eos = _eos_id(f.metadata, tokens)
    return Pretrained(
        model, cfg, tokenizer, eos, f.metadata.get("tokenizer.chat_template"), specials
    )


def _eos_id(metadata: dict, tokens: list):
    """The id that ends a reply. Chat models often end turns with ``<|im_end|>`` while their
    ``eos_token_id`` names another token; when the template uses ``<|im_end|>``, that one."""
    template = metadata.get("tokenizer.chat_template") or ""
    if "<|im_end|>" in template and "<|im_end|>" in tokens:
        return tokens.index("<|im_end|>")
    return metadata.get("tokenizer.ggml.eos_token_id")
