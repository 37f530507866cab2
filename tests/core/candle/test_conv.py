"""Port of Candle's candle-core/tests/conv_tests.rs, at the Tensor level (``Var`` + ``backward``).

Expected values are Candle's, compared after its ``to_vec*_round`` rounding (``conv_data.rnd``).

Not applicable:
- the ``_gpu`` (CUDA) and ``_metal`` variants that ``test_device!`` generates for every case: each
  case runs here once on ``Device.Cpu``, where Candle runs it too (the Metal-only remark in
  ``conv2d_grad``, "conv-transposes are not implemented for metal", does not apply on the CPU).
- no case in conv_tests.rs uses f16 or bf16, so there is no half-precision case to port.

Besides Candle's cases, the ``test_*_bad_args`` tests check that bad arguments raise ``wick.Error``
subclasses whose message names the op and the shapes (Candle's ``usize`` arguments cannot be
negative or fractional; in Python they must be rejected explicitly).

Rust-to-Python notes: ``Var::from_slice(&data, shape, dev)`` is ``Var.from_vec(data, shape, dev,
dtype=F32)``; ``t.i((.., .., 0..4, 0..4))`` is ``t[:, :, 0:4, 0:4]``.
"""

from __future__ import annotations

import pytest

import wick
from wick import DType, Tensor, Var

from .conv_data import (
    C1_RES,
    C1_RES_PAD,
    C1_T,
    C1_TR,
    C1_TR_G2,
    C1_W,
    C2_DIL,
    C2_RES,
    C2_T,
    C2_TR,
    C2_TR_DIL,
    C2_W,
    C2NS_RES,
    C2NS_T,
    C2NS_W,
    C2S_RES,
    C2S_RES_PAD,
    C2S_T,
    C2S_TR2_RES,
    C2S_W,
    CEQ_T,
    DEV,
    G_GRAD_T,
    G_GRAD_W,
    G_S2_GRAD_T,
    G_S2_GRAD_W0,
    G_SL_GRAD_T,
    G_SL_GRAD_W0,
    GT1_GRAD_T,
    GT1_GRAD_W,
    GT2_GRAD_T,
    GT2_GRAD_W,
    GT_T,
    GT_W,
    f32,
    new,
    rnd,
)


def var(values, shape) -> Var:
    """``Var::from_slice(&[..f32], shape, dev)``."""
    return Var.from_vec(list(values), shape, DEV, dtype=DType.F32)


def test_conv1d():
    t = new(C1_T, (1, 4, 5))
    w = new(C1_W, (2, 4, 3))
    res = t.conv1d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 2, 3]
    assert rnd(res.flatten_all(), 4) == f32(C1_RES)
    res = t.conv1d(w, 1, 1, 1, 1)  # padding 1
    assert res.dims() == [1, 2, 5]
    # Same as pytorch default padding: use zeros.
    assert rnd(res.flatten_all(), 4) == f32(C1_RES_PAD)
    tb = Tensor.cat([t.zeros_like(), t, t.zeros_like()], 0)
    res = tb.conv1d(w, 1, 1, 1, 1)
    assert res.dims() == [3, 2, 5]
    assert rnd(res[0].flatten_all(), 4) == f32([0.0] * 10)
    assert rnd(res[1].flatten_all(), 4) == f32(C1_RES_PAD)

    w_t = w.transpose(0, 1)
    # Candle's CPU kernels differ for contiguous and non-contiguous kernels; test both.
    assert not w_t.is_contiguous()
    for k in [w_t, w_t.contiguous()]:
        res = t.conv_transpose1d(k, 0, 0, 1, 1, 1)
        assert res.dims() == [1, 2, 7]
        assert rnd(res.flatten_all(), 4) == f32(C1_TR)
        res = t.conv_transpose1d(k, 0, 0, 1, 1, 2)
        assert res.dims() == [1, 4, 7]
        assert rnd(res.squeeze(0), 4) == f32(C1_TR_G2, (4, 7))


def test_conv1d_small():
    t = new([0.4056, -0.8689, -0.0773, -1.5630], (1, 1, 4))
    w = new([1.0, 0.0, 0.0], (1, 1, 3))
    res = t.conv1d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 1, 2]
    assert rnd(res.flatten_all(), 4) == f32([0.4056, -0.8689])
    res = t.conv1d(w, 1, 1, 1, 1)
    assert res.dims() == [1, 1, 4]
    assert rnd(res.flatten_all(), 4) == f32([0.0, 0.4056, -0.8689, -0.0773])


def test_conv2d():
    t = new(C2_T).reshape((1, 4, 5, 5))
    w = new(C2_W).reshape((2, 4, 3, 3))
    res = t.conv2d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 2, 3, 3]
    assert rnd(res.flatten_all(), 4) == f32(C2_RES)
    tb = Tensor.cat([t.zeros_like(), t, t.zeros_like()], 0)
    res = tb.conv2d(w, 0, 1, 1, 1)
    assert res.dims() == [3, 2, 3, 3]
    assert rnd(res[0].flatten_all(), 4) == f32([0.0] * 18)
    assert rnd(res[1].flatten_all(), 4) == f32(C2_RES)

    res = t.conv_transpose2d(w.transpose(0, 1), 0, 0, 1, 1)
    assert res.dims() == [1, 2, 7, 7]
    assert rnd(res[0], 4) == f32(C2_TR, (2, 7, 7))

    # Dilations.
    res = t.conv2d(w, 0, 1, 2, 1)
    assert res.dims() == [1, 2, 1, 1]
    assert rnd(res.flatten_all(), 4) == f32(C2_DIL)

    # Transpose and dilations.
    res = t.conv_transpose2d(w.transpose(0, 1), 0, 0, 1, 2)
    assert res.dims() == [1, 2, 9, 9]
    assert rnd(res[0], 4) == f32(C2_TR_DIL, (2, 9, 9))


def test_conv2d_small():
    t = new(C2S_T).reshape((1, 2, 3, 3))
    w = new(C2S_W).reshape((1, 2, 1, 1))
    res = t.conv2d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 1, 3, 3]
    assert rnd(res.flatten_all(), 4) == f32(C2S_RES)
    res = t.conv2d(w, 2, 1, 1, 1)
    assert res.dims() == [1, 1, 7, 7]
    assert rnd(res.flatten_all(), 4) == f32(C2S_RES_PAD)

    res = t.conv_transpose2d(w.transpose(0, 1), 0, 0, 1, 1)
    assert res.dims() == [1, 1, 3, 3]
    assert rnd(res.flatten_all(), 4) == f32(C2S_RES)
    res = t.transpose(0, 1).conv_transpose2d(w, 0, 0, 1, 1)
    assert res.dims() == [2, 2, 3, 3]
    assert rnd(res.flatten_all(), 4) == f32(C2S_TR2_RES)


def test_conv2d_smaller():
    t = new([0.4056, -0.8689, 0.6843, 0.2395, 1.2279, -0.9287, -1.7030, 0.1370, 0.1866])
    w = new([1.0] * 9)
    t = t.reshape((1, 1, 3, 3))
    w = w.reshape((1, 1, 3, 3))
    res = t.conv2d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 1, 1, 1]
    assert rnd(res.flatten_all(), 4) == f32([-0.6197])


def test_conv2d_non_square():
    t = new(C2NS_T).reshape((1, 2, 4, 2))
    w = new(C2NS_W).reshape((1, 2, 1, 1))
    res = t.conv2d(w, 0, 1, 1, 1)
    assert res.dims() == [1, 1, 4, 2]
    assert rnd(res.flatten_all(), 4) == f32(C2NS_RES)


def test_conv2d_grad():
    t = var(C2_T, (1, 4, 5, 5))
    w = var(C2_W, (2, 4, 3, 3))
    res = t.conv2d(w, 0, 1, 1, 1)
    loss = res.sqr().sum_all()
    assert rnd(loss, 2) == f32(741.12)
    grads = loss.backward()
    grad_t = grads.get(t)
    grad_w = grads.get(w)
    assert grad_t.dims() == [1, 4, 5, 5]
    assert grad_w.dims() == [2, 4, 3, 3]
    assert rnd(grad_t.flatten_all(), 2) == f32(G_GRAD_T)
    assert rnd(grad_w.flatten_all(), 2) == f32(G_GRAD_W)

    # Same as before but with stride.
    res = t.conv2d(w, 0, 2, 1, 1)
    loss = res.sqr().sum_all()
    assert rnd(loss, 2) == f32(277.16)
    grads = loss.backward()
    grad_t = grads.get(t)
    grad_w = grads.get(w)
    assert grad_t.dims() == [1, 4, 5, 5]
    assert grad_w.dims() == [2, 4, 3, 3]
    assert rnd(grad_t[0], 2) == f32(G_S2_GRAD_T, (4, 5, 5))
    assert rnd(grad_w[0], 2) == f32(G_S2_GRAD_W0, (4, 3, 3))

    # Replicate the issue from https://github.com/huggingface/candle/issues/1212
    res = t[:, :, 0:4, 0:4].conv2d(w, 0, 2, 1, 1)
    loss = res.sqr().sum_all()
    assert rnd(loss, 2) == f32(21.12)
    grads = loss.backward()
    grad_t = grads.get(t)
    grad_w = grads.get(w)
    assert grad_t.dims() == [1, 4, 5, 5]
    assert grad_w.dims() == [2, 4, 3, 3]
    assert rnd(grad_t[0], 2) == f32(G_SL_GRAD_T, (4, 5, 5))
    assert rnd(grad_w[0], 2) == f32(G_SL_GRAD_W0, (4, 3, 3))


def test_conv_transpose2d_grad():
    # The second half of Candle's conv2d_grad: t & w are new variables.
    padding, outpadding, dilation, stride = 4, 2, 3, 3
    t = var(GT_T, (1, 4, 7, 5))
    w = var(GT_W, (4, 2, 3, 5))
    res = t.conv_transpose2d(w, padding, outpadding, stride, dilation)
    loss = res.sqr().sum_all()
    assert rnd(loss, 0) == f32(2904.0)
    grads = loss.backward()
    grad_t = grads.get(t)
    grad_w = grads.get(w)
    assert grad_t.dims() == [1, 4, 7, 5]
    assert grad_w.dims() == [4, 2, 3, 5]
    # Candle's comments flag a few values where torch rounds differently; these are Candle's.
    assert rnd(grad_w.flatten_all(), 1) == f32(GT1_GRAD_W)
    assert rnd(grad_t[0], 1) == f32(GT1_GRAD_T, (4, 7, 5))

    # Test the same, but then with the following properties, t & w are unmodified.
    padding, outpadding, dilation, stride = 1, 1, 1, 2
    res = t.conv_transpose2d(w, padding, outpadding, stride, dilation)
    loss = res.sqr().sum_all()
    assert rnd(loss, 0) == f32(3627.0)  # torch gives 3626.8560
    grads = loss.backward()
    grad_t = grads.get(t)
    grad_w = grads.get(w)
    assert grad_t.dims() == [1, 4, 7, 5]
    assert grad_w.dims() == [4, 2, 3, 5]
    assert rnd(grad_t[0], 1) == f32(GT2_GRAD_T, (4, 7, 5))
    assert rnd(grad_w.flatten_all(), 1) == f32(GT2_GRAD_W)


def test_conv2d_c_eq_h_eq_w():
    # Regression test for https://github.com/huggingface/candle/issues/3404 (C_in == H == W).
    t = new(CEQ_T).reshape((1, 4, 4, 4))
    w = Tensor.ones((2, 4, 3, 3), DType.F32, DEV)
    res = t.conv2d(w, 1, 1, 1, 1)
    assert res.dims() == [1, 2, 4, 4]
    # Same all-ones kernel on both output channels: the channels must be identical.
    c0 = res[:, 0:1, :, :]
    c1 = res[:, 1:2, :, :]
    diff = c0.sub(c1).abs().flatten_all().max(0).to_scalar()
    assert diff < 1e-6, f"output channels should be identical, got diff={diff}"
    # With padding 1 the top-left output sums the visible 2x2 corner of all 4 channels.
    actual_corner = res[0, 0, 0, 0].to_scalar()
    assert abs(actual_corner - 1.4310) < 1e-3, f"top-left corner {actual_corner}, expected 1.4310"


def test_conv2d_grad_noncontiguous_kernel():
    # Regression test for https://github.com/huggingface/candle/issues/3735: a non-contiguous
    # kernel and its contiguous copy must produce identical forward results and gradients.
    input_data = [v * 0.1 for v in range(1, 33)]
    weight_data = [v * 0.1 for v in range(1, 13)]

    # Non-contiguous kernel: a channel slice of a larger weight, so it has a non-zero offset.
    inp = var(input_data, (1, 2, 4, 4))
    weight = var(weight_data, (3, 4, 1, 1))
    kernel = weight[:, 1:3, :, :]
    loss = inp.conv2d(kernel, 0, 2, 1, 1).sqr().sum_all()
    grads = loss.backward()
    grad_input = grads.get(inp)
    grad_weight = grads.get(weight)

    # Reference: the same logical kernel forced contiguous.
    inp_ref = var(input_data, (1, 2, 4, 4))
    weight_ref = var(weight_data, (3, 4, 1, 1))
    kernel_ref = weight_ref[:, 1:3, :, :].contiguous()
    loss_ref = inp_ref.conv2d(kernel_ref, 0, 2, 1, 1).sqr().sum_all()
    grads_ref = loss_ref.backward()
    grad_input_ref = grads_ref.get(inp_ref)
    grad_weight_ref = grads_ref.get(weight_ref)

    assert rnd(loss, 4) == rnd(loss_ref, 4)
    assert rnd(grad_input.flatten_all(), 4) == rnd(grad_input_ref.flatten_all(), 4)
    assert rnd(grad_weight.flatten_all(), 4) == rnd(grad_weight_ref.flatten_all(), 4)


# --------------------------------------------------------------------------------------------
# Bad arguments: wick.Error subclasses whose messages name the op and the shapes.


def _zeros(*shape) -> Tensor:
    return Tensor.zeros(shape, DType.F32, DEV)


def _raises(call, *fragments, error=wick.Error) -> None:
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_conv1d_bad_args():
    x, w = _zeros(1, 4, 5), _zeros(2, 4, 3)
    _raises(lambda: x.conv1d(_zeros(2, 3, 3)), "conv1d", "[1, 4, 5]", "[2, 3, 3]", error=wick.Msg)
    _raises(lambda: _zeros(1, 4, 2).conv1d(w), "conv1d", "[1, 4, 2]", "[2, 4, 3]")
    _raises(lambda: x.conv1d(_zeros(3, 2, 3), 0, 1, 1, 2), "conv1d", "[1, 4, 5]", "[3, 2, 3]")
    _raises(lambda: _zeros(4, 5).conv1d(w), "conv1d", "[4, 5]", error=wick.UnexpectedNumberOfDims)
    _raises(lambda: x.conv1d(_zeros(2, 4)), "conv1d", "[2, 4]", error=wick.UnexpectedNumberOfDims)
    _raises(lambda: x.conv1d(w, -1), "conv1d", "padding")
    _raises(lambda: x.conv1d(w, 1.5), "conv1d", "padding")
    _raises(lambda: x.conv1d(w, 0, 0), "conv1d", "stride")
    _raises(lambda: x.conv1d(w.to_dtype(DType.F64)), "conv1d", error=wick.DTypeMismatchBinaryOp)


def test_conv2d_bad_args():
    x, w = _zeros(1, 4, 5, 5), _zeros(2, 4, 3, 3)
    _raises(lambda: x.conv2d(_zeros(2, 3, 3, 3)), "conv2d", "[1, 4, 5, 5]", "[2, 3, 3, 3]")
    _raises(lambda: _zeros(1, 4, 2, 2).conv2d(w), "conv2d", "[1, 4, 2, 2]", "[2, 4, 3, 3]")
    _raises(
        lambda: _zeros(4, 5, 5).conv2d(w), "conv2d", "[4, 5, 5]", error=wick.UnexpectedNumberOfDims
    )
    _raises(lambda: x.conv2d(w, -1), "conv2d", "padding")
    _raises(lambda: x.conv2d(w, 0, 1, 0), "conv2d", "dilation")


def test_conv_transpose2d_bad_args():
    x, w = _zeros(1, 4, 5, 5), _zeros(4, 2, 3, 3)
    op = "conv_transpose2d"
    _raises(lambda: x.conv_transpose2d(_zeros(3, 2, 3, 3)), op, "[1, 4, 5, 5]", "[3, 2, 3, 3]")
    _raises(lambda: x.conv_transpose2d(w, 0, 0, 1, 1, 3), op, "[1, 4, 5, 5]", "[4, 2, 3, 3]")
    _raises(lambda: _zeros(1, 4, 1, 1).conv_transpose2d(_zeros(4, 2, 1, 1), 3), op, "[1, 4, 1, 1]")
    _raises(
        lambda: _zeros(4, 5, 5).conv_transpose2d(w),
        op,
        "[4, 5, 5]",
        error=wick.UnexpectedNumberOfDims,
    )
    _raises(lambda: x.conv_transpose2d(w, -1), op, "padding")
    _raises(lambda: x.conv_transpose2d(w, 0, -2), op, "output_padding")


def test_max_pool2d_bad_args():
    x = _zeros(1, 1, 2, 2)
    _raises(lambda: x.max_pool2d(3), "max_pool2d", "(3, 3)", "[1, 1, 2, 2]")
    _raises(lambda: _zeros(1, 2, 2).max_pool2d(2), "max_pool2d", "[1, 2, 2]")
    _raises(lambda: x.max_pool2d(0), "max_pool2d", "kernel")
    _raises(lambda: x.max_pool2d_with_stride(2, 0), "max_pool2d", "stride")
    _raises(lambda: _zeros(1, 1, 4, 4).max_pool2d((2, 2, 2)), "max_pool2d", "(2, 2, 2)")
