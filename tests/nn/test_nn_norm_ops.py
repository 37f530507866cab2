"""The fused ``layer_norm`` / ``rms_norm`` of ``wick.nn.ops`` against Candle's ``*_slow``
compositions: Candle's ``candle-nn/tests/ops.rs`` norm cases, PyTorch golden values (forward and
gradients), gradients of the fused ops against the composites and against float64 finite
differences.

Candle cases adapted, not ported verbatim:
- ``rms_norml``, ``layer_norml``: Candle fills the input from Rust's ``StdRng`` (seed 299792458),
  whose stream NumPy cannot reproduce; the same shape (24, 70, 64) and distribution (uniform
  [0, 1) f32) come from NumPy's generator, and the same bounds are asserted.
- The ``_gpu`` / ``_metal`` variants of each case: CUDA and Metal only.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Msg, Tensor, Var
from wick.nn import ops
from wick.testing import assert_close, gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
F64, F32, F16, BF16 = DType.F64, DType.F32, DType.F16, DType.BF16


def round4(t: Tensor) -> list:
    """Candle's ``to_vec*_round(&t, 4)``: f32 ``round(v * 1e4) / 1e4``, half away from zero."""
    return round_half_away(t.numpy(), 4)


def round_half_away(values, digits: int) -> list:
    scale = np.float32(10.0**digits)
    v = np.asarray(values, dtype=np.float32) * scale
    whole = np.trunc(v)
    rounded = np.where(np.abs(v - whole) >= np.float32(0.5), whole + np.sign(v), whole)
    return (rounded.astype(np.float32) / scale).astype(np.float32).tolist()


def f32(values) -> list:
    """Candle's f32 literals, as the f32 values they denote."""
    return np.asarray(values, dtype=np.float32).tolist()


def t32(values) -> Tensor:
    return Tensor.new(values, DEV, dtype=F32)


DATA = [[[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]], [[2.0, 1.0, 7.0], [8.0, 2.0, 8.0]]]


# ------------------------------------------------------------------------------------------------
# candle-nn/tests/ops.rs


def test_candle_rms_norm():
    tensor, alpha = t32(DATA), t32([1.0, 2.0, 3.0])
    expected = f32(
        [
            [[1.019, 0.6794, 4.0762], [0.1674, 1.6744, 4.521]],
            [[0.4714, 0.4714, 4.9497], [1.206, 0.603, 3.6181]],
        ]
    )
    t = ops.rms_norm(tensor, alpha, 1e-5)
    assert round4(t) == expected
    t2 = ops.rms_norm_slow(tensor, alpha, 1e-5)
    assert round4(t2) == expected
    assert (t - t2).abs().sum_all().to_scalar() < 1e-5


def _candle_like_random(shape, seed=299792458):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def test_candle_rms_norml():
    tensor = Tensor.new(_candle_like_random((24, 70, 64)), DEV)
    alpha = Tensor.ones(64, F32, DEV)
    t = ops.rms_norm(tensor, alpha, 1e-5)
    t2 = ops.rms_norm_slow(tensor, alpha, 1e-5)
    assert round_half_away(t.numpy(), 2) == round_half_away(t2.numpy(), 2)
    assert (t - t2).abs().flatten_all().max(0).to_scalar() < 1e-5


def test_candle_rms_norm_large_magnitude():
    rows, hidden = 4, 6912
    i = np.arange(rows * hidden)
    sign = np.where(i % 2 == 0, 1.0, -1.0).astype(np.float32)
    data = sign * (np.abs(np.sin(i.astype(np.float32) * np.float32(0.17))) * np.float32(7e9))
    tensor = Tensor.new(data.astype(np.float32).reshape(rows, hidden), DEV)
    alpha = Tensor.ones(hidden, F32, DEV)
    fused = ops.rms_norm(tensor, alpha, 1e-5).numpy()
    slow = ops.rms_norm_slow(tensor, alpha, 1e-5).numpy()
    assert np.isfinite(fused).all(), "rms_norm produced a non-finite value"
    assert np.isfinite(slow).all(), "rms_norm_slow produced a non-finite value"
    assert np.abs(fused - slow).max() < 5e-3


def test_candle_layer_norm():
    tensor, alpha, beta = t32(DATA), t32([1.0, 2.0, 3.0]), t32([0.5, 0.0, -0.2])
    expected = f32(
        [
            [[0.7673, -2.6726, 3.0071], [-0.7247, 0.0, 3.4742]],
            [[-0.008, -1.778, 3.991], [1.2071, -2.8284, 1.9213]],
        ]
    )
    t = ops.layer_norm(tensor, alpha, beta, 1e-5)
    assert round4(t) == expected
    t2 = ops.layer_norm_slow(tensor, alpha, beta, 1e-5)
    assert round4(t2) == expected
    assert (t - t2).abs().sum_all().to_scalar() < 1e-5


def test_candle_layer_norml():
    tensor = Tensor.new(_candle_like_random((24, 70, 64)), DEV)
    alpha, beta = Tensor.ones(64, F32, DEV), Tensor.zeros(64, F32, DEV)
    t = ops.layer_norm(tensor, alpha, beta, 1e-5)
    t2 = ops.layer_norm_slow(tensor, alpha, beta, 1e-5)
    assert (t - t2).abs().flatten_all().max(0).to_scalar() < 1e-5


# ------------------------------------------------------------------------------------------------
# PyTorch golden values (float64): forward and the gradients of sum(y * r).
#
# import torch
# import torch.nn.functional as F
#
# def show(name, t):
#     vals = ", ".join(f"{v:.8f}" for v in t.detach().flatten().tolist())
#     print(f"{name} = [{vals}]")
#
# def series(n, a, b, scale=1.0):
#     return torch.sin(torch.arange(n, dtype=torch.float64) * a + b) * scale
#
# x = series(24, 0.7, 0.3, 2.0).reshape(2, 3, 4).requires_grad_()
# w = torch.tensor([0.5, -1.0, 2.0, 1.5], dtype=torch.float64, requires_grad=True)
# b = torch.tensor([0.1, 0.2, -0.3, 0.0], dtype=torch.float64, requires_grad=True)
# r = torch.cos(torch.arange(24, dtype=torch.float64)).reshape(2, 3, 4)
# y = F.layer_norm(x, (4,), w, b, eps=1e-5)
# (y * r).sum().backward()
# show("LN_Y", y); show("LN_GX", x.grad); show("LN_GW", w.grad); show("LN_GB", b.grad)
# x.grad = None; w.grad = None
# y = F.rms_norm(x, (4,), w, eps=1e-5)
# (y * r).sum().backward()
# show("RMS_Y", y); show("RMS_GX", x.grad); show("RMS_GW", w.grad)

LN_Y = [
    -0.68142571, -0.34126639, 1.94023972, -0.14780225, 0.91531521, 0.21015042, -2.15670300,
    -1.03819275, -0.66331846, 0.44781594, 1.21525938, 1.52523477, 0.80954633, -0.20439143,
    -1.55767283, -1.79197152, -0.55483764, 0.72537380, 0.72881408, 1.98096307, 0.69032894,
    -0.44018243, -1.08309477, -2.14393939,
]  # fmt: skip
LN_GX = [
    0.69900990, 0.57956756, 0.53553370, -1.81411116, 0.40791367, -1.13207552, 0.74292384,
    -0.01876199, -0.36468582, 0.96455026, -1.12747026, 0.52760583, 0.20322244, -0.56700163,
    0.66363866, -0.29985947, -0.08122619, 0.02654538, 0.20420083, -0.14952002, -0.02170868,
    0.52744915, -0.99723041, 0.49148993,
]  # fmt: skip
LN_GW = [0.52695836, 0.67624145, -1.34799709, 2.55511042]
LN_GB = [0.49513289, -0.00261159, -0.49795498, -0.53548086]
RMS_Y = [
    0.19767060, -1.12570356, 2.65325990, 1.35543232, 0.02861063, 0.84200856, -2.69045718,
    -1.82364989, -0.26850228, -0.44747144, 2.44298924, 2.13154469, 0.49509777, -0.03700400,
    -1.86718218, -2.19765556, -0.66364935, 0.54312192, 0.99298720, 1.95390062, 0.73471175,
    -0.96835770, 0.02371630, -1.42532772,
]  # fmt: skip
RMS_GX = [
    0.52329247, 0.17632519, 0.07699388, -0.56165096, -0.18808432, -0.73659864, 0.45634696,
    -0.00363463, -0.20589401, 0.78236569, -0.85567602, 0.41135340, -0.01737955, -0.69009531,
    0.51769170, -0.35906352, 0.41016835, 0.52496043, 0.71191772, 0.36548756, -0.27640040,
    0.12555175, -1.49251984, -0.31811129,
]  # fmt: skip
RMS_GW = [3.14239906, -0.38570197, -2.68031405, 1.10235773]

GOLD_TOL = dict(rtol=0.0, atol=1e-7)


def series(n, a, b, scale=1.0):
    return np.sin(np.arange(n, dtype=np.float64) * a + b) * scale


X = series(24, 0.7, 0.3, 2.0).reshape(2, 3, 4)
W = np.array([0.5, -1.0, 2.0, 1.5])
B = np.array([0.1, 0.2, -0.3, 0.0])
R = np.cos(np.arange(24, dtype=np.float64)).reshape(2, 3, 4)


def _grads(f, arrays):
    """Output and gradients of ``sum(f(*vars) * R)`` with respect to each input."""
    vs = [Var.new(a) for a in arrays]
    y = f(*vs)
    grads = (y * Tensor.new(R)).sum_all().backward()
    return y, [grads.get(v) for v in vs]


@pytest.mark.parametrize("f", [ops.layer_norm, ops.layer_norm_slow], ids=["fused", "slow"])
def test_layer_norm_matches_pytorch(f):
    y, (gx, gw, gb) = _grads(lambda x, w, b: f(x, w, b, 1e-5), [X, W, B])
    assert_close(y, np.reshape(LN_Y, X.shape), **GOLD_TOL)
    assert_close(gx, np.reshape(LN_GX, X.shape), **GOLD_TOL)
    assert_close(gw, LN_GW, **GOLD_TOL)
    assert_close(gb, LN_GB, **GOLD_TOL)


@pytest.mark.parametrize("f", [ops.rms_norm, ops.rms_norm_slow], ids=["fused", "slow"])
def test_rms_norm_matches_pytorch(f):
    y, (gx, gw) = _grads(lambda x, w: f(x, w, 1e-5), [X, W])
    assert_close(y, np.reshape(RMS_Y, X.shape), **GOLD_TOL)
    assert_close(gx, np.reshape(RMS_GX, X.shape), **GOLD_TOL)
    assert_close(gw, RMS_GW, **GOLD_TOL)


# ------------------------------------------------------------------------------------------------
# Fused against composite: forward and every gradient, dtypes, layouts


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape) * 2.0 + 0.5


SHAPES = [(5,), (3, 7), (2, 3, 8), (2, 2, 3, 16)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_layer_norm_gradients_match_the_composite(shape):
    x, a, b = _random(shape, 1), _random(shape[-1:], 2), _random(shape[-1:], 3)
    f = lambda x, a, b: ops.layer_norm(x, a, b, 1e-5)  # noqa: E731
    s = lambda x, a, b: ops.layer_norm_slow(x, a, b, 1e-5)  # noqa: E731
    y1, g1 = _grads_any(f, [x, a, b])
    y2, g2 = _grads_any(s, [x, a, b])
    assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    for u, v in zip(g1, g2):
        assert_close(u, v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_fused_rms_norm_gradients_match_the_composite(shape):
    x, a = _random(shape, 4), _random(shape[-1:], 5)
    y1, g1 = _grads_any(lambda x, a: ops.rms_norm(x, a, 1e-5), [x, a])
    y2, g2 = _grads_any(lambda x, a: ops.rms_norm_slow(x, a, 1e-5), [x, a])
    assert_close(y1, y2, rtol=1e-12, atol=1e-12)
    for u, v in zip(g1, g2):
        assert_close(u, v, rtol=1e-10, atol=1e-12)


def _grads_any(f, arrays, seed=7):
    """Output and gradients of ``sum(f(*vars) * r)`` for a fixed random ``r``."""
    vs = [Var.new(a) for a in arrays]
    y = f(*vs)
    r = Tensor.new(np.random.default_rng(seed).standard_normal(y.shape))
    grads = (y * r).sum_all().backward()
    return y, [grads.get(v) for v in vs]


@pytest.mark.parametrize("eps", [1e-5, 0.3])
def test_gradcheck_fused_norms(eps):
    x, a, b = _random((3, 6), 8), _random((6,), 9), _random((6,), 10)
    assert gradcheck(lambda x, a, b: ops.layer_norm(x, a, b, eps), [x, a, b])
    assert gradcheck(lambda x, a: ops.rms_norm(x, a, eps), [x, a])
    assert gradcheck(lambda x, a, b: ops.layer_norm_slow(x, a, b, eps), [x, a, b])
    assert gradcheck(lambda x, a: ops.rms_norm_slow(x, a, eps), [x, a])


def test_gradcheck_fused_norms_on_non_contiguous_input():
    base = _random((6, 4), 11)  # its transpose is a (4, 6) non-contiguous view
    a, b = _random((6,), 12), _random((6,), 13)
    ln = lambda x, a, b: ops.layer_norm(x.t(), a, b, 1e-5)  # noqa: E731
    rms = lambda x, a: ops.rms_norm(x.t(), a, 1e-5)  # noqa: E731
    assert not Tensor.new(base).t().is_contiguous()
    assert gradcheck(ln, [base, a, b])
    assert gradcheck(rms, [base, a])
    xb, xt, at, bt = Tensor.new(base), Tensor.new(base).t(), Tensor.new(a), Tensor.new(b)
    assert_close(ln(xb, at, bt), ops.layer_norm_slow(xt, at, bt, 1e-5), 1e-12, 1e-12)
    assert_close(rms(xb, at), ops.rms_norm_slow(xt, at, 1e-5), 1e-12, 1e-12)


@pytest.mark.parametrize("dtype,tol", [(F32, 1e-5), (F16, 2e-3), (BF16, 2e-2)])
def test_fused_norms_in_low_precision_match_the_composite(dtype, tol):
    x, a, b = _random((4, 32), 14), _random((32,), 15), _random((32,), 16)
    xt, at, bt = (Tensor.new(v, dtype=dtype) for v in (x, a, b))
    for fused, slow in (
        (ops.layer_norm(xt, at, bt, 1e-5), ops.layer_norm_slow(xt, at, bt, 1e-5)),
        (ops.rms_norm(xt, at, 1e-5), ops.rms_norm_slow(xt, at, 1e-5)),
    ):
        assert fused.dtype == dtype
        assert_close(fused.to_dtype(F64), slow.to_dtype(F64), rtol=tol, atol=tol)
    # The backward keeps each input's dtype.
    xv, av, bv = (Var.new(v, dtype=dtype) for v in (x, a, b))
    grads = ops.layer_norm(xv, av, bv, 1e-5).sum_all().backward()
    assert [grads.get(v).dtype for v in (xv, av, bv)] == [dtype] * 3
    grads = ops.rms_norm(xv, av, 1e-5).sum_all().backward()
    assert [grads.get(v).dtype for v in (xv, av)] == [dtype] * 2


def test_fused_norms_record_one_node_and_none_without_vars():
    x, a, b = Var.new(_random((2, 4), 17)), Tensor.new(np.ones(4)), Tensor.new(np.zeros(4))
    y = ops.layer_norm(x, a, b, 1e-5)
    assert y.op is not None and y.op.prim.name == "layer_norm"
    assert ops.rms_norm(x, a, 1e-5).op.prim.name == "rms_norm"
    assert ops.layer_norm(x.detach(), a, b, 1e-5).op is None


def test_norm_parameter_checks():
    x = t32([[1.0, 2.0, 3.0]])
    with pytest.raises(Msg, match="shape mismatch in layer-norm"):
        ops.layer_norm(x, t32([1.0, 1.0]), t32([0.0, 0.0, 0.0]), 1e-5)
    with pytest.raises(Msg, match="shape mismatch in layer-norm"):
        ops.layer_norm(x, t32([1.0, 1.0, 1.0]), t32([[0.0, 0.0, 0.0]]), 1e-5)
    with pytest.raises(Msg, match="shape mismatch in rms-norm"):
        ops.rms_norm(x, t32([1.0, 1.0, 1.0, 1.0]), 1e-5)
    with pytest.raises(TypeError):
        ops.rms_norm(x, Tensor.new([1.0, 1.0, 1.0], dtype=F64), 1e-5)
