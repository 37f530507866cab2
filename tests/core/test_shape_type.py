"""Shape: a tuple that prints like Candle's and compares with tuples and lists."""

import pytest

import wick
from wick import D, Shape, Tensor


def test_shape_prints_like_candle_and_compares_with_tuples_and_lists():
    s = Tensor.zeros((2, 3)).shape
    assert repr(s) == str(s) == "[2, 3]"
    assert s == (2, 3) and s == [2, 3] and s != [3, 2]
    assert hash(s) == hash((2, 3))
    assert s.dims() == [2, 3] and s.rank() == 2 and s.elem_count() == 6


def test_dims_n_and_negative_dims():
    t = Tensor.zeros((2, 3, 4))
    assert t.dims3() == (2, 3, 4)
    assert t.dim(D.Minus1) == 4 and t.dim(-2) == 3 and t.dim(D.Minus(3)) == 2
    with pytest.raises(wick.UnexpectedNumberOfDims, match=r"expected: 2, got: 3 \(\[2, 3, 4\]\)"):
        t.dims2()
    with pytest.raises(wick.DimOutOfRange, match=r"dim: dimension index -4 out of range"):
        t.dim(D.Minus(4))
    assert Shape(()).dims0() == ()
