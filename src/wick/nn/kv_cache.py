"""Key-value caches for autoregressive attention (candle-nn's ``kv_cache``).

Candle pre-allocates a buffer and writes into it with ``slice_set``. wick tensors are immutable,
so a cache here is a mutable object that rebinds its buffer to ``slice_scatter``'s result: the
values returned are the same. As in Candle, what a cache stores is detached (its in-place writes
record no gradient). Tensors being immutable, ``copy.copy(cache)`` is an independent clone.
"""

from __future__ import annotations

import sys

import numpy as np

from ..core import DType, Tensor
from ..core.device import as_device
from ..core.errors import DTypeMismatchBinaryOp, Msg, ShapeMismatchBinaryOp
from ..core.graph import check_same_device

_NEVER = sys.maxsize  # Candle's usize::MAX: a cache slot no query may attend to


def _check_like(buffer: Tensor | None, src: Tensor, dim: int, op: str) -> None:
    """Checks ``src`` fits ``buffer`` on every dim but ``dim`` (before any state changes)."""
    if buffer is None:
        return
    bshape, sshape = tuple(buffer.dims()), tuple(src.dims())
    if len(bshape) != len(sshape) or any(
        a != b for i, (a, b) in enumerate(zip(bshape, sshape)) if i != dim
    ):
        raise ShapeMismatchBinaryOp(bshape, sshape, op)
    if buffer.dtype != src.dtype:
        raise DTypeMismatchBinaryOp(buffer.dtype, src.dtype, op)
    check_same_device(op, buffer, src)


def _write(buffer: Tensor, src: Tensor, dim: int, offset: int, op: str) -> Tensor:
    """``buffer`` with ``src`` written at ``offset`` along ``dim`` (Candle's ``slice_set``)."""
    _check_like(buffer, src, dim, op)
    if offset + src.dim(dim) > buffer.dim(dim):
        raise ShapeMismatchBinaryOp(buffer.shape, src.shape, op)
    return buffer.slice_scatter(src.detach(), dim, offset)


def _abs_mask(size1: int, size2: int, context: int) -> np.ndarray:
    """True where query ``i`` may not see key ``j``: in its future or beyond ``context``."""
    i, j = np.arange(size1)[:, None], np.arange(size2)[None, :]
    return (size1 + j > size2 + i) | (size1 + j + context < size2 + i)


def _with_dim(dims: list, dim: int, size: int) -> tuple:
    dims = list(dims)
    dims[dim] = size
    return tuple(dims)


class Cache:
    """A growing buffer along ``dim``: ``max_seq_len`` slots, grown by that much when full.

    >>> c = Cache(0, 16)
    >>> c.append(Tensor.new([1.0, 2.0, 3.0]))
    >>> c.current_data().to_vec1()
    [1.0, 2.0, 3.0]
    """

    def __init__(self, dim: int, max_seq_len: int):
        # The buffer is created on the first append, when the other dims are known.
        self._all_data: Tensor | None = None
        self._dim = dim
        self._current_seq_len = 0
        self._grow_by = max_seq_len
        self._max_seq_len = max_seq_len

    def dim(self) -> int:
        return self._dim

    def current_seq_len(self) -> int:
        return self._current_seq_len

    def max_seq_len(self) -> int:
        """The buffer's current capacity along ``dim`` (grows with appends)."""
        return self._max_seq_len

    def all_data(self) -> Tensor | None:
        """The whole buffer, unused slots included (zeros), or None before the first append."""
        return self._all_data

    def current_data(self) -> Tensor | None:
        """The ``current_seq_len`` filled slots, or None before the first append."""
        if self._all_data is None:
            return None
        return self._all_data.narrow(self._dim, 0, self._current_seq_len)

    def reset(self) -> None:
        self._current_seq_len = 0
        self._all_data = None

    def append(self, src: Tensor) -> None:
        """Writes ``src`` after the current data, growing the buffer if needed."""
        op = "Cache.append"
        seq_len = src.dim(self._dim)
        _check_like(self._all_data, src, self._dim, op)
        needed = self._current_seq_len + seq_len
        if needed > self._max_seq_len and self._grow_by == 0:
            # Candle would loop forever here.
            raise Msg(
                f"{op}: a cache with max_seq_len 0 cannot grow to hold src of shape {src.shape} "
                f"along dim {self._dim}"
            )
        ad = self._all_data
        if ad is None:
            shape = _with_dim(src.dims(), self._dim, self._max_seq_len)
            ad = Tensor.zeros(shape, src.dtype, src.device)
        while needed > self._max_seq_len:
            shape = _with_dim(src.dims(), self._dim, self._grow_by)
            ad = Tensor.cat([ad, Tensor.zeros(shape, src.dtype, src.device)], self._dim)
            self._max_seq_len += self._grow_by
        self._all_data = _write(ad, src, self._dim, self._current_seq_len, op)
        self._current_seq_len = needed


class KvCache:
    """A pair of ``Cache``: keys and values, appended together."""

    def __init__(self, dim: int, max_seq_len: int):
        self._k = Cache(dim, max_seq_len)
        self._v = Cache(dim, max_seq_len)

    def k_cache(self) -> Cache:
        return self._k

    def v_cache(self) -> Cache:
        return self._v

    def k(self) -> Tensor | None:
        return self._k.current_data()

    def v(self) -> Tensor | None:
        return self._v.current_data()

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Appends ``k`` and ``v``; returns all the keys and values so far."""
        self._k.append(k)
        self._v.append(v)
        out_k, out_v = self._k.current_data(), self._v.current_data()
        dim = self._k.dim()
        if out_k is None:
            out_k = Tensor.zeros(_with_dim(k.dims(), dim, 0), k.dtype, k.device)
        if out_v is None:
            out_v = Tensor.zeros(_with_dim(v.dims(), dim, 0), v.dtype, v.device)
        return out_k, out_v

    def current_seq_len(self) -> int:
        return self._k.current_seq_len()

    def reset(self) -> None:
        self._k.reset()
        self._v.reset()


class RotatingCache:
    """A ring buffer of ``max_seq_len`` slots along ``dim``; the sequence may grow past it, the
    oldest entries being overwritten (sliding-window attention)."""

    def __init__(self, dim: int, max_seq_len: int):
        self._all_data: Tensor | None = None
        self._dim = dim
        self._offset = 0  # the next write index in the buffer
        self._current_seq_len = 0  # the length of the whole sequence seen so far
        self._max_seq_len = max_seq_len

    def offset(self) -> int:
        return self._offset

    def dim(self) -> int:
        return self._dim

    def current_seq_len(self) -> int:
        return self._current_seq_len

    def max_seq_len(self) -> int:
        return self._max_seq_len

    def all_data(self) -> Tensor | None:
        return self._all_data

    def current_data(self) -> Tensor | None:
        """The filled slots (the whole buffer once it has wrapped), or None."""
        if self._all_data is None:
            return None
        if self._current_seq_len >= self._max_seq_len:
            return self._all_data
        return self._all_data.narrow(self._dim, 0, self._current_seq_len)

    def reset(self) -> None:
        self._offset = 0
        self._current_seq_len = 0
        self._all_data = None

    def append(self, src: Tensor) -> Tensor:
        """Writes ``src`` into the ring; returns the cache's content, or ``src`` itself when it
        is at least as long as the ring (so that all of it can be attended to)."""
        op = "RotatingCache.append"
        dim, max_len = self._dim, self._max_seq_len
        seq_len = src.dim(dim)
        _check_like(self._all_data, src, dim, op)
        ad = self._all_data
        if ad is None:
            ad = Tensor.zeros(_with_dim(src.dims(), dim, max_len), src.dtype, src.device)
        if seq_len >= max_len:
            ad = _write(ad, src.narrow(dim, seq_len - max_len, max_len), dim, 0, op)
            self._all_data, self._offset = ad, 0
            self._current_seq_len += seq_len
            return src
        rem_len = max_len - self._offset
        if seq_len <= rem_len:
            ad = _write(ad, src, dim, self._offset, op)
            offset = (self._offset + seq_len) % max_len
        else:
            # Two writes: the tail of the ring, then its head.
            if rem_len > 0:
                ad = _write(ad, src.narrow(dim, 0, rem_len), dim, self._offset, op)
            ad = _write(ad, src.narrow(dim, rem_len, seq_len - rem_len), dim, 0, op)
            offset = seq_len - rem_len
        self._all_data, self._offset = ad, offset
        self._current_seq_len += seq_len
        if self._current_seq_len >= max_len:
            return ad
        return ad.narrow(dim, 0, self._current_seq_len)

    def _get_mask_abs(self, size1: int, size2: int, device) -> Tensor:
        mask = _abs_mask(size1, size2, self._max_seq_len)
        return Tensor.new(mask.astype(np.uint8), as_device(device))

    def _get_mask_rel(self, size1: int, size2: int, device) -> Tensor:
        context = self._max_seq_len
        upd_offset = (self._offset + size1) % self._max_seq_len
        # The absolute positions of the new elements and of the cache slots after the write.
        pos_src = self._current_seq_len + np.arange(size1)[:, None]
        rel = np.arange(size2)[None, :]
        pos_cache = self._current_seq_len + size1 + rel - upd_offset
        pos_cache = np.where(rel < upd_offset, pos_cache, pos_cache - self._max_seq_len)
        mask = (pos_cache > pos_src) | (pos_cache + context < pos_src)
        return Tensor.new(mask.astype(np.uint8), as_device(device))

    def positions(self, seq_len: int) -> list[int]:
        """The absolute positions of the elements returned *after* appending ``seq_len`` more."""
        if seq_len <= self._max_seq_len:
            upd_offset = (self._offset + seq_len) % self._max_seq_len
            cache_out_len = min(self._current_seq_len + seq_len, self._max_seq_len)
            base = self._current_seq_len + seq_len - upd_offset
            return [base + i if i < upd_offset else base + i - self._max_seq_len
                    for i in range(cache_out_len)]  # fmt: skip
        return list(range(self._current_seq_len, self._current_seq_len + seq_len))

    def attn_mask(self, seq_len: int, device=None) -> Tensor | None:
        """The U8 mask (1 = masked) to apply *after* appending ``seq_len`` elements; None for
        a single one."""
        if seq_len == 1:
            return None
        if seq_len < self._max_seq_len:
            cache_out_len = min(self._current_seq_len + seq_len, self._max_seq_len)
            return self._get_mask_rel(seq_len, cache_out_len, device)
        return self._get_mask_abs(seq_len, seq_len, device)


class RotatingKvCache:
    """A pair of ``RotatingCache``: keys and values, appended together."""

    def __init__(self, dim: int, max_seq_len: int):
        self._k = RotatingCache(dim, max_seq_len)
        self._v = RotatingCache(dim, max_seq_len)

    def k_cache(self) -> RotatingCache:
        return self._k

    def v_cache(self) -> RotatingCache:
        return self._v

    def k(self) -> Tensor | None:
        return self._k.current_data()

    def v(self) -> Tensor | None:
        return self._v.current_data()

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return self._k.append(k), self._v.append(v)

    def offset(self) -> int:
        return self._k.offset()

    def current_seq_len(self) -> int:
        return self._k.current_seq_len()

    def attn_mask(self, seq_len: int, device=None) -> Tensor | None:
        """The mask to apply *after* appending ``seq_len`` elements (see RotatingCache)."""
        return self._k.attn_mask(seq_len, device)

    def positions(self, seq_len: int) -> list[int]:
        return self._k.positions(seq_len)

    def reset(self) -> None:
        self._k.reset()
        self._v.reset()


class IndicesAndMask:
    """Where ``ScatteredKvCache.append`` writes (``indices``, (b, t) U32) and the additive
    attention mask to use with the result."""

    def __init__(self, indices: Tensor, mask: Tensor):
        self._indices = indices
        self._mask = mask

    def indices(self) -> Tensor:
        return self._indices

    def mask(self) -> Tensor:
        return self._mask


class ScatteredKvCache:
    """Keys and values (b, h, context, d) written at per-sequence slots (see
    ``ScatteredCacheBuilder``)."""

    def __init__(self, k: Tensor, v: Tensor, context: int):
        self._k = k
        self._v = v
        self._context = context

    def append(self, k: Tensor, v: Tensor, iam: IndicesAndMask) -> tuple[Tensor, Tensor]:
        """Scatters ``k`` and ``v`` (b, h, t, d) into the slots ``iam.indices()``."""
        if self._context <= k.dim(2):
            return k, v
        indices = iam.indices().unsqueeze(2).unsqueeze(1)
        indices = indices.broadcast_as(k.shape).contiguous()
        self._k = self._k.scatter(indices, k.detach(), 2)
        self._v = self._v.scatter(indices, v.detach(), 2)
        return self._k, self._v

    def k(self) -> Tensor:
        return self._k

    def v(self) -> Tensor:
        return self._v


class ScatteredCacheBuilder:
    """Tracks, per sequence of a batch, the stream position and the next ring slot; builds
    ``ScatteredKvCache`` and the indices and masks for each step."""

    def __init__(self, batch_size: int, context: int, dtype=DType.F32, device=None):
        self._positions = [0] * batch_size
        self._indices = [0] * batch_size
        self._context = context
        self._dtype = dtype
        self._device = as_device(device)

    def make_cache(self, num_heads: int, head_dim: int) -> ScatteredKvCache:
        shape = (self.batch_size(), num_heads, self._context, head_dim)
        k = Tensor.zeros(shape, self._dtype, self._device)
        v = Tensor.zeros(shape, self._dtype, self._device)
        return ScatteredKvCache(k, v, self._context)

    def positions(self) -> list[int]:
        return list(self._positions)

    def reset(self) -> None:
        self._positions = [0] * len(self._positions)
        self._indices = [0] * len(self._indices)

    def batch_size(self) -> int:
        return len(self._positions)

    def reset_batch_index(self, batch_index: int) -> None:
        self._positions[batch_index] = 0
        self._indices[batch_index] = 0

    def device(self):
        return self._device

    def _advance(self, batch_i: int, seq_len: int) -> list[int]:
        """Takes ``seq_len`` slots of sequence ``batch_i``'s ring; returns them."""
        out = []
        for _ in range(seq_len):
            out.append(self._indices[batch_i])
            self._indices[batch_i] += 1
            self._positions[batch_i] += 1
            if self._indices[batch_i] >= self._context:
                self._indices[batch_i] = 0
        return out

    def indices_and_mask(self, seq_len: int, batch_mask) -> IndicesAndMask:
        """Slots and mask (b, 1, seq_len, context) for ``seq_len`` new elements of the sequences
        where ``batch_mask`` is true (the others keep their state and get an all-zero mask)."""
        batch_mask = list(batch_mask)
        if len(batch_mask) != self.batch_size():
            raise Msg(
                f"indices_and_mask: batch_mask has {len(batch_mask)} entries for a batch of "
                f"{self.batch_size()}"
            )
        context = self._context
        if context <= seq_len:
            return self._indices_and_mask_abs(seq_len, batch_mask)
        masks, cache_indices = [], []
        for batch_i, active in enumerate(batch_mask):
            if not active:
                masks.append(np.zeros((seq_len, context), np.float32))
                cache_indices.append([self._indices[batch_i]] * seq_len)
                continue
            start_index, start_pos = self._indices[batch_i], self._positions[batch_i]
            # The absolute position held by each slot before this step.
            all_pos = np.full(context, _NEVER, dtype=np.int64)
            if start_pos < context:
                all_pos[:start_pos] = np.arange(start_pos)
            else:
                offset = start_pos - start_index
                slots = np.arange(context)
                all_pos[:] = np.where(slots < start_index, slots + offset, slots + offset - context)
            indices = self._advance(batch_i, seq_len)
            all_pos[indices] = start_pos + np.arange(seq_len)
            my_pos = start_pos + np.arange(seq_len)[:, None]
            masks.append(np.where(all_pos[None, :] <= my_pos, 0.0, -np.inf).astype(np.float32))
            cache_indices.append(indices)
        mask = np.stack(masks).reshape(-1, 1, seq_len, context)
        mask = Tensor.new(mask, self._device).to_dtype(self._dtype)
        return IndicesAndMask(Tensor.new(cache_indices, self._device, DType.U32), mask)

    def _indices_and_mask_abs(self, seq_len: int, batch_mask: list) -> IndicesAndMask:
        mask = self._get_mask_abs(seq_len, seq_len)
        cache_indices = []
        for batch_i, active in enumerate(batch_mask):
            if active:
                cache_indices.append(self._advance(batch_i, seq_len))
            else:
                cache_indices.append([self._indices[batch_i]] * seq_len)
        return IndicesAndMask(Tensor.new(cache_indices, self._device, DType.U32), mask)

    def _get_mask_abs(self, size1: int, size2: int) -> Tensor:
        # Candle returns this (size1, size2) F32 mask as is (no batch dims, no dtype cast).
        masked = _abs_mask(size1, size2, self._context)
        return Tensor.new(np.where(masked, -np.inf, 0.0).astype(np.float32), self._device)


class ConcatKvCache:
    """Keys and values grown by concatenation along ``dim`` (no pre-allocated buffer).

    Use ``dim=2`` for (batch, heads, seq, head_dim) attention, ``dim=1`` for
    (batch, seq, heads, head_dim).
    """

    def __init__(self, dim: int):
        self._k: Tensor | None = None
        self._v: Tensor | None = None
        self._dim = dim

    def current_seq_len(self) -> int:
        """The cached length along ``dim``; 0 when empty."""
        return 0 if self._k is None else self._k.dim(self._dim)

    def is_empty(self) -> bool:
        return self._k is None

    def dim(self) -> int:
        return self._dim

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Appends ``k`` and ``v``; returns all the keys and values so far (detached: a KV cache
        is for inference)."""
        k, v = k.contiguous().detach(), v.contiguous().detach()
        self._k = k if self._k is None else Tensor.cat([self._k, k], self._dim).detach()
        self._v = v if self._v is None else Tensor.cat([self._v, v], self._dim).detach()
        return self._k, self._v

    def reset(self) -> None:
        self._k = None
        self._v = None

    def k(self) -> Tensor | None:
        return self._k

    def v(self) -> Tensor | None:
        return self._v

    def into_inner(self) -> tuple[Tensor, Tensor] | None:
        """``(k, v)``, or None when empty."""
        if self._k is None or self._v is None:
            return None
        return self._k, self._v


class InterleavedKvCache:
    """One (seq, h_kv, 2 * head_dim) tensor: per position and head, the keys then the values."""

    def __init__(self, head_dim: int):
        self._kv: Tensor | None = None
        self._head_dim = head_dim

    def current_seq_len(self) -> int:
        return 0 if self._kv is None else self._kv.dim(0)

    def is_empty(self) -> bool:
        return self._kv is None

    def append(self, k: Tensor, v: Tensor) -> Tensor:
        """Appends ``k`` and ``v`` of shape (1, h_kv, s, d); returns the whole (S, h_kv, 2d)."""
        for name, t in (("k", k), ("v", v)):
            if t.rank() != 4 or t.dim(0) != 1:
                raise Msg(
                    f"InterleavedKvCache.append: {name} must be (1, h_kv, seq, head_dim), "
                    f"got {t.shape}"
                )
        k_seq = k.squeeze(0).transpose(0, 1).contiguous().detach()
        v_seq = v.squeeze(0).transpose(0, 1).contiguous().detach()
        kv_new = Tensor.cat([k_seq, v_seq], 2).detach()
        self._kv = kv_new if self._kv is None else Tensor.cat([self._kv, kv_new], 0).detach()
        return self._kv

    def kv(self) -> Tensor | None:
        return self._kv

    def head_dim(self) -> int:
        return self._head_dim

    def reset(self) -> None:
        self._kv = None


class RawInterleavedKvCache:
    """An f32 NumPy buffer of positions, each ``[H0 keys, H0 values, H1 keys, ...]``, written in
    place (Candle's raw ``Vec<f32>`` cache for hand-written kernels)."""

    def __init__(self, h_kv: int, d: int, max_seq: int):
        self._pos_stride = h_kv * 2 * d
        self._buf = np.zeros(max_seq * self._pos_stride, dtype=np.float32)
        self._h_kv = h_kv
        self._d = d
        self._len = 0

    def len(self) -> int:
        """The number of positions cached."""
        return self._len

    __len__ = len

    def is_empty(self) -> bool:
        return self._len == 0

    def write_kv(self, k_flat, v_flat) -> None:
        """Writes one position from flat (h_kv * d) keys and values."""
        hd = self._h_kv * self._d
        k_flat = np.asarray(k_flat, dtype=np.float32).reshape(-1)
        v_flat = np.asarray(v_flat, dtype=np.float32).reshape(-1)
        if k_flat.size < hd or v_flat.size < hd:
            raise Msg(
                f"RawInterleavedKvCache.write_kv: expected {hd} keys and values "
                f"(h_kv {self._h_kv} x d {self._d}), got {k_flat.size} and {v_flat.size}"
            )
        base = self._len * self._pos_stride
        if base + self._pos_stride > self._buf.size:
            # Doubling as Candle does; at least one position, so an empty buffer grows too.
            size = max(2 * self._buf.size, base + self._pos_stride)
            self._buf = np.concatenate([self._buf, np.zeros(size - self._buf.size, np.float32)])
        slot = self._buf[base : base + self._pos_stride].reshape(self._h_kv, 2, self._d)
        slot[:, 0] = k_flat[:hd].reshape(self._h_kv, self._d)
        slot[:, 1] = v_flat[:hd].reshape(self._h_kv, self._d)
        self._len += 1

    def write_kv_batch(self, k_flat, v_flat, seq_len: int) -> None:
        """Writes ``seq_len`` positions from row-major (seq_len, h_kv * d) keys and values."""
        hd = self._h_kv * self._d
        k_flat = np.asarray(k_flat, dtype=np.float32).reshape(-1)
        v_flat = np.asarray(v_flat, dtype=np.float32).reshape(-1)
        for s in range(seq_len):
            self.write_kv(k_flat[s * hd : (s + 1) * hd], v_flat[s * hd : (s + 1) * hd])

    def data(self) -> np.ndarray:
        """The filled part of the buffer, (len * h_kv * 2 * d) values, as a read-only view."""
        view = self._buf[: self._len * self._pos_stride].view()
        view.flags.writeable = False
        return view

    def reset(self) -> None:
        self._len = 0

    def h_kv(self) -> int:
        return self._h_kv

    def d(self) -> int:
        return self._d


def rope_i_inplace(data: np.ndarray, cos, sin, num_heads: int, d: int) -> None:
    """Interleaved rotary embedding, in place, of a flat (num_heads * d) NumPy array: each pair
    ``(x[2i], x[2i+1])`` of a head is rotated by ``cos[i]``, ``sin[i]`` (d/2 values each)."""
    if not isinstance(data, np.ndarray) or not data.flags.writeable:
        raise Msg("rope_i_inplace: data must be a writable NumPy array")
    half = d // 2
    if data.size < num_heads * d:
        raise Msg(f"rope_i_inplace: data has {data.size} values, expected {num_heads} x {d}")
    flat = data.reshape(-1)
    if not np.shares_memory(flat, data):
        raise Msg("rope_i_inplace: data must be contiguous")
    heads = flat[: num_heads * d].reshape(num_heads, d)
    even, odd = heads[:, 0 : 2 * half : 2], heads[:, 1 : 2 * half : 2]
    cos = np.asarray(cos, dtype=data.dtype).reshape(-1)[:half]
    sin = np.asarray(sin, dtype=data.dtype).reshape(-1)[:half]
    a, b = even.copy(), odd.copy()
    even[...] = a * cos - b * sin
    odd[...] = b * cos + a * sin


__all__ = [
    "Cache",
    "ConcatKvCache",
    "IndicesAndMask",
    "InterleavedKvCache",
    "KvCache",
    "RawInterleavedKvCache",
    "RotatingCache",
    "RotatingKvCache",
    "ScatteredCacheBuilder",
    "ScatteredKvCache",
    "rope_i_inplace",
]
