"""Tensor arithmetic: unary, binary, comparison, reduction and matrix-product methods."""

from __future__ import annotations

import math
import operator

import numpy as np

from . import graph
from .errors import (
    EmptyTensor,
    Msg,
    ShapeMismatchBinaryOp,
    UnexpectedType,
    UnsupportedDTypeForOp,
    UnsupportedOp,
)
from .ops import binary, matmul, reduce, unary
from .ops.precision import is_half
from .shape import (
    broadcast_shape_binary_op,
    fit_scalar,
    to_index,
    to_indexes,
    to_isize,
    to_real,
)

_SCALAR_TYPES = (int, float, bool, np.integer, np.floating, np.bool_)


def _scalar_like(x, value, op: str = "scalar"):
    """A rank-0 tensor holding ``value`` in ``x``'s dtype, on ``x``'s device; a value the dtype
    cannot hold (``u8`` and 300, -1, 0.5 or NaN) raises naming the op, value and dtype."""
    value = fit_scalar(to_real(value, op, "scalar"), x.dtype, op)
    return graph.wrap(x._device.xp.asarray(value, dtype=x._data.dtype), x._device)


def _array_operand(array):
    """A NumPy array operand as the CPU tensor it would make (its own dtype: SPEC 2)."""
    from .tensor import Tensor

    return Tensor.new(array)


def _from_numpy(value):
    """A ufunc input for Tensor's operators: arrays as tensors, NumPy scalars as Python ones."""
    if isinstance(value, np.ndarray):
        return _array_operand(value)
    return value.item() if isinstance(value, np.generic) else value


# NumPy ufuncs that Tensor's operators answer when NumPy hands them over (see __array_ufunc__).
_UFUNC_OPERATORS = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
    "true_divide": operator.truediv,
    "matmul": operator.matmul,
}


def _as_operand(x, rhs, op: str):
    """``rhs`` as a tensor broadcast to ``x``'s shape when it is a Python scalar."""
    if isinstance(rhs, _SCALAR_TYPES):
        return _scalar_like(x, rhs, op).broadcast_as(x._data.shape)
    if not isinstance(rhs, MathMethods):
        raise UnexpectedType(op, "rhs", "a Tensor or a number", rhs)
    return rhs


def _binary(prim, a, b):
    graph.check_binary(prim.name, a, b)
    return graph.apply2(prim, a, b)


def _broadcast_binary(prim, a, b, op: str):
    try:
        shape = broadcast_shape_binary_op(a._data.shape, b._data.shape, op)
    except AttributeError:
        graph.check_tensor(op, "rhs", b)
        raise
    if a._is_var or a._node is not None or b._is_var or b._node is not None:
        # Recorded for backward: the broadcasts are explicit nodes of the graph.
        return _binary(prim, a.broadcast_as(shape), b.broadcast_as(shape))
    # Not recorded: let the backend broadcast, with the same checks and result.
    graph.check_same_device(op, a, b)
    graph.check_same_dtype(op, a, b)
    return graph.apply2(prim, a, b)


def _require_float(x, op: str) -> None:
    if x._data.dtype.kind not in "fV":  # "V" is ml_dtypes' bfloat16
        raise UnsupportedDTypeForOp(x.dtype, op)


class MathMethods:
    """Arithmetic methods of Tensor (mixed into the class; see tensor.py)."""

    __slots__ = ()

    # ----- unary ------------------------------------------------------------------------------
    def exp(self):
        return graph.apply1(unary.EXP, self)

    def log(self):
        return graph.apply1(unary.LOG, self)

    def sin(self):
        return graph.apply1(unary.SIN, self)

    def cos(self):
        return graph.apply1(unary.COS, self)

    def tanh(self):
        return graph.apply1(unary.TANH, self)

    def neg(self):
        return graph.apply1(unary.NEG, self)

    def recip(self):
        return graph.apply1(unary.RECIP, self)

    def sqr(self):
        return graph.apply1(unary.SQR, self)

    def sqrt(self):
        return graph.apply1(unary.SQRT, self)

    def abs(self):
        return graph.apply1(unary.ABS, self)

    def ceil(self):
        return graph.apply1(unary.CEIL, self)

    def floor(self):
        return graph.apply1(unary.FLOOR, self)

    def round(self):
        """Rounds half away from zero, as Rust's ``round``."""
        return graph.apply1(unary.ROUND, self)

    def sign(self):
        return graph.apply1(unary.SIGN, self)

    def relu(self):
        return graph.apply1(unary.RELU, self)

    def gelu(self):
        """GELU with the tanh approximation (Candle's ``gelu``)."""
        _require_float(self, "gelu")
        return graph.apply1(unary.GELU, self)

    def gelu_erf(self):
        """Exact GELU, ``0.5 x (1 + erf(x / sqrt 2))``."""
        _require_float(self, "gelu_erf")
        return graph.apply1(unary.GELU_ERF, self)

    def erf(self):
        _require_float(self, "erf")
        return graph.apply1(unary.ERF, self)

    def silu(self):
        _require_float(self, "silu")
        return graph.apply1(unary.SILU, self)

    def elu(self, alpha: float):
        _require_float(self, "elu")
        return graph.apply1(unary.ELU, self, {"alpha": float(to_real(alpha, "elu", "alpha"))})

    def powf(self, e: float):
        """Each element to the power ``e``."""
        _require_float(self, "powf")
        return graph.apply1(unary.POWF, self, {"e": float(to_real(e, "powf", "e"))})

    def affine(self, mul: float, add: float):
        """``self * mul + add`` in one op."""
        if mul.__class__ is not float or add.__class__ is not float or self._data.dtype.kind != "f":
            dtype = self.dtype
            mul = fit_scalar(to_real(mul, "affine", "mul"), dtype, "affine", "mul")
            add = fit_scalar(to_real(add, "affine", "add"), dtype, "affine", "add")
        return graph.apply1(unary.AFFINE, self, {"mul": mul, "add": add})

    def round_to(self, decimals: int):
        """Rounds to ``decimals`` places (half away from zero)."""
        decimals = to_isize(decimals, "round_to", "decimals")
        if abs(decimals) > 300:  # 10**decimals would overflow f64
            raise Msg(f"round_to: decimals must be within -300..=300, got {decimals}")
        scale = 10.0**decimals
        return (self * scale).round() * (1.0 / scale)

    def clamp(self, lo, up):
        """Each element limited to ``[lo, up]`` (tensors or scalars)."""
        return self.broadcast_maximum(_as_operand(self, lo, "clamp")).broadcast_minimum(
            _as_operand(self, up, "clamp")
        )

    # ----- binary (strict shapes) -------------------------------------------------------------
    def add(self, rhs):
        return _binary(binary.ADD, self, rhs)

    def sub(self, rhs):
        return _binary(binary.SUB, self, rhs)

    def mul(self, rhs):
        return _binary(binary.MUL, self, rhs)

    def div(self, rhs):
        return _binary(binary.DIV, self, rhs)

    def maximum(self, rhs):
        """Elementwise maximum with a tensor of the same shape or a scalar."""
        return _binary(binary.MAXIMUM, self, _as_operand(self, rhs, "maximum"))

    def minimum(self, rhs):
        """Elementwise minimum with a tensor of the same shape or a scalar."""
        return _binary(binary.MINIMUM, self, _as_operand(self, rhs, "minimum"))

    def pow(self, rhs):
        """``self ** rhs`` elementwise, as ``exp(rhs * log(self))`` (Candle)."""
        graph.check_binary("pow", self, rhs)
        return rhs.mul(self.log()).exp()

    # ----- binary (broadcasting) --------------------------------------------------------------
    def broadcast_add(self, rhs):
        return _broadcast_binary(binary.ADD, self, rhs, "broadcast_add")

    def broadcast_sub(self, rhs):
        return _broadcast_binary(binary.SUB, self, rhs, "broadcast_sub")

    def broadcast_mul(self, rhs):
        return _broadcast_binary(binary.MUL, self, rhs, "broadcast_mul")

    def broadcast_div(self, rhs):
        return _broadcast_binary(binary.DIV, self, rhs, "broadcast_div")

    def broadcast_maximum(self, rhs):
        return _broadcast_binary(binary.MAXIMUM, self, rhs, "broadcast_maximum")

    def broadcast_minimum(self, rhs):
        return _broadcast_binary(binary.MINIMUM, self, rhs, "broadcast_minimum")

    def broadcast_pow(self, rhs):
        graph.check_tensor("broadcast_pow", "rhs", rhs)
        return rhs.broadcast_mul(self.log()).exp()

    # ----- comparisons (U8 results) -----------------------------------------------------------
    def cmp(self, rhs, op: str):
        """Compares with a tensor of the same shape or a scalar; ``op`` is eq/ne/lt/le/gt/ge."""
        try:
            prim = binary.COMPARISONS[op]
        except (KeyError, TypeError):
            raise Msg(f"cmp: op must be one of eq, ne, lt, le, gt, ge, got {op!r}") from None
        return _binary(prim, self, _as_operand(self, rhs, op))

    def eq(self, rhs):
        return self.cmp(rhs, "eq")

    def ne(self, rhs):
        return self.cmp(rhs, "ne")

    def lt(self, rhs):
        return self.cmp(rhs, "lt")

    def le(self, rhs):
        return self.cmp(rhs, "le")

    def gt(self, rhs):
        return self.cmp(rhs, "gt")

    def ge(self, rhs):
        return self.cmp(rhs, "ge")

    def broadcast_eq(self, rhs):
        return _broadcast_binary(binary.EQ, self, rhs, "broadcast_eq")

    def broadcast_ne(self, rhs):
        return _broadcast_binary(binary.NE, self, rhs, "broadcast_ne")

    def broadcast_lt(self, rhs):
        return _broadcast_binary(binary.LT, self, rhs, "broadcast_lt")

    def broadcast_le(self, rhs):
        return _broadcast_binary(binary.LE, self, rhs, "broadcast_le")

    def broadcast_gt(self, rhs):
        return _broadcast_binary(binary.GT, self, rhs, "broadcast_gt")

    def broadcast_ge(self, rhs):
        return _broadcast_binary(binary.GE, self, rhs, "broadcast_ge")

    # ----- reductions -------------------------------------------------------------------------
    def _reduce(self, prim, dims, keepdim: bool, op: str):
        shape = self._data.shape
        dims = to_indexes(dims, len(shape), shape, op)
        if prim is not reduce.SUM and any(shape[d] == 0 for d in dims):
            raise EmptyTensor(op)
        return graph.apply1(prim, self, {"dims": dims, "keepdim": keepdim})

    def sum_keepdim(self, dims):
        return self._reduce(reduce.SUM, dims, True, "sum")

    def sum(self, dims):
        return self._reduce(reduce.SUM, dims, False, "sum")

    def sum_all(self):
        dims = tuple(range(self._data.ndim))
        return graph.apply1(reduce.SUM, self, {"dims": dims, "keepdim": False})

    def _mean(self, dims, keepdim: bool):
        shape = self._data.shape
        dims = to_indexes(dims, len(shape), shape, "mean")
        count = math.prod(shape[d] for d in dims)
        if count == 0:
            raise EmptyTensor("mean")
        if self._data.dtype.kind in "ui" and count > 1:
            # Candle scales the sum by 1/n cast to the integer dtype, i.e. by 0: refuse instead.
            raise UnsupportedDTypeForOp(self.dtype, "mean (convert to a float dtype first)")
        if is_half(self._data.dtype):  # sum and scale in f32, then round once (as PyTorch)
            return self.to_dtype("f32")._mean(dims, keepdim).to_dtype(self._data.dtype)
        return self._reduce(reduce.SUM, dims, keepdim, "mean").affine(1.0 / count, 0.0)

    def mean_keepdim(self, dims):
        return self._mean(dims, True)

    def mean(self, dims):
        return self._mean(dims, False)

    def mean_all(self):
        return self._mean(tuple(range(self._data.ndim)), False)

    def max_keepdim(self, dim):
        return self._reduce(reduce.MAX, dim, True, "max")

    def max(self, dim):
        return self._reduce(reduce.MAX, dim, False, "max")

    def max_all(self):
        return self._reduce(reduce.MAX, tuple(range(self._data.ndim)), False, "max")

    def min_keepdim(self, dim):
        return self._reduce(reduce.MIN, dim, True, "min")

    def min(self, dim):
        return self._reduce(reduce.MIN, dim, False, "min")

    def min_all(self):
        return self._reduce(reduce.MIN, tuple(range(self._data.ndim)), False, "min")

    def _arg_reduce(self, prim, dim, keepdim: bool, op: str):
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, op)
        if shape[dim] == 0:
            raise EmptyTensor(op)
        return graph.apply1(prim, self, {"dim": dim, "keepdim": keepdim})

    def argmax_keepdim(self, dim):
        return self._arg_reduce(reduce.ARGMAX, dim, True, "argmax")

    def argmax(self, dim):
        """Indices (U32) of the maxima along ``dim``."""
        return self._arg_reduce(reduce.ARGMAX, dim, False, "argmax")

    def argmin_keepdim(self, dim):
        return self._arg_reduce(reduce.ARGMIN, dim, True, "argmin")

    def argmin(self, dim):
        return self._arg_reduce(reduce.ARGMIN, dim, False, "argmin")

    def var_keepdim(self, dim):
        """Unbiased variance along ``dim``, keeping it."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "var")
        n = self._data.shape[dim]
        if is_half(self._data.dtype):  # computed in f32, rounded once
            return self.to_dtype("f32").var_keepdim(dim).to_dtype(self._data.dtype)
        mean = self.mean_keepdim(dim)
        squares = self.broadcast_sub(mean).sqr()
        # One element: 0 / 0 is NaN, as Candle (which divides by (n - 1) as f64) and PyTorch give.
        return squares.sum_keepdim(dim).affine(1.0 / (n - 1) if n > 1 else math.nan, 0.0)

    def var(self, dim):
        dim = to_index(dim, self._data.ndim, self._data.shape, "var")
        return self.var_keepdim(dim).squeeze(dim)

    def log_sum_exp(self, dims):
        """``log(sum(exp(x)))`` over ``dims``, computed stably."""
        dims = to_indexes(dims, self._data.ndim, self._data.shape, "log-sum-exp")
        if not dims:
            return self
        peak = self.max_keepdim(dims[0])
        for d in dims[1:]:
            peak = peak.max_keepdim(d)
        total = self.broadcast_sub(peak).exp().sum_keepdim(dims)
        return total.log().add(peak).squeeze_dims(dims)

    def cumsum(self, dim):
        dim = to_index(dim, self._data.ndim, self._data.shape, "cumsum")
        return graph.apply1(reduce.CUMSUM, self, {"dim": dim})

    def norm(self):
        """The L2 norm of all elements."""
        return self.sqr().sum_all().sqrt()

    # ----- matrix products --------------------------------------------------------------------
    def matmul(self, rhs):
        """``(..., m, k) @ (..., k, n)`` with equal batch dims."""
        try:
            a, b = self._data.shape, rhs._data.shape
        except AttributeError:
            graph.check_tensor("matmul", "rhs", rhs)
            raise
        if len(a) < 2 or len(b) != len(a) or a[:-2] != b[:-2] or a[-1] != b[-2]:
            raise ShapeMismatchBinaryOp(a, b, "matmul")
        graph.check_same_device("matmul", self, rhs)
        graph.check_same_dtype("matmul", self, rhs)
        return graph.apply2(matmul.MATMUL, self, rhs)

    def broadcast_matmul(self, rhs):
        """``matmul`` with the batch dims broadcast against each other."""
        graph.check_tensor("broadcast_matmul", "rhs", rhs)
        a, b = self._data.shape, rhs._data.shape
        if len(a) < 2 or len(b) < 2:
            raise ShapeMismatchBinaryOp(a, b, "broadcast_matmul")
        batch = broadcast_shape_binary_op(a[:-2], b[:-2], "broadcast_matmul")
        return self.broadcast_as(batch + a[-2:]).matmul(rhs.broadcast_as(batch + b[-2:]))

    def mv(self, rhs):
        """Matrix-vector product."""
        graph.check_tensor("mv", "rhs", rhs)
        (_, k), n = self.dims2(), rhs.dims1()
        if k != n:
            raise ShapeMismatchBinaryOp(self._data.shape, rhs._data.shape, "mv")
        return self.matmul(rhs.unsqueeze(1)).squeeze(1)

    def dot(self, rhs):
        """The dot product of two vectors."""
        graph.check_tensor("dot", "rhs", rhs)
        n, m = self.dims1(), rhs.dims1()
        if n != m:
            raise ShapeMismatchBinaryOp(self._data.shape, rhs._data.shape, "dot")
        return self.mul(rhs).sum_all()

    # ----- operators --------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.ones(3) + t``, ``np.float64(2) * t``: NumPy hands the operator to the Tensor."""
        name = ufunc.__name__
        plain = method == "__call__" and not kwargs and len(inputs) == 2
        if plain and name in ("equal", "not_equal"):
            return name == "not_equal"  # `==` is identity (SPEC 5): an array is not the tensor
        op = _UFUNC_OPERATORS.get(name)
        if op is None or not plain:
            raise UnsupportedOp(
                f"NumPy's {name} ({method}) does not take a Tensor (the result would leave the "
                "graph): use the Tensor's method (t.exp(), t.lt(x), ...), or t.numpy() for a "
                "read-only NumPy array"
            )
        return op(*map(_from_numpy, inputs))

    def _operator(self, other, prim, op: str, scalar_affine):
        if isinstance(other, _SCALAR_TYPES):
            if self._data.dtype.kind in "fV" and scalar_affine is not None:
                mul, add = scalar_affine(other)
                # A number on a float tensor: nothing for affine's argument checks to catch.
                return graph.apply1(unary.AFFINE, self, {"mul": mul, "add": add})
            other = _scalar_like(self, other, op)
        elif not isinstance(other, MathMethods):
            if not isinstance(other, np.ndarray):
                return NotImplemented
            other = _array_operand(other)
        if self._data.shape == other._data.shape:
            return _binary(prim, self, other)
        return _broadcast_binary(prim, self, other, op)

    def __add__(self, other):
        return self._operator(other, binary.ADD, "add", _add_affine)

    def __radd__(self, other):
        return self._operator(other, binary.ADD, "add", _add_affine)

    def __sub__(self, other):
        return self._operator(other, binary.SUB, "sub", _sub_affine)

    def __rsub__(self, other):
        if isinstance(other, _SCALAR_TYPES):
            if self._data.dtype.kind in "fV":
                return self.affine(-1.0, other)
            return _scalar_like(self, other, "sub")._operator(self, binary.SUB, "sub", None)
        if isinstance(other, np.ndarray):
            return _array_operand(other)._operator(self, binary.SUB, "sub", None)
        return NotImplemented

    def __mul__(self, other):
        return self._operator(other, binary.MUL, "mul", _mul_affine)

    def __rmul__(self, other):
        return self._operator(other, binary.MUL, "mul", _mul_affine)

    def __truediv__(self, other):
        return self._operator(other, binary.DIV, "div", _div_affine)

    def __rtruediv__(self, other):
        if isinstance(other, _SCALAR_TYPES):
            if self._data.dtype.kind in "fV":
                return self.recip().affine(other, 0.0)
            return _scalar_like(self, other, "div")._operator(self, binary.DIV, "div", None)
        if isinstance(other, np.ndarray):
            return _array_operand(other)._operator(self, binary.DIV, "div", None)
        return NotImplemented

    def __neg__(self):
        return self.neg()

    def __pow__(self, other):
        if isinstance(other, _SCALAR_TYPES):
            return self.powf(other)
        if isinstance(other, np.ndarray):
            other = _array_operand(other)
        elif not isinstance(other, MathMethods):
            return NotImplemented
        shape = broadcast_shape_binary_op(self._data.shape, other._data.shape, "pow")
        return self.broadcast_as(shape).pow(other.broadcast_as(shape))

    def __matmul__(self, other):
        return self.matmul(_array_operand(other) if isinstance(other, np.ndarray) else other)

    def __rmatmul__(self, other):
        if isinstance(other, np.ndarray):
            return _array_operand(other).matmul(self)
        return NotImplemented

    def __lt__(self, other):
        raise UnsupportedOp("comparison operators are not overloaded on Tensor: use t.lt(x)")

    def __le__(self, other):
        raise UnsupportedOp("comparison operators are not overloaded on Tensor: use t.le(x)")

    def __gt__(self, other):
        raise UnsupportedOp("comparison operators are not overloaded on Tensor: use t.gt(x)")

    def __ge__(self, other):
        raise UnsupportedOp("comparison operators are not overloaded on Tensor: use t.ge(x)")


def _add_affine(value):
    return 1.0, value


def _sub_affine(value):
    return 1.0, -value


def _mul_affine(value):
    return value, 0.0


def _div_affine(value):
    # t / 0.0 is t * inf (inf, -inf or NaN per element), as Candle's affine(1. / 0., 0.) gives.
    return (1.0 / value if value else math.copysign(math.inf, value)), 0.0
