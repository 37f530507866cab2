"""Exact error messages (DESIGN.md, "Tests", layer 4): every error class that wick raises is raised
here through the public API, with Candle's message template, is a ``wick.Error`` (no raw NumPy or
Python exception leaks) and can be caught as the builtin it documents.

Not applicable / not reachable (test_every_raised_error_class_is_covered enforces the list):
- BackwardNotSupported: the graph never records a NOT_DIFFERENTIABLE primitive (graph.py), so the
  guard in backprop.py cannot fire through the public API.
- UnexpectedDType, CannotSetVar, ShapeMismatchSplit: defined for Candle parity, raised nowhere yet.
- DeviceMismatchBinaryOp with a real GPU: the case below uses a second Device handle on the CPU
  backend (a CUDA device needs CuPy and a GPU); the check is the same identity test.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import wick
from wick import D, Device, DType, Tensor, Var, safetensors
from wick.core import errors
from wick.nn import Init, VarMap, loss

SRC = pathlib.Path(wick.__file__).parent
UNREACHABLE = {"BackwardNotSupported"}

BUILTIN = {
    "Msg": ValueError,
    "UnexpectedDType": TypeError,
    "DTypeMismatchBinaryOp": TypeError,
    "UnsupportedDTypeForOp": TypeError,
    "DimOutOfRange": IndexError,
    "DuplicateDimIndex": ValueError,
    "UnexpectedNumberOfDims": ValueError,
    "UnexpectedShape": ValueError,
    "UnexpectedType": TypeError,
    "ShapeMismatch": ValueError,
    "ShapeMismatchBinaryOp": ValueError,
    "ShapeMismatchCat": ValueError,
    "ShapeMismatchSplit": ValueError,
    "EmptyTensor": ValueError,
    "DeviceMismatchBinaryOp": ValueError,
    "NarrowInvalidArgs": ValueError,
    "InvalidIndex": IndexError,
    "BroadcastIncompatibleShapes": ValueError,
    "CannotSetVar": ValueError,
    "OpRequiresAtLeastOneTensor": ValueError,
    "BackwardNotSupported": TypeError,
    "CannotFindTensor": KeyError,
    "SafeTensorError": OSError,
    "UnsupportedOp": TypeError,
    "DeviceUnavailable": RuntimeError,
}


def expect(cls, message: str, f):
    """Calls ``f`` and checks it raises exactly ``cls`` with exactly ``message``."""
    with pytest.raises(wick.Error) as info:
        f()
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert str(err) == message
    assert isinstance(err, BUILTIN[cls.__name__])
    return err


def expect_prefix(cls, prefix: str, f):
    """Like ``expect`` for messages that end with text from a third party (NumPy, the OS)."""
    with pytest.raises(wick.Error, match="^" + re.escape(prefix)) as info:
        f()
    assert type(info.value) is cls and isinstance(info.value, BUILTIN[cls.__name__])
    return info.value


A = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # [2, 3], f64
B = Tensor.new([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # [3, 2], f64


# ------------------------------------------------------------------------------------------------
# The error table itself


def test_every_class_is_a_wick_error_and_its_documented_builtin():
    names = set(errors.__all__) - {"Error"}
    assert names == set(BUILTIN), "a new error class needs its builtin in BUILTIN"
    for name, builtin in BUILTIN.items():
        cls = getattr(wick, name)
        assert cls is getattr(errors, name)
        assert issubclass(cls, wick.Error) and issubclass(cls, builtin), name


def test_every_raised_error_class_is_covered():
    """Every class that src/wick raises must have an ``expect`` call in this file."""
    raised = set()
    for path in SRC.rglob("*.py"):
        raised |= set(re.findall(r"raise (?:errors\.)?(\w+)\(", path.read_text()))
    raised &= set(BUILTIN)
    covered = set(
        re.findall(r"expect(?:_prefix)?\(\s*wick\.(\w+)", pathlib.Path(__file__).read_text())
    )
    missing = raised - covered - UNREACHABLE
    assert not missing, f"error classes raised by wick but never tested here: {sorted(missing)}"


# ------------------------------------------------------------------------------------------------
# Shapes, dtypes, devices of binary ops


def test_binary_op_shape_mismatch():
    err = expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in add, lhs: [2, 3], rhs: [3, 2]",
        lambda: A.add(B),
    )
    assert (err.lhs, err.rhs, err.op) == ((2, 3), (3, 2), "add")
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in div, lhs: [2, 3], rhs: [3, 2]",
        lambda: A.div(B),
    )
    # Operators broadcast, and name the op when the shapes cannot be broadcast.
    expect(
        wick.ShapeMismatchBinaryOp, "shape mismatch in add, lhs: [2, 3], rhs: [3, 2]", lambda: A + B
    )
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in broadcast_mul, lhs: [2, 3], rhs: [3, 2]",
        lambda: A.broadcast_mul(B),
    )
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in eq, lhs: [2, 3], rhs: [3, 2]",
        lambda: A.eq(B),
    )


def test_matmul_shape_mismatch():
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in matmul, lhs: [2, 3], rhs: [2, 3]",
        lambda: A.matmul(A),
    )
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in matmul, lhs: [2, 3], rhs: [2, 3]",
        lambda: A @ A,
    )
    batch = Tensor.zeros((2, 2, 3)), Tensor.zeros((3, 3, 4))
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in matmul, lhs: [2, 2, 3], rhs: [3, 3, 4]",
        lambda: batch[0].matmul(batch[1]),
    )
    expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in mv, lhs: [2, 3], rhs: [2]",
        lambda: A.mv(A[0, :2]),
    )


def test_mixed_dtypes():
    f32 = A.to_dtype(DType.F32)
    err = expect(
        wick.DTypeMismatchBinaryOp, "dtype mismatch in add, lhs: F64, rhs: F32", lambda: A.add(f32)
    )
    assert (err.lhs, err.rhs, err.op) == (DType.F64, DType.F32, "add")
    expect(wick.DTypeMismatchBinaryOp, "dtype mismatch in sub, lhs: F32, rhs: F64", lambda: f32 - A)
    expect(
        wick.DTypeMismatchBinaryOp,
        "dtype mismatch in matmul, lhs: F64, rhs: F32",
        lambda: A @ f32.t(),
    )
    expect(
        wick.DTypeMismatchBinaryOp,
        "dtype mismatch in cat, lhs: F64, rhs: F32",
        lambda: Tensor.cat([A, f32], 0),
    )
    ints = Tensor.new([[1, 2, 3], [4, 5, 6]])
    expect(
        wick.DTypeMismatchBinaryOp, "dtype mismatch in mul, lhs: I64, rhs: F64", lambda: ints * A
    )


def test_device_mismatch():
    # A second device handle (CUDA-kind, on the NumPy backend) stands in for a GPU: the check is
    # by device identity, and the message prints Candle's DeviceLocation.
    fake_gpu = Device("cuda", 0, Device.Cpu.backend)
    other = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=fake_gpu)
    err = expect(
        wick.DeviceMismatchBinaryOp,
        "device mismatch in add, lhs: Cpu, rhs: Cuda { gpu_id: 0 }",
        lambda: A.add(other),
    )
    assert err.op == "add"
    expect(
        wick.DeviceMismatchBinaryOp,
        "device mismatch in matmul, lhs: Cpu, rhs: Cuda { gpu_id: 0 }",
        lambda: A.matmul(other.t()),
    )


def test_new_cuda_says_what_is_missing():
    try:
        import cupy  # noqa: F401
    except ImportError:
        message = "cuda device requested but CuPy is not installed (pip install 'wick[cuda]')"
        expect(wick.DeviceUnavailable, message, lambda: Device.new_cuda(0))
        assert Device.cuda_if_available(0) is Device.Cpu
        return
    from wick.core.backends import cuda

    count = cuda.device_count()
    message = f"cuda device {count} requested but {count} GPU(s) are visible to CuPy"
    expect(wick.DeviceUnavailable, message, lambda: Device.new_cuda(count))


# ------------------------------------------------------------------------------------------------
# Dims and shapes


def test_dim_out_of_range():
    err = expect(
        wick.DimOutOfRange, "sum: dimension index 2 out of range for shape [2, 3]", lambda: A.sum(2)
    )
    assert (err.shape, err.dim, err.op) == ((2, 3), 2, "sum")
    expect(
        wick.DimOutOfRange,
        "narrow: dimension index -3 out of range for shape [2, 3]",
        lambda: A.narrow(-3, 0, 1),
    )
    expect(
        wick.DimOutOfRange,
        "squeeze: dimension index -3 out of range for shape [2, 3]",
        lambda: A.squeeze(D.Minus(3)),
    )
    expect(
        wick.DimOutOfRange,
        "transpose: dimension index 5 out of range for shape [2, 3]",
        lambda: A.transpose(0, 5),
    )


def test_bad_reshape():
    err = expect(
        wick.ShapeMismatch,
        "Shape mismatch, got buffer of size 6 which is compatible with shape [4, 2]",
        lambda: A.reshape((4, 2)),
    )
    assert (err.buffer_size, err.shape) == (6, (4, 2))
    expect(
        wick.ShapeMismatch,
        "Shape mismatch, got buffer of size 3 which is compatible with shape [2, 2]",
        lambda: Tensor.from_vec([1, 2, 3], (2, 2)),
    )


def test_bad_narrow():
    err = expect(
        wick.NarrowInvalidArgs,
        "narrow invalid args start + len > dim_len: [2, 3], dim: 1, start: 2, len:2",
        lambda: A.narrow(1, 2, 2),
    )
    assert (err.shape, err.dim, err.start, err.len) == ((2, 3), 1, 2, 2)
    expect(
        wick.NarrowInvalidArgs,
        "narrow invalid args start > dim_len: [2, 3], dim: 0, start: 5, len:1",
        lambda: A.get(5),
    )
    expect(
        wick.NarrowInvalidArgs,
        "narrow invalid args negative start or len: [2, 3], dim: 1, start: -1, len:1",
        lambda: A.narrow(1, -1, 1),
    )


def test_cat_of_mismatched_shapes():
    err = expect(
        wick.ShapeMismatchCat,
        "shape mismatch in cat for dim 0, shape for arg 1: [2, 3] shape for arg 2: [3, 2]",
        lambda: Tensor.cat([A, B], 0),
    )
    assert (err.dim, err.first_shape, err.n, err.nth_shape) == (0, (2, 3), 2, (3, 2))
    expect(
        wick.ShapeMismatchCat,
        "shape mismatch in cat for dim 1, shape for arg 1: [2, 3] shape for arg 3: [3, 2]",
        lambda: Tensor.cat([A, A, B], 1),
    )
    expect(
        wick.OpRequiresAtLeastOneTensor,
        "cat expects at least one tensor",
        lambda: Tensor.cat([], 0),
    )
    expect(
        wick.OpRequiresAtLeastOneTensor,
        "stack expects at least one tensor",
        lambda: Tensor.stack([], 0),
    )


def test_broadcast_of_incompatible_shapes():
    err = expect(
        wick.BroadcastIncompatibleShapes,
        "cannot broadcast [2, 3] to [3, 3]",
        lambda: A.broadcast_as((3, 3)),
    )
    assert (err.src_shape, err.dst_shape) == ((2, 3), (3, 3))
    expect(
        wick.BroadcastIncompatibleShapes, "cannot broadcast [2, 3] to [3]", lambda: A.expand((3,))
    )


def test_unexpected_number_of_dims():
    err = expect(
        wick.UnexpectedNumberOfDims,
        "unexpected rank, expected: 1, got: 2 ([2, 3])",
        lambda: A.to_vec1(),
    )
    assert (err.expected, err.got, err.shape) == (1, 2, (2, 3))
    vec = Tensor.new([1.0, 2.0])
    expect(
        wick.UnexpectedNumberOfDims,
        "unexpected rank, expected: 2, got: 1 ([2])",
        lambda: vec.dims2(),
    )
    expect(
        wick.UnexpectedNumberOfDims,
        "unexpected rank, expected: 0, got: 2 ([2, 3])",
        lambda: A.to_scalar(),
    )
    expect(
        wick.UnexpectedNumberOfDims, "unexpected rank, expected: 2, got: 1 ([2])", lambda: vec.t()
    )
    expect(
        wick.UnexpectedNumberOfDims,
        "unexpected rank, expected: 0, got: 2 ([2, 3])",
        lambda: float(A),
    )


def test_duplicate_dim_index():
    err = expect(
        wick.DuplicateDimIndex,
        "permute: duplicate dim index [0, 0] for shape [2, 3]",
        lambda: A.permute((0, 0)),
    )
    assert (err.shape, err.dims, err.op) == ((2, 3), [0, 0], "permute")
    expect(
        wick.DuplicateDimIndex,
        "sum: duplicate dim index [1, 1] for shape [2, 3]",
        lambda: A.sum((1, -1)),
    )


# ------------------------------------------------------------------------------------------------
# Indexing


def test_out_of_range_indices():
    err = expect(
        wick.InvalidIndex,
        "index-select invalid index 2 with dim size 2",
        lambda: A.index_select(Tensor.new([0, 2], dtype=DType.U32), 0),
    )
    assert (err.op, err.index, err.size) == ("index-select", 2, 2)
    expect(
        wick.InvalidIndex,
        "index-select invalid index -1 with dim size 3",
        lambda: A.index_select(Tensor.new([-1]), 1),
    )
    expect(
        wick.InvalidIndex,
        "gather invalid index 3 with dim size 3",
        lambda: A.gather(Tensor.new([[0], [3]]), 1),
    )
    expect(
        wick.InvalidIndex,
        "index-select invalid index 5 with dim size 3",
        lambda: B.embedding(Tensor.new([5])),
    )
    src = Tensor.new([[1.0], [2.0]])
    expect(
        wick.InvalidIndex,
        "scatter invalid index 3 with dim size 3",
        lambda: A.scatter(Tensor.new([[3], [0]]), src, 1),
    )
    expect(
        wick.InvalidIndex,
        "scatter-add invalid index 4 with dim size 3",
        lambda: A.scatter_add(Tensor.new([[4], [0]]), src, 1),
    )
    row = Tensor.new([[1.0, 2.0, 3.0]])
    expect(
        wick.InvalidIndex,
        "index-add invalid index 2 with dim size 2",
        lambda: A.index_add(Tensor.new([2]), row, 0),
    )
    expect(wick.InvalidIndex, "index invalid index 5 with dim size 2", lambda: A[5])
    expect(wick.InvalidIndex, "index invalid index -4 with dim size 3", lambda: A[:, -4])
    expect(
        wick.InvalidIndex,
        "cross_entropy invalid index 3 with dim size 3",
        lambda: loss.cross_entropy(A, Tensor.new([0, 3])),
    )


def test_unsupported_dtypes():
    ints = Tensor.new([1, 2])
    err = expect(
        wick.UnsupportedDTypeForOp, "unsupported dtype I64 for op gelu", lambda: ints.gelu()
    )
    assert (err.dtype, err.op) == (DType.I64, "gelu")
    expect(
        wick.UnsupportedDTypeForOp,
        "unsupported dtype F64 for op index-select",
        lambda: A.index_select(Tensor.new([0.0]), 0),
    )
    expect(
        wick.UnsupportedDTypeForOp,
        "unsupported dtype F64 for op where_cond",
        lambda: A.where_cond(A, A),
    )
    expect(
        wick.UnsupportedDTypeForOp,
        "unsupported dtype I64 for op rand",
        lambda: Tensor.rand(0.0, 1.0, (2,), dtype=DType.I64),
    )
    expect(
        wick.UnsupportedDTypeForOp,
        "unsupported dtype complex128 for op Tensor.new",
        lambda: Tensor.new(np.array([1j])),
    )


# ------------------------------------------------------------------------------------------------
# Var, unsupported Python protocols, empty tensors, misc


def test_var_set_checks_shape_and_dtype():
    v = Var.new([[1.0, 2.0]])
    err = expect(
        wick.ShapeMismatchBinaryOp,
        "shape mismatch in set, lhs: [1, 2], rhs: [2]",
        lambda: v.set(Tensor.new([1.0, 2.0])),
    )
    assert err.op == "set"
    expect(
        wick.DTypeMismatchBinaryOp,
        "dtype mismatch in set, lhs: F64, rhs: I64",
        lambda: v.set(Tensor.new([[1, 2]])),
    )
    assert v.to_vec2() == [[1.0, 2.0]]  # a failed set changes nothing


def test_iteration_and_truth_value_are_unsupported():
    expect(
        wick.UnsupportedOp,
        "iterating over a Tensor is not supported: it would create one small tensor per element; "
        "use to_vec1()/to_vec2(), numpy(), or t.get(i) / t[i] for one row",
        lambda: list(A),
    )
    expect(
        wick.UnsupportedOp,
        "the truth value of a Tensor is ambiguous: compare with `is None`, or reduce it first "
        "(e.g. t.sum_all().to_scalar() > 0)",
        lambda: bool(A),
    )
    message = "comparison operators are not overloaded on Tensor: use t.lt(x)"
    expect(wick.UnsupportedOp, message, lambda: A < B)
    expect(wick.UnsupportedOp, "index: slice step 2 is not supported, only 1", lambda: A[::2])
    expect(
        wick.UnsupportedOp,
        "Tensor(...) is not a constructor: use Tensor.new(data, device)",
        lambda: Tensor([1]),
    )


def test_empty_tensors():
    empty = Tensor.zeros((2, 0))
    err = expect(wick.EmptyTensor, "empty tensor for max", lambda: empty.max(1))
    assert err.op == "max"
    expect(wick.EmptyTensor, "empty tensor for min", lambda: Tensor.zeros((0,)).min_all())
    expect(wick.EmptyTensor, "empty tensor for argmax", lambda: empty.argmax(1))
    # Mean of nothing raises rather than returning NaN; a sum of nothing is 0.
    expect(wick.EmptyTensor, "empty tensor for mean", lambda: empty.mean(1))
    expect(wick.EmptyTensor, "empty tensor for mean", lambda: Tensor.zeros((0, 3)).mean_all())
    assert empty.sum(1).to_vec1() == [0.0, 0.0]
    assert Tensor.zeros((0, 3)).sum_all().to_scalar() == 0.0
    assert Tensor.zeros((0, 3), DType.I64).sum(0).to_vec1() == [0, 0, 0]
    # Reductions over a non-empty dim of an empty tensor are fine (empty results).
    assert empty.max(0).shape == (0,)


def test_free_form_messages():
    expect(
        wick.Msg,
        "unfold: window 5 with step 1 does not fit dim 1 of shape [2, 3]",
        lambda: A.unfold(1, 5, 1),
    )
    expect(wick.Msg, "chunk: the number of chunks must be at least 1, got 0", lambda: A.chunk(0, 0))
    expect(wick.Msg, "zeros: shape [-1, 2] has a negative dim", lambda: Tensor.zeros((-1, 2)))
    err = expect(
        wick.UnexpectedType, "add: rhs must be a Tensor, got float 1.0", lambda: A.add(1.0)
    )
    assert (err.op, err.name, err.expected, err.got) == ("add", "rhs", "a Tensor", 1.0)
    expect(wick.Msg, "arange_step: step cannot be zero", lambda: Tensor.arange_step(0, 1, 0))
    expect_prefix(
        wick.Msg,
        "Tensor.new: data is not a rectangular nested list",
        lambda: Tensor.new([[1, 2], [3]]),
    )


def test_checkpoint_errors(tmp_path):
    vm = VarMap()
    vm.get((2, 3), "w", Init.Const(0.5))
    err = expect(
        wick.UnexpectedShape,
        "shape mismatch on w, expected: [3, 2], got: [2, 3]",
        lambda: vm.get((3, 2), "w", Init.Const(0.5)),
    )
    assert (err.expected, err.got) == ((3, 2), (2, 3))
    err = expect(wick.CannotFindTensor, "cannot find tensor nope", lambda: vm.set_one("nope", A))
    assert err.path == "nope"
    missing = tmp_path / "missing.safetensors"
    err = expect(
        wick.SafeTensorError, f"{missing}: no such file", lambda: safetensors.load(missing)
    )
    assert err.path == missing
    path = tmp_path / "a.safetensors"
    safetensors.save({"a": A}, path)
    expect(
        wick.CannotFindTensor,
        "cannot find tensor b",
        lambda: safetensors.MmapedSafetensors(path).load("b"),
    )
