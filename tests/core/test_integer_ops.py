"""Integer arithmetic follows Rust: truncating division, and division by zero is an error."""

import re

import pytest

import wick
from wick import DType, Tensor
from wick.nn.ops import log_softmax, softmax


def test_integer_division_truncates_toward_zero():
    a = Tensor.new([7, -7, 7, -7], dtype=DType.I64)
    b = Tensor.new([2, 2, -2, -2], dtype=DType.I64)
    assert a.div(b).to_vec1() == [3, -3, -3, 3]
    assert (Tensor.new([7, 9], dtype=DType.U32) / 2).to_vec1() == [3, 4]


def test_integer_division_by_zero_raises():
    with pytest.raises(wick.Msg, match=re.escape("div: integer division by zero (int64 tensor")):
        Tensor.new([1, 2]).div(Tensor.new([0, 1]))


@pytest.mark.parametrize("f", [softmax, log_softmax])
def test_softmax_rejects_integer_tensors(f):
    with pytest.raises(wick.UnsupportedDTypeForOp, match="unsupported dtype I64 for op"):
        f(Tensor.new([1, 2]), 0)
