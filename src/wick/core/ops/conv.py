"""Convolution primitives on raw backend arrays: conv1d/2d and conv_transpose1d/2d.

Convolutions are im2col: a strided window view of the (zero-padded) input, copied once into a
column matrix and contracted with the kernel in one batched matmul (one batch entry per group).
The input gradient of a convolution is the forward of a transposed convolution and the reverse
(col2im: one strided slice-add per kernel tap), so both directions share the same three helpers.
Pooling and upsampling live in ``resample.py``, which shares this file's small check helpers.

Every ``check_*`` helper validates shapes and parameters, raises wick errors worded as Candle's,
and returns the output shape; the forwards call them too, so raw use is checked as well.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import backends
from ..errors import Msg, UnexpectedNumberOfDims
from . import Primitive
from .precision import widen


def _fmt(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


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


# ---------------------------------------------------------------------------------------------
# Convolution core, n spatial dims (1 or 2), groups handled by a group axis


def _pad(xp, x, padding: int):
    if padding == 0:
        return x
    return xp.pad(x, [(0, 0), (0, 0)] + [(padding, padding)] * (x.ndim - 2))


def _windows(xp, x, k_sizes, out_sizes, stride, dilation):
    """View (b, c, *out, *k) of the sliding windows of x (already padded); no copy."""
    sp = x.strides[2:]
    return backends.of(xp).as_strided(
        x,
        (*x.shape[:2], *out_sizes, *k_sizes),
        (*x.strides[:2], *(s * stride for s in sp), *(s * dilation for s in sp)),
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
    x, w = widen(xp, x), widen(xp, w)
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
    gy, w = widen(xp, gy), widen(xp, w)
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
    x, gy = widen(xp, x), widen(xp, gy)
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
# The op table

CONV1D = Primitive("conv1d", conv1d_forward, conv_backward)
CONV2D = Primitive("conv2d", conv2d_forward, conv_backward)
CONV_TRANSPOSE1D = Primitive("conv_transpose1d", conv_transpose1d_forward, conv_transpose_backward)
CONV_TRANSPOSE2D = Primitive("conv_transpose2d", conv_transpose2d_forward, conv_transpose_backward)
