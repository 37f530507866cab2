"""The key/value cache of the causal LMs (GPT-2, the Llama family): per layer, a buffer written
in place that doubles when full, so decoding one token appends without copying the past."""

from __future__ import annotations

from ..core import Tensor, graph


class Cache:
    """Each layer's keys and values so far; the next forward's positions start at ``len(cache)``.

    What it stores is detached (as Candle's KV caches): it is for inference, not training.
    """

    def __init__(self, n_layer: int, max_len: int):
        self._k = [None] * n_layer
        self._v = [None] * n_layer
        self._len = 0
        self._max_len = max_len

    def __len__(self) -> int:
        return self._len

    def seq_len(self) -> int:
        """The number of positions cached."""
        return self._len

    def reset(self) -> None:
        """Forgets everything (buffers handed out before stay valid)."""
        self._k = [None] * len(self._k)
        self._v = [None] * len(self._v)
        self._len = 0

    def _append(self, layer: int, k: Tensor, v: Tensor) -> tuple:
        """Writes ``k``, ``v`` (B, H, T, D) after the cached positions; returns all of them."""
        start, t = self._len, k._data.shape[2]
        self._k[layer] = kb = self._room(self._k[layer], k, start + t)
        self._v[layer] = vb = self._room(self._v[layer], v, start + t)
        # In place, beyond every view handed out so far: earlier results never change.
        kb[:, :, start : start + t] = k._data
        vb[:, :, start : start + t] = v._data
        return graph.wrap(kb[:, :, : start + t], k._device), graph.wrap(
            vb[:, :, : start + t], v._device
        )

    def _room(self, buf, x: Tensor, needed: int):
        """``buf``, or a larger copy of it (capacity doubled, at most ``max_len``) if too small."""
        if buf is not None and buf.shape[2] >= needed:
            return buf
        cap = max(needed, 16 if buf is None else 2 * buf.shape[2])
        cap = max(needed, min(cap, self._max_len))
        b, h, _, d = x._data.shape
        grown = x._device.xp.zeros((b, h, cap, d), dtype=x._data.dtype)
        if buf is not None:
            grown[:, :, : self._len] = buf[:, :, : self._len]
        return grown

    def _advance(self, t: int) -> None:
        self._len += t
