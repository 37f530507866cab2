"""NumPy interop that cannot silently go wrong: arrays handed to NumPy are read-only views (or
copies) of an immutable tensor; NumPy values mixed into Tensor expressions make tensor ops that
keep the graph (NumPy scalars act as Python scalars, arrays as tensors of their own dtype); and
``t[...]`` refuses boolean and float indices instead of reading them as 0/1 or truncating.
"""

import numpy as np
import pytest

import wick
from wick import DType, Tensor, Var


def test_asarray_is_a_read_only_view():
    t = Tensor.new([1.0, 2.0, 3.0])
    view = np.asarray(t)
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 9.0
    with pytest.raises(ValueError):
        np.add(view, 1.0, out=view)
    assert t.to_vec1() == [1.0, 2.0, 3.0]
    assert np.shares_memory(view, t.numpy())  # still zero-copy on the CPU


def test_copies_handed_to_numpy_are_writable_and_detached():
    t = Tensor.new([1.0, 2.0])
    for array in (np.array(t), t.__array__(copy=True), np.asarray(t, dtype=np.float32)):
        assert array.flags.writeable
        array[0] = 7.0
    assert t.to_vec1() == [1.0, 2.0]


def test_a_var_cannot_be_changed_through_numpy():
    v = Var.new([1.0, 2.0])
    with pytest.raises(ValueError):
        np.asarray(v)[:] = 0.0
    assert v.to_vec1() == [1.0, 2.0]


@pytest.mark.parametrize(
    "expr, want, grad",
    [
        (lambda v: np.float64(2) * v, [2.0, 4.0, 6.0], [2.0, 2.0, 2.0]),
        (lambda v: v + np.ones(3), [2.0, 3.0, 4.0], [1.0, 1.0, 1.0]),
        (lambda v: np.ones(3) + v, [2.0, 3.0, 4.0], [1.0, 1.0, 1.0]),
        (lambda v: v * np.array(2.0), [2.0, 4.0, 6.0], [2.0, 2.0, 2.0]),
        (lambda v: np.ones(3) - v, [0.0, -1.0, -2.0], [-1.0, -1.0, -1.0]),
        (lambda v: np.full(3, 6.0) / v, [6.0, 3.0, 2.0], [-6.0, -1.5, -6.0 / 9.0]),
        (lambda v: np.float32(1) - v, [0.0, -1.0, -2.0], [-1.0, -1.0, -1.0]),
        (lambda v: v / np.int64(2), [0.5, 1.0, 1.5], [0.5, 0.5, 0.5]),
    ],
)
def test_numpy_values_mixed_into_expressions_keep_the_graph(expr, want, grad):
    v = Var.new([1.0, 2.0, 3.0])
    out = expr(v)
    assert isinstance(out, Tensor) and out.op is not None
    assert out.to_vec1() == pytest.approx(want)
    assert v.dtype == DType.F64 and out.dtype == DType.F64
    assert out.sum_all().backward().get(v).to_vec1() == pytest.approx(grad)


def test_numpy_matmul_on_either_side():
    v = Var.new([[1.0, 2.0]])
    left = np.ones((3, 1)) @ v
    right = v @ np.ones((2, 1))
    assert isinstance(left, Tensor) and left.to_vec2() == [[1.0, 2.0]] * 3
    assert isinstance(right, Tensor) and right.to_vec2() == [[3.0]]
    assert right.backward().get(v).to_vec2() == [[1.0, 1.0]]


def test_numpy_arrays_keep_their_dtype_no_silent_promotion():
    t = Tensor.new([1.0, 2.0], dtype=DType.F32)
    with pytest.raises(wick.DTypeMismatchBinaryOp, match="lhs: F32, rhs: F64"):
        t + np.ones(2)
    with pytest.raises(wick.DTypeMismatchBinaryOp, match="lhs: F64, rhs: F32"):
        np.ones(2) - t
    assert (t + np.ones(2, np.float32)).to_vec1() == [2.0, 3.0]
    assert (np.float64(0.5) * t).dtype == DType.F32  # a NumPy scalar acts as a Python scalar


def test_other_numpy_ufuncs_on_tensors_raise_a_wick_error():
    t = Tensor.new([1.0, 2.0])
    with pytest.raises(wick.UnsupportedOp, match="NumPy's exp"):
        np.exp(t)
    buf = np.zeros(2)
    with pytest.raises(wick.UnsupportedOp, match="NumPy's add"):
        buf += t
    assert buf.tolist() == [0.0, 0.0]
    with pytest.raises(wick.UnsupportedOp, match="NumPy's less"):
        _ = np.ones(2) < t
    # `==` is identity on tensors (SPEC 5), from either side.
    assert (np.ones(2) == t) is False and (t == np.ones(2)) is False
    assert (np.ones(2) != t) is True


@pytest.mark.parametrize(
    "index",
    [[True, False], [True, 1], np.array([True, False]), True, np.True_, [1.5], [0.0, 1.0], 1.0],
)
def test_boolean_and_float_indices_raise(index):
    t = Tensor.new([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(wick.UnsupportedOp, match="index"):
        t[index]


def test_integer_list_and_array_indices_select_rows():
    t = Tensor.new([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert t[[2, 0]].to_vec2() == [[5.0, 6.0], [1.0, 2.0]]
    assert t[np.array([2, 0])].to_vec2() == [[5.0, 6.0], [1.0, 2.0]]
    assert t[:, [1]].to_vec2() == [[2.0], [4.0], [6.0]]
    assert t[np.int64(1)].to_vec1() == [3.0, 4.0] and t[np.array(2)].to_vec1() == [5.0, 6.0]
    assert t[[]].dims() == [0, 2]
    # A U8 *tensor* is an index tensor in Candle (positions, not a mask): kept as it is.
    assert t[Tensor.new([1, 0], dtype=DType.U8)].to_vec2() == [[3.0, 4.0], [1.0, 2.0]]
