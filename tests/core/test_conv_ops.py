"""Raw-array tests of the conv / pool / upsample primitives: naive float64 references and
central finite differences. Candle's own cases are ported at the Tensor level in
tests/core/candle/test_conv.py and test_pool.py."""

from __future__ import annotations

import itertools

import numpy
import pytest

from wick.core.errors import Msg, UnexpectedNumberOfDims
from wick.core.ops import conv, resample

np = numpy
RNG = np.random.default_rng(1234)


# --------------------------------------------------------------------------------------------
# Naive float64 references


def ref_conv(x, w, padding, stride, dilation, groups):
    """Direct cross-correlation, looping over output positions and taps."""
    nd = x.ndim - 2
    b, _c_in = x.shape[:2]
    c_out, c_g = w.shape[:2]
    o_g = c_out // groups
    ks = w.shape[2:]
    outs = [
        (x.shape[2 + i] + 2 * padding - dilation * (ks[i] - 1) - 1) // stride + 1 for i in range(nd)
    ]
    y = np.zeros((b, c_out, *outs))
    for pos in itertools.product(*[range(o) for o in outs]):
        for tap in itertools.product(*[range(k) for k in ks]):
            src = [p * stride + t * dilation - padding for p, t in zip(pos, tap)]
            if any(s < 0 or s >= x.shape[2 + i] for i, s in enumerate(src)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * c_g, (g + 1) * c_g), *src)]  # (b, c_g)
                ws = w[(slice(g * o_g, (g + 1) * o_g), slice(None), *tap)]  # (o_g, c_g)
                y[(slice(None), slice(g * o_g, (g + 1) * o_g), *pos)] += xs @ ws.T
    return y


def ref_conv_transpose(x, w, padding, output_padding, stride, dilation, groups):
    """Scatter form: every input position adds its kernel-weighted copy to the output."""
    nd = x.ndim - 2
    b, c_in = x.shape[:2]
    c_g_in = c_in // groups
    o_g = w.shape[1]
    ks = w.shape[2:]
    outs = [
        (x.shape[2 + i] - 1) * stride - 2 * padding + dilation * (ks[i] - 1) + output_padding + 1
        for i in range(nd)
    ]
    y = np.zeros((b, o_g * groups, *outs))
    for pos in itertools.product(*[range(s) for s in x.shape[2:]]):
        for tap in itertools.product(*[range(k) for k in ks]):
            dst = [p * stride + t * dilation - padding for p, t in zip(pos, tap)]
            if any(d < 0 or d >= outs[i] for i, d in enumerate(dst)):
                continue
            for g in range(groups):
                xs = x[(slice(None), slice(g * c_g_in, (g + 1) * c_g_in), *pos)]
                ws = w[(slice(g * c_g_in, (g + 1) * c_g_in), slice(None), *tap)]
                y[(slice(None), slice(g * o_g, (g + 1) * o_g), *dst)] += xs @ ws
    return y


def ref_pool(x, kernel_size, stride, reduce):
    (kh, kw), (sh, sw) = kernel_size, stride
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    y = np.zeros((*x.shape[:2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw], axis=(2, 3))
    return y


def ref_nearest_index(n_in, n_out, dst):
    return min(n_in - 1, int(dst * (n_in / n_out)))


def ref_bilinear(x, oh, ow, align_corners, scale_h=None, scale_w=None):
    """Per-pixel port of the PyTorch bilinear rule (align_corners / scale_factor aware)."""
    b, c, h, w = x.shape
    if (h, w) == (oh, ow):
        return x.copy()

    def coord(o, n_in, n_out, sf):
        if align_corners:
            s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
            src = s * o
        else:
            s = 1.0 / sf if sf is not None else n_in / n_out
            src = s * (o + 0.5) - 0.5
        src = max(src, 0.0)
        i0 = min(int(src), n_in - 1)
        return i0, min(i0 + 1, n_in - 1), min(max(src - i0, 0.0), 1.0)

    y = np.zeros((b, c, oh, ow))
    for i in range(oh):
        h0, h1, lh = coord(i, h, oh, scale_h)
        for j in range(ow):
            w0, w1, lw = coord(j, w, ow, scale_w)
            top = x[:, :, h0, w0] * (1 - lw) + x[:, :, h0, w1] * lw
            bot = x[:, :, h1, w0] * (1 - lw) + x[:, :, h1, w1] * lw
            y[:, :, i, j] = top * (1 - lh) + bot * lh
    return y


# --------------------------------------------------------------------------------------------
# Finite differences


def fd_check(prim, arrays, params, n_dirs=3, eps=1e-6, tol=1e-6):
    """Compares backward against central differences of sum(out * G) along random directions."""
    arrays = [a.astype(np.float64) for a in arrays]
    out = prim.forward(np, *arrays, **params)
    g = RNG.standard_normal(out.shape)
    grads = prim.backward(np, g, out, *arrays, **params)
    assert len(grads) == len(arrays)
    for i, (a, ga) in enumerate(zip(arrays, grads)):
        assert ga.shape == a.shape
        for _ in range(n_dirs):
            v = RNG.standard_normal(a.shape)
            plus = [b if j != i else a + eps * v for j, b in enumerate(arrays)]
            minus = [b if j != i else a - eps * v for j, b in enumerate(arrays)]
            num = (
                np.sum(prim.forward(np, *plus, **params) * g)
                - np.sum(prim.forward(np, *minus, **params) * g)
            ) / (2 * eps)
            ana = np.sum(ga * v)
            assert abs(num - ana) <= tol * max(1.0, abs(num)), (i, num, ana)


def noncontig(a):
    """The same values as a, as a transposed (non-contiguous) view."""
    return np.ascontiguousarray(np.swapaxes(a, 0, -1)).swapaxes(0, -1)


# --------------------------------------------------------------------------------------------
# Convolutions

CONV1D_CASES = [
    # (b, c_in, l, c_out, k, padding, stride, dilation, groups)
    (1, 3, 9, 2, 3, 0, 1, 1, 1),
    (2, 4, 11, 6, 3, 1, 2, 1, 2),
    (3, 6, 13, 4, 2, 2, 3, 2, 2),
    (2, 3, 7, 3, 3, 1, 1, 3, 3),
    (2, 4, 10, 8, 1, 0, 2, 1, 4),
]


@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_forward_backward(case):
    b, c_in, l_in, c_out, k, p, s, d, g = case
    x = RNG.standard_normal((b, c_in, l_in))
    w = RNG.standard_normal((c_out, c_in // g, k))
    params = {"padding": p, "stride": s, "dilation": d, "groups": g}
    want = ref_conv(x, w, p, s, d, g)
    for xx, ww in [(x, w), (noncontig(x), noncontig(w))]:
        got = conv.CONV1D.forward(np, xx.astype(np.float32), ww.astype(np.float32), **params)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(conv.CONV1D.forward(np, xx, ww, **params), want, atol=1e-12)
    fd_check(conv.CONV1D, [x, w], params)


CONV2D_CASES = [
    # (b, c_in, h, w, c_out, kh, kw, padding, stride, dilation, groups)
    (1, 2, 5, 5, 3, 3, 3, 0, 1, 1, 1),
    (2, 4, 7, 6, 6, 3, 2, 1, 2, 1, 2),
    (2, 6, 9, 8, 3, 2, 3, 2, 3, 2, 3),
    (3, 3, 6, 7, 2, 1, 1, 0, 2, 1, 1),
    (1, 4, 8, 8, 4, 3, 3, 1, 1, 2, 4),
]


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_forward_backward(case):
    b, c_in, h, w_, c_out, kh, kw, p, s, d, g = case
    x = RNG.standard_normal((b, c_in, h, w_))
    w = RNG.standard_normal((c_out, c_in // g, kh, kw))
    params = {"padding": p, "stride": s, "dilation": d, "groups": g}
    want = ref_conv(x, w, p, s, d, g)
    flipped = x[..., ::-1]  # negative strides
    runs = [
        (x, w, want),
        (noncontig(x), noncontig(w), want),
        (flipped, w, ref_conv(np.ascontiguousarray(flipped), w, p, s, d, g)),
    ]
    for xx, ww, ref in runs:
        for dt in (np.float32, np.float64):
            got = conv.CONV2D.forward(np, xx.astype(dt, copy=False), ww.astype(dt), **params)
            assert got.dtype == dt and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    fd_check(conv.CONV2D, [x, w], params)
    fd_check(conv.CONV2D, [noncontig(x), noncontig(w)], params, n_dirs=1)


CONVT1D_CASES = [
    # (b, c_in, l, c_out_per_group, k, padding, output_padding, stride, dilation, groups)
    (1, 4, 5, 2, 3, 0, 0, 1, 1, 1),
    (2, 4, 6, 3, 3, 1, 1, 2, 1, 2),
    (2, 6, 5, 1, 4, 2, 1, 3, 2, 3),
    (1, 2, 4, 2, 2, 0, 2, 3, 3, 1),
]


@pytest.mark.parametrize("case", CONVT1D_CASES)
def test_conv_transpose1d_forward_backward(case):
    b, c_in, l_in, o_g, k, p, op, s, d, g = case
    x = RNG.standard_normal((b, c_in, l_in))
    w = RNG.standard_normal((c_in, o_g, k))
    params = {"padding": p, "output_padding": op, "stride": s, "dilation": d, "groups": g}
    want = ref_conv_transpose(x, w, p, op, s, d, g)
    for xx, ww in [(x, w), (noncontig(x), noncontig(w))]:
        got = conv.CONV_TRANSPOSE1D.forward(
            np, xx.astype(np.float32), ww.astype(np.float32), **params
        )
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    fd_check(conv.CONV_TRANSPOSE1D, [x, w], params)


CONVT2D_CASES = [
    # (b, c_in, h, w, c_out_per_group, kh, kw, padding, output_padding, stride, dilation, groups)
    (1, 4, 3, 3, 2, 3, 3, 0, 0, 1, 1, 1),
    (2, 3, 4, 5, 2, 2, 3, 1, 1, 2, 1, 1),
    (1, 4, 7, 5, 2, 3, 5, 4, 2, 3, 3, 1),
    (2, 4, 3, 4, 3, 3, 2, 1, 0, 2, 2, 2),
]


@pytest.mark.parametrize("case", CONVT2D_CASES)
def test_conv_transpose2d_forward_backward(case):
    b, c_in, h, w_, o_g, kh, kw, p, op, s, d, g = case
    x = RNG.standard_normal((b, c_in, h, w_))
    w = RNG.standard_normal((c_in, o_g, kh, kw))
    params = {"padding": p, "output_padding": op, "stride": s, "dilation": d, "groups": g}
    want = ref_conv_transpose(x, w, p, op, s, d, g)
    for xx, ww in [(x, w), (noncontig(x), noncontig(w))]:
        got = conv.CONV_TRANSPOSE2D.forward(
            np, xx.astype(np.float32), ww.astype(np.float32), **params
        )
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    fd_check(conv.CONV_TRANSPOSE2D, [x, w], params)


def test_conv_low_precision_dtypes():
    import ml_dtypes

    x = RNG.standard_normal((2, 4, 6, 6))
    w = RNG.standard_normal((4, 2, 3, 3))
    want = ref_conv(x, w, 1, 1, 1, 2)
    for dt, tol in [(np.float16, 2e-2), (np.dtype(ml_dtypes.bfloat16), 1.5e-1)]:
        got = conv.CONV2D.forward(
            np, x.astype(dt), w.astype(dt), padding=1, stride=1, dilation=1, groups=2
        )
        assert got.dtype == dt
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)
        gx, gw = conv.CONV2D.backward(
            np, got, got, x.astype(dt), w.astype(dt), padding=1, stride=1, dilation=1, groups=2
        )
        assert gx.dtype == dt and gw.dtype == dt


def test_conv_validation():
    x = np.zeros((1, 3, 5, 5), np.float32)
    with pytest.raises(Msg, match=r"conv2d.*\[1, 3, 5, 5\].*\[2, 4, 3, 3\]"):
        conv.CONV2D.forward(np, x, np.zeros((2, 4, 3, 3), np.float32))
    with pytest.raises(UnexpectedNumberOfDims):
        conv.CONV2D.forward(np, x[0], np.zeros((2, 3, 3, 3), np.float32))
    with pytest.raises(Msg, match="larger than the padded input"):
        conv.CONV2D.forward(np, x, np.zeros((2, 3, 6, 3), np.float32))
    x1 = np.zeros((1, 3, 5), np.float32)
    with pytest.raises(Msg, match="conv1d invalid args"):
        conv.CONV1D.forward(np, x1, np.zeros((2, 2, 3), np.float32), groups=1)
    with pytest.raises(Msg, match="out_channel 2 is not divisible"):
        conv.CONV1D.forward(np, x1, np.zeros((2, 1, 3), np.float32), groups=3)
    with pytest.raises(Msg, match="stride"):
        conv.CONV1D.forward(np, x1, np.zeros((2, 3, 3), np.float32), stride=0)
    with pytest.raises(Msg, match="in_channel mismatch"):
        conv.CONV_TRANSPOSE1D.forward(np, x1, np.zeros((2, 3, 3), np.float32))
    with pytest.raises(Msg, match="divisible"):
        conv.CONV_TRANSPOSE1D.forward(np, x1, np.zeros((3, 3, 3), np.float32), groups=2)
    assert conv.check_conv2d((8, 16, 32, 32), (32, 16, 3, 3), 1, 2, 1, 1) == (8, 32, 16, 16)
    assert conv.check_conv_transpose1d((1, 4, 5), (4, 2, 3), 0, 0, 1, 1, 2) == (1, 4, 7)
    assert conv.conv2d_out_hw(5, 7, 3, 3, padding=1, stride=2) == (3, 4)
    assert conv.conv1d_out_len(5, 3) == 3


# --------------------------------------------------------------------------------------------
# Pooling

POOL_CASES = [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((2, 3), (3, 1)), ((3, 3), (2, 2))]


@pytest.mark.parametrize("kernel_size,stride", POOL_CASES)
def test_pool_forward_backward(kernel_size, stride):
    x = RNG.standard_normal((2, 3, 7, 8))
    params = {"kernel_size": kernel_size, "stride": stride}
    for prim, red in [(resample.AVG_POOL2D, np.mean), (resample.MAX_POOL2D, np.max)]:
        want = ref_pool(x, kernel_size, stride, red)
        for xx in [x, noncontig(x)]:
            got = prim.forward(np, xx.astype(np.float32), **params)
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        fd_check(prim, [x], params)


def test_max_pool2d_ties_share_gradient():
    x = np.array([[[[1.0, 3.0, 0.0, 2.0], [3.0, 2.0, 1.0, 0.0]]]], np.float32)
    out = resample.MAX_POOL2D.forward(np, x, kernel_size=(2, 2), stride=(2, 2))
    np.testing.assert_array_equal(out, [[[[3.0, 2.0]]]])
    (gx,) = resample.MAX_POOL2D.backward(
        np, np.ones_like(out), out, x, kernel_size=(2, 2), stride=(2, 2)
    )
    np.testing.assert_array_equal(gx, [[[[0, 0.5, 0, 1], [0.5, 0, 0, 0]]]])


def test_pool_validation():
    with pytest.raises(Msg, match="kernel-size"):
        resample.AVG_POOL2D.forward(np, np.zeros((1, 1, 2, 5)), kernel_size=(3, 3), stride=(1, 1))
    with pytest.raises(UnexpectedNumberOfDims):
        resample.MAX_POOL2D.forward(np, np.zeros((1, 5, 5)), kernel_size=(2, 2), stride=(2, 2))


# --------------------------------------------------------------------------------------------
# Upsampling


@pytest.mark.parametrize("l_in,l_out", [(3, 12), (4, 7), (7, 3), (5, 5), (1, 4), (6, 13)])
def test_upsample_nearest1d(l_in, l_out):
    x = RNG.standard_normal((2, 3, l_in))
    got = resample.UPSAMPLE_NEAREST1D.forward(
        np, noncontig(x).astype(np.float32), target_size=l_out
    )
    idx = [ref_nearest_index(l_in, l_out, j) for j in range(l_out)]
    np.testing.assert_array_equal(got, x[:, :, idx].astype(np.float32))
    fd_check(resample.UPSAMPLE_NEAREST1D, [x], {"target_size": l_out})


@pytest.mark.parametrize("hw_in,hw_out", [((2, 3), (4, 6)), ((3, 3), (7, 5)), ((5, 4), (2, 9))])
def test_upsample_nearest2d(hw_in, hw_out):
    x = RNG.standard_normal((2, 3, *hw_in))
    params = {"target_h": hw_out[0], "target_w": hw_out[1]}
    got = resample.UPSAMPLE_NEAREST2D.forward(np, noncontig(x), **params)
    ih = [ref_nearest_index(hw_in[0], hw_out[0], j) for j in range(hw_out[0])]
    iw = [ref_nearest_index(hw_in[1], hw_out[1], j) for j in range(hw_out[1])]
    np.testing.assert_array_equal(got, x[:, :, ih][:, :, :, iw])
    fd_check(resample.UPSAMPLE_NEAREST2D, [x], params)


BILINEAR_CASES = [
    ((4, 4), (8, 8), False, None),
    ((8, 8), (4, 4), False, None),
    ((2, 2), (4, 4), True, None),
    ((4, 6), (8, 12), False, None),
    ((1, 1), (3, 3), False, None),
    ((1, 2), (3, 6), False, None),
    ((4, 4), (6, 6), False, (1.5, 1.5)),
    ((3, 5), (7, 4), True, None),
    ((4, 4), (8, 12), False, (2.0, 3.0)),
    ((5, 3), (1, 1), True, None),
    ((4, 4), (4, 4), False, None),
]


@pytest.mark.parametrize("hw_in,hw_out,align,scales", BILINEAR_CASES)
def test_upsample_bilinear2d(hw_in, hw_out, align, scales):
    x = RNG.standard_normal((2, 3, *hw_in))
    sh, sw = scales if scales else (None, None)
    params = {
        "target_h": hw_out[0],
        "target_w": hw_out[1],
        "align_corners": align,
        "scale_h": sh,
        "scale_w": sw,
    }
    want = ref_bilinear(x, *hw_out, align, sh, sw)
    got = resample.UPSAMPLE_BILINEAR2D.forward(np, noncontig(x).astype(np.float32), **params)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    fd_check(resample.UPSAMPLE_BILINEAR2D, [x], params)


def test_bilinear_scaled_hw():
    assert resample.bilinear_scaled_hw(4, 4, 1.5, 1.5) == (6, 6)
    assert resample.bilinear_scaled_hw(4, 4, 2.0, 3.0) == (8, 12)
    assert resample.bilinear_scaled_hw(2, 2, 5.0, 5.0) == (10, 10)


def test_upsample_validation():
    with pytest.raises(UnexpectedNumberOfDims):
        resample.UPSAMPLE_NEAREST2D.forward(np, np.zeros((1, 2, 3)), target_h=4, target_w=4)
    with pytest.raises(Msg, match="empty"):
        resample.UPSAMPLE_NEAREST1D.forward(np, np.zeros((1, 2, 0)), target_size=4)
