"""Fused primitives for the hot paths of training: linear, softmax, log-softmax, cross-entropy.

Each equals a composition of simpler primitives (tests check forward and backward against the
composite twin) but runs as one op with one backward, which saves Python dispatch and memory.
f16 and bf16 inputs are computed in f32 and cast back.
"""

from __future__ import annotations

from .. import backends
from ..errors import InvalidIndex
from . import Primitive
from .precision import is_half, widen


def linear_forward(xp, x, w, b=None):
    """``x @ w.T (+ b)`` for ``x`` of shape (..., in) and ``w`` of shape (out, in)."""
    if is_half(x.dtype):
        b32 = None if b is None else widen(xp, b)
        return linear_forward(xp, widen(xp, x), widen(xp, w), b32).astype(x.dtype)
    if x.ndim > 2:
        # One 2-D product: NumPy's stacked matmul with a transposed operand skips BLAS
        # (15x slower for one decoding token through a (1536, 576) weight).
        y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(*x.shape[:-1], w.shape[0])
    else:
        y = x @ w.T
    if b is not None:
        y += b
    return y


def linear_backward(xp, g, out, x, w, b=None, *, needs=(True, True, True)):
    if is_half(x.dtype):
        b32 = None if b is None else widen(xp, b)
        grads = linear_backward(
            xp, widen(xp, g), None, widen(xp, x), widen(xp, w), b32, needs=needs
        )
        return tuple(None if gi is None else gi.astype(x.dtype) for gi in grads)
    if x.ndim == 2:
        g2, x2 = g, x
    else:
        g2, x2 = g.reshape(-1, g.shape[-1]), x.reshape(-1, x.shape[-1])
    gx = (g2 @ w).reshape(x.shape) if needs[0] else None
    gw = g2.T @ x2 if needs[1] else None
    if b is None:
        return gx, gw
    gb = xp.add.reduce(g2, axis=0)  # the ufunc directly: the method adds a Python layer
    if gb.shape != b.shape:  # a bias of shape () or (1,) broadcast over the outputs
        gb = gb.sum().reshape(b.shape)
    return gx, gw, gb


def softmax_forward(xp, x, *, dim):
    a = widen(xp, x)
    e = xp.exp(a - a.max(axis=dim, keepdims=True))
    e /= e.sum(axis=dim, keepdims=True)
    return e.astype(x.dtype, copy=False)


def softmax_backward(xp, g, out, x, *, dim):
    gw, o = widen(xp, g), widen(xp, out)
    return ((o * (gw - (gw * o).sum(axis=dim, keepdims=True))).astype(x.dtype, copy=False),)


def log_softmax_forward(xp, x, *, dim):
    a = widen(xp, x)
    shifted = a - a.max(axis=dim, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted.astype(x.dtype, copy=False)


def log_softmax_backward(xp, g, out, x, *, dim):
    gw, o = widen(xp, g), widen(xp, out)
    return ((gw - xp.exp(o) * gw.sum(axis=dim, keepdims=True)).astype(x.dtype, copy=False),)


def checked_labels(xp, targets, classes: int, op: str):
    """Labels as intp; any label outside ``[0, classes)`` raises (no skip sentinel in losses)."""
    backend = backends.of(xp)
    if backend.defers_checks and targets.size:
        return _labels_checked_later(xp, backend, targets, classes, op)
    if targets.size:
        hi = int(targets.max())
        if hi >= classes:
            raise InvalidIndex(op, hi, classes)
        if targets.dtype.kind == "i":
            lo = int(targets.min())
            if lo < 0:
                raise InvalidIndex(op, lo, classes)
    return targets.astype(xp.intp, copy=False)


def _labels_checked_later(xp, backend, targets, classes: int, op: str):
    """checked_labels with no host sync (GPU): bad labels are clamped to 0 and reported later."""
    bad = targets >= classes if classes <= xp.iinfo(targets.dtype).max else None
    if targets.dtype.kind == "i":
        bad = targets < 0 if bad is None else bad | (targets < 0)
    if bad is None:
        return targets.astype(xp.intp, copy=False)

    def error():
        hi = int(targets.max())
        return InvalidIndex(op, hi if hi >= classes else int(targets.min()), classes)

    backend.check(bad.any(), error)
    return xp.where(bad, 0, targets).astype(xp.intp, copy=False)


def cross_entropy_forward(xp, logits, targets):
    """Mean over the batch of ``-log_softmax(logits)[i, targets[i]]``; saves the softmax."""
    a = widen(xp, logits)
    n = a.shape[0]
    labels = checked_labels(xp, targets, a.shape[1], "cross_entropy")
    shifted = a - a.max(axis=1, keepdims=True)
    probs = xp.exp(shifted)
    total = probs.sum(axis=1, keepdims=True)
    probs /= total
    rows = xp.arange(n)
    loss = (xp.log(total).sum() - shifted[rows, labels].sum()) / n
    return xp.asarray(loss, dtype=logits.dtype), (probs, rows, labels)


def cross_entropy_backward(xp, g, out, logits, targets, *, saved):
    probs, rows, labels = saved
    grad = probs.copy()
    grad[rows, labels] -= 1
    grad *= widen(xp, g) / logits.shape[0]
    return grad.astype(logits.dtype, copy=False), None


LINEAR = Primitive("linear", linear_forward, linear_backward, takes_needs=True)
SOFTMAX = Primitive("softmax", softmax_forward, softmax_backward)
LOG_SOFTMAX = Primitive("log_softmax", log_softmax_forward, log_softmax_backward)
CROSS_ENTROPY = Primitive(
    "cross_entropy", cross_entropy_forward, cross_entropy_backward, saves=True
)
