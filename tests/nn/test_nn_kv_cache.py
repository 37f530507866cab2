"""wick.nn.kv_cache: candle-nn/tests/kv_cache.rs, the unit tests and doc example inside
candle-nn/src/kv_cache.rs, and the pieces Candle leaves untested (KvCache, RotatingKvCache,
growth, the interleaved caches, rope_i_inplace, errors).

Not applicable / adapted:
- Candle's ``k_cache_mut``/``v_cache_mut``/``k_mut``/``v_mut`` are Rust's mutable borrows; in
  Python ``k_cache()`` already returns the live object, and tensors are immutable.
- Candle's caches mutate a buffer with ``slice_set``; wick's rebind theirs (``slice_scatter``),
  so the values are checked, not storage identity. ``Clone`` is ``copy.copy``.
- Candle's ``Cache`` never overflows: it grows by ``max_seq_len`` when full (tested below). The one
  overflow it cannot handle, a ``max_seq_len`` of 0 (Candle loops forever), raises in wick.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor, Var
from wick.nn.kv_cache import (
    Cache,
    ConcatKvCache,
    InterleavedKvCache,
    KvCache,
    RawInterleavedKvCache,
    RotatingCache,
    RotatingKvCache,
    ScatteredCacheBuilder,
    rope_i_inplace,
)
from wick.nn.rotary_emb import rope_i

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
F32 = DType.F32
INF = float("inf")


def _f32(data) -> Tensor:
    return Tensor.new(data, DEV, dtype=F32)


# ----- candle-nn/tests/kv_cache.rs ------------------------------------------------------------
def test_kv_cache():
    cache = Cache(0, 16)
    for _ in range(2):
        assert cache.current_seq_len() == 0
        assert cache.current_data() is None
        cache.append(_f32([1.0, 2.0, 3.0]))
        assert cache.current_data().to_vec1() == [1.0, 2.0, 3.0]
        cache.append(_f32([4.0]))
        assert cache.current_data().to_vec1() == [1.0, 2.0, 3.0, 4.0]
        cache.append(_f32([0.0, 5.0, 6.0, 7.0]))
        assert cache.current_data().to_vec1() == [1.0, 2.0, 3.0, 4.0, 0.0, 5.0, 6.0, 7.0]
        assert cache.current_seq_len() == 8
        cache.reset()


def test_rotating_kv_cache():
    cache = RotatingCache(0, 6)
    for _ in range(2):
        assert cache.offset() == 0
        assert cache.current_seq_len() == 0
        assert cache.current_data() is None
        assert cache.positions(1) == [0]
        assert cache.positions(2) == [0, 1]
        data = cache.append(Tensor.new([1.0, 2.0, 3.0], DEV))
        assert data.to_vec1() == [1.0, 2.0, 3.0]
        assert cache.positions(0) == [0, 1, 2]
        assert cache.positions(1) == [0, 1, 2, 3]
        assert cache.positions(2) == [0, 1, 2, 3, 4]
        assert cache.positions(3) == [0, 1, 2, 3, 4, 5]
        assert cache.positions(4) == [6, 1, 2, 3, 4, 5]
        data = cache.append(Tensor.new([4.0], DEV))
        assert data.to_vec1() == [1.0, 2.0, 3.0, 4.0]
        data = cache.append(Tensor.new([0.0, 5.0, 6.0, 7.0], DEV))
        assert data.to_vec1() == [6.0, 7.0, 3.0, 4.0, 0.0, 5.0]
        assert cache.current_seq_len() == 8
        assert cache.offset() == 2

        data = cache.append(Tensor.new([8.0], DEV))
        assert data.to_vec1() == [6.0, 7.0, 8.0, 4.0, 0.0, 5.0]
        assert cache.current_seq_len() == 9
        assert cache.offset() == 3

        data = cache.append(Tensor.new([9.0, 10.0, 11.0], DEV))
        assert data.to_vec1() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
        assert cache.current_seq_len() == 12
        assert cache.offset() == 0

        data = cache.append(Tensor.new([12.0], DEV))
        assert data.to_vec1() == [12.0, 7.0, 8.0, 9.0, 10.0, 11.0]
        assert cache.current_seq_len() == 13
        assert cache.offset() == 1

        mask = cache.attn_mask(2, DEV)
        assert mask.dtype == DType.U8
        assert mask.to_vec2() == [[0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
        mask = cache.attn_mask(3, DEV)
        assert mask.to_vec2() == [[0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0]]
        assert cache.positions(0) == [12, 7, 8, 9, 10, 11]
        assert cache.positions(2) == [12, 13, 14, 9, 10, 11]
        assert cache.positions(3) == [12, 13, 14, 15, 10, 11]
        assert cache.positions(8) == [13, 14, 15, 16, 17, 18, 19, 20]
        data = cache.append(Tensor.new([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], DEV))
        assert data.to_vec1() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
        assert cache.current_seq_len() == 22
        assert cache.offset() == 0
        assert cache.positions(0) == [16, 17, 18, 19, 20, 21]
        assert cache.positions(1) == [22, 17, 18, 19, 20, 21]

        assert cache.attn_mask(1, DEV) is None
        mask = cache.attn_mask(2, DEV)
        assert mask.to_vec2() == [[0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
        mask = cache.attn_mask(3, DEV)
        assert mask.to_vec2() == [[0, 1, 1, 0, 0, 0], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]]

        data = cache.append(Tensor.new([42.0], DEV))
        assert data.to_vec1() == [42.0, 4.0, 5.0, 6.0, 7.0, 8.0]
        assert cache.current_seq_len() == 23
        assert cache.offset() == 1

        cache.reset()


# ----- the unit tests inside candle-nn/src/kv_cache.rs ----------------------------------------
def _mask0(iam) -> list:
    return iam.mask()[:, 0].to_vec3()


def test_scattered_kv_cache():
    cache = ScatteredCacheBuilder(2, 5, DType.F32, DEV)

    iam = cache.indices_and_mask(1, [True, False])
    assert iam.indices().dtype == DType.U32
    assert iam.indices().to_vec2() == [[0], [0]]
    assert _mask0(iam) == [[[0.0, -INF, -INF, -INF, -INF]], [[0.0, 0.0, 0.0, 0.0, 0.0]]]

    iam = cache.indices_and_mask(1, [True, False])
    assert iam.indices().to_vec2() == [[1], [0]]
    assert _mask0(iam) == [[[0.0, 0.0, -INF, -INF, -INF]], [[0.0, 0.0, 0.0, 0.0, 0.0]]]

    iam = cache.indices_and_mask(3, [False, True])
    assert iam.indices().to_vec2() == [[2, 2, 2], [0, 1, 2]]
    assert _mask0(iam) == [
        [[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
        [[0.0, -INF, -INF, -INF, -INF], [0.0, 0.0, -INF, -INF, -INF], [0.0, 0.0, 0.0, -INF, -INF]],
    ]

    iam = cache.indices_and_mask(3, [True, True])
    assert iam.indices().to_vec2() == [[2, 3, 4], [3, 4, 0]]
    assert _mask0(iam) == [
        [[0.0, 0.0, 0.0, -INF, -INF], [0.0, 0.0, 0.0, 0.0, -INF], [0.0, 0.0, 0.0, 0.0, 0.0]],
        [[-INF, 0.0, 0.0, 0.0, -INF], [-INF, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
    ]

    iam = cache.indices_and_mask(1, [True, False])
    assert iam.indices().to_vec2() == [[0], [1]]
    assert _mask0(iam) == [[[0.0, 0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 0.0]]]

    iam = cache.indices_and_mask(2, [True, False])
    assert iam.indices().to_vec2() == [[1, 2], [1, 1]]
    assert _mask0(iam) == [
        [[0.0, 0.0, -INF, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
        [[0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
    ]


def test_concat_cache_basic():
    cache = ConcatKvCache(2)
    assert cache.is_empty()
    assert cache.current_seq_len() == 0

    k1 = Tensor.zeros((1, 8, 3, 64), F32, DEV)
    v1 = Tensor.zeros((1, 8, 3, 64), F32, DEV)
    k, v = cache.append(k1, v1)
    assert k.dims() == [1, 8, 3, 64]
    assert v.dims() == [1, 8, 3, 64]
    assert cache.current_seq_len() == 3
    assert not cache.is_empty()

    k2 = Tensor.zeros((1, 8, 2, 64), F32, DEV)
    v2 = Tensor.zeros((1, 8, 2, 64), F32, DEV)
    k, v = cache.append(k2, v2)
    assert k.dims() == [1, 8, 5, 64]
    assert v.dims() == [1, 8, 5, 64]
    assert cache.current_seq_len() == 5


def test_concat_cache_reset():
    cache = ConcatKvCache(2)
    k = Tensor.zeros((1, 8, 10, 64), F32, DEV)
    v = Tensor.zeros((1, 8, 10, 64), F32, DEV)
    cache.append(k, v)
    assert cache.current_seq_len() == 10
    cache.reset()
    assert cache.is_empty()
    assert cache.current_seq_len() == 0
    assert cache.k() is None
    assert cache.v() is None
    assert cache.into_inner() is None


def test_concat_cache_multiple_appends():
    cache = ConcatKvCache(2)
    k_prefill = Tensor.zeros((1, 8, 10, 64), F32, DEV)
    v_prefill = Tensor.zeros((1, 8, 10, 64), F32, DEV)
    cache.append(k_prefill, v_prefill)
    assert cache.current_seq_len() == 10
    for i in range(1, 6):
        k_token = Tensor.zeros((1, 8, 1, 64), F32, DEV)
        v_token = Tensor.zeros((1, 8, 1, 64), F32, DEV)
        k, v = cache.append(k_token, v_token)
        assert k.dims()[2] == 10 + i
        assert v.dims()[2] == 10 + i
    assert cache.current_seq_len() == 15


def test_concat_cache_different_dim():
    cache = ConcatKvCache(1)
    k1 = Tensor.zeros((1, 3, 8, 64), F32, DEV)
    v1 = Tensor.zeros((1, 3, 8, 64), F32, DEV)
    k, _v = cache.append(k1, v1)
    assert k.dims() == [1, 3, 8, 64]
    k2 = Tensor.zeros((1, 2, 8, 64), F32, DEV)
    v2 = Tensor.zeros((1, 2, 8, 64), F32, DEV)
    k, _v = cache.append(k2, v2)
    assert k.dims() == [1, 5, 8, 64]
    assert cache.current_seq_len() == 5


def test_concat_cache_doc_example():
    # The ConcatKvCache doc example (prefill of 10 tokens, then one decode step), with values.
    DEV.set_seed(0)
    cache = ConcatKvCache(2)
    k1 = Tensor.randn(0.0, 1.0, (1, 8, 10, 64), DEV)
    v1 = Tensor.randn(0.0, 1.0, (1, 8, 10, 64), DEV)
    cache.append(k1, v1)
    k_new = Tensor.randn(0.0, 1.0, (1, 8, 1, 64), DEV)
    v_new = Tensor.randn(0.0, 1.0, (1, 8, 1, 64), DEV)
    k, v = cache.append(k_new, v_new)
    assert k.dims() == [1, 8, 11, 64] and v.dims() == [1, 8, 11, 64]
    assert np.array_equal(k.numpy(), np.concatenate([k1.numpy(), k_new.numpy()], 2))
    assert np.array_equal(v.numpy(), np.concatenate([v1.numpy(), v_new.numpy()], 2))
    assert cache.into_inner()[0] is k


# ----- KvCache, RotatingKvCache, growth -------------------------------------------------------
def test_kv_cache_pair_on_the_sequence_dim():
    cache = KvCache(2, 4)
    assert cache.k() is None and cache.v() is None
    k1 = Tensor.arange(0.0, 12.0, DEV).reshape((1, 2, 3, 2))
    v1 = k1.affine(-1.0, 0.0)
    k, v = cache.append(k1, v1)
    assert k.dims() == [1, 2, 3, 2]
    assert np.array_equal(k.numpy(), k1.numpy()) and np.array_equal(v.numpy(), v1.numpy())
    k2 = Tensor.full(100.0, (1, 2, 2, 2), DEV)
    k, v = cache.append(k2, k2)
    # 3 + 2 > 4 slots: the buffer grows by max_seq_len (4) to 8
    assert cache.current_seq_len() == 5
    assert cache.k_cache().max_seq_len() == 8
    assert cache.k_cache().all_data().dims() == [1, 2, 8, 2]
    assert np.array_equal(k.numpy(), np.concatenate([k1.numpy(), k2.numpy()], 2))
    assert np.array_equal(cache.v().numpy(), np.concatenate([v1.numpy(), k2.numpy()], 2))
    cache.reset()
    assert cache.current_seq_len() == 0 and cache.k() is None


def test_cache_growth_past_several_multiples():
    cache = Cache(0, 2)
    cache.append(_f32([1.0]))
    cache.append(_f32([2.0, 3.0, 4.0, 5.0, 6.0]))  # needs 6 slots: grows 2 -> 4 -> 6
    assert cache.max_seq_len() == 6
    assert cache.current_data().to_vec1() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert cache.all_data().to_vec1() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    cache.append(_f32([7.0]))
    assert cache.all_data().to_vec1() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0]


def test_rotating_kv_cache_pair():
    cache = RotatingKvCache(1, 3)
    k1 = _f32([[[1.0], [2.0]]])  # (1, 2, 1): seq on dim 1
    k, v = cache.append(k1, k1.affine(10.0, 0.0))
    assert k.to_vec3() == [[[1.0], [2.0]]] and v.to_vec3() == [[[10.0], [20.0]]]
    k, v = cache.append(_f32([[[3.0], [4.0]]]), _f32([[[30.0], [40.0]]]))
    assert k.to_vec3() == [[[4.0], [2.0], [3.0]]]
    assert v.to_vec3() == [[[40.0], [20.0], [30.0]]]
    assert cache.offset() == 1 and cache.current_seq_len() == 4
    # slots hold positions 3 (value 4), 1, 2; one more lands in slot 1 as position 4
    assert cache.positions(1) == [3, 4, 2]
    assert cache.k().to_vec3() == k.to_vec3() and cache.v().to_vec3() == v.to_vec3()
    assert cache.attn_mask(2, DEV).to_vec2() == [[0, 0, 1], [0, 0, 0]]
    assert cache.k_cache().max_seq_len() == 3 and cache.v_cache().dim() == 1
    cache.reset()
    assert cache.offset() == 0 and cache.k() is None


def test_rotating_cache_long_prefill_returns_src_with_its_graph():
    cache = RotatingCache(0, 3)
    src = Var.new([1.0, 2.0, 3.0, 4.0, 5.0], DEV)
    out = cache.append(src)
    assert out is src  # Candle returns src so that all of it can be attended to
    assert cache.all_data().to_vec1() == [3.0, 4.0, 5.0]
    assert cache.all_data().op is None


def test_rotating_attn_mask_abs_for_long_inputs():
    cache = RotatingCache(0, 2)
    # seq_len >= max_seq_len: Candle's absolute mask, (i, j) masked when j > i (causal) or
    # j + context < i (out of the window; context = 2): only (3, 0) is out of the window.
    assert cache.attn_mask(4, DEV).to_vec2() == [
        [0, 1, 1, 1],
        [0, 0, 1, 1],
        [0, 0, 0, 1],
        [1, 0, 0, 0],
    ]


def test_cache_clone_is_independent():
    cache = Cache(0, 4)
    cache.append(_f32([1.0, 2.0]))
    clone = copy.copy(cache)
    clone.append(_f32([3.0]))
    cache.append(_f32([9.0]))
    assert clone.current_data().to_vec1() == [1.0, 2.0, 3.0]
    assert cache.current_data().to_vec1() == [1.0, 2.0, 9.0]


def test_stored_data_is_detached():
    # Candle's slice_set writes into a buffer without recording a gradient.
    cache = KvCache(0, 4)
    k = Var.new([1.0, 2.0], DEV)
    out_k, _ = cache.append(k, k)
    assert out_k.op is None
    concat = ConcatKvCache(0)
    assert concat.append(k, k)[0].op is None


def test_scattered_kv_cache_append():
    builder = ScatteredCacheBuilder(2, 4, DType.F32, DEV)
    cache = builder.make_cache(1, 2)
    assert cache.k().dims() == [2, 1, 4, 2]
    iam = builder.indices_and_mask(2, [True, True])
    k = Tensor.arange(1.0, 9.0, DEV).to_dtype(F32).reshape((2, 1, 2, 2))
    out_k, out_v = cache.append(k, k.affine(-1.0, 0.0), iam)
    assert out_k.get(0).to_vec3() == [[[1.0, 2.0], [3.0, 4.0], [0.0, 0.0], [0.0, 0.0]]]
    assert out_v.get(1).to_vec3() == [[[-5.0, -6.0], [-7.0, -8.0], [0.0, 0.0], [0.0, 0.0]]]
    iam = builder.indices_and_mask(3, [False, True])  # batch 1 wraps around its ring
    assert iam.indices().to_vec2() == [[2, 2, 2], [2, 3, 0]]
    assert builder.positions() == [2, 5]
    # context <= seq_len: the inputs are returned as they are
    big = Tensor.zeros((2, 1, 4, 2), F32, DEV)
    assert cache.append(big, big, iam)[0] is big
    builder.reset_batch_index(1)
    assert builder.positions() == [2, 0] and builder.batch_size() == 2
    builder.reset()
    assert builder.positions() == [0, 0]


def test_scattered_indices_and_mask_abs():
    # context (2) <= seq_len (4): slots taken in turn, and the absolute mask as in RotatingCache
    builder = ScatteredCacheBuilder(1, 2, DType.F32, DEV)
    iam = builder.indices_and_mask(4, [True])
    assert iam.indices().to_vec2() == [[0, 1, 0, 1]]
    assert iam.mask().dtype == DType.F32
    assert iam.mask().to_vec2() == [
        [0.0, -INF, -INF, -INF],
        [0.0, 0.0, -INF, -INF],
        [0.0, 0.0, 0.0, -INF],
        [-INF, 0.0, 0.0, 0.0],
    ]
    assert builder.positions() == [4]


# ----- interleaved caches and rope_i_inplace ----------------------------------------------------
def test_interleaved_kv_cache():
    cache = InterleavedKvCache(2)
    assert cache.is_empty() and cache.current_seq_len() == 0 and cache.head_dim() == 2
    k = Tensor.arange(0.0, 12.0, DEV).reshape((1, 2, 3, 2))  # (1, h_kv, s, d)
    v = k.affine(-1.0, 0.0)
    kv = cache.append(k, v)
    assert kv.dims() == [3, 2, 4]
    assert kv.get(1).to_vec2() == [[2.0, 3.0, -2.0, -3.0], [8.0, 9.0, -8.0, -9.0]]
    kv = cache.append(k.narrow(2, 0, 1), v.narrow(2, 0, 1))
    assert cache.current_seq_len() == 4 and kv.get(3).to_vec2() == kv.get(0).to_vec2()
    cache.reset()
    assert cache.kv() is None


def test_raw_interleaved_kv_cache():
    cache = RawInterleavedKvCache(2, 2, 1)
    assert cache.is_empty() and cache.h_kv() == 2 and cache.d() == 2
    cache.write_kv([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0])
    assert cache.data().tolist() == [1.0, 2.0, 5.0, 6.0, 3.0, 4.0, 7.0, 8.0]
    cache.write_kv_batch([9.0] * 4 + [10.0] * 4, [11.0] * 4 + [12.0] * 4, 2)  # grows the buffer
    assert cache.len() == 3 and len(cache) == 3
    assert cache.data()[8:].tolist() == [9.0, 9.0, 11.0, 11.0] * 2 + [10.0, 10.0, 12.0, 12.0] * 2
    assert not cache.data().flags.writeable
    cache.reset()
    assert cache.is_empty() and cache.data().size == 0
    with pytest.raises(wick.Msg, match=r"write_kv: expected 4 keys and values .* got 3 and 4"):
        cache.write_kv([1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])


def test_rope_i_inplace_matches_rope_i():
    rng = np.random.default_rng(4)
    heads, d = 3, 8
    x = rng.random(heads * d, dtype=np.float32)
    cos, sin = rng.random(d // 2, dtype=np.float32), rng.random(d // 2, dtype=np.float32)
    expected = rope_i(
        Tensor.new(x.reshape(1, heads, 1, d), DEV),
        Tensor.new(cos.reshape(1, -1), DEV),
        Tensor.new(sin.reshape(1, -1), DEV),
    )
    data = x.copy()
    rope_i_inplace(data, cos, sin, heads, d)
    assert np.array_equal(data, expected.numpy().reshape(-1))
    with pytest.raises(wick.Msg, match="rope_i_inplace: data must be a writable NumPy array"):
        rope_i_inplace(list(x), cos, sin, heads, d)
    with pytest.raises(wick.Msg, match=r"rope_i_inplace: data has 24 values, expected 4 x 8"):
        rope_i_inplace(data, cos, sin, 4, d)


# ----- errors ---------------------------------------------------------------------------------
def test_cache_append_shape_mismatch():
    cache = Cache(1, 16)
    cache.append(Tensor.zeros((2, 3, 4), F32, DEV))
    with pytest.raises(
        wick.ShapeMismatchBinaryOp,
        match=r"shape mismatch in Cache.append, lhs: \[2, 16, 4\], rhs: \[2, 1, 5\]",
    ):
        cache.append(Tensor.zeros((2, 1, 5), F32, DEV))
    with pytest.raises(
        wick.ShapeMismatchBinaryOp, match=r"Cache.append, lhs: \[2, 16, 4\], rhs: \[2, 1\]"
    ):
        cache.append(Tensor.zeros((2, 1), F32, DEV))
    with pytest.raises(
        wick.DTypeMismatchBinaryOp, match="dtype mismatch in Cache.append, lhs: F32, rhs: F64"
    ):
        cache.append(Tensor.zeros((2, 1, 4), DType.F64, DEV))
    with pytest.raises(wick.DimOutOfRange):
        Cache(3, 4).append(Tensor.zeros((2, 3), F32, DEV))
    # a failed append leaves the cache as it was
    assert cache.current_seq_len() == 3 and cache.max_seq_len() == 16


def test_cache_overflow_without_room_to_grow():
    cache = Cache(0, 0)
    with pytest.raises(
        wick.Msg,
        match=r"Cache.append: a cache with max_seq_len 0 cannot grow to hold src of shape \[2\]",
    ):
        cache.append(_f32([1.0, 2.0]))
    cache.append(Tensor.zeros((0,), F32, DEV))  # nothing to hold: fine
    assert cache.current_seq_len() == 0


def test_rotating_cache_append_mismatch():
    cache = RotatingKvCache(2, 4)
    cache.append(Tensor.zeros((1, 2, 3, 8), F32, DEV), Tensor.zeros((1, 2, 3, 8), F32, DEV))
    with pytest.raises(
        wick.ShapeMismatchBinaryOp,
        match=r"shape mismatch in RotatingCache.append, lhs: \[1, 2, 4, 8\], rhs: \[1, 3, 1, 8\]",
    ):
        cache.append(Tensor.zeros((1, 3, 1, 8), F32, DEV), Tensor.zeros((1, 3, 1, 8), F32, DEV))
    assert cache.current_seq_len() == 3 and cache.offset() == 3


def test_scattered_and_interleaved_argument_errors():
    builder = ScatteredCacheBuilder(2, 4, DType.F32, DEV)
    with pytest.raises(
        wick.Msg, match="indices_and_mask: batch_mask has 1 entries for a batch of 2"
    ):
        builder.indices_and_mask(1, [True])
    cache = InterleavedKvCache(2)
    k = Tensor.zeros((2, 1, 3, 2), F32, DEV)
    with pytest.raises(
        wick.Msg,
        match=r"InterleavedKvCache.append: k must be \(1, h_kv, seq, head_dim\), got \[2, 1, 3, 2\]",
    ):
        cache.append(k, k)
