"""The GPT-2 golden files made by tests/data/make_gpt2_golden.py (transformers' outputs)."""

from __future__ import annotations

import json
import os

from wick import DType, safetensors

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "gpt2")
CHECKPOINTS = ("hf_tied", "openai", "hf_untied")


def folder(name: str) -> str:
    return os.path.join(DATA, name)


def reference() -> tuple:
    """``(tensors, json)``: input ids, logits per checkpoint, batches, grads; prompt, greedy ids,
    AdamW settings and losses."""
    tensors = safetensors.load(os.path.join(DATA, "reference.safetensors"))
    with open(os.path.join(DATA, "reference.json")) as f:
        return tensors, json.load(f)


def input_ids():
    return reference()[0]["input_ids"].to_dtype(DType.U32)
