"""Sweep cases for the conv, pool and resize primitives, with naive float64 references."""

from __future__ import annotations

import numpy as np
from op_sweep import ALL_FLOATS, check, distinct, rand


def np_conv(x, w, padding=0, stride=1, dilation=1, groups=1):
    """Cross-correlation over the trailing 1 or 2 dims, group by group."""
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0)] * 2 + [(padding, padding)] * nd)
    ks = w.shape[2:]
    spans = [dilation * (k - 1) + 1 for k in ks]
    win = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(2, 2 + nd)))
    win = win[(Ellipsis,) + tuple(slice(None, None, dilation) for _ in ks)]
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, stride) for _ in ks)]
    c_g, o_g = w.shape[1], w.shape[0] // groups
    outs = []
    for g in range(groups):
        xs = win[:, g * c_g : (g + 1) * c_g]
        ws = w[g * o_g : (g + 1) * o_g]
        sub = "bcxyKL,ocKL->boxy" if nd == 2 else "bcxK,ocK->box"
        outs.append(np.einsum(sub, xs, ws))
    return np.concatenate(outs, 1)


def np_conv_transpose(x, w, padding=0, output_padding=0, stride=1, dilation=1):
    """Scatter form (groups=1): each input position adds its weighted kernel to the output."""
    ks = w.shape[2:]
    full = [
        (n - 1) * stride + dilation * (k - 1) + 1 + output_padding for n, k in zip(x.shape[2:], ks)
    ]
    y = np.zeros((x.shape[0], w.shape[1], *full))
    for pos in np.ndindex(*x.shape[2:]):
        for tap in np.ndindex(*ks):
            dst = tuple(p * stride + t * dilation for p, t in zip(pos, tap))
            y[(slice(None), slice(None)) + dst] += np.einsum(
                "bc,co->bo", x[(..., *pos)], w[(..., *tap)]
            )
    crop = tuple(slice(padding, n - padding) for n in full)
    return y[(slice(None), slice(None)) + crop]


def case_conv1d():
    x, k = rand(2, 4, 9), rand(6, 2, 3)
    f = lambda t, w: t.conv1d(w, padding=1, stride=2, groups=2)
    check(f, lambda a, b: np_conv(a, b, 1, 2, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv1d(w, padding=0, stride=1, dilation=2)
    check(f, lambda a, b: np_conv(a, b, 0, 1, 2), [x, rand(3, 4, 3)])


def case_conv2d():
    x, k = rand(2, 2, 5, 6), rand(3, 2, 3, 2)
    f = lambda t, w: t.conv2d(w, padding=1, stride=2, dilation=1)
    check(f, lambda a, b: np_conv(a, b, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv2d(w, dilation=2, groups=2)
    check(f, lambda a, b: np_conv(a, b, 0, 1, 2, 2), [x, rand(4, 1, 2, 2)])


def case_conv_transpose1d():
    x, k = rand(2, 3, 5), rand(3, 2, 3)
    f = lambda t, w: t.conv_transpose1d(w, padding=1, output_padding=1, stride=2)
    check(f, lambda a, b: np_conv_transpose(a, b, 1, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv_transpose1d(w, dilation=2)
    check(f, lambda a, b: np_conv_transpose(a, b, dilation=2), [x, k])


def case_conv_transpose2d():
    x, k = rand(1, 2, 3, 4), rand(2, 3, 3, 2)
    f = lambda t, w: t.conv_transpose2d(w, padding=1, stride=2)
    check(f, lambda a, b: np_conv_transpose(a, b, 1, 0, 2), [x, k], dtypes=ALL_FLOATS)


def np_pool(x, kh, kw, sh, sw, reduce):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return reduce(win, axis=(-2, -1))


def case_avg_pool2d():
    x = rand(2, 3, 4, 6)
    check(lambda t: t.avg_pool2d((2, 3)), lambda a: np_pool(a, 2, 3, 2, 3, np.mean), [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    f = lambda t: t.avg_pool2d_with_stride(2, 1)
    check(f, lambda a: np_pool(a, 2, 2, 1, 1, np.mean), [x])


def case_max_pool2d():
    x = distinct(2, 3, 4, 6)
    check(lambda t: t.max_pool2d(2), lambda a: np_pool(a, 2, 2, 2, 2, np.max), [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    f = lambda t: t.max_pool2d_with_stride((3, 2), (1, 2))
    check(f, lambda a: np_pool(a, 3, 2, 1, 2, np.max), [x])


def _nearest(n_in, n_out):
    return [min(n_in - 1, int(i * n_in / n_out)) for i in range(n_out)]


def case_upsample_nearest1d():
    x = rand(2, 3, 4)
    check(lambda t: t.upsample_nearest1d(7), lambda a: a[..., _nearest(4, 7)], [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    check(lambda t: t.interpolate1d(3), lambda a: a[..., _nearest(4, 3)], [x])


def case_upsample_nearest2d():
    x = rand(1, 2, 3, 4)
    ref = lambda a: a[:, :, _nearest(3, 5)][..., _nearest(4, 8)]
    check(lambda t: t.upsample_nearest2d(5, 8), ref, [x], dtypes=ALL_FLOATS)


def np_bilinear(x, oh, ow, align_corners):
    def taps(n_in, n_out):
        o = np.arange(n_out, dtype=np.float64)
        if align_corners:
            src = o * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            src = np.maximum((o + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    h0, h1, lh = taps(x.shape[2], oh)
    w0, w1, lw = taps(x.shape[3], ow)
    rows = x[:, :, h0] * (1 - lh)[:, None] + x[:, :, h1] * lh[:, None]
    return rows[..., w0] * (1 - lw) + rows[..., w1] * lw


def case_upsample_bilinear2d():
    x = rand(2, 2, 3, 4)
    for align in (False, True):
        f = lambda t, align=align: t.upsample_bilinear2d(5, 7, align)
        check(f, lambda a, align=align: np_bilinear(a, 5, 7, align), [x], dtypes=ALL_FLOATS)
    check(lambda t: t.upsample_bilinear2d(2, 3), lambda a: np_bilinear(a, 2, 3, False), [x])


CONV_CASES = {
    "conv1d": case_conv1d,
    "conv2d": case_conv2d,
    "conv_transpose1d": case_conv_transpose1d,
    "conv_transpose2d": case_conv_transpose2d,
    "avg_pool2d": case_avg_pool2d,
    "max_pool2d": case_max_pool2d,
    "upsample_nearest1d": case_upsample_nearest1d,
    "upsample_nearest2d": case_upsample_nearest2d,
    "upsample_bilinear2d": case_upsample_bilinear2d,
}
