"""Pooling and upsampling primitives on raw backend arrays: avg/max pool2d, nearest and
bilinear upsampling.

Every ``check_*`` helper validates shapes and parameters, raises wick errors worded as Candle's,
and returns the output shape; the forwards call them too, so raw use is checked as well. The
small shared checks and the f16/bf16 up/down casts come from ``conv.py``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import Msg
from . import Primitive
from .conv import _down, _fmt, _positive, _rank
from .precision import is_half, widen

# ---------------------------------------------------------------------------------------------
# Output sizes


def pool_out_len(l_in: int, k: int, stride: int) -> int:
    """Output length of a pooling window (no padding, floor), as Candle."""
    return (l_in - k) // stride + 1


def bilinear_scaled_hw(h: int, w: int, scale_h: float, scale_w: float) -> tuple[int, int]:
    """Target size of ``upsample_bilinear2d_with_scale``: floor(size * scale), as PyTorch."""
    return math.floor(h * scale_h), math.floor(w * scale_w)


# ---------------------------------------------------------------------------------------------
# Validation


def check_pool2d(op: str, x_shape, kernel_size, stride) -> tuple:
    """Validates avg_pool2d / max_pool2d and returns the output shape."""
    _rank(x_shape, 4, op)
    if len(kernel_size) != 2 or len(stride) != 2:
        raise Msg(f"{op}: expected (h, w) pairs, got kernel {kernel_size}, stride {stride}")
    (k_h, k_w), (s_h, s_w) = kernel_size, stride
    _positive(op, kernel_h=k_h, kernel_w=k_w, stride_h=s_h, stride_w=s_w)
    n, c, h, w = x_shape
    if h < k_h or w < k_w:
        raise Msg(
            f"{op}: kernel-size ({k_h}, {k_w}) is larger than the input size {h},{w}, "
            f"inp: {_fmt(x_shape)}"
        )
    return (n, c, pool_out_len(h, k_h, s_h), pool_out_len(w, k_w, s_w))


def check_upsample(op: str, x_shape, sizes) -> tuple:
    """Validates an upsample (rank 2 + len(sizes), non-empty source); returns the output shape."""
    _rank(x_shape, 2 + len(sizes), op)
    if min(x_shape[2:]) < 1:
        raise Msg(f"{op}: cannot upsample an empty input {_fmt(x_shape)}")
    if min(sizes) < 0:
        raise Msg(f"{op}: negative target size {_fmt(sizes)}")
    return (*x_shape[:2], *sizes)


# ---------------------------------------------------------------------------------------------
# Pooling: one strided slice per kernel tap, which beats reducing over a window view


def _taps(kernel_size, stride, out_hw):
    """For each (i, j) tap, the slices of the input that the tap sees in every window."""
    (k_h, k_w), (s_h, s_w), (o_h, o_w) = kernel_size, stride, out_hw
    for i in range(k_h):
        for j in range(k_w):
            yield (
                Ellipsis,
                slice(i, i + s_h * (o_h - 1) + 1, s_h),
                slice(j, j + s_w * (o_w - 1) + 1, s_w),
            )


def avg_pool2d_forward(xp, x, *, kernel_size, stride):
    """Mean over (kh, kw) windows every (sh, sw), no padding, floor output size."""
    shape = check_pool2d("avg_pool2d", x.shape, kernel_size, stride)
    dtype = x.dtype
    xc = widen(xp, x) if x.dtype.kind == "f" or is_half(x.dtype) else x.astype(xp.float64)
    taps = list(_taps(kernel_size, stride, shape[2:]))
    acc = xc[taps[0]].copy()
    for sl in taps[1:]:
        acc += xc[sl]
    acc *= acc.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    return _down(acc, dtype)


def avg_pool2d_backward(xp, g, out, x, *, kernel_size, stride):
    """Each input gets g / (kh * kw) from every window containing it (any stride)."""
    gc = widen(xp, g)
    gx = xp.zeros(x.shape, dtype=gc.dtype)
    share = gc * gc.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    for sl in _taps(kernel_size, stride, g.shape[2:]):
        gx[sl] += share
    return (_down(gx, g.dtype),)


def max_pool2d_forward(xp, x, *, kernel_size, stride):
    """Max over (kh, kw) windows every (sh, sw), no padding, floor output size."""
    shape = check_pool2d("max_pool2d", x.shape, kernel_size, stride)
    taps = list(_taps(kernel_size, stride, shape[2:]))
    acc = x[taps[0]].copy()
    for sl in taps[1:]:
        xp.maximum(acc, x[sl], out=acc)
    return acc


def max_pool2d_backward(xp, g, out, x, *, kernel_size, stride):
    """Routes each window's gradient to its maximum; tied maxima share it equally.

    Candle masks the upsampled gradient by equality with the max and scales it by the window's
    tie fraction (ties / (kh*kw)), which also shrinks an untied max's gradient by 1/(kh*kw) and
    only allows stride == kernel. Here each window's gradient is split evenly over its tied
    maxima, so an untied max gets all of it (as PyTorch), and overlapping windows accumulate.
    """
    taps = list(_taps(kernel_size, stride, g.shape[2:]))
    count = xp.zeros(out.shape, dtype=xp.int32)
    for sl in taps:
        count += x[sl] == out
    gc = widen(xp, g)
    share = gc / xp.maximum(count, 1).astype(gc.dtype)
    gx = xp.zeros(x.shape, dtype=gc.dtype)
    for sl in taps:
        gx[sl] += xp.where(x[sl] == out, share, gc.dtype.type(0))
    return (_down(gx, g.dtype),)


# ---------------------------------------------------------------------------------------------
# Upsampling. Source indices are built on the host in f64, exactly as Candle's CPU kernels.


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Candle's nearest rule: src = min(n_in - 1, floor(dst * (n_in / n_out))) in f64."""
    scale = n_in / n_out if n_out else 0.0
    idx = np.floor(np.arange(n_out, dtype=np.float64) * scale).astype(np.int64)
    return np.minimum(idx, n_in - 1)


def bilinear_taps(n_in, n_out, align_corners, scale_factor=None):
    """(i0, i1, weight of i1) per output index, as Candle's (PyTorch-compatible) CPU kernel."""
    if align_corners:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = scale * np.arange(n_out, dtype=np.float64)
    else:
        scale = 1.0 / scale_factor if scale_factor is not None else n_in / n_out
        src = scale * (np.arange(n_out, dtype=np.float64) + 0.5) - 0.5
    src = np.maximum(src, 0.0)
    # i0 is clamped too: a user scale factor can push src past the last row (Candle indexes
    # out of bounds there).
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = np.clip(src - i0, 0.0, 1.0)
    return i0, i1, lam


def _segment_sum(xp, g, idx: np.ndarray, n_src: int, axis: int):
    """Adjoint of ``take(x, idx, axis)`` for a non-decreasing idx: sums g over equal indices.

    Each source's destinations are a contiguous run, so a few gathers (one per position in the
    longest run) do it with no scatter-add, which numpy and cupy do not share.
    """
    counts = np.bincount(idx, minlength=n_src)
    n_out = g.shape[axis]
    lead = (slice(None),) * axis
    if n_src and counts.min() == counts.max() and counts[0] > 0:
        # An integer factor: every source has the same run length r, so r strided slices.
        r = int(counts[0])
        acc = g[lead + (slice(0, None, r),)].copy()
        for k in range(1, r):
            acc += g[lead + (slice(k, None, r),)]
        return acc
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    shape = [1] * g.ndim
    shape[axis] = n_src
    out_shape = list(g.shape)
    out_shape[axis] = n_src
    acc = xp.zeros(tuple(out_shape), dtype=g.dtype)
    for r in range(int(counts.max(initial=0))):
        term = xp.take(g, xp.asarray(np.minimum(starts + r, max(n_out - 1, 0))), axis=axis)
        if r >= counts.min():  # some runs are shorter than r + 1: mask them out
            term *= xp.asarray((r < counts).reshape(shape)).astype(g.dtype)
        acc += term
    return acc


def upsample_nearest1d_forward(xp, x, *, target_size):
    """(b, c, l) -> (b, c, target_size), nearest neighbour by Candle's index rule."""
    check_upsample("upsample_nearest1d", x.shape, (target_size,))
    return xp.take(x, xp.asarray(nearest_indices(x.shape[2], target_size)), axis=2)


def upsample_nearest1d_backward(xp, g, out, x, *, target_size):
    """Each source gets the sum of the gradients it was copied to (any scale factor)."""
    gc = widen(xp, g)
    gx = _segment_sum(xp, gc, nearest_indices(x.shape[2], target_size), x.shape[2], 2)
    return (_down(gx, g.dtype),)


def upsample_nearest2d_forward(xp, x, *, target_h, target_w):
    """(b, c, h, w) -> (b, c, target_h, target_w), nearest neighbour by Candle's rule."""
    check_upsample("upsample_nearest2d", x.shape, (target_h, target_w))
    ih = xp.asarray(nearest_indices(x.shape[2], target_h))
    iw = xp.asarray(nearest_indices(x.shape[3], target_w))
    return xp.take(xp.take(x, ih, axis=2), iw, axis=3)


def upsample_nearest2d_backward(xp, g, out, x, *, target_h, target_w):
    """Sums gradients back into their source pixels (any, even non-uniform, scale factors)."""
    h, w = x.shape[2:]
    gc = widen(xp, g)
    gx = _segment_sum(xp, gc, nearest_indices(w, target_w), w, 3)
    gx = _segment_sum(xp, gx, nearest_indices(h, target_h), h, 2)
    return (_down(gx, g.dtype),)


def _lerp_axis(xp, a, taps, axis):
    i0, i1, lam = taps
    shape = [1] * a.ndim
    shape[axis] = len(lam)
    lam = xp.asarray(lam.reshape(shape)).astype(a.dtype)
    lo = xp.take(a, xp.asarray(i0), axis=axis)
    hi = xp.take(a, xp.asarray(i1), axis=axis)
    lo *= 1 - lam
    hi *= lam
    lo += hi
    return lo


def upsample_bilinear2d_forward(
    xp, x, *, target_h, target_w, align_corners=False, scale_h=None, scale_w=None
):
    """Bilinear resize of (b, c, h, w) to (target_h, target_w), PyTorch-compatible.

    ``scale_h`` / ``scale_w`` are the user's scale factors of
    ``upsample_bilinear2d_with_scale`` (they set the source step when align_corners is off).
    Taps and weights are computed in f64 as Candle's CPU kernel, then the blend runs in the
    input's float dtype (f32 for f16/bf16), along w then h. Same-size input is returned as a
    copy whatever the other arguments, as Candle.
    """
    check_upsample("upsample_bilinear2d", x.shape, (target_h, target_w))
    h, w = x.shape[2:]
    if (h, w) == (target_h, target_w):
        return x.copy()
    a = widen(xp, x) if x.dtype.kind == "f" or is_half(x.dtype) else x.astype(xp.float64)
    a = _lerp_axis(xp, a, bilinear_taps(w, target_w, align_corners, scale_w), 3)
    a = _lerp_axis(xp, a, bilinear_taps(h, target_h, align_corners, scale_h), 2)
    return _down(a, x.dtype)


def _lerp_axis_adjoint(xp, g, taps, n_src, axis):
    i0, i1, lam = taps
    shape = [1] * g.ndim
    shape[axis] = len(lam)
    lam = xp.asarray(lam.reshape(shape)).astype(g.dtype)
    g1 = g * lam
    return _segment_sum(xp, g - g1, i0, n_src, axis) + _segment_sum(xp, g1, i1, n_src, axis)


def upsample_bilinear2d_backward(
    xp, g, out, x, *, target_h, target_w, align_corners=False, scale_h=None, scale_w=None
):
    """Adjoint of the (linear) resize; Candle has no backward for it."""
    h, w = x.shape[2:]
    if (h, w) == (target_h, target_w):
        return (g,)
    gc = widen(xp, g)
    gx = _lerp_axis_adjoint(xp, gc, bilinear_taps(h, target_h, align_corners, scale_h), h, 2)
    gx = _lerp_axis_adjoint(xp, gx, bilinear_taps(w, target_w, align_corners, scale_w), w, 3)
    return (_down(gx, g.dtype),)


# ---------------------------------------------------------------------------------------------
# The op table

AVG_POOL2D = Primitive("avg_pool2d", avg_pool2d_forward, avg_pool2d_backward)
MAX_POOL2D = Primitive("max_pool2d", max_pool2d_forward, max_pool2d_backward)
UPSAMPLE_NEAREST1D = Primitive(
    "upsample_nearest1d", upsample_nearest1d_forward, upsample_nearest1d_backward
)
UPSAMPLE_NEAREST2D = Primitive(
    "upsample_nearest2d", upsample_nearest2d_forward, upsample_nearest2d_backward
)
UPSAMPLE_BILINEAR2D = Primitive(
    "upsample_bilinear2d", upsample_bilinear2d_forward, upsample_bilinear2d_backward
)
