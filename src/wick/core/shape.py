"""Shape, D, dimension normalisation and broadcasting rules (Candle's ``shape.rs``)."""

from __future__ import annotations

from .errors import (
    DimOutOfRange,
    DuplicateDimIndex,
    Msg,
    ShapeMismatch,
    ShapeMismatchBinaryOp,
    UnexpectedNumberOfDims,
)


class Shape(tuple):
    """A tuple of dims that prints like Candle's: ``[2, 3]``.

    >>> Shape((2, 3))
    [2, 3]
    """

    __slots__ = ()

    def __new__(cls, dims=()):
        if isinstance(dims, int):
            dims = (dims,)
        return super().__new__(cls, dims)

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
        if 1 <= dim.n <= rank:
            return rank - dim.n
        raise DimOutOfRange(shape, -dim.n, op)
    if hasattr(dim, "__index__"):
        return to_index(int(dim), rank, shape, op)
    raise DimOutOfRange(shape, dim, op)


def to_index_plus_one(dim, rank: int, shape, op: str) -> int:
    """Like ``to_index`` but allows ``rank`` itself, for ops that add a dim (unsqueeze, stack)."""
    if isinstance(dim, _Minus):
        if 1 <= dim.n <= rank + 1:
            return rank + 1 - dim.n
        raise DimOutOfRange(shape, -dim.n, op)
    return to_index(dim, rank + 1, shape, op)


def to_indexes(dims, rank: int, shape, op: str) -> tuple:
    """Normalises an int, ``D`` or a sequence of them; rejects duplicates."""
    if isinstance(dims, (int, _Minus)) or hasattr(dims, "__index__"):
        return (to_index(dims, rank, shape, op),)
    out = tuple(to_index(d, rank, shape, op) for d in dims)
    if len(set(out)) != len(out):
        raise DuplicateDimIndex(shape, out, op)
    return out


def as_shape(shape) -> tuple:
    """Converts an int, a tuple/list or a Shape to a plain tuple of non-negative ints."""
    dims = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
    if dims and min(dims) < 0:
        raise Msg(f"shape {list(dims)} has a negative dim")
    return dims


def shape_with_hole(shape, elem_count: int) -> tuple:
    """Resolves one ``-1`` (or ``()``) hole in ``shape`` given the element count (Candle's hole)."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    holes = [i for i, d in enumerate(dims) if d == -1 or d == ()]
    if not holes:
        return tuple(int(d) for d in dims)
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
    return tuple(elem_count // known if i == holes[0] else int(d) for i, d in enumerate(dims))


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
