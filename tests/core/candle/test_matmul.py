"""Port of Candle's candle-core/tests/matmul_tests.rs (the CPU cases).

Not applicable:
- every ``*_gpu`` / ``*_metal`` variant: CUDA / Metal devices (and their mkl/accelerate/cuBLAS
  kernels); this file ports the ``*_cpu`` variants.
- ``zero_matmul_device_validation``: Candle returns early on the CPU (it needs a second device to
  build a cross-device matmul), so the CPU case asserts nothing.

Deviation: ``matmul_bf16`` returns early in Candle on the CPU (``supports_bf16()`` is false there);
wick computes BF16 matmuls on the CPU, so the case runs here with Candle's expected values, plus an
F16 twin of it.
"""

from __future__ import annotations

import pytest
from devices import bf16_refused

from wick import Device, DType, DTypeMismatchBinaryOp, ShapeMismatchBinaryOp, Tensor

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def test_matmul_cpu():
    a = Tensor.from_slice([1.0, 2.0, 3.0, 4.0], (2, 2), DEV, dtype=DType.F32)
    b = Tensor.from_slice([1.0, 2.0, 3.0, 4.0], (2, 2), DEV, dtype=DType.F32)
    c = a.matmul(b)
    assert c.dtype == DType.F32
    assert c.to_vec2() == [[7.0, 10.0], [15.0, 22.0]]
    assert (a @ b).to_vec2() == [[7.0, 10.0], [15.0, 22.0]]

    a = Tensor.from_slice([1.0, 2.0], (2, 1), DEV, dtype=DType.F32)
    b = Tensor.from_slice([3.0, 4.0], (1, 2), DEV, dtype=DType.F32)
    c = a.matmul(b)
    assert c.to_vec2() == [[3.0, 4.0], [6.0, 8.0]]

    a = Tensor.from_slice([float(i) for i in range(6)], (2, 3), DEV, dtype=DType.F32)
    b = Tensor.from_slice([float(i + 2) for i in range(6)], (3, 2), DEV, dtype=DType.F32)
    c = a.matmul(b)
    assert c.to_vec2() == [[16.0, 19.0], [52.0, 64.0]]

    a = Tensor.from_slice([float(i) for i in range(12)], (2, 2, 3), DEV, dtype=DType.F32)
    b = Tensor.from_slice([float(i + 2) for i in range(12)], (2, 3, 2), DEV, dtype=DType.F32)
    expected = [[[16.0, 19.0], [52.0, 64.0]], [[214.0, 235.0], [304.0, 334.0]]]
    c = a.matmul(b)
    assert c.to_vec3() == expected

    # Also perform the matmul on contiguous transposed versions.
    a_tt = a.t().contiguous().t()
    assert not a_tt.is_contiguous()
    assert a.dims() == a_tt.dims()
    assert a_tt.stride() == [6, 1, 2]

    b_tt = b.t().contiguous().t()
    assert not b_tt.is_contiguous()
    assert b.dims() == b_tt.dims()
    assert b_tt.stride() == [6, 1, 3]

    assert a_tt.matmul(b).to_vec3() == expected
    assert a.matmul(b_tt).to_vec3() == expected
    assert a_tt.matmul(b_tt).to_vec3() == expected


@pytest.mark.parametrize("dtype", [DType.BF16, DType.F16])
def test_matmul_bf16_cpu(dtype):
    if dtype == DType.BF16 and bf16_refused(DEV):
        return
    a = Tensor.from_slice([1.0, 2.0, 3.0, 4.0], (2, 2), DEV, dtype=DType.F32).to_dtype(dtype)
    b = Tensor.from_slice([1.0, 2.0, 3.0, 4.0], (2, 2), DEV, dtype=DType.F32).to_dtype(dtype)
    product = a.matmul(b)
    assert product.dtype == dtype
    c = product.to_dtype(DType.F32)
    assert c.to_vec2() == [[7.0, 10.0], [15.0, 22.0]]


def test_broadcast_matmul_cpu():
    lhs = Tensor.randn(0.0, 1.0, (3, 1, 4, 5), DEV, dtype=DType.F32)
    rhs = Tensor.randn(0.0, 1.0, (6, 5, 2), DEV, dtype=DType.F32)
    out = lhs.broadcast_matmul(rhs)
    assert out.dims() == [3, 6, 4, 2]
    for idx1 in range(3):
        for idx2 in range(6):
            out_i = out[idx1, idx2]
            lhs_i = lhs[idx1, 0]
            rhs_i = rhs[idx2]
            out2 = lhs_i.matmul(rhs_i)
            sum_diff2 = (out_i - out2).sqr().sum_all()
            # With cuda, Candle sees errors of up to ~1e-12.
            assert sum_diff2.to_vec0() < 1e-6


def test_zero_matmul_cpu():
    lhs = Tensor.zeros((2, 0), DType.F32, DEV)
    rhs = Tensor.zeros((0, 3), DType.F32, DEV)
    output = lhs.matmul(rhs)
    assert output.dims() == [2, 3]
    assert output.to_vec2() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]

    lhs = Tensor.zeros((2, 3, 4), DType.F32, DEV).transpose(1, 2).narrow(1, 0, 0)
    rhs = Tensor.zeros((2, 4, 3), DType.F32, DEV).transpose(1, 2).narrow(2, 0, 0)
    assert not lhs.is_contiguous()
    assert not rhs.is_contiguous()
    assert lhs.dims() == [2, 0, 3]
    assert rhs.dims() == [2, 3, 0]
    assert lhs.matmul(rhs).dims() == [2, 0, 0]


def _assert_matmul_error(lhs, rhs, error, expected: str):
    lhs = Tensor.zeros(lhs[0], lhs[1], DEV)
    rhs = Tensor.zeros(rhs[0], rhs[1], DEV)
    with pytest.raises(error) as info:
        lhs.matmul(rhs)
    assert str(info.value).startswith(expected), f"unexpected error: {info.value}"


def test_zero_matmul_validation_cpu():
    f16, f32 = DType.F16, DType.F32
    shape_error = "shape mismatch in matmul"
    _assert_matmul_error(((0, 2), f32), ((3, 4), f16), ShapeMismatchBinaryOp, shape_error)
    _assert_matmul_error(((2, 3), f32), ((4, 0), f32), ShapeMismatchBinaryOp, shape_error)
    _assert_matmul_error(((0, 2, 3), f32), ((1, 3, 4), f32), ShapeMismatchBinaryOp, shape_error)
    _assert_matmul_error(
        ((0, 2), f32), ((2, 3), f16), DTypeMismatchBinaryOp, "dtype mismatch in matmul"
    )


def test_broadcast_matmul_rank2_rhs_cpu():
    # A rank-2 rhs is broadcast over the lhs batch dims; check against the per-batch products,
    # for contiguous and non-contiguous lhs alike.
    rhs = Tensor.randn(0.0, 1.0, (5, 2), DEV, dtype=DType.F32)
    for lhs in [
        Tensor.randn(0.0, 1.0, (3, 4, 5), DEV, dtype=DType.F32),
        Tensor.randn(0.0, 1.0, (3, 6, 4, 5), DEV, dtype=DType.F32),
        Tensor.randn(0.0, 1.0, (1, 1, 5), DEV, dtype=DType.F32),
        Tensor.randn(0.0, 1.0, (3, 5, 4), DEV, dtype=DType.F32).transpose(1, 2),
    ]:
        out = lhs.broadcast_matmul(rhs)
        dims = lhs.dims()
        n = len(dims)
        dims[n - 1] = 2
        assert out.dims() == dims
        batch = 1
        for d in lhs.dims()[: n - 2]:
            batch *= d
        m, k = lhs.dims()[n - 2], lhs.dims()[n - 1]
        flat = lhs.reshape((batch, m, k))
        out = out.reshape((batch, m, 2))
        for b in range(batch):
            diff = (out[b] - flat[b].matmul(rhs)).sqr().sum_all()
            assert diff.to_vec0() < 1e-6


def _assert_tensor_eq(t1: Tensor, t2: Tensor):
    """Candle's test_utils::assert_tensor_eq: same shape, every element equal."""
    assert t1.shape == t2.shape
    eq_tensor = t1.eq(t2).to_dtype(DType.U32)
    assert eq_tensor.sum_all().to_scalar() == eq_tensor.elem_count()


def test_tensor_dot():
    lhs = Tensor.new([1.0, 2.0, 3.0], DEV)
    rhs = Tensor.new([4.0, 5.0, 6.0], DEV)
    expected = Tensor.new(32.0, DEV)
    dot_ret = lhs.dot(rhs)
    _assert_tensor_eq(dot_ret, expected)


def test_tensor_mv():
    mat = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], DEV)
    vec = Tensor.new([1.0, 1.0, 1.0], DEV)
    expected = Tensor.new([6.0, 15.0], DEV)
    mv_ret = mat.mv(vec)
    _assert_tensor_eq(mv_ret, expected)


def test_squeeze_mm_cpu():
    # https://github.com/huggingface/candle/issues/1948
    seq_len = 8
    a = Tensor.zeros((1, seq_len, 16), DType.F32, DEV)
    x = a[:, seq_len - 1, :]
    w = Tensor.zeros((32, 16), DType.F32, DEV).t()
    x = x.matmul(w)
    assert x.dims() == [1, 32]


def test_mm_layout_cpu():
    # https://github.com/huggingface/candle/issues/1992
    a = Tensor.arange(0.0, 16.0, DEV, dtype=DType.F32).reshape((1, 1, 4, 4))
    b = Tensor.arange(0.0, 8.0, DEV, dtype=DType.F32).reshape((1, 1, 4, 2))
    mm1 = a.matmul(b)
    # Forces the layout shape [1, 1, 4, 2], stride [8, 2, 2, 1]: still a contiguous matrix,
    # but with a stride on the size-1 dim that is not the row-major one.
    b = b.transpose(1, 2).force_contiguous().transpose(1, 2)
    assert b.stride() == [8, 2, 2, 1]
    assert b.is_contiguous()
    mm2 = a.matmul(b)
    diff = (mm1 - mm2).abs().sum_all().to_vec0()
    assert diff == 0.0
