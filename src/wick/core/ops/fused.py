"""Fused primitives for the hot paths of training: linear, softmax, log-softmax, cross-entropy.

Each equals a composition of simpler primitives (tests check forward and backward against the
composite twin) but runs as one op with one backward, which saves Python dispatch and memory.
f16 and bf16 inputs are computed in f32 and cast back.
"""

from __future__ import annotations

from . import Primitive
from ..errors import InvalidIndex


def _widen(xp, a):
    return a.astype(xp.float32) if a.dtype.itemsize == 2 and a.dtype.kind != "i" else a


def linear_forward(xp, x, w, b=None):
    """``x @ w.T (+ b)`` for ``x`` of shape (..., in) and ``w`` of shape (out, in)."""
    if x.dtype.itemsize == 2:
        return linear_forward(xp, _widen(xp, x), _widen(xp, w), None if b is None else _widen(xp, b)).astype(x.dtype)
    y = xp.matmul(x, w.T)
    if b is not None:
        y += b
    return y


def linear_backward(xp, g, out, x, w, b=None):
    dtype = x.dtype
    gw_x, gw_g = _widen(xp, x), _widen(xp, g)
    g2 = gw_g.reshape(-1, gw_g.shape[-1])
    x2 = gw_x.reshape(-1, gw_x.shape[-1])
    gx = xp.matmul(gw_g, _widen(xp, w)).astype(dtype, copy=False)
    gw = xp.matmul(g2.T, x2).astype(dtype, copy=False)
    if b is None:
        return gx, gw
    return gx, gw, g2.sum(axis=0).astype(dtype, copy=False)


def softmax_forward(xp, x, *, dim):
    a = _widen(xp, x)
    e = xp.exp(a - a.max(axis=dim, keepdims=True))
    e /= e.sum(axis=dim, keepdims=True)
    return e.astype(x.dtype, copy=False)


def softmax_backward(xp, g, out, x, *, dim):
    gw, o = _widen(xp, g), _widen(xp, out)
    return ((o * (gw - (gw * o).sum(axis=dim, keepdims=True))).astype(x.dtype, copy=False),)


def log_softmax_forward(xp, x, *, dim):
    a = _widen(xp, x)
    shifted = a - a.max(axis=dim, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted.astype(x.dtype, copy=False)


def log_softmax_backward(xp, g, out, x, *, dim):
    gw, o = _widen(xp, g), _widen(xp, out)
    return ((gw - xp.exp(o) * gw.sum(axis=dim, keepdims=True)).astype(x.dtype, copy=False),)


def checked_labels(xp, targets, classes: int, op: str):
    """Labels as intp; any label outside ``[0, classes)`` raises (no skip sentinel in losses)."""
    if targets.size:
        lo, hi = int(targets.min()), int(targets.max())
        if hi >= classes or lo < 0:
            raise InvalidIndex(op, hi if hi >= classes else lo, classes)
    return targets.astype(xp.intp, copy=False)


def cross_entropy_forward(xp, logits, targets):
    """Mean over the batch of ``-log_softmax(logits)[i, targets[i]]``."""
    a = _widen(xp, logits)
    rows = xp.arange(a.shape[0])
    labels = checked_labels(xp, targets, a.shape[1], "cross_entropy")
    peak = a.max(axis=1)
    lse = xp.log(xp.exp(a - peak[:, None]).sum(axis=1)) + peak
    loss = (lse - a[rows, labels]).sum() / a.shape[0]
    return xp.asarray(loss, dtype=logits.dtype)


def cross_entropy_backward(xp, g, out, logits, targets):
    a = _widen(xp, logits)
    n = a.shape[0]
    grad = xp.exp(a - a.max(axis=1, keepdims=True))
    grad /= grad.sum(axis=1, keepdims=True)
    grad[xp.arange(n), targets.astype(xp.intp)] -= 1
    grad *= _widen(xp, g) / n
    return grad.astype(logits.dtype, copy=False), None


LINEAR = Primitive("linear", linear_forward, linear_backward)
SOFTMAX = Primitive("softmax", softmax_forward, softmax_backward)
LOG_SOFTMAX = Primitive("log_softmax", log_softmax_forward, log_softmax_backward)
CROSS_ENTROPY = Primitive("cross_entropy", cross_entropy_forward, cross_entropy_backward)
