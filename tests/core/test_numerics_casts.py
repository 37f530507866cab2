"""Conversions as Rust's ``as`` (Candle's ``to_dtype``): float -> int truncates toward zero,
saturates at the integer range, and NaN gives 0, without a NumPy RuntimeWarning; int -> int
wraps.
"""

import warnings

import numpy as np
import pytest

from wick import DType, Tensor

NAN, INF = float("nan"), float("inf")
VALUES = [-1.5, 300.0, NAN, 1e10, INF, -INF, 2.7, -0.5, -40000.0]

# Rust: -1.5 as u8 == 0, 300.0 as u8 == 255, f32::NAN as u8 == 0, f32::INFINITY as i64 == i64::MAX.
EXPECTED = {
    DType.U8: [0, 255, 0, 255, 255, 0, 2, 0, 0],
    DType.U32: [0, 300, 0, 4294967295, 4294967295, 0, 2, 0, 0],
    DType.I16: [-1, 300, 0, 32767, 32767, -32768, 2, 0, -32768],
    DType.I32: [-1, 300, 0, 2147483647, 2147483647, -2147483648, 2, 0, -40000],
    DType.I64: [-1, 300, 0, 10**10, 2**63 - 1, -(2**63), 2, 0, -40000],
}


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dst", list(EXPECTED))
@pytest.mark.parametrize("src", [DType.F64, DType.F32])
def test_float_to_int_saturates_like_rust(device, src, dst, no_warnings):
    x = Tensor.new(np.array(VALUES, dtype=src.np), device)
    out = x.to_dtype(dst)
    assert out.dtype == dst and out.to_vec1() == EXPECTED[dst]


@pytest.mark.parametrize("dst", list(EXPECTED))
@pytest.mark.parametrize("src", [DType.F16, DType.BF16])
def test_half_to_int_goes_through_f32(src, dst, no_warnings):
    # Candle: `v.to_f32() as u8`. In f16, 1e10 and 300.0 and -40000 are inf, 300, -inf;
    # bf16 rounds 1e10 to 9999220736 and -40000 to -39936.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy warns when f64 -> f16 overflows to inf
        x = Tensor.new(VALUES).to_dtype(src)
    wide = [float(v) for v in x.to_dtype(DType.F64).to_vec1()]
    want = Tensor.new(wide).to_dtype(dst).to_vec1()
    assert x.to_dtype(dst).to_vec1() == want
    if src is DType.F16:
        assert x.to_dtype(DType.I64).to_vec1()[3] == 2**63 - 1  # f16(1e10) is inf
    else:
        assert x.to_dtype(DType.I64).to_vec1()[3] == 9999220736


def test_new_with_an_integer_dtype_saturates_too(no_warnings):
    assert Tensor.new([-1.5, 300.0, NAN], dtype=DType.U8).to_vec1() == [0, 255, 0]


def test_int_to_int_wraps_like_rust(no_warnings):
    # Rust: 300i64 as u8 == 44, -1i64 as u32 == 4294967295, 70000i32 as i16 == 4464.
    assert Tensor.new([300, -1]).to_dtype(DType.U8).to_vec1() == [44, 255]
    assert Tensor.new([-1]).to_dtype(DType.U32).to_vec1() == [4294967295]
    assert Tensor.new([70000], dtype=DType.I32).to_dtype(DType.I16).to_vec1() == [4464]


def test_float_to_float_rounds_to_nearest_and_overflows_to_inf():
    # Rust: 1e300f64 as f32 == inf, 0.1f64 as f32 == 0.1f32 (round to nearest).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = Tensor.new([1e300, -1e300, 0.1]).to_dtype(DType.F32).to_vec1()
    assert out == [INF, -INF, float(np.float32(0.1))]
