"""Misuse raises a wick.Error naming the op (SPEC 8), never a raw NumPy or Python exception.

Each case below leaked a ValueError, TypeError, OverflowError, ZeroDivisionError, IndexError,
KeyError or ``AttributeError: ... '_data'`` before the shared validators in ``core/shape.py``
(``to_usize``, ``exact_int``, ``to_real``, ``fit_scalar``, ``as_shape``) and the tensor checks in
``graph.py`` existed. Messages are checked exactly where a user reads them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wick
from wick import D, Device, DType, Tensor, Var

A = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # [2, 3], f64
U8 = Tensor.new([1, 2, 3], dtype=DType.U8)


def expect(cls, message: str, f):
    """``f()`` raises exactly ``cls`` with exactly ``message``."""
    with pytest.raises(wick.Error) as info:
        f()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert str(info.value) == message
    return info.value


# ------------------------------------------------------------------------------------------------
# Sizes, dims and shapes: one validator turns a user's numbers into ints


def test_negative_and_float_sizes_and_dims():
    expect(
        wick.Msg,
        "reshape: shape [-2, -3] has a dim that is neither a size nor the -1 hole",
        lambda: A.reshape((-2, -3)),
    )
    expect(
        wick.UnexpectedType,
        "narrow: start must be an int, got float 1.5",
        lambda: A.narrow(0, 1.5, 2),
    )
    expect(
        wick.UnexpectedType,
        "narrow: len must be an int, got float nan",
        lambda: A.narrow(0, 0, math.nan),
    )
    expect(wick.Msg, "eye: n must be non-negative, got -1", lambda: Tensor.eye(-1))
    expect(
        wick.UnexpectedType,
        "sum: dims must be an int, D.Minus(n) or a tuple of them, got float 0.0",
        lambda: A.sum(0.0),
    )
    expect(
        wick.UnexpectedType,
        "max: dims must be an int or D.Minus(n), got ndarray array([0., 0.])",
        lambda: A.max(np.zeros(2)),
    )
    expect(
        wick.UnexpectedType,
        "chunk: chunks must be an int, got None",
        lambda: A.chunk(None, 0),
    )
    expect(wick.Msg, "unfold: size must be non-negative, got -1", lambda: A.unfold(1, -1, 1))
    expect(
        wick.Msg,
        "pad_with_zeros: left must be non-negative, got -1",
        lambda: A.pad_with_zeros(0, -1, 0),
    )
    expect(wick.UnexpectedType, "roll: shift must be an int, got float 1.5", lambda: A.roll(1.5, 0))
    expect(
        wick.UnexpectedType,
        "zeros: shape must be an int or a tuple of ints, got None",
        lambda: Tensor.zeros(None),
    )
    expect(
        wick.UnexpectedType,
        "ones: shape must be a tuple of ints, got str 'a'",
        lambda: Tensor.ones(("a", 2)),
    )
    expect(
        wick.UnexpectedType,
        "permute: dims must be a tuple of dims, got None",
        lambda: A.permute(None),
    )
    expect(
        wick.Msg,
        "slice-scatter: start must be non-negative, got -1",
        lambda: A.slice_scatter(A, 0, -1),
    )
    # Booleans are not sizes, even though Python counts True as 1.
    expect(wick.UnexpectedType, "eye: n must be an int, got bool True", lambda: Tensor.eye(True))


def test_valid_int_likes_still_work():
    # NumPy ints, one-element int tensors and D are fine wherever Candle takes a usize or a dim.
    assert A.narrow(np.int64(1), np.int32(1), 2).to_vec2() == [[2.0, 3.0], [5.0, 6.0]]
    assert A.sum(np.int64(1)).to_vec1() == [6.0, 15.0]
    assert A.sum(D.Minus1).to_vec1() == [6.0, 15.0]
    assert Tensor.zeros((np.int64(2), 1)).shape == (2, 1)
    assert A.reshape([3, -1]).shape == (3, 2)
    assert Tensor.eye(Tensor.new(2)).to_vec2() == [[1.0, 0.0], [0.0, 1.0]]


def test_var_of_one_element_is_nan_as_candle():
    # Candle divides the sum of squares by (n - 1) as f64: 0 / 0. PyTorch also gives NaN.
    with np.errstate(all="raise"):  # and no RuntimeWarning pointing into wick
        out = Tensor.new([[3.0, 4.0]]).var(0).to_vec1()
    assert all(math.isnan(v) for v in out)


def test_division_by_a_zero_scalar_is_ieee_as_candle():
    # Candle: t / 0. is affine(1. / 0., 0.) = t * inf (NumPy warns of 0 * inf, as for x / 0.).
    with np.errstate(invalid="ignore"):
        out = Tensor.new([1.0, -2.0, 0.0]) / 0.0
    assert out.to_vec1()[:2] == [math.inf, -math.inf] and math.isnan(out.to_vec1()[2])


# ------------------------------------------------------------------------------------------------
# Scalars that the dtype cannot hold


def test_scalars_that_do_not_fit_the_dtype():
    expect(wick.Msg, "add: scalar 300 is out of range for u8 (0..=255)", lambda: U8 + 300)
    expect(wick.Msg, "clamp: scalar -5 is out of range for u8 (0..=255)", lambda: U8.clamp(-5, 100))
    expect(wick.Msg, "sub: scalar -1 is out of range for u8 (0..=255)", lambda: U8 - (-1))
    expect(wick.Msg, "mul: scalar 0.5 does not fit u8 (not an integer)", lambda: U8 * 0.5)
    expect(wick.Msg, "eq: scalar nan does not fit u8 (not an integer)", lambda: U8.eq(math.nan))
    expect(wick.Msg, "affine: mul -1 is out of range for u8 (0..=255)", lambda: U8.affine(-1, 0))
    expect(
        wick.Msg,
        "full: value 70000 is out of range for i16 (-32768..=32767)",
        lambda: Tensor.full(70000, (2,), dtype=DType.I16),
    )
    expect(wick.Msg, "affine: add 10**400 is too large for f32".replace("10**400", str(10**400)),
           lambda: A.to_dtype(DType.F32).affine(1.0, 10**400))  # fmt: skip
    # What fits is fine, including integral floats.
    assert (U8 + 2).to_vec1() == [3, 4, 5]
    assert (U8 * 2.0).to_vec1() == [2, 4, 6]
    assert U8.clamp(0, 2).to_vec1() == [1, 2, 2]


def test_non_numbers_as_scalars():
    expect(
        wick.UnexpectedType, "affine: mul must be a number, got str 'a'", lambda: A.affine("a", 0.0)
    )
    expect(wick.UnexpectedType, "elu: alpha must be a number, got None", lambda: A.elu(None))
    expect(wick.UnexpectedType, "powf: e must be a number, got list [2]", lambda: A.powf([2]))
    expect(
        wick.UnexpectedType,
        "rand: lo must be a number, got str 'a'",
        lambda: Tensor.rand("a", 1.0, (2,)),
    )
    expect(
        wick.UnexpectedType,
        "full: value must be a number, got list [1, 2]",
        lambda: Tensor.full([1, 2], (2,)),
    )
    expect(
        wick.Msg,
        "cmp: op must be one of eq, ne, lt, le, gt, ge, got 'less'",
        lambda: A.cmp(A, "less"),
    )
    expect(
        wick.UnexpectedType,
        "maximum: rhs must be a Tensor or a number, got str 'x'",
        lambda: A.maximum("x"),
    )


# ------------------------------------------------------------------------------------------------
# A non-tensor where a tensor is expected


def test_non_tensor_operands():
    expect(wick.UnexpectedType, "add: rhs must be a Tensor, got float 1.0", lambda: A.add(1.0))
    expect(
        wick.UnexpectedType,
        "matmul: rhs must be a Tensor, got list [[1.0]]",
        lambda: A.matmul([[1.0]]),
    )
    expect(
        wick.UnexpectedType,
        "broadcast_mul: rhs must be a Tensor, got None",
        lambda: A.broadcast_mul(None),
    )
    expect(
        wick.UnexpectedType,
        "cat: tensors[1] must be a Tensor, got list [1.0, 2.0]",
        lambda: Tensor.cat([A, [1.0, 2.0]], 0),
    )
    expect(
        wick.UnexpectedType,
        "cat: tensors must be a list of Tensors, got None",
        lambda: Tensor.cat(None, 0),
    )
    expect(
        wick.UnexpectedType,
        "set: src must be a Tensor, got ndarray array([1., 2.])",
        lambda: Var.new([0.0, 0.0]).set(np.array([1.0, 2.0])),
    )
    ids = Tensor.new([0, 1], dtype=DType.U32)
    expect(
        wick.UnexpectedType,
        "index-select: ids must be a Tensor, got list [0, 1]",
        lambda: A.index_select([0, 1], 0),
    )
    expect(
        wick.UnexpectedType,
        "gather: ids must be a Tensor, got None",
        lambda: A.gather(None, 1),
    )
    expect(
        wick.UnexpectedType,
        "scatter-add: src must be a Tensor, got float 1.0",
        lambda: A.scatter_add(ids, 1.0, 0),
    )
    expect(
        wick.UnexpectedType,
        "where_cond: on_true must be a Tensor, got int 1",
        lambda: U8.where_cond(1, U8),
    )
    expect(
        wick.UnexpectedType,
        "conv1d: kernel must be a Tensor, got None",
        lambda: A.conv1d(None),
    )
    expect(wick.UnexpectedType, "pow: rhs must be a Tensor, got int 2", lambda: A.pow(2))


# ------------------------------------------------------------------------------------------------
# Devices, dtypes and the user's names in messages


def test_unknown_device_strings():
    message = "unknown device {!r}: expected a Device, 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)"
    for name in ("gpu", "cuda:x", "cuda:-1", "", "cpu:0"):
        expect(wick.DeviceUnavailable, message.format(name), lambda name=name: A.to_device(name))
    expect(wick.DeviceUnavailable, message.format(1.5), lambda: Tensor.zeros((2,), device=1.5))
    assert Tensor.zeros((1,), device="cpu").device is Device.Cpu


def test_dtype_arguments():
    expect(
        wick.UnsupportedDTypeForOp,
        "unsupported dtype f128 for op from_str",
        lambda: A.to_dtype("f128"),
    )
    with pytest.raises(wick.UnsupportedDTypeForOp, match="for op to_dtype$"):
        A.to_dtype(U8)  # a tensor is not a dtype (NumPy's ValueError leaked here)


def test_stack_errors_name_stack():
    expect(
        wick.ShapeMismatchCat,
        "shape mismatch in stack for dim 0, shape for arg 1: [2, 3] shape for arg 2: [3]",
        lambda: Tensor.stack([A, U8], 0),
    )
    expect(
        wick.DTypeMismatchBinaryOp,
        "dtype mismatch in stack, lhs: F64, rhs: U8",
        lambda: Tensor.stack([U8.to_dtype(DType.F64), U8], 0),
    )
    expect(
        wick.UnexpectedType,
        "stack: tensors[0] must be a Tensor, got list [1]",
        lambda: Tensor.stack([[1], U8], 0),
    )
    # cat keeps Candle's wording.
    err = expect(
        wick.ShapeMismatchCat,
        "shape mismatch in cat for dim 0, shape for arg 1: [2, 3] shape for arg 2: [1, 2]",
        lambda: Tensor.cat([A, A.narrow(1, 0, 2).narrow(0, 0, 1)], 0),
    )
    assert err.op == "cat"


def test_dtypes_print_candle_names_not_numpys():
    err = wick.UnsupportedDTypeForOp(np.dtype("uint8"), "demo")
    assert str(err) == "unsupported dtype U8 for op demo"
    err = wick.DTypeMismatchBinaryOp(np.dtype("float32"), np.dtype("int64"), "demo")
    assert str(err) == "dtype mismatch in demo, lhs: F32, rhs: I64"
    # A NumPy dtype wick does not have keeps NumPy's name: there is no Candle one.
    assert str(wick.UnsupportedDTypeForOp(np.dtype("uint16"), "Tensor.new")).startswith(
        "unsupported dtype uint16"
    )


def test_format_with_a_numeric_spec():
    expect(
        wick.Msg,
        "format: Unknown format code 'f' for object of type 'str' "
        "(a Tensor formats as its text, e.g. f'{t:>40}')",
        lambda: format(A, ".2f"),
    )


# ------------------------------------------------------------------------------------------------
# arange: bounded, no hang


def test_arange_refuses_what_would_hang_or_never_end():
    expect(
        wick.Msg,
        "arange: start 0, end inf and step 1 must be finite",
        lambda: Tensor.arange(0, math.inf),
    )
    expect(
        wick.Msg,
        "arange_step: step 0.5 is too small to advance from 1e+16",
        lambda: Tensor.arange_step(1e16, 1e16 + 10, 0.5),
    )
    expect(
        wick.UnexpectedType,
        "arange: end must be a number, got None",
        lambda: Tensor.arange(0, None),
    )


def _repeated_addition(start, end, step) -> list:
    values, current = [], start
    while (current < end) if step > 0 else (current > end):
        values.append(current)
        current = current + step
    return values


@pytest.mark.parametrize(
    "start,end,step",
    [(0, 1, 0.1), (0.3, 7.7, 0.7), (-3, 3, 0.01), (1e3, -1e3, -0.37), (0, 10, 1e-3), (5, 0, -2)],
)
def test_arange_is_still_candles_repeated_addition(start, end, step):
    assert Tensor.arange_step(start, end, step).to_vec1() == _repeated_addition(start, end, step)


def test_gradstore_device_and_shape_arguments():
    v = Var.new([1.0])
    grads = (v * v).sum_all().backward()
    expect(
        wick.UnexpectedType, "GradStore.get: t must be a Tensor, got None", lambda: grads.get(None)
    )
    expect(
        wick.UnexpectedType,
        "GradStore.insert: grad must be a Tensor, got float 1.0",
        lambda: grads.insert(v, 1.0),
    )
    assert None not in grads
    expect(
        wick.UnexpectedType,
        "set_seed: seed must be an int, got str 'a'",
        lambda: Device.Cpu.set_seed("a"),
    )
    expect(
        wick.Msg,
        "set_seed: seed -1 is not a u64 (0 ..= 2**64 - 1)",
        lambda: Device.Cpu.set_seed(-1),
    )
    expect(wick.Msg, "new_cuda: ordinal must be non-negative, got -1", lambda: Device.new_cuda(-1))
    expect(
        wick.UnexpectedType,
        "Shape: dims must be an int or a tuple of ints, got None",
        lambda: wick.Shape(None),
    )
    expect(
        wick.UnexpectedType,
        "apply: module must be a Module (with forward), got None",
        lambda: A.apply(None),
    )
    expect(
        wick.UnexpectedType,
        "save_safetensors: name must be a str, got int 1",
        lambda: A.save_safetensors(1, "unused.safetensors"),
    )
    expect(
        wick.UnexpectedType,
        "Var.from_tensor: t must be a Tensor, got None",
        lambda: Var.from_tensor(None),
    )
