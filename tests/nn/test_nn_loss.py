"""Port of candle-nn/tests/loss.rs, plus wick's own checks: the fused cross-entropy against
Candle's composite ``nll(log_softmax(x))`` (forward and gradient, f32 and f64), gradcheck, label
validation, and the numerically stable binary cross-entropy.

Candle's loss.rs has no doc examples; nothing in loss.rs is left out. ``cross_entropy`` is defined
on rank-2 logits only (Candle bails on other ranks), so its "batch dims" vary as batch sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.core.errors import Error, InvalidIndex, UnsupportedDTypeForOp
from wick.nn import loss, ops
from wick.testing import assert_close, gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def rnd(t: Tensor, digits: int = 4):
    """Candle's ``to_vec0_round``: in f32, ``round(v * 10^d) / 10^d``, half away from zero."""
    a = np.asarray(t.to_dtype(DType.F32).numpy(), np.float32)
    b = np.float32(10.0**digits)
    scaled = (a * b).astype(np.float64)
    r = np.copysign(np.floor(np.abs(scaled) + 0.5), scaled).astype(np.float32)
    return (r / b).astype(np.float32).tolist()


def f32(v) -> float:
    return float(np.float32(v))


CE_INPUT = [
    [1.1050, 0.3013, -1.5394, -2.1528, -0.8634],
    [1.0730, -0.9419, -0.1670, -0.6582, 0.5061],
    [0.8318, 1.1154, -0.3610, 0.5351, 1.0830],
]
BCE_INPUT = [
    [2.3611, -0.8813, -0.5006, -0.2178],
    [0.0419, 0.0763, -1.0457, -1.6692],
    [-1.0494, 0.8111, 1.5723, 1.2315],
    [1.3081, 0.6641, 1.1802, -0.2547],
    [0.5292, 0.7636, 0.3692, -0.8318],
]
BCE_TARGET = [
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
]


# ----- candle-nn/tests/loss.rs -------------------------------------------------------------------
# The expected values there come from PyTorch's F.nll_loss / F.cross_entropy /
# F.binary_cross_entropy_with_logits / F.huber_loss on the same data.


def test_candle_nll_and_cross_entropy():
    inp = Tensor.new(CE_INPUT, DEV, DType.F32)
    target = Tensor.new([1, 0, 4], DEV, DType.U32)
    assert rnd(loss.nll(ops.log_softmax(inp, 1), target)) == f32(1.1312)
    assert rnd(loss.cross_entropy(inp, target)) == f32(1.1312)


def test_candle_binary_cross_entropy_with_logit():
    inp = Tensor.new(BCE_INPUT, DEV, DType.F32)
    target = Tensor.new(BCE_TARGET, DEV, DType.F32)
    assert rnd(loss.binary_cross_entropy_with_logit(inp, target)) == f32(0.8224)


def test_candle_huber_loss():
    inp = Tensor.new(BCE_INPUT, DEV, DType.F32)
    target = Tensor.new(BCE_TARGET, DEV, DType.F32)
    assert rnd(loss.huber(inp, target, 1.0)) == f32(0.4734)
    assert rnd(loss.huber(inp, target, 0.88)) == f32(0.4483)


# ----- more values -------------------------------------------------------------------------------


def test_mse():
    # torch.nn.functional.mse_loss on the huber data: mean((inp - target)^2) = 1.11891468
    inp = Tensor.new(BCE_INPUT, DEV, DType.F32)
    target = Tensor.new(BCE_TARGET, DEV, DType.F32)
    assert rnd(loss.mse(inp, target)) == f32(1.1189)
    # d/dx mean((x - y)^2) = 2 (x - y) / n
    x = Var.new([1.0, 3.0], DEV)
    g = loss.mse(x, Tensor.new([0.0, 0.0], DEV)).backward().get(x)
    assert g.to_vec1() == [1.0, 3.0]


def test_losses_check_shapes():
    a = Tensor.new([[1.0, 2.0]], DEV)
    b = Tensor.new([1.0, 2.0], DEV)
    for f in (loss.mse, loss.binary_cross_entropy_with_logit, lambda x, y: loss.huber(x, y, 1.0)):
        with pytest.raises(Error):
            f(a, b)


def test_huber_gradient():
    # d/dx: diff where |diff| <= delta, delta * sign(diff) elsewhere, all over n = 4.
    x = Var.new([0.5, -0.25, 3.0, -2.0], DEV)
    g = loss.huber(x, Tensor.zeros(4, DType.F64, DEV), 1.0).backward().get(x)
    assert g.to_vec1() == [0.125, -0.0625, 0.25, -0.25]


def test_binary_cross_entropy_is_finite_for_any_logit():
    # Per element: softplus(100) = 100, log(1 + e^-30) ~ 9e-14 (0 in f32), log 2, ~0, 100:
    # PyTorch's F.binary_cross_entropy_with_logits gives 40.1386 for the mean.
    z = Tensor.new([[-100.0, -30.0, 0.0, 30.0, 100.0]], DEV, DType.F32)
    y = Tensor.new([[1.0, 0.0, 1.0, 1.0, 0.0]], DEV, DType.F32)
    value = loss.binary_cross_entropy_with_logit(z, y)
    assert np.isfinite(value.to_scalar())
    assert rnd(value) == f32(40.1386)


def test_binary_cross_entropy_equals_candles_formula_where_finite():
    # Candle: -mean(y log(sigmoid(z)) + (1 - y) log(1 - sigmoid(z))), value and gradient.
    rng = np.random.default_rng(0)
    z0, y = rng.standard_normal((6, 5)) * 4, Tensor.new(rng.random((6, 5)), DEV)
    z1, z2 = Var.new(z0, DEV), Var.new(z0, DEV)
    s = ops.sigmoid(z2)
    candle = (y * s.log() + y.affine(-1.0, 1.0) * s.affine(-1.0, 1.0).log()).neg().mean_all()
    ours = loss.binary_cross_entropy_with_logit(z1, y)
    assert_close(ours, candle, rtol=1e-12)
    assert_close(ours.backward().get(z1), candle.backward().get(z2), rtol=1e-10, atol=1e-14)


# ----- fused cross-entropy against the composite ------------------------------------------------

TOL = {DType.F32: {"rtol": 1e-5, "atol": 1e-7}, DType.F64: {"rtol": 1e-12, "atol": 1e-15}}


@pytest.mark.parametrize("dtype", [DType.F32, DType.F64])
@pytest.mark.parametrize("batch,classes", [(1, 2), (3, 5), (16, 10)])
@pytest.mark.parametrize("label_dtype", [DType.U8, DType.U32, DType.I64])
def test_cross_entropy_matches_composite(dtype, batch, classes, label_dtype):
    rng = np.random.default_rng(batch * classes)
    logits = rng.standard_normal((batch, classes)) * 3
    target = Tensor.new(rng.integers(0, classes, batch), DEV, label_dtype)
    xf, xs = Var.new(logits, DEV, dtype), Var.new(logits, DEV, dtype)
    lf, ls = loss.cross_entropy(xf, target), loss.cross_entropy_slow(xs, target)
    assert lf.dtype == dtype and lf.rank() == 0
    assert_close(lf, ls, **TOL[dtype])
    # A non-unit upstream gradient, to check the fused backward scales by it.
    gf = (lf * 2.5).backward().get(xf)
    gs = (ls * 2.5).backward().get(xs)
    assert_close(gf, gs, **TOL[dtype])


def test_gradcheck_cross_entropy_and_nll():
    rng = np.random.default_rng(1)
    x = Tensor.new(rng.standard_normal((4, 6)), DEV)
    target = Tensor.new([5, 0, 2, 2], DEV, DType.U32)
    assert gradcheck(lambda t: loss.cross_entropy(t, target), [x])
    assert gradcheck(lambda t: loss.cross_entropy_slow(t, target), [x])
    assert gradcheck(lambda t: loss.nll(ops.log_softmax(t, 1), target), [x])


def test_cross_entropy_is_stable_for_large_logits():
    x = Tensor.new([[1000.0, 0.0], [0.0, 1000.0]], DEV, DType.F32)
    target = Tensor.new([0, 0], DEV, DType.U32)
    # Mean of -log_softmax: 0 for the first row, 1000 for the second.
    assert loss.cross_entropy(x, target).to_scalar() == 500.0


@pytest.mark.parametrize("bad", [[0, 3], [-1, 0]])
def test_labels_outside_the_classes_raise(bad):
    x = Tensor.new([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], DEV, DType.F32)
    target = Tensor.new(bad, DEV, DType.I64)
    # .numpy(): a GPU reports a bad label at the next host read (docs/gpu.md), the CPU at once.
    with pytest.raises(InvalidIndex):
        loss.cross_entropy(x, target).numpy()
    with pytest.raises(InvalidIndex):
        loss.nll(x, target).numpy()
    with pytest.raises(InvalidIndex):
        loss.cross_entropy_slow(x, target).numpy()


def test_labels_must_be_integer_rank_1_and_match_the_batch():
    x = Tensor.new([[0.0, 1.0], [1.0, 0.0]], DEV, DType.F32)
    with pytest.raises(UnsupportedDTypeForOp):
        loss.cross_entropy(x, Tensor.new([0.0, 1.0], DEV, DType.F32))
    with pytest.raises(Error, match="single dimension"):
        loss.nll(x, Tensor.new([[0, 1]], DEV, DType.U32))
    with pytest.raises(Error, match="two dimensions"):
        loss.cross_entropy(x.reshape(4), Tensor.new([0, 1, 0, 1], DEV, DType.U32))
    with pytest.raises(Error):
        loss.nll(x, Tensor.new([0, 1, 1], DEV, DType.U32))
