"""wick's errors: one class per Candle error variant, with Candle's message and fields as attributes.

Each class also derives from the closest builtin exception, so ``except ValueError`` keeps working.
"""

from __future__ import annotations


def _fmt(value) -> str:
    """Formats a field as Candle's Debug does: shapes as ``[2, 3]``, dtypes as ``F32``."""
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


# NumPy's dtype names and Candle's (as its Debug prints them), so no message says ``uint8``.
_CANDLE_DTYPES = {
    "uint8": "U8",
    "bool": "U8",
    "uint32": "U32",
    "int16": "I16",
    "int32": "I32",
    "int64": "I64",
    "bfloat16": "BF16",
    "float16": "F16",
    "float32": "F32",
    "float64": "F64",
}


def _dtype(value) -> str:
    """A DType or a NumPy dtype as Candle names it (``U8``); other values as they print."""
    name = getattr(value, "name", None)
    if value.__class__.__name__ != "DType" and isinstance(name, str):
        return _CANDLE_DTYPES.get(name, name)
    return str(value)


class Error(Exception):
    """Base class of every error wick raises."""


class Msg(Error, ValueError):
    """A free-form error message (Candle's ``Error::Msg``)."""

    def __init__(self, msg: str):
        self.msg = msg
        super().__init__(msg)


class UnexpectedDType(Error, TypeError):
    def __init__(self, msg: str, expected, got):
        self.msg, self.expected, self.got = msg, expected, got
        super().__init__(f"{msg}, expected: {_dtype(expected)}, got: {_dtype(got)}")


class DTypeMismatchBinaryOp(Error, TypeError):
    def __init__(self, lhs, rhs, op: str):
        self.lhs, self.rhs, self.op = lhs, rhs, op
        super().__init__(f"dtype mismatch in {op}, lhs: {_dtype(lhs)}, rhs: {_dtype(rhs)}")


class UnsupportedDTypeForOp(Error, TypeError):
    def __init__(self, dtype, op: str):
        self.dtype, self.op = dtype, op
        super().__init__(f"unsupported dtype {_dtype(dtype)} for op {op}")


class DimOutOfRange(Error, IndexError):
    def __init__(self, shape, dim: int, op: str):
        self.shape, self.dim, self.op = tuple(shape), dim, op
        super().__init__(f"{op}: dimension index {dim} out of range for shape {_fmt(self.shape)}")


class DuplicateDimIndex(Error, ValueError):
    def __init__(self, shape, dims, op: str):
        self.shape, self.dims, self.op = tuple(shape), list(dims), op
        super().__init__(f"{op}: duplicate dim index {self.dims} for shape {_fmt(self.shape)}")


class UnexpectedNumberOfDims(Error, ValueError):
    def __init__(self, expected: int, got: int, shape, op: str | None = None):
        self.expected, self.got, self.shape, self.op = expected, got, tuple(shape), op
        # Candle's template; ops that check several operands prefix their name and the operand.
        prefix = f"{op}: " if op else ""
        super().__init__(
            f"{prefix}unexpected rank, expected: {expected}, got: {got} ({_fmt(self.shape)})"
        )


class UnexpectedType(Error, TypeError):
    """An argument of the wrong Python type (a float where an int or a list where a Tensor is
    expected): Rust's compiler rejects these in Candle, so Candle has no variant for it."""

    def __init__(self, op: str, name: str, expected: str, got):
        self.op, self.name, self.expected, self.got = op, name, expected, got
        super().__init__(f"{op}: {name} must be {expected}, got {describe(got)}")


def describe(value) -> str:
    """A bad argument as messages show it: its type and a short repr (``float 1.5``)."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    kind = type(value).__name__
    return text if kind in ("NoneType", "Tensor", "Var") else f"{kind} {text}"


class UnexpectedShape(Error, ValueError):
    def __init__(self, msg: str, expected, got):
        self.msg, self.expected, self.got = msg, tuple(expected), tuple(got)
        super().__init__(f"{msg}, expected: {_fmt(self.expected)}, got: {_fmt(self.got)}")


class ShapeMismatch(Error, ValueError):
    def __init__(self, buffer_size: int, shape):
        self.buffer_size, self.shape = buffer_size, tuple(shape)
        super().__init__(
            f"Shape mismatch, got buffer of size {buffer_size} which is compatible "
            f"with shape {_fmt(self.shape)}"
        )


class ShapeMismatchBinaryOp(Error, ValueError):
    def __init__(self, lhs, rhs, op: str):
        self.lhs, self.rhs, self.op = tuple(lhs), tuple(rhs), op
        super().__init__(f"shape mismatch in {op}, lhs: {_fmt(self.lhs)}, rhs: {_fmt(self.rhs)}")


class ShapeMismatchCat(Error, ValueError):
    def __init__(self, dim: int, first_shape, n: int, nth_shape, op: str = "cat"):
        self.dim, self.first_shape, self.n, self.nth_shape, self.op = (
            dim,
            tuple(first_shape),
            n,
            tuple(nth_shape),
            op,
        )
        super().__init__(
            f"shape mismatch in {op} for dim {dim}, shape for arg 1: {_fmt(self.first_shape)} "
            f"shape for arg {n}: {_fmt(self.nth_shape)}"
        )


class ShapeMismatchSplit(Error, ValueError):
    def __init__(self, shape, dim: int, n_parts: int):
        self.shape, self.dim, self.n_parts = tuple(shape), dim, n_parts
        super().__init__(
            f"Cannot divide tensor of shape {_fmt(self.shape)} equally along dim {dim} "
            f"into {n_parts}"
        )


class EmptyTensor(Error, ValueError):
    def __init__(self, op: str):
        self.op = op
        super().__init__(f"empty tensor for {op}")


class DeviceMismatchBinaryOp(Error, ValueError):
    def __init__(self, lhs, rhs, op: str):
        self.lhs, self.rhs, self.op = lhs, rhs, op
        super().__init__(f"device mismatch in {op}, lhs: {lhs}, rhs: {rhs}")


class NarrowInvalidArgs(Error, ValueError):
    def __init__(self, shape, dim: int, start: int, len: int, msg: str):
        self.shape, self.dim, self.start, self.len, self.msg = tuple(shape), dim, start, len, msg
        super().__init__(
            f"narrow invalid args {msg}: {_fmt(self.shape)}, dim: {dim}, start: {start}, len:{len}"
        )


class InvalidIndex(Error, IndexError):
    def __init__(self, op: str, index: int, size: int):
        self.op, self.index, self.size = op, index, size
        super().__init__(f"{op} invalid index {index} with dim size {size}")


class BroadcastIncompatibleShapes(Error, ValueError):
    def __init__(self, src_shape, dst_shape):
        self.src_shape, self.dst_shape = tuple(src_shape), tuple(dst_shape)
        super().__init__(f"cannot broadcast {_fmt(self.src_shape)} to {_fmt(self.dst_shape)}")


class CannotSetVar(Error, ValueError):
    def __init__(self, msg: str):
        self.msg = msg
        super().__init__(f"cannot set variable {msg}")


class OpRequiresAtLeastOneTensor(Error, ValueError):
    def __init__(self, op: str):
        self.op = op
        super().__init__(f"{op} expects at least one tensor")


class BackwardNotSupported(Error, TypeError):
    def __init__(self, op: str):
        self.op = op
        super().__init__(f"backward is not supported for {op}")


class CannotFindTensor(Error, KeyError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"cannot find tensor {path}")

    def __str__(self) -> str:  # KeyError would quote the message
        return f"cannot find tensor {self.path}"


class SafeTensorError(Error, OSError):
    """A safetensors file could not be read or written; the message names the file."""

    def __init__(self, msg: str, path=None):
        self.msg, self.path = msg, path
        super().__init__(f"{path}: {msg}" if path is not None else msg)

    def __str__(self) -> str:
        return f"{self.path}: {self.msg}" if self.path is not None else self.msg


class UnsupportedOp(Error, TypeError):
    """An operation wick deliberately does not offer (iterating a tensor, ``bool(t)``, ...)."""

    def __init__(self, msg: str):
        self.msg = msg
        super().__init__(msg)


class DeviceUnavailable(Error, RuntimeError):
    """A CUDA device was asked for and CuPy or a GPU is missing (Candle's NotCompiledWithCudaSupport)."""

    def __init__(self, msg: str):
        self.msg = msg
        super().__init__(msg)


__all__ = [
    "Error",
    "Msg",
    "UnexpectedDType",
    "DTypeMismatchBinaryOp",
    "UnsupportedDTypeForOp",
    "DimOutOfRange",
    "DuplicateDimIndex",
    "UnexpectedNumberOfDims",
    "UnexpectedShape",
    "UnexpectedType",
    "ShapeMismatch",
    "ShapeMismatchBinaryOp",
    "ShapeMismatchCat",
    "ShapeMismatchSplit",
    "EmptyTensor",
    "DeviceMismatchBinaryOp",
    "NarrowInvalidArgs",
    "InvalidIndex",
    "BroadcastIncompatibleShapes",
    "CannotSetVar",
    "OpRequiresAtLeastOneTensor",
    "BackwardNotSupported",
    "CannotFindTensor",
    "SafeTensorError",
    "UnsupportedOp",
    "DeviceUnavailable",
]
