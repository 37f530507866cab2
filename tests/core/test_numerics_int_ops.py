"""Float-only ops on integer tensors raise UnsupportedDTypeForOp, as Candle has no such kernels,
instead of computing in float and truncating. The ops Candle does have for integers keep working.

Candle (candle-core/src/op.rs, cpu_backend): exp, log, sin, cos, tanh, neg, recip, sqr and sqrt
have no integer kernel (`todo!` on the CPU, none on CUDA); gelu, gelu_erf, erf and silu return 0
for integers on the CPU (no CUDA kernel); elu, powf and candle-nn's sigmoid return
UnsupportedDTypeForOp. abs, relu, ceil, floor, round, sign and affine have integer kernels.
"""

import numpy as np
import pytest

import wick
from wick import DType, Tensor
from wick.nn import loss, ops

INTS = [DType.U8, DType.U32, DType.I16, DType.I32, DType.I64]
FLOAT_ONLY = ["exp", "log", "sin", "cos", "tanh", "neg", "recip", "sqr", "sqrt"]
FLOAT_ONLY += ["gelu", "gelu_erf", "erf", "silu"]


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op", FLOAT_ONLY)
def test_float_only_unary_ops_raise_on_integers(op, dtype):
    t = Tensor.new([1, 2, 3], dtype=dtype)
    with pytest.raises(wick.UnsupportedDTypeForOp, match=f"unsupported dtype {dtype} for op {op}"):
        getattr(t, op)()


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda t: t.elu(1.0), "elu"),
        (lambda t: t.powf(2.0), "powf"),
        (lambda t: t**2, "powf"),
        (lambda t: t.pow(t), "log"),  # pow is exp(rhs * log(self)), as in Candle
        (lambda t: ops.sigmoid(t), "sigmoid"),
        (lambda t: ops.softmax(t, 0), "softmax"),
        (lambda t: ops.log_softmax(t, 0), "log_softmax"),
        (lambda t: -t, "neg"),
        (lambda t: loss.mse(t, t), "mse"),
    ],
)
def test_composite_float_ops_raise_on_integers(call, op):
    with pytest.raises(wick.UnsupportedDTypeForOp, match=f"for op {op}$"):
        call(Tensor.new([1, 2, 3]))


@pytest.mark.parametrize("f", [loss.cross_entropy, loss.cross_entropy_slow, loss.nll])
def test_losses_raise_on_integer_logits(f):
    logits, labels = Tensor.new([[1, 2], [3, 0]]), Tensor.new([0, 1])
    with pytest.raises(wick.UnsupportedDTypeForOp, match="unsupported dtype I64 for op"):
        f(logits, labels)


def test_pow_of_integers_no_longer_overflows_silently():
    # Before: exp(100 * log(2)) computed in f64, then cast back to i64: garbage and a warning.
    with pytest.raises(wick.UnsupportedDTypeForOp):
        Tensor.new([2]).pow(Tensor.new([100]))


@pytest.mark.parametrize("dtype", [DType.I16, DType.I32, DType.I64])
def test_integer_kernels_that_candle_has(dtype):
    t = Tensor.new([-2, 0, 3], dtype=dtype)
    assert t.abs().to_vec1() == [2, 0, 3] and t.abs().dtype == dtype
    assert t.relu().to_vec1() == [0, 0, 3]
    assert t.sign().to_vec1() == [-1, 0, 1]
    for op in ("ceil", "floor", "round"):
        assert getattr(t, op)().to_vec1() == [-2, 0, 3]
    assert t.affine(2.0, 1.0).to_vec1() == [-3, 1, 7]


def test_unsigned_kernels():
    t = Tensor.new(np.array([0, 5, 255], dtype=np.uint8))
    assert t.abs().to_vec1() == [0, 5, 255] and t.relu().to_vec1() == [0, 5, 255]
    assert t.sign().to_vec1() == [0, 1, 1]  # Candle: u8::min(1, v)


def test_float_ops_still_work_on_floats():
    t = Tensor.new([1.0, 4.0])
    assert t.sqrt().to_vec1() == [1.0, 2.0] and t.neg().to_vec1() == [-1.0, -4.0]
    assert t.sqr().to_vec1() == [1.0, 16.0] and t.recip().to_vec1() == [1.0, 0.25]
