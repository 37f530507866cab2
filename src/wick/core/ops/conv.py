"""Convolution, pooling and upsampling primitives on raw backend arrays.

Convolutions are im2col: a strided window view of the (zero-padded) input, copied once into a
column matrix and contracted with the kernel in one batched matmul (one batch entry per group).
The input gradient of a convolution is the forward of a transposed convolution and the reverse
(col2im: one strided slice-add per kernel tap), so both directions share the same three helpers.

Every ``check_*`` helper validates shapes and parameters, raises wick errors worded as Candle's,
and returns the output shape; the forwards call them too, so raw use is checked as well.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..errors import Msg, UnexpectedNumberOfDims
from . import Primitive


def _fmt(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _low_precision(dtype) -> bool:
    """f16 and bf16: computed in f32 (no BLAS for them on the CPU) and cast back."""
    return dtype.itemsize == 2 and (dtype.kind == "f" or dtype.name == "bfloat16")


def _up(xp, a):
    return a.astype(xp.float32) if _low_precision(a.dtype) else a


def _down(a, dtype):
    return a if a.dtype == dtype else a.astype(dtype)


def _rank(shape, n: int, op: str | None = None) -> None:
    if len(shape) != n:
        raise UnexpectedNumberOfDims(n, len(shape), shape, op)


def _at_least(op: str, minimum: int, values: dict) -> None:
    """Candle takes these as ``usize``: reject floats and values below ``minimum``."""
    for name, v in values.items():
        try:
            v_int = operator.index(v)
        except TypeError:
            raise Msg(f"{op}: {name} must be an integer, got {v!r}") from None
        if v_int < minimum:
            raise Msg(f"{op}: {name} must be at least {minimum}, got {v}")


def _positive(op: str, **values) -> None:
    _at_least(op, 1, values)


def _non_negative(op: str, **values) -> None:
    _at_least(op, 0, values)


# ---------------------------------------------------------------------------------------------
# Output sizes


def conv_out_len(l_in: int, k: int, padding: int, stride: int, dilation: int) -> int:
    """Output length of a convolution along one axis (Candle's ``l_out``); may be <= 0."""
    span = l_in + 2 * padding - dilation * (k - 1) - 1
    return span // stride + 1 if span >= 0 else 0


def conv_transpose_out_len(l_in, k, padding, output_padding, stride, dilation) -> int:
    """Output length of a transposed convolution along one axis."""
    return (l_in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1


def conv1d_out_len(l_in, k, padding=0, stride=1, dilation=1) -> int:
    """Alias of :func:`conv_out_len` for 1D convolutions."""
    return conv_out_len(l_in, k, padding, stride, dilation)


def conv2d_out_hw(h, w, k_h, k_w, padding=0, stride=1, dilation=1) -> tuple[int, int]:
    """Output (height, width) of a 2D convolution."""
    return (
        conv_out_len(h, k_h, padding, stride, dilation),
        conv_out_len(w, k_w, padding, stride, dilation),
    )


def pool_out_len(l_in: int, k: int, stride: int) -> int:
    """Output length of a pooling window (no padding, floor), as Candle."""
    return (l_in - k) // stride + 1


def bilinear_scaled_hw(h: int, w: int, scale_h: float, scale_w: float) -> tuple[int, int]:
    """Target size of ``upsample_bilinear2d_with_scale``: floor(size * scale), as PyTorch."""
    return math.floor(h * scale_h), math.floor(w * scale_w)


# ---------------------------------------------------------------------------------------------
# Validation


def check_conv1d(x_shape, k_shape, padding, stride, dilation, groups) -> tuple:
    """Validates a conv1d and returns its output shape."""
    _rank(k_shape, 3, "conv1d kernel")
    _rank(x_shape, 3, "conv1d input")
    _positive("conv1d", stride=stride, dilation=dilation, groups=groups)
    _non_negative("conv1d", padding=padding)
    (b, c_in, l_in), (c_out, c_in_k, k) = x_shape, k_shape
    if c_out % groups:
        raise Msg(
            f"conv1d: out_channel {c_out} is not divisible by the number of groups "
            f"{groups}, inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}"
        )
    if c_in != c_in_k * groups:
        raise Msg(
            "conv1d invalid args the number of in-channels on the input doesn't match the "
            f"kernel size (groups {groups}): inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}, "
            f"pad: {padding}, stride: {stride}"
        )
    l_out = conv_out_len(l_in, k, padding, stride, dilation)
    if l_out <= 0:
        raise Msg(
            f"conv1d invalid args the kernel is larger than the padded input: "
            f"inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}, pad: {padding}, stride: {stride}, "
            f"dilation: {dilation}"
        )
    return (b, c_out, l_out)


def check_conv2d(x_shape, k_shape, padding, stride, dilation, groups) -> tuple:
    """Validates a conv2d and returns its output shape."""
    _rank(x_shape, 4, "conv2d input")
    _rank(k_shape, 4, "conv2d kernel")
    _positive("conv2d", stride=stride, dilation=dilation, groups=groups)
    _non_negative("conv2d", padding=padding)
    (b, c_in, h, w), (c_out, c_in_k, k_h, k_w) = x_shape, k_shape
    if c_out % groups:
        raise Msg(
            f"conv2d: out_channel {c_out} is not divisible by the number of groups "
            f"{groups}, inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}"
        )
    if c_in != c_in_k * groups:
        raise Msg(
            f"conv2d: in_channel mismatch between input ({c_in}, groups {groups}) and kernel "
            f"({c_in_k}), inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}"
        )
    h_out, w_out = conv2d_out_hw(h, w, k_h, k_w, padding, stride, dilation)
    if h_out <= 0 or w_out <= 0:
        raise Msg(
            f"conv2d: the kernel is larger than the padded input, inp: {_fmt(x_shape)}, "
            f"k: {_fmt(k_shape)}, padding: {padding}, dilation: {dilation}"
        )
    return (b, c_out, h_out, w_out)


def _check_conv_transpose(
    op, nd, x_shape, k_shape, padding, output_padding, stride, dilation, groups
) -> tuple:
    _rank(x_shape, nd + 2, f"{op} input")
    _rank(k_shape, nd + 2, f"{op} kernel")
    _positive(op, stride=stride, dilation=dilation, groups=groups)
    _non_negative(op, padding=padding, output_padding=output_padding)
    b, c_in = x_shape[:2]
    c_in_k, c_out = k_shape[:2]
    if c_in != c_in_k:
        raise Msg(
            f"{op}: in_channel mismatch between input ({c_in}) and kernel ({c_in_k}), "
            f"inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}"
        )
    if c_in % groups:
        raise Msg(
            f"{op}: in_channel {c_in} is not divisible by the number of groups {groups}, "
            f"inp: {_fmt(x_shape)}, k: {_fmt(k_shape)}"
        )
    sizes = tuple(
        conv_transpose_out_len(
            x_shape[2 + i], k_shape[2 + i], padding, output_padding, stride, dilation
        )
        for i in range(nd)
    )
    if min(sizes) <= 0:
        raise Msg(
            f"{op}: empty output {_fmt(sizes)} for inp: {_fmt(x_shape)}, "
            f"k: {_fmt(k_shape)}, padding: {padding}"
        )
    return (b, c_out * groups, *sizes)


def check_conv_transpose1d(
    x_shape, k_shape, padding, output_padding, stride, dilation, groups
) -> tuple:
    """Validates a conv_transpose1d (kernel (c_in, c_out/groups, k)); returns its output shape."""
    return _check_conv_transpose(
        "conv_transpose1d", 1, x_shape, k_shape, padding, output_padding, stride, dilation, groups
    )


def check_conv_transpose2d(
    x_shape, k_shape, padding, output_padding, stride, dilation, groups=1
) -> tuple:
    """Validates a conv_transpose2d (kernel (c_in, c_out/groups, kh, kw)); returns its shape."""
    return _check_conv_transpose(
        "conv_transpose2d", 2, x_shape, k_shape, padding, output_padding, stride, dilation, groups
    )


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
# Convolution core, n spatial dims (1 or 2), groups handled by a group axis


def _pad(xp, x, padding: int):
    if padding == 0:
        return x
    return xp.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * (x.ndim - 2))


def _windows(xp, x, k_sizes, out_sizes, stride, dilation):
    """View (b, c, *out, *k) of the sliding windows of x (already padded); no copy."""
    sp = x.strides[2:]
    return xp.lib.stride_tricks.as_strided(
        x,
        shape=(*x.shape[:2], *out_sizes, *k_sizes),
        strides=(*x.strides[:2], *(s * stride for s in sp), *(s * dilation for s in sp)),
    )


def _cols(xp, x, k_sizes, out_sizes, padding, stride, dilation, groups, for_kernel=False):
    """im2col of x: (g, b, C*K, L), or (g, C*K, b*L) for the kernel gradient."""
    nd = len(k_sizes)
    b, c = x.shape[:2]
    win = _windows(xp, _pad(xp, x, padding), k_sizes, out_sizes, stride, dilation)
    win = win.reshape(b, groups, c // groups, *win.shape[2:])  # a view: splits the c axis
    sp_out = tuple(range(3, 3 + nd))
    sp_k = tuple(range(3 + nd, 3 + 2 * nd))
    ck = (c // groups) * math.prod(k_sizes)
    n_out = math.prod(out_sizes)  # explicit sizes, not -1: b may be 0
    if for_kernel:
        return win.transpose(1, 2, *sp_k, 0, *sp_out).reshape(groups, ck, b * n_out)
    return win.transpose(1, 0, 2, *sp_k, *sp_out).reshape(groups, b, ck, n_out)


def _conv(xp, x, w, padding, stride, dilation, groups, out_sizes=None):
    """Cross-correlation of x (b, c_in, *S) with w (c_out, c_in/g, *K) -> (b, c_out, *O)."""
    nd = x.ndim - 2
    k_sizes = w.shape[2:]
    if out_sizes is None:
        out_sizes = tuple(
            conv_out_len(x.shape[2 + i], k_sizes[i], padding, stride, dilation) for i in range(nd)
        )
    dtype = x.dtype
    x, w = _up(xp, x), _up(xp, w)
    cols = _cols(xp, x, k_sizes, out_sizes, padding, stride, dilation, groups)
    wm = w.reshape(groups, 1, w.shape[0] // groups, math.prod(w.shape[1:]))  # (g, 1, o, C*K)
    out = wm @ cols  # (g, b, o, L): one GEMM per (group, batch) entry
    out = out.transpose(1, 0, 2, 3).reshape(x.shape[0], w.shape[0], *out_sizes)
    return _down(xp.ascontiguousarray(out), dtype)


def _conv_input_grad(xp, gy, w, in_sizes, padding, stride, dilation, groups):
    """Transpose of :func:`_conv` w.r.t. its input (col2im): gy (b, c_out, *O) -> (b, c_in, *S)."""
    nd = gy.ndim - 2
    k_sizes = w.shape[2:]
    out_sizes = gy.shape[2:]
    b, c_out = gy.shape[:2]
    c_g = w.shape[1]
    dtype = gy.dtype
    gy, w = _up(xp, gy), _up(xp, w)
    o_g, n_out = c_out // groups, math.prod(out_sizes)
    wm = w.reshape(groups, o_g, math.prod(w.shape[1:])).transpose(0, 2, 1)[:, None]  # (g,1,CK,o)
    gm = gy.reshape(b, groups, o_g, n_out).transpose(1, 0, 2, 3)  # (g, b, o, L)
    cols = (wm @ gm).reshape(groups, b, c_g, *k_sizes, *out_sizes)
    cols = cols.transpose(1, 0, 2, *range(3, 3 + 2 * nd))  # (b, g, c, *K, *O)
    padded = tuple(s + 2 * padding for s in in_sizes)
    dx = xp.zeros((b, groups, c_g, *padded), dtype=gy.dtype)
    for tap in np.ndindex(*k_sizes):
        dst = tuple(
            slice(t * dilation, t * dilation + stride * (o - 1) + 1, stride)
            for t, o in zip(tap, out_sizes)
        )
        dx[(Ellipsis, *dst)] += cols[(slice(None),) * 3 + tap]
    if padding:
        dx = dx[(Ellipsis, *(slice(padding, padding + s) for s in in_sizes))]
    return _down(xp.ascontiguousarray(dx.reshape(b, groups * c_g, *in_sizes)), dtype)


def _conv_kernel_grad(xp, x, gy, k_sizes, padding, stride, dilation, groups):
    """Gradient of :func:`_conv` w.r.t. its kernel: -> (c_out, c_in/g, *K)."""
    b, c_out = gy.shape[:2]
    dtype = gy.dtype
    x, gy = _up(xp, x), _up(xp, gy)
    cols = _cols(
        xp, x, k_sizes, gy.shape[2:], padding, stride, dilation, groups, for_kernel=True
    )  # (g, C*K, b*L)
    o_g, n_out = c_out // groups, math.prod(gy.shape[2:])
    gm = gy.reshape(b, groups, o_g, n_out).transpose(1, 2, 0, 3)
    gm = gm.reshape(groups, o_g, b * n_out)  # (g, o, b*L)
    dw = gm @ cols.transpose(0, 2, 1)  # (g, o, C*K)
    return _down(dw.reshape(c_out, x.shape[1] // groups, *k_sizes), dtype)


# ---------------------------------------------------------------------------------------------
# conv1d / conv2d


def conv1d_forward(xp, x, kernel, *, padding=0, stride=1, dilation=1, groups=1):
    """x (b, c_in, l), kernel (c_out, c_in/groups, k) -> (b, c_out, l_out)."""
    check_conv1d(x.shape, kernel.shape, padding, stride, dilation, groups)
    return _conv(xp, x, kernel, padding, stride, dilation, groups)


def conv2d_forward(xp, x, kernel, *, padding=0, stride=1, dilation=1, groups=1):
    """x (b, c_in, h, w), kernel (c_out, c_in/groups, kh, kw) -> (b, c_out, h_out, w_out)."""
    check_conv2d(x.shape, kernel.shape, padding, stride, dilation, groups)
    return _conv(xp, x, kernel, padding, stride, dilation, groups)


def conv_backward(xp, g, out, x, kernel, *, padding=0, stride=1, dilation=1, groups=1):
    """Gradients of conv1d / conv2d w.r.t. the input and the kernel."""
    gx = _conv_input_grad(xp, g, kernel, x.shape[2:], padding, stride, dilation, groups)
    gk = _conv_kernel_grad(xp, x, g, kernel.shape[2:], padding, stride, dilation, groups)
    return gx, gk


# ---------------------------------------------------------------------------------------------
# conv_transpose1d / conv_transpose2d: the input gradient of a conv, and back


def _conv_transpose(xp, x, kernel, padding, output_padding, stride, dilation, groups):
    k_sizes = kernel.shape[2:]
    sizes = tuple(
        conv_transpose_out_len(x.shape[2 + i], k, padding, output_padding, stride, dilation)
        for i, k in enumerate(k_sizes)
    )
    return _conv_input_grad(xp, x, kernel, sizes, padding, stride, dilation, groups)


def conv_transpose1d_forward(
    xp, x, kernel, *, padding=0, output_padding=0, stride=1, dilation=1, groups=1
):
    """x (b, c_in, l), kernel (c_in, c_out/groups, k) -> (b, c_out, l_out)."""
    check_conv_transpose1d(x.shape, kernel.shape, padding, output_padding, stride, dilation, groups)
    return _conv_transpose(xp, x, kernel, padding, output_padding, stride, dilation, groups)


def conv_transpose2d_forward(
    xp, x, kernel, *, padding=0, output_padding=0, stride=1, dilation=1, groups=1
):
    """x (b, c_in, h, w), kernel (c_in, c_out/groups, kh, kw) -> (b, c_out, h_out, w_out).

    Candle's conv_transpose2d has no groups argument; ``groups`` here defaults to 1.
    """
    check_conv_transpose2d(x.shape, kernel.shape, padding, output_padding, stride, dilation, groups)
    return _conv_transpose(xp, x, kernel, padding, output_padding, stride, dilation, groups)


def conv_transpose_backward(
    xp, g, out, x, kernel, *, padding=0, output_padding=0, stride=1, dilation=1, groups=1
):
    """Gradients of conv_transpose1d / 2d (Candle has none for 1d; the math is the same)."""
    # The output region reached by output_padding may exceed what a conv of g maps back onto
    # x, so the conv output sizes are pinned to x's.
    gx = _conv(xp, g, kernel, padding, stride, dilation, groups, out_sizes=x.shape[2:])
    gk = _conv_kernel_grad(xp, g, x, kernel.shape[2:], padding, stride, dilation, groups)
    return gx, gk


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
    xc = _up(xp, x) if x.dtype.kind == "f" or _low_precision(x.dtype) else x.astype(xp.float64)
    taps = list(_taps(kernel_size, stride, shape[2:]))
    acc = xc[taps[0]].copy()
    for sl in taps[1:]:
        acc += xc[sl]
    acc *= acc.dtype.type(1.0 / (kernel_size[0] * kernel_size[1]))
    return _down(acc, dtype)


def avg_pool2d_backward(xp, g, out, x, *, kernel_size, stride):
    """Each input gets g / (kh * kw) from every window containing it (any stride)."""
    gc = _up(xp, g)
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
    gc = _up(xp, g)
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
    gc = _up(xp, g)
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
    gc = _up(xp, g)
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
    a = _up(xp, x) if x.dtype.kind == "f" or _low_precision(x.dtype) else x.astype(xp.float64)
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
    gc = _up(xp, g)
    gx = _lerp_axis_adjoint(xp, gc, bilinear_taps(h, target_h, align_corners, scale_h), h, 2)
    gx = _lerp_axis_adjoint(xp, gx, bilinear_taps(w, target_w, align_corners, scale_w), w, 3)
    return (_down(gx, g.dtype),)


# ---------------------------------------------------------------------------------------------
# The op table

CONV1D = Primitive("conv1d", conv1d_forward, conv_backward)
CONV2D = Primitive("conv2d", conv2d_forward, conv_backward)
CONV_TRANSPOSE1D = Primitive("conv_transpose1d", conv_transpose1d_forward, conv_transpose_backward)
CONV_TRANSPOSE2D = Primitive("conv_transpose2d", conv_transpose2d_forward, conv_transpose_backward)
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
