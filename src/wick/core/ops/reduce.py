"""Reductions over one or several dims. ``dims`` is a tuple of normalised dims; ``keepdim`` says
whether the reduced dims stay as size 1. Reductions keep the input's dtype (Candle).

Float sums are accurate on every axis: NumPy sums pairwise only along the axis its loop runs
over (the contiguous one), and adds the rows one by one along any other (3e6 rows of 0.1 in f32
sum to 290,774.8). ``accurate_sum`` splits such an axis into blocks instead, so the rounding
error grows with log(n), not n; f16 and bf16 accumulate in f32 and round once (PyTorch).
"""

from __future__ import annotations

from . import NOT_DIFFERENTIABLE, Primitive

# A sum of at most this many values is left to NumPy in any order (<= 127 roundings); longer
# ones are split into blocks of _BLOCK values, summed level by level (<= 15 roundings each).
_NAIVE_MAX = 128
_BLOCK = 16


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else d for i, d in enumerate(shape))


def _native_is_accurate(x, dims) -> bool:
    """True when NumPy's loop runs over the reduced dims (pairwise) or every sum is short."""
    if x.dtype.kind in "ui":
        return True  # integer sums are exact (wrapping), whatever the order
    shape = x.shape
    if x.flags.c_contiguous:
        # The reduced dims are the innermost ones (size-1 dims aside): one pairwise loop.
        for i in range(min(dims), len(shape)):
            if i not in dims and shape[i] != 1:
                break
        else:
            return True
    count = 1
    for d in dims:
        count *= shape[d]
    return count <= _NAIVE_MAX


def _blocked_sum(x, d: int, dtype):
    """``x.sum(d, keepdims=True)``, adding no long run of values one by one."""
    n = x.shape[d]
    if n <= _NAIVE_MAX:
        return x.sum(axis=d, keepdims=True, dtype=dtype)
    q = n // _BLOCK
    lead = (slice(None),) * d
    head = x if q * _BLOCK == n else x[lead + (slice(0, q * _BLOCK),)]
    # Splitting one dim in two is always a view, whatever the strides.
    blocks = head.reshape(x.shape[:d] + (q, _BLOCK) + x.shape[d + 1 :])
    out = _blocked_sum(blocks.sum(axis=d + 1, dtype=dtype), d, dtype)
    if q * _BLOCK != n:
        out += x[lead + (slice(q * _BLOCK, None),)].sum(axis=d, keepdims=True, dtype=dtype)
    return out


def accurate_sum(xp, x, dims: tuple, keepdim: bool, dtype=None):
    """``x.sum(dims)`` with an error that grows with log(n) along every dim, not only the last."""
    dtype = x.dtype if dtype is None else dtype
    if not dims or _native_is_accurate(x, dims):
        return x.sum(axis=dims, keepdims=keepdim, dtype=dtype)
    out = x
    rest = sorted(dims, reverse=True)
    if x.flags.c_contiguous:
        # The innermost reduced dims go in one pairwise NumPy call.
        inner = []
        while rest and rest[0] == x.ndim - 1 - len(inner):
            inner.append(rest.pop(0))
        if inner:
            out = x.sum(axis=tuple(inner), keepdims=True, dtype=dtype)
    for d in rest:
        out = _blocked_sum(out, d, dtype)
    if not keepdim:
        out = out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
    return out


def sum_forward(xp, x, *, dims, keepdim):
    if x.itemsize > 2:
        # The hot cases, decided without a loop: a whole contiguous array (one pairwise loop),
        # one short dim, or the last dim of a contiguous array.
        n = len(dims)
        if n == 1:
            d = dims[0]
            if x.shape[d] <= _NAIVE_MAX or (d == x.ndim - 1 and x.flags.c_contiguous):
                return x.sum(axis=d, keepdims=keepdim, dtype=x.dtype)
        elif n == x.ndim and x.flags.c_contiguous:
            return x.sum(axis=dims, keepdims=keepdim, dtype=x.dtype)
    elif x.dtype.kind in "fV":  # f16, bf16: accumulate in f32, round once
        return accurate_sum(xp, x.astype(xp.float32), dims, keepdim).astype(x.dtype)
    return accurate_sum(xp, x, dims, keepdim)


def sum_backward(xp, g, out, x, *, dims, keepdim):
    if not keepdim:
        g = g.reshape(_keepdim_shape(x.shape, dims))
    return (xp.broadcast_to(g, x.shape),)


def max_forward(xp, x, *, dims, keepdim):
    return x.max(axis=dims, keepdims=keepdim)


def min_forward(xp, x, *, dims, keepdim):
    return x.min(axis=dims, keepdims=keepdim)


def extremum_backward(xp, g, out, x, *, dims, keepdim):
    # Candle routes the gradient to every position equal to the extremum (ties included).
    if not keepdim:
        shape = _keepdim_shape(x.shape, dims)
        g, out = g.reshape(shape), out.reshape(shape)
    return ((x == out) * g,)


def argmax_forward(xp, x, *, dim, keepdim):
    out = xp.argmax(x, axis=dim, keepdims=keepdim)
    return out.astype(xp.uint32)


def argmin_forward(xp, x, *, dim, keepdim):
    out = xp.argmin(x, axis=dim, keepdims=keepdim)
    return out.astype(xp.uint32)


def _cumsum(xp, x, dim):
    # A running sum is sequential: f16/bf16/f32 accumulate in f64, each output rounded once.
    if x.dtype.kind in "ui" or x.dtype.itemsize == 8:
        return xp.cumsum(x, axis=dim, dtype=x.dtype)
    return xp.cumsum(x, axis=dim, dtype=xp.float64).astype(x.dtype)


def cumsum_forward(xp, x, *, dim):
    return _cumsum(xp, x, dim)


def cumsum_backward(xp, g, out, x, *, dim):
    return (xp.flip(_cumsum(xp, xp.flip(g, axis=dim), dim), axis=dim),)


SUM = Primitive("sum", sum_forward, sum_backward)
MAX = Primitive("max", max_forward, extremum_backward)
MIN = Primitive("min", min_forward, extremum_backward)
ARGMAX = Primitive("argmax", argmax_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
ARGMIN = Primitive("argmin", argmin_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
CUMSUM = Primitive("cumsum", cumsum_forward, cumsum_backward)
