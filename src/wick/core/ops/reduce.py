"""Reductions over one or several dims. ``dims`` is a tuple of normalised dims; ``keepdim`` says
whether the reduced dims stay as size 1. Reductions keep the input's dtype (Candle).
"""

from __future__ import annotations

from . import NOT_DIFFERENTIABLE, Primitive


def _keepdim_shape(shape, dims):
    return tuple(1 if i in dims else d for i, d in enumerate(shape))


def sum_forward(xp, x, *, dims, keepdim):
    return x.sum(axis=dims, keepdims=keepdim, dtype=x.dtype)


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


def cumsum_forward(xp, x, *, dim):
    return xp.cumsum(x, axis=dim, dtype=x.dtype)


def cumsum_backward(xp, g, out, x, *, dim):
    flipped = xp.flip(g, axis=dim)
    return (xp.flip(xp.cumsum(flipped, axis=dim, dtype=g.dtype), axis=dim),)


SUM = Primitive("sum", sum_forward, sum_backward)
MAX = Primitive("max", max_forward, extremum_backward)
MIN = Primitive("min", min_forward, extremum_backward)
ARGMAX = Primitive("argmax", argmax_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
ARGMIN = Primitive("argmin", argmin_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
CUMSUM = Primitive("cumsum", cumsum_forward, cumsum_backward)
