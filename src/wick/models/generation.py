"""Autoregressive generation for causal LMs: greedy, temperature, top-k and top-p sampling.

The model needs ``new_cache()`` and ``forward(ids, cache, last_only=True)``; the prompt is run
once (prefill), then one token at a time through the KV cache.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..core import Device, DType, Tensor
from ..core.errors import Msg


def _check(prompt_ids, max_new_tokens, temperature, top_k, top_p) -> list:
    ids = [int(i) for i in prompt_ids]
    if not ids:
        raise Msg("generate: the prompt has no tokens (at least one id is needed)")
    if max_new_tokens < 0:
        raise Msg(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    if temperature < 0:
        raise Msg(f"generate: temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise Msg(f"generate: top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise Msg(f"generate: top_p must be in (0, 1], got {top_p}")
    return ids


def next_token(logits: np.ndarray, temperature=0.0, top_k=None, top_p=None, rng=None) -> int:
    """Picks one id from a row of logits: argmax at temperature 0, else a sample.

    Hugging Face's order: temperature, then top-k, then top-p (the smallest set of tokens whose
    probability reaches ``top_p``; at least one token is kept).
    """
    if temperature == 0.0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < z.size:
        kth = np.partition(z, -top_k)[-top_k]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max()
    probs = np.exp(z)
    probs /= probs.sum()
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-probs, kind="stable")
        cum = np.cumsum(probs[order])
        keep = int(np.searchsorted(cum, top_p)) + 1  # tokens until the mass reaches top_p
        dropped = order[keep:]
        probs[dropped] = 0.0
        probs /= probs.sum()
    rng = Device.Cpu.rng if rng is None else rng
    return int(rng.choice(probs.size, p=probs))


def _last_logits(model, ids: list, cache, device) -> np.ndarray:
    x = Tensor.new(np.asarray([ids], dtype=np.uint32), device)
    logits = model.forward(x, cache, last_only=True)
    if logits.dtype in (DType.F16, DType.BF16):
        logits = logits.to_dtype(DType.F32)
    return logits.numpy()[0, -1]


def stream(
    model,
    prompt_ids,
    max_new_tokens: int,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    eos_token_id: int | None = None,
) -> Iterator[int]:
    """Yields new token ids one by one (stops after ``eos_token_id``, which is yielded)."""
    ids = _check(prompt_ids, max_new_tokens, temperature, top_k, top_p)
    if max_new_tokens == 0:
        return
    window = model.config.n_positions
    if len(ids) > window:
        raise Msg(
            f"generate: the prompt of {len(ids)} tokens is longer than the model's "
            f"n_positions {window}"
        )
    rng = None if seed is None else np.random.default_rng(seed)
    device = model.device
    cache = model.new_cache()
    logits = _last_logits(model, ids, cache, device)
    for step in range(max_new_tokens):
        token = next_token(logits, temperature, top_k, top_p, rng)
        ids.append(token)
        yield token
        if token == eos_token_id or step + 1 == max_new_tokens:
            return
        if len(cache) + 1 > window:
            # The context is full: as the book's generate_text_simple, keep the last window.
            cache = model.new_cache()
            logits = _last_logits(model, ids[-window:], cache, device)
        else:
            logits = _last_logits(model, [token], cache, device)


def generate(
    model,
    prompt_ids,
    max_new_tokens: int,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    eos_token_id: int | None = None,
) -> list:
    """The new token ids (greedy at temperature 0; ``eos_token_id`` included, then stop).

    >>> from wick.nn import VarBuilder
    >>> from wick.models import gpt2
    >>> cfg = gpt2.Config(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    >>> generate(gpt2.Model.load(VarBuilder.zeros(), cfg), [1, 2], 3)
    [0, 0, 0]
    """
    return list(
        stream(
            model,
            prompt_ids,
            max_new_tokens,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
            eos_token_id=eos_token_id,
        )
    )
