"""Shape, D, dimension normalisation and broadcasting rules (Candle's ``shape.rs``)."""

from __future__ import annotations

import operator

from .errors import (
    DimOutOfRange,
    DuplicateDimIndex,
    Msg,
    ShapeMismatch,
    ShapeMismatchBinaryOp,
    UnexpectedNumberOfDims,
    UnexpectedType,
)

# Sizes, starts and lengths are Rust ``usize`` in Candle; NumPy indexes with a signed 64-bit int.
_MAX_SIZE = 2**63 - 1
_INT_OR_D = "an int or D.Minus(n)"


class Shape(tuple):
    """A tuple of dims that prints like Candle's: ``[2, 3]``.

    >>> Shape((2, 3))
    [2, 3]
    """

    __slots__ = ()

    def __new__(cls, dims=()):
        if isinstance(dims, int):
            dims = (dims,)
        try:
            return super().__new__(cls, dims)
        except TypeError:
            raise UnexpectedType("Shape", "dims", "an int or a tuple of ints", dims) from None

    def __repr__(self) -> str:
        return "[" + ", ".join(str(d) for d in self) + "]"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        # A list compares equal too, as Candle users write ``shape == [2, 3]``.
        if isinstance(other, list):
            other = tuple(other)
        return tuple.__eq__(self, other)

    def __ne__(self, other) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def dims(self) -> list:
        """The dims as a list."""
        return list(self)

    def rank(self) -> int:
        """The number of dims."""
        return len(self)

    def elem_count(self) -> int:
        """The product of the dims."""
        n = 1
        for d in self:
            n *= d
        return n

    def _dims_n(self, n: int):
        if len(self) != n:
            raise UnexpectedNumberOfDims(n, len(self), self)
        return self[0] if n == 1 else tuple(self)

    def dims0(self):
        """Checks the shape is rank 0; returns ``()``."""
        self._dims_n(0)
        return ()

    def dims1(self) -> int:
        return self._dims_n(1)

    def dims2(self):
        return self._dims_n(2)

    def dims3(self):
        return self._dims_n(3)

    def dims4(self):
        return self._dims_n(4)

    def dims5(self):
        return self._dims_n(5)

    def stride_contiguous(self) -> list:
        """Row-major strides in elements."""
        strides, acc = [], 1
        for d in reversed(self):
            strides.append(acc)
            acc *= d
        return strides[::-1]


class _Minus:
    """A dim counted from the end: ``D.Minus(1)`` is the last dim."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __repr__(self) -> str:
        return f"D.Minus({self.n})"


class D:
    """Candle's ``D``: dims counted from the end (``D.Minus1`` is the last)."""

    Minus1 = _Minus(1)
    Minus2 = _Minus(2)

    @staticmethod
    def Minus(n: int) -> _Minus:  # noqa: N802 (Candle's name)
        return _Minus(n)


def to_index(dim, rank: int, shape, op: str) -> int:
    """Normalises ``dim`` (int, negative int or ``D.Minus(n)``) for a tensor of ``rank``."""
    if dim.__class__ is int:
        if 0 <= dim < rank:
            return dim
        if -rank <= dim < 0:
            return dim + rank
        raise DimOutOfRange(shape, dim, op)
    if isinstance(dim, _Minus):
        if dim.n.__class__ is int and 1 <= dim.n <= rank:
            return rank - dim.n
        raise DimOutOfRange(shape, -dim.n if dim.n.__class__ is int else dim, op)
    return to_index(exact_int(dim, op, "dim", _INT_OR_D), rank, shape, op)


def to_index_plus_one(dim, rank: int, shape, op: str) -> int:
    """Like ``to_index`` but allows ``rank`` itself, for ops that add a dim (unsqueeze, stack)."""
    if isinstance(dim, _Minus):
        if dim.n.__class__ is int and 1 <= dim.n <= rank + 1:
            return rank + 1 - dim.n
        raise DimOutOfRange(shape, -dim.n if dim.n.__class__ is int else dim, op)
    return to_index(dim, rank + 1, shape, op)


def to_indexes(dims, rank: int, shape, op: str) -> tuple:
    """Normalises an int, ``D`` or a sequence of them; rejects duplicates."""
    if dims.__class__ is int or isinstance(dims, _Minus):
        return (to_index(dims, rank, shape, op),)
    if not isinstance(dims, (tuple, list, range)):
        if dims.__class__ is not bool and hasattr(type(dims), "__index__"):
            return (to_index(exact_int(dims, op, "dims", _INT_OR_D), rank, shape, op),)
        raise UnexpectedType(op, "dims", "an int, D.Minus(n) or a tuple of them", dims)
    out = tuple(to_index(d, rank, shape, op) for d in dims)
    if len(set(out)) != len(out):
        raise DuplicateDimIndex(shape, out, op)
    return out


def exact_int(value, op: str, name: str, expected: str = "an int") -> int:
    """``value`` as a Python int: ints, NumPy ints and one-element int tensors; not bools or
    floats (``narrow(0, 1.5, 2)`` is an error, not a truncation)."""
    if value.__class__ is int:
        return value
    if value.__class__ is bool or not hasattr(type(value), "__index__"):
        raise UnexpectedType(op, name, expected, value)
    try:
        return operator.index(value)
    except (TypeError, ValueError):  # e.g. a NumPy array of several elements
        raise UnexpectedType(op, name, expected, value) from None


def to_usize(value, op: str, name: str) -> int:
    """``value`` as a non-negative int (Candle's ``usize``), else an error naming op and name."""
    if value.__class__ is int and 0 <= value <= _MAX_SIZE:
        return value
    value = exact_int(value, op, name)
    if value < 0:
        raise Msg(f"{op}: {name} must be non-negative, got {value}")
    if value > _MAX_SIZE:
        raise Msg(f"{op}: {name} {value} is too large (the limit is 2**63 - 1)")
    return value


def to_isize(value, op: str, name: str) -> int:
    """``value`` as an int that may be negative (a shift, an offset)."""
    if value.__class__ is not int:
        value = exact_int(value, op, name)
    if not -_MAX_SIZE <= value <= _MAX_SIZE:
        raise Msg(f"{op}: {name} {value} is too large (the limit is 2**63 - 1)")
    return value


def to_real(value, op: str, name: str):
    """``value`` as a Python int or float (a scalar argument such as ``affine``'s ``mul``)."""
    kind = value.__class__
    if kind is float or kind is int:
        return value
    if kind is bool:
        return int(value)
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return to_real(value.item(), op, name)  # a NumPy scalar or 0-d array
    if hasattr(kind, "__index__") and not hasattr(value, "shape"):
        return exact_int(value, op, name, "a number")
    if hasattr(kind, "__float__") and not hasattr(value, "shape"):
        try:
            return float(value)  # fractions, decimals and other real scalars
        except (TypeError, ValueError, OverflowError):
            pass
    raise UnexpectedType(op, name, "a number", value)


def _shape_dims(shape, op) -> tuple:
    if shape.__class__ is int:
        return (shape,)
    if isinstance(shape, (tuple, list)):
        return tuple(shape)
    if (
        shape.__class__ is not bool
        and hasattr(type(shape), "__index__")
        and not hasattr(shape, "shape")
    ):
        return (operator.index(shape),)
    raise UnexpectedType(op or "shape", "shape", "an int or a tuple of ints", shape)


def as_shape(shape, op: str | None = None) -> tuple:
    """Converts an int, a tuple/list or a Shape to a plain tuple of non-negative ints."""
    dims = _shape_dims(shape, op)
    for d in dims:
        if d.__class__ is not int:
            dims = tuple(exact_int(d, op or "shape", "shape", "a tuple of ints") for d in dims)
            break
    if dims and (min(dims) < 0 or max(dims) > _MAX_SIZE):
        prefix = f"{op}: " if op else ""
        problem = "a negative dim" if min(dims) < 0 else "a dim over 2**63 - 1"
        raise Msg(f"{prefix}shape {list(dims)} has {problem}")
    return dims


def shape_with_hole(shape, elem_count: int, op: str = "reshape") -> tuple:
    """Resolves one ``-1`` (or ``()``) hole in ``shape`` given the element count (Candle's hole)."""
    dims = shape if shape.__class__ is tuple else _shape_dims(shape, op)
    for d in dims:
        if d.__class__ is not int or d < 0:
            return _resolve_hole(dims, elem_count, op)
    return dims


def _resolve_hole(dims: tuple, elem_count: int, op: str) -> tuple:
    dims = tuple(d if d == () else exact_int(d, op, "shape", "a tuple of ints") for d in dims)
    holes = [i for i, d in enumerate(dims) if d == -1 or d == ()]
    if any(d != () and (d < -1 or d > _MAX_SIZE) for d in dims):
        raise Msg(f"{op}: shape {list(dims)} has a dim that is neither a size nor the -1 hole")
    if not holes:
        return dims
    if len(holes) > 1:
        raise ShapeMismatch(elem_count, tuple(0 if i in holes else d for i, d in enumerate(dims)))
    known = 1
    for i, d in enumerate(dims):
        if i != holes[0]:
            known *= d
    if known == 0 or elem_count % known != 0:
        raise ShapeMismatch(
            elem_count, tuple(0 if i == holes[0] else d for i, d in enumerate(dims))
        )
    return tuple(elem_count // known if i == holes[0] else d for i, d in enumerate(dims))


def fit_scalar(value, dtype, op: str, name: str = "scalar"):
    """``value`` (already a Python number) as ``dtype`` can hold it exactly, else an error naming
    the op, the value and the dtype: ``u8 + 300`` or ``i64 * 0.5`` would wrap or truncate."""
    if dtype.is_float():
        if value.__class__ is int and abs(value) > 2**1023:
            raise Msg(f"{op}: {name} {value} is too large for {dtype.as_str()}")
        return value
    if value.__class__ is float:
        if not value.is_integer():
            raise Msg(f"{op}: {name} {value} does not fit {dtype.as_str()} (not an integer)")
        value = int(value)
    low, high = _INT_RANGES[dtype.as_str()]
    if not low <= value <= high:
        raise Msg(f"{op}: {name} {value} is out of range for {dtype.as_str()} ({low}..={high})")
    return value


_INT_RANGES = {
    "u8": (0, 2**8 - 1),
    "u32": (0, 2**32 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
}


def check_alloc(op: str, dims, dtype, device) -> None:
    """Refuses, before allocating, a tensor larger than ``device`` could ever hold.

    The bound is the device's total memory (``Device.memory_bytes``), not what is free now: a
    request under it may still fail later, one over it never succeeds, and NumPy would either raise
    a bare MemoryError or, with Linux's overcommit, let the process be killed while filling it.
    """
    nbytes = dtype.size_in_bytes()
    for d in dims:
        nbytes *= d
    if nbytes > device.memory_bytes():
        raise Msg(
            f"{op}: a tensor of shape {list(dims)} and dtype {dtype.as_str()} needs "
            f"{format_bytes(nbytes)}, more than the {format_bytes(device.memory_bytes())} "
            f"of memory of {device.location()}"
        )


def format_bytes(n: int) -> str:
    """``3.6 TiB`` style sizes for messages."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n:.1f} PiB"


def broadcast_shape_binary_op(lhs: tuple, rhs: tuple, op: str) -> tuple:
    """The NumPy-style broadcast of two shapes; raises ShapeMismatchBinaryOp (Candle's rule)."""
    if lhs == rhs:
        return lhs
    n = max(len(lhs), len(rhs))
    padded_l = (1,) * (n - len(lhs)) + tuple(lhs)
    padded_r = (1,) * (n - len(rhs)) + tuple(rhs)
    out = []
    for lhs_dim, rhs_dim in zip(padded_l, padded_r):
        if lhs_dim == rhs_dim or rhs_dim == 1:
            out.append(lhs_dim)
        elif lhs_dim == 1:
            out.append(rhs_dim)
        else:
            raise ShapeMismatchBinaryOp(lhs, rhs, op)
    return tuple(out)
