"""wick.nn.rotary_emb: the rope tests of candle-nn/tests/ops.rs (``ropei``, ``rope``, ``rope_thd``),
hand-derived values, a NumPy reference of Candle's CPU kernels, gradients and the error cases.

Not applicable / adapted:
- Candle draws its random inputs with Rust's ``StdRng::seed_from_u64(299792458)``; the stream of
  that generator is not reproducible from NumPy, so the same shapes (b=2, h=5, t=10, d=16, f32
  uniform in [0, 1)) are drawn from a seeded NumPy generator. The assertions are Candle's: on the
  CPU the fused op and its slow twin agree exactly (``sum_diff == 0``), and a 3d (per-sequence)
  cos/sin gives exactly what two separate calls give.
- The ``sum_diff < 1e-4`` branches are for CUDA/Metal kernels, which wick does not have.
- Candle's ``rope*`` have no gradient (``apply_op3_no_bwd``); wick's do, checked here.
"""

from __future__ import annotations

import numpy as np
import pytest
from devices import bf16_refused, suffix

import wick
from wick import Device, DType, Tensor, Var
from wick.nn.rotary_emb import rope, rope_i, rope_i_slow, rope_slow, rope_thd
from wick.testing import assert_close, gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
B, H, T, D = 2, 5, 10, 16


def _draw(seed: int = 299792458):
    """src (b, h, t, d), then two (t, d/2) cos/sin pairs, f32 in [0, 1), as Candle's test draws."""
    rng = np.random.default_rng(seed)
    src = rng.random(B * H * T * D, dtype=np.float32).reshape(B, H, T, D)
    tables = [rng.random(T * D // 2, dtype=np.float32).reshape(T, D // 2) for _ in range(4)]
    return (Tensor.new(src, DEV), *(Tensor.new(a, DEV) for a in tables))


def _sum_diff(a: Tensor, b: Tensor) -> float:
    return (a - b).abs().sum_all().to_vec0()


# ----- candle-nn/tests/ops.rs -----------------------------------------------------------------
def test_ropei():
    src, cos, sin, cos2, sin2 = _draw()
    assert _sum_diff(rope_i(src, cos, sin), rope_i_slow(src, cos, sin)) == 0.0
    # a 3d cos/sin: one table per sequence of the batch
    rope1 = rope_i(src[0:1], cos, sin)
    rope2 = rope_i(src[1:2], cos2, sin2)
    both_cos = Tensor.stack([cos, cos2], 0)
    both_sin = Tensor.stack([sin, sin2], 0)
    both_rope = rope_i(src, both_cos, both_sin)
    assert _sum_diff(both_rope, Tensor.cat([rope1, rope2], 0)) == 0.0


def test_rope():
    src, cos, sin, cos2, sin2 = _draw()
    assert _sum_diff(rope(src, cos, sin), rope_slow(src, cos, sin)) == 0.0
    rope1 = rope(src[0:1], cos, sin)
    rope2 = rope(src[1:2], cos2, sin2)
    both_cos = Tensor.stack([cos, cos2], 0)
    both_sin = Tensor.stack([sin, sin2], 0)
    both_rope = rope(src, both_cos, both_sin)
    assert _sum_diff(both_rope, Tensor.cat([rope1, rope2], 0)) == 0.0


def test_rope_thd():
    src, cos, sin, cos2, sin2 = _draw()
    rope1 = rope_thd(src.transpose(1, 2).contiguous(), cos, sin).transpose(1, 2)
    assert _sum_diff(rope1, rope_slow(src, cos, sin)) == 0.0
    src_thd = src.transpose(1, 2).contiguous()
    rope1 = rope_thd(src_thd[0:1], cos, sin)
    rope2 = rope_thd(src_thd[1:2], cos2, sin2)
    both_cos = Tensor.stack([cos, cos2], 0)
    both_sin = Tensor.stack([sin, sin2], 0)
    both_rope = rope_thd(src_thd, both_cos, both_sin)
    assert _sum_diff(both_rope, Tensor.cat([rope1, rope2], 0)) == 0.0


@pytest.mark.parametrize("dtype", [DType.F64, DType.F32, DType.F16, DType.BF16])
def test_fused_equals_slow_bit_for_bit_in_every_float_dtype(dtype):
    if dtype == DType.BF16 and bf16_refused(DEV):
        return
    src, cos, sin, _, _ = _draw(7)
    src, cos, sin = (t.to_dtype(dtype) for t in (src, cos, sin))
    for fast, slow in ((rope, rope_slow), (rope_i, rope_i_slow)):
        y = fast(src, cos, sin)
        assert y.dtype == dtype and y.dims() == [B, H, T, D]
        assert np.array_equal(y.numpy(), slow(src, cos, sin).numpy())
    y = rope_thd(src.transpose(1, 2).contiguous(), cos, sin).transpose(1, 2)
    assert np.array_equal(y.numpy(), rope_slow(src, cos, sin).numpy())


# ----- values -------------------------------------------------------------------------------------
def test_hand_derived_values():
    # d = 4, one position: cos = (0.6, 0), sin = (0.8, 1).
    # rope rotates the pairs (x0, x2) and (x1, x3): x = (1, 2, 3, 4) gives
    #   (1*0.6 - 3*0.8, 2*0 - 4*1, 1*0.8 + 3*0.6, 2*1 + 4*0) = (-1.8, -4, 2.6, 2).
    # rope_i rotates the pairs (x0, x1) and (x2, x3):
    #   (1*0.6 - 2*0.8, 1*0.8 + 2*0.6, 3*0 - 4*1, 3*1 + 4*0) = (-1, 2, -4, 3).
    x = Tensor.new([[[[1.0, 2.0, 3.0, 4.0]]]], DEV)
    cos = Tensor.new([[0.6, 0.0]], DEV)
    sin = Tensor.new([[0.8, 1.0]], DEV)
    assert_close(rope(x, cos, sin), [[[[-1.8, -4.0, 2.6, 2.0]]]], rtol=0, atol=1e-15)
    assert_close(rope_i(x, cos, sin), [[[[-1.0, 2.0, -4.0, 3.0]]]], rtol=0, atol=1e-15)
    assert_close(rope_thd(x, cos, sin), [[[[-1.8, -4.0, 2.6, 2.0]]]], rtol=0, atol=1e-15)


def _kernel_reference(x, cos, sin, interleaved: bool, thd: bool):
    """Candle's CPU kernels written as loops over the flat buffers, in float64."""
    x = np.asarray(x, np.float64)
    b, d1, d2, d = x.shape
    t = d1 if thd else d2
    cos = np.broadcast_to(np.asarray(cos, np.float64)[..., :t, :], (b, t, d // 2))
    sin = np.broadcast_to(np.asarray(sin, np.float64)[..., :t, :], (b, t, d // 2))
    out = np.empty_like(x)
    for index in np.ndindex(b, d1, d2):
        ti = index[1] if thd else index[2]
        for i in range(d // 2):
            c, s = cos[index[0], ti, i], sin[index[0], ti, i]
            i1, i2 = (2 * i, 2 * i + 1) if interleaved else (i, i + d // 2)
            out[index + (i1,)] = x[index + (i1,)] * c - x[index + (i2,)] * s
            out[index + (i2,)] = x[index + (i1,)] * s + x[index + (i2,)] * c
    return out


@pytest.mark.parametrize("batched", [False, True])
def test_against_kernel_reference(batched):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 6))
    # Longer tables than the sequence: the first rows are used.
    shape = (2, 6, 3) if batched else (6, 3)
    cos, sin = rng.standard_normal(shape), rng.standard_normal(shape)
    args = [Tensor.new(a, DEV) for a in (x, cos, sin)]
    ref = _kernel_reference(x, cos, sin, interleaved=False, thd=False)
    assert_close(rope(*args), ref, rtol=1e-12, atol=1e-12)
    ref = _kernel_reference(x, cos, sin, interleaved=True, thd=False)
    assert_close(rope_i(*args), ref, rtol=1e-12, atol=1e-12)
    xt = rng.standard_normal((2, 4, 3, 6))
    ref = _kernel_reference(xt, cos, sin, interleaved=False, thd=True)
    assert_close(rope_thd(Tensor.new(xt, DEV), *args[1:]), ref, rtol=1e-12, atol=1e-12)


def test_longer_tables_match_slow():
    src, cos, sin, cos2, sin2 = _draw(11)
    cos_long = Tensor.cat([cos, cos2], 0)  # 2t rows, the first t used
    sin_long = Tensor.cat([sin, sin2], 0)
    assert _sum_diff(rope(src, cos_long, sin_long), rope_slow(src, cos, sin)) == 0.0
    assert _sum_diff(rope_i(src, cos_long, sin_long), rope_i_slow(src, cos, sin)) == 0.0
    assert _sum_diff(rope_slow(src, cos_long, sin_long), rope_slow(src, cos, sin)) == 0.0


def test_seq_len_one_decode_step():
    # Candle's kernels take a separate path for t == 1.
    src, cos, sin, _, _ = _draw(5)
    step = src.narrow(2, 4, 1).contiguous()
    assert _sum_diff(rope(step, cos, sin), rope_slow(step, cos, sin)) == 0.0
    assert _sum_diff(rope_i(step, cos, sin), rope_i_slow(step, cos, sin)) == 0.0
    both = Tensor.stack([cos, sin], 0)
    y = rope(step, both, both)
    ref = Tensor.cat([rope(step[0:1], cos, cos), rope(step[1:2], sin, sin)], 0)
    assert _sum_diff(y, ref) == 0.0


# ----- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("f", [rope, rope_i, rope_thd])
@pytest.mark.parametrize("batched", [False, True])
def test_gradcheck(f, batched):
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 3, 4, 6))
    shape = (2, 5, 3) if batched else (5, 3)
    cos, sin = rng.standard_normal(shape), rng.standard_normal(shape)
    assert gradcheck(f, [x, cos, sin], directions=6)


@pytest.mark.parametrize(("fast", "slow"), [(rope, rope_slow), (rope_i, rope_i_slow)])
def test_gradients_equal_the_slow_twin(fast, slow):
    rng = np.random.default_rng(23)
    base = [
        rng.standard_normal((2, 3, 4, 8)),
        rng.standard_normal((4, 4)),
        rng.standard_normal((4, 4)),
    ]
    r = Tensor.new(rng.standard_normal((2, 3, 4, 8)), DEV)
    grads = []
    for f in (fast, slow):
        vs = [Var.new(a, DEV) for a in base]
        g = (f(*vs) * r).sum_all().backward()
        grads.append([g.get(v).numpy() for v in vs])
    for a, b in zip(*grads):
        assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck_slow_versions():
    rng = np.random.default_rng(29)
    x, cos, sin = (
        rng.standard_normal((1, 2, 3, 4)),
        rng.standard_normal((3, 2)),
        rng.standard_normal((3, 2)),
    )
    assert gradcheck(rope_slow, [x, cos, sin])
    assert gradcheck(rope_i_slow, [x, cos, sin])


def test_no_graph_without_vars():
    src, cos, sin, _, _ = _draw(1)
    for f in (rope, rope_i, rope_thd):
        assert f(src, cos, sin).op is None


# ----- errors ---------------------------------------------------------------------------------
def test_rank_of_xs():
    cos = Tensor.zeros((10, 8), DType.F32, DEV)
    for f, name in ((rope, "rope"), (rope_i, "rope_i"), (rope_thd, "rope_thd")):
        with pytest.raises(
            wick.UnexpectedNumberOfDims,
            match=rf"{name}: unexpected rank, expected: 4, got: 3 \(\[5, 10, 16\]\)",
        ):
            f(Tensor.zeros((5, 10, 16), DType.F32, DEV), cos, cos)
    with pytest.raises(wick.UnexpectedNumberOfDims, match="rope_slow"):
        rope_slow(Tensor.zeros((5, 10, 16), DType.F32, DEV), cos, cos)


def test_cos_sin_rank():
    xs = Tensor.zeros((2, 5, 10, 16), DType.F32, DEV)
    bad = Tensor.zeros((80,), DType.F32, DEV)
    ok = Tensor.zeros((10, 8), DType.F32, DEV)
    with pytest.raises(
        wick.Msg, match=rf"cos/sin has to be 2D or 3D in rope 2 Tensor\[dims 80; f32{suffix(DEV)}\]"
    ):
        rope(xs, bad, ok)
    with pytest.raises(wick.Msg, match="cos/sin has to be 2D or 3D in rope_i 2"):
        rope_i(xs, ok, bad)


def test_batch_size_of_3d_tables():
    xs = Tensor.zeros((2, 5, 10, 16), DType.F32, DEV)
    cs = Tensor.zeros((3, 10, 8), DType.F32, DEV)
    with pytest.raises(
        wick.Msg,
        match=rf"inconsistent batch size in rope 2 Tensor\[dims 3, 10, 8; f32{suffix(DEV)}\]",
    ):
        rope(xs, cs, cs)
    with pytest.raises(wick.Msg, match="inconsistent batch size in rope_thd 2 "):
        rope_thd(xs, cs, cs)


def test_inconsistent_last_dim_or_seq_len():
    xs = Tensor.zeros((2, 5, 10, 16), DType.F32, DEV)
    ok = Tensor.zeros((10, 8), DType.F32, DEV)
    narrow = Tensor.zeros((10, 7), DType.F32, DEV)
    short = Tensor.zeros((9, 8), DType.F32, DEV)
    with pytest.raises(
        wick.Msg, match=r"inconsistent last dim size in rope \[2, 5, 10, 16\] \[10, 7\] \[10, 8\]"
    ):
        rope(xs, narrow, ok)
    with pytest.raises(
        wick.Msg, match=r"inconsistent last dim size in rope_i \[2, 5, 10, 16\] \[10, 8\] \[9, 8\]"
    ):
        rope_i(xs, ok, short)
    # rope_thd reads t from dim 1: (2, 5, 10, 16) has t = 5, h = 10, so d/2 = 8 and 10 rows fit
    assert rope_thd(xs, ok, ok).dims() == [2, 5, 10, 16]
    with pytest.raises(wick.Msg, match=r"inconsistent last dim size in rope_thd \[2, 12, 5, 16\]"):
        rope_thd(Tensor.zeros((2, 12, 5, 16), DType.F32, DEV), ok, ok)


def test_contiguity_required_as_in_candle():
    xs = Tensor.zeros((2, 10, 5, 16), DType.F32, DEV).transpose(1, 2)
    ok = Tensor.zeros((10, 8), DType.F32, DEV)
    with pytest.raises(wick.Msg, match="xs has to be contiguous in rope"):
        rope(xs, ok, ok)
    cs_t = Tensor.zeros((8, 10), DType.F32, DEV).t()
    with pytest.raises(wick.Msg, match="cos has to be contiguous in rope_i"):
        rope_i(xs.contiguous(), cs_t, ok)
    with pytest.raises(wick.Msg, match="sin has to be contiguous in rope_thd"):
        rope_thd(Tensor.zeros((2, 10, 5, 16), DType.F32, DEV), ok, cs_t)


def test_dtypes():
    xs = Tensor.zeros((1, 1, 2, 4), DType.F32, DEV)
    cs = Tensor.zeros((2, 2), DType.F32, DEV)
    with pytest.raises(wick.Msg, match="unsupported dtype for rope F32 F64 F32"):
        rope(xs, cs.to_dtype(DType.F64), cs)
    xi, ci = xs.to_dtype(DType.I64), cs.to_dtype(DType.I64)
    with pytest.raises(wick.Msg, match="unsupported dtype for rope_i I64 I64 I64"):
        rope_i(xi, ci, ci)
