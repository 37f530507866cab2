"""Sums, means, variances and running sums that do not drift: f16/bf16 accumulate in f32 and round
once (as PyTorch), and f32 sums stay accurate along every axis, not only the contiguous one.

Before the fix the sum of 1,000 bf16 ones was 256 (bf16 + 1 stops changing at 256), f16 stopped at
2048, and 3e6 rows of 0.1 in f32 summed over axis 0 to 290,774.8.
"""

import numpy as np
import pytest

from wick import DType, Tensor, Var
from wick.core.ops.reduce import accurate_sum

HALF = [DType.BF16, DType.F16]


def _cpu_only_bf16(device, dtype):
    if dtype is DType.BF16 and not device.is_cpu():
        pytest.skip("CuPy has no bfloat16")


@pytest.mark.parametrize("dtype", HALF)
def test_half_sums_accumulate_in_f32(device, dtype):
    _cpu_only_bf16(device, dtype)
    # 1000 and 3000 are exact in both types (bf16 keeps 8 significant bits, f16 11).
    n = 1000 if dtype is DType.BF16 else 3000
    ones = Tensor.ones((n,), dtype, device)
    assert ones.sum_all().to_scalar() == n
    assert ones.sum(0).to_scalar() == n
    assert ones.sum_keepdim(0).to_vec1() == [n]
    assert ones.sum_all().dtype == dtype
    cols = Tensor.ones((n, 3), dtype, device)
    assert cols.sum(0).to_vec1() == [n, n, n]
    assert cols.t().sum(1).to_vec1() == [n, n, n]  # a transposed view too


@pytest.mark.parametrize("dtype", HALF)
def test_half_mean_and_var_round_once(device, dtype):
    _cpu_only_bf16(device, dtype)
    ones = Tensor.ones((1000, 2), dtype, device)
    assert ones.mean_all().to_scalar() == 1.0
    assert ones.mean(0).to_vec1() == [1.0, 1.0]
    assert ones.mean_keepdim(0).dims() == [1, 2]
    assert ones.var(0).to_vec1() == [0.0, 0.0]
    x = Tensor.new(np.arange(600, dtype=np.float32), device).to_dtype(dtype)
    values = np.asarray(x.to_dtype(DType.F64).to_vec1())  # bf16 rounds odd values above 256

    def rounded(v):
        return Tensor.new(v).to_dtype(dtype).to_scalar()

    assert x.var(0).to_scalar() == rounded(values.var(ddof=1))
    assert x.var(0).dtype == dtype
    assert x.mean(0).to_scalar() == rounded(values.mean())


@pytest.mark.parametrize("dtype", HALF)
def test_half_cumsum_does_not_stall(device, dtype):
    _cpu_only_bf16(device, dtype)
    n = 1000 if dtype is DType.BF16 else 3000  # exact in the dtype; the old sums stop short
    out = Tensor.ones((n,), dtype, device).cumsum(0).to_vec1()
    assert out[299] == 300.0 and out[-1] == n


def test_half_sum_backward_is_unchanged():
    v = Var.ones((300, 2), DType.BF16)
    grads = v.sum(0).sum_all().backward()
    assert grads.get(v).dtype == DType.BF16 and grads.get(v).to_vec2() == [[1.0, 1.0]] * 300


def test_broadcast_gradient_sums_in_f32():
    # The gradient of a broadcast bias sums over the batch: 1000 bf16 ones stopped at 256.
    b = Var.zeros((1, 3), DType.BF16)
    grads = (Tensor.ones((1000, 3), DType.BF16) + b).sum_all().backward()
    assert grads.get(b).to_vec2() == [[1000.0, 1000.0, 1000.0]]
    w = Var.zeros((2,), DType.F32)
    rows = Tensor.new(np.full((3_000_000, 2), 0.1, np.float32))
    got = rows.broadcast_mul(w.unsqueeze(0)).sum_all().backward().get(w).to_vec1()
    assert all(abs(v - 300000.0) / 300000.0 < 1e-6 for v in got)


def test_f32_sum_over_rows_is_accurate(device):
    x = Tensor.new(np.full((3_000_000, 2), 0.1, np.float32), device)
    exact = 3_000_000 * float(np.float32(0.1))  # 300000.0045 in exact arithmetic
    for got in x.sum(0).to_vec1() + x.sum_keepdim(0).to_vec2()[0]:
        assert abs(got - exact) / exact < 1e-6  # was 290,774.8 (3% off)
    for got in x.mean(0).to_vec1():
        assert abs(got - 0.1) < 1e-7
    assert abs(x.sum_all().to_scalar() - 2 * exact) / exact < 1e-6


def test_f32_mean_and_var_over_rows_are_accurate(device):
    rows = np.where(np.arange(1_000_000) % 2 == 0, 0.1, 0.7).astype(np.float32)[:, None]
    x = Tensor.new(np.repeat(rows, 2, axis=1), device)
    ref = rows.astype(np.float64)[:, 0]
    for got in x.mean(0).to_vec1():
        assert abs(got - ref.mean()) / ref.mean() < 1e-6
    for got in x.var(0).to_vec1():
        assert abs(got - ref.var(ddof=1)) / ref.var(ddof=1) < 1e-5


def test_f32_cumsum_is_accurate(device):
    x = Tensor.new(np.full(1_000_000, 0.1, np.float32), device)
    exact = 1_000_000 * float(np.float32(0.1))
    assert abs(x.cumsum(0).to_vec1()[-1] - exact) / exact < 1e-7


def test_accurate_sum_on_every_axis_and_layout():
    """Random shapes, dims, layouts (transposed, strided): the error stays near f32 rounding."""
    rng = np.random.default_rng(3)
    for trial in range(60):
        shape = tuple(int(v) for v in rng.integers(1, 12, rng.integers(1, 4)))
        shape = (int(rng.integers(300, 3000)),) + shape
        a = (rng.standard_normal(shape) + 1).astype(np.float32)
        if trial % 3 == 1:
            a = np.swapaxes(a, 0, -1)
        elif trial % 3 == 2:
            a = a[::2]
        k = int(rng.integers(1, a.ndim + 1))
        dims = tuple(int(d) for d in rng.permutation(a.ndim)[:k])
        for keep in (False, True):
            got = accurate_sum(np, a, dims, keep)
            ref = a.astype(np.float64).sum(axis=dims, keepdims=keep)
            scale = np.abs(a).astype(np.float64).sum(axis=dims, keepdims=keep)
            assert got.shape == ref.shape and got.dtype == np.float32
            assert np.max(np.abs(got - ref) / scale) < 2e-6, (a.shape, a.strides, dims)


def test_integer_sums_keep_their_dtype_and_wrap():
    # Candle sums in the dtype (u8 wraps, as Rust's release arithmetic does).
    assert Tensor.ones((300,), DType.U8).sum_all().to_scalar() == 300 % 256
    big = Tensor.ones((3000, 2), DType.I64)
    assert big.sum(0).to_vec1() == [3000, 3000] and big.sum(0).dtype == DType.I64
