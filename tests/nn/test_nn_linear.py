"""Linear: the doc example of candle-nn/src/linear.rs, the builders' names and shapes, and the fused
forward (core/ops/fused.py LINEAR) against Candle's composite ``x.matmul(w.t()) + b``: values and
gradients of x, w and b, f32 and f64, batch dims 2 and 3, plus gradcheck.

Not applicable: Candle's contiguous/non-contiguous branches in ``Linear::forward`` choose between
two matmul layouts for speed; wick has one fused op, so both kinds of input are simply tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.core.errors import Error
from wick.nn import Linear, Module, VarBuilder, VarMap, linear, linear_b, linear_no_bias
from wick.testing import assert_close, gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def test_candle_doc_linear():
    w = Tensor.new([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], DEV, DType.F32)
    layer = Linear(w, None)  # no bias
    xs = Tensor.new([[10.0, 100.0]], DEV, DType.F32)
    ys = layer.forward(xs)
    assert ys.to_vec2() == [[210.0, 430.0, 650.0]]
    assert ys.dtype == DType.F32


def test_linear_accepts_any_leading_dims():
    w = Tensor.new([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], DEV)
    b = Tensor.new([1.0, -1.0, 0.5], DEV)
    layer = Linear(w, b)
    assert layer.forward(Tensor.new([10.0, 100.0], DEV)).to_vec1() == [211.0, 429.0, 650.5]
    x4 = Tensor.new([10.0, 100.0], DEV).reshape((1, 1, 1, 2)).repeat((2, 3, 4, 1))
    y4 = layer(x4)
    assert y4.shape == (2, 3, 4, 3)
    assert y4.numpy().reshape(-1, 3).tolist() == [[211.0, 429.0, 650.5]] * 24


def test_linear_accessors_and_repr():
    w = Tensor.zeros((3, 2), DType.F32, DEV)
    b = Tensor.zeros(3, DType.F32, DEV)
    assert Linear(w, b).weight() is w and Linear(w, b).bias() is b
    assert Linear(w).bias() is None
    assert isinstance(Linear(w), Module)
    assert repr(Linear(w, b)) == "Linear(in=2, out=3, bias=True)"
    assert repr(Linear(w)) == "Linear(in=2, out=3, bias=False)"


def test_linear_shape_mismatch_raises():
    layer = Linear(Tensor.zeros((3, 2), DType.F32, DEV))
    with pytest.raises(Error, match="linear"):
        layer.forward(Tensor.zeros((4, 5), DType.F32, DEV))


def test_linear_builders_names_shapes():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, DType.F32, DEV)
    l1 = linear(4, 3, vb.pp("l1"))
    l2 = linear_no_bias(3, 2, vb.pp("l2"))
    l3 = linear_b(2, 5, True, vb.pp("l3"))
    l4 = linear_b(2, 5, False, vb.pp("l4"))
    assert sorted(vm.data()) == [
        "l1.bias",
        "l1.weight",
        "l2.weight",
        "l3.bias",
        "l3.weight",
        "l4.weight",
    ]
    assert l1.weight().shape == (3, 4) and l1.bias().shape == (3,)
    assert l2.bias() is None and l4.bias() is None and l3.bias().shape == (5,)
    # Built layers read the VarMap's variables: training updates the layer.
    vm.set_one("l2.weight", Tensor.ones((2, 3), DType.F32, DEV))
    assert l2.forward(Tensor.ones((1, 3), DType.F32, DEV)).to_vec2() == [[3.0, 3.0]]
    # Building again under the same names reuses the variables.
    assert linear_no_bias(3, 2, vb.pp("l2")).weight().to_vec2() == [[1.0] * 3] * 2


def test_linear_from_tensors():
    w = Tensor.new([[1.0, 2.0]], DEV, DType.F32)
    b = Tensor.new([0.5], DEV, DType.F32)
    vb = VarBuilder.from_tensors({"fc.weight": w, "fc.bias": b}, DType.F64, DEV)
    layer = linear(2, 1, vb.pp("fc"))
    assert layer.weight().dtype == DType.F64
    assert layer.forward(Tensor.new([[1.0, 1.0]], DEV)).to_vec2() == [[3.5]]


# ----- fused against composite -------------------------------------------------------------------


def composite(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """Candle's Linear::forward: flatten the batch dims, ``matmul(w.t())``, unflatten, + bias."""
    *batch, k = x.dims()
    y = x.reshape((-1, k)).matmul(w.t()).reshape((*batch, w.dim(0)))
    return y if b is None else y.broadcast_add(b)


# Values of order 1 summed over in = 7 terms: a few f32 ulps of the sums involved.
TOL = {DType.F32: {"rtol": 1e-5, "atol": 1e-6}, DType.F64: {"rtol": 1e-12, "atol": 1e-13}}


@pytest.mark.parametrize("dtype", [DType.F32, DType.F64])
@pytest.mark.parametrize("x_shape", [(5, 7), (2, 5, 7)], ids=["batch2", "batch3"])
@pytest.mark.parametrize(
    "bias_shape", [None, (4,), (), (1,)], ids=["nobias", "bias", "scalar", "one"]
)
def test_fused_linear_matches_composite(dtype, x_shape, bias_shape):
    rng = np.random.default_rng(len(x_shape))
    x0, w0 = rng.standard_normal(x_shape), rng.standard_normal((4, 7))
    b0 = None if bias_shape is None else rng.standard_normal(bias_shape)
    cot = Tensor.new(rng.standard_normal((*x_shape[:-1], 4)), DEV, dtype)
    results = []
    for f in (lambda x, w, b: Linear(w, b).forward(x), composite):
        x, w = Var.new(x0, DEV, dtype), Var.new(w0, DEV, dtype)
        b = None if b0 is None else Var.new(b0, DEV, dtype)
        y = f(x, w, b)
        grads = (y * cot).sum_all().backward()
        results.append((y, [grads.get(v) for v in (x, w, b) if v is not None]))
    (yf, gf), (yc, gc) = results
    assert yf.dtype == dtype and yf.shape == yc.shape
    assert_close(yf, yc, **TOL[dtype])
    for a, e in zip(gf, gc):
        assert a.shape == e.shape and a.dtype == dtype
        assert_close(a, e, **TOL[dtype])


def test_fused_linear_non_contiguous_input():
    rng = np.random.default_rng(5)
    x = Tensor.new(rng.standard_normal((7, 3, 2))).transpose(0, 2)  # (2, 3, 7), strided
    w, b = Tensor.new(rng.standard_normal((4, 7))), Tensor.new(rng.standard_normal(4))
    assert not x.is_contiguous()
    assert_close(Linear(w, b).forward(x), composite(x.contiguous(), w, b), rtol=1e-12)


@pytest.mark.parametrize("x_shape", [(3, 5), (2, 3, 5), (5,)])
def test_gradcheck_fused_linear(x_shape):
    rng = np.random.default_rng(0)
    x = Tensor.new(rng.standard_normal(x_shape))
    w, b = Tensor.new(rng.standard_normal((4, 5))), Tensor.new(rng.standard_normal(4))
    assert gradcheck(lambda x, w, b: Linear(w, b).forward(x), [x, w, b])
    assert gradcheck(lambda x, w: Linear(w).forward(x), [x, w])
    assert gradcheck(lambda x, w, b: Linear(w, b).forward(x), [x, w, Tensor.new(0.5)])
