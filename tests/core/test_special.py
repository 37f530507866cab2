"""Tests for wick.core.backends.special: erf/erfc accuracy in ulps, dtypes, shapes, Candle values.

The reference is Python's math.erf / math.erfc (the platform libm, itself within an ulp or so of
the true value). Cases marked "Candle" copy expected values from candle-core/tests/tensor_tests.rs
(unary_op) and candle-core/tests/grad_tests.rs (unary_grad), rounded to 4 decimals there.
"""

import math

import ml_dtypes
import numpy as np
import pytest

from wick.core.backends import special

_ref_erf = np.frompyfunc(math.erf, 1, 1)
_ref_erfc = np.frompyfunc(math.erfc, 1, 1)


def ref(fn, x):
    """Reference values of ``fn`` (a frompyfunc of math.erf/erfc) as a float64 array."""
    return fn(np.asarray(x, dtype=np.float64)).astype(np.float64)


def ulp_diff(a, b):
    """Distance in float64 units in the last place; NaN vs NaN is 0 and -0.0 vs 0.0 is 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    # Map the bit patterns onto a monotonic integer line so adjacent floats differ by one.
    ia = a.view(np.int64)
    ib = b.view(np.int64)
    ia = np.where(ia < 0, np.int64(np.iinfo(np.int64).min) - ia, ia)
    ib = np.where(ib < 0, np.int64(np.iinfo(np.int64).min) - ib, ib)
    d = np.abs(ia - ib)
    return np.where(np.isnan(a) & np.isnan(b), 0, d)


def sweep():
    """About 1e6 float64 points: dense, random, log-spread, and around every range boundary."""
    rng = np.random.default_rng(1234)
    parts = [
        np.linspace(-7.0, 7.0, 200_001),
        rng.uniform(-30.0, 30.0, 100_000),
        rng.standard_normal(100_000) * 2.0,
        # Magnitudes from subnormal up to 1e300.
        np.exp(rng.uniform(-745.0, 691.0, 100_000)),
        np.array([5e-324, 1e-320, 1e-310, 2.2250738585072014e-308, 1e-300, 2.0**-28, 1e-8]),
        np.array([1e300, np.finfo(np.float64).max]),
    ]
    # Each range boundary of the msun algorithm plus points the brief singles out.
    for c in (0.25, 0.5, 0.84375, 1.0, 1.25, 2.0, 1 / 0.35, 4.0, 6.0, 28.0):
        parts.append(c + np.arange(-2000, 2001) * np.spacing(c))
        parts.append(np.linspace(c * 0.99, c * 1.01, 4001))
    x = np.concatenate(parts)
    return np.concatenate([x, -x])


@pytest.fixture(scope="module")
def points():
    return sweep()


# ---------------------------------------------------------------------------------------------
# float64 accuracy


def test_erf_f64_within_one_ulp_of_libm(points):
    assert points.size > 900_000
    d = ulp_diff(special.erf(points), ref(_ref_erf, points))
    assert d.max() <= 1, points[np.argmax(d)]
    # Nearly everything agrees with libm bit for bit.
    assert np.mean(d == 0) > 0.95


def test_erfc_f64_few_ulp_of_libm(points):
    # Both erfc implementations are within ~2-3 ulp of the true value near 1 (checked against
    # mpmath when this was written), so they can be 4 apart from each other.
    d = ulp_diff(special.erfc(points), ref(_ref_erfc, points))
    assert d.max() <= 4, points[np.argmax(d)]
    assert np.mean(d <= 1) > 0.99


def test_erf_is_exactly_odd(points):
    np.testing.assert_array_equal(special.erf(-points), -special.erf(points))


def test_erf_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -6.0, 1e300, -1e300])
    y = special.erf(x)
    np.testing.assert_array_equal(y[2:4], [1.0, -1.0])
    assert y[0] == 0.0 and not np.signbit(y[0])
    assert y[1] == 0.0 and np.signbit(y[1])
    assert np.isnan(y[4])
    np.testing.assert_array_equal(y[5:], [1.0, -1.0, 1.0, -1.0])


def test_erf_tiny_and_subnormal():
    x = np.array([5e-324, 1e-320, 1e-310, 1e-300, 1e-200, 2.0**-28, 2.0**-30])
    x = np.concatenate([x, -x])
    assert ulp_diff(special.erf(x), ref(_ref_erf, x)).max() <= 1
    # erf(x) ~ 2x/sqrt(pi) for tiny x, and it must not flush subnormals to zero.
    assert special.erf(np.array([5e-324]))[0] > 0.0


def test_erfc_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 28.0, 30.0, -6.5, -1e300])
    y = special.erfc(x)
    np.testing.assert_array_equal(y[[0, 1, 2, 3]], [1.0, 1.0, 0.0, 2.0])
    assert np.isnan(y[4])
    np.testing.assert_array_equal(y[5:], [0.0, 0.0, 2.0, 2.0])
    # Deep in the tail erfc is subnormal and still accurate relative to itself.
    x = np.array([26.0, 26.5, 27.0, 27.2])
    assert ulp_diff(special.erfc(x), ref(_ref_erfc, x)).max() <= 4


def test_erf_plus_erfc_is_one():
    x = np.linspace(-5.0, 5.0, 10_001)
    np.testing.assert_allclose(special.erf(x) + special.erfc(x), 1.0, rtol=0, atol=4e-16)


# ---------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_erf_half_types_exhaustive(dtype):
    # Every 16-bit pattern: finite, inf, NaN and subnormal values, correctly rounded.
    x = np.arange(2**16, dtype=np.uint16).view(dtype)
    y = special.erf(x)
    assert y.dtype == np.dtype(dtype)
    with np.errstate(invalid="ignore"):
        want = ref(_ref_erf, x.astype(np.float64)).astype(dtype).astype(np.float64)
        got = y.astype(np.float64)
    np.testing.assert_array_equal(got, want)


def test_erf_f32_correctly_rounded():
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            (rng.standard_normal(300_000) * 3).astype(np.float32),
            # A stride through all non-negative f32 bit patterns: subnormals up to NaNs.
            np.arange(0, 2**31, 2**31 // 300_000, dtype=np.uint32).view(np.float32),
        ]
    )
    x = np.concatenate([x, -x])
    y = special.erf(x)
    assert y.dtype == np.float32
    with np.errstate(invalid="ignore"):
        want = ref(_ref_erf, x).astype(np.float32)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64])
@pytest.mark.parametrize("fn", [special.erf, special.erfc])
def test_dtype_preserved(fn, dtype):
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.0, 3.0]).astype(dtype)
    y = fn(x)
    assert y.dtype == np.dtype(dtype)
    want = ref(_ref_erf if fn is special.erf else _ref_erfc, x.astype(np.float64))
    np.testing.assert_array_equal(y.astype(np.float64), want.astype(dtype).astype(np.float64))


def test_integer_input_gives_float64():
    y = special.erf(np.array([-1, 0, 2]))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [math.erf(-1), 0.0, math.erf(2)])


# ---------------------------------------------------------------------------------------------
# shapes and layouts


def test_zero_d():
    y = special.erf(np.array(0.5))
    assert isinstance(y, np.ndarray) and y.shape == () and y.dtype == np.float64
    assert y[()] == math.erf(0.5)
    y = special.erf(np.array(-0.75, dtype=np.float32))
    assert y.shape == () and y.dtype == np.float32
    assert y[()] == np.float32(math.erf(float(np.float32(-0.75))))


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, ml_dtypes.bfloat16])
def test_empty(shape, dtype):
    y = special.erf(np.zeros(shape, dtype=dtype))
    assert y.shape == shape and y.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_views(dtype):
    base = np.linspace(-4.0, 4.0, 7 * 11 * 3).reshape(7, 11, 3).astype(dtype)
    keep = base.copy()
    views = [base.transpose(2, 0, 1), base[::2, 1::3, :], base[..., ::-1], base[:, 5, :]]
    for v in views:
        assert not v.flags.c_contiguous
        y = special.erf(v)
        assert y.shape == v.shape and y.dtype == np.dtype(dtype)
        # Same bits as on a contiguous copy.
        np.testing.assert_array_equal(y, special.erf(np.ascontiguousarray(v)))
    # The input is never written to.
    np.testing.assert_array_equal(base, keep)


def test_output_does_not_alias_input():
    x = np.linspace(-1.0, 1.0, 5)
    y = special.erf(x)
    assert not np.shares_memory(x, y)


# ---------------------------------------------------------------------------------------------
# Candle


def round4(t):
    """Candle's test_utils::to_vec*_round(t, 4): f32 round-half-away-from-zero of t * 1e4, / 1e4."""
    t = np.asarray(t, dtype=np.float32) * np.float32(1e4)
    return np.sign(t) * np.floor(np.abs(t) + np.float32(0.5)) / np.float32(1e4)


def gelu_erf(x):
    """GELU with the exact erf, as wick's gelu_erf forward computes it: 0.5x(1 + erf(x/sqrt2))."""
    return 0.5 * x * (1 + special.erf(x * np.float32(1 / math.sqrt(2))))


CANDLE_X = np.array([[-3.0, 1.0, 4.0, -0.1, 0.5], [2.7, -1.8, -0.28, 1.8, 2.8]], dtype=np.float32)


def test_candle_unary_op_erf():
    # Candle: tensor_tests.rs unary_op.
    want = [[-1.0, 0.8427, 1.0, -0.1125, 0.5205], [0.9999, -0.9891, -0.3079, 0.9891, 0.9999]]
    y = special.erf(CANDLE_X)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(round4(y), np.array(want, dtype=np.float32))


def test_candle_unary_op_gelu_erf():
    # Candle: tensor_tests.rs unary_op.
    want = [[-0.004, 0.8413, 3.9999, -0.046, 0.3457], [2.6906, -0.0647, -0.1091, 1.7353, 2.7928]]
    y = gelu_erf(CANDLE_X)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(round4(y), np.array(want, dtype=np.float32))


def test_candle_unary_grad_forward():
    # Candle: grad_tests.rs unary_grad (values compared there to torch.erf and F.gelu).
    x = np.array([3.0, 1.0, 4.0, 0.15], dtype=np.float32)
    np.testing.assert_array_equal(
        round4(special.erf(x)), np.array([1.0, 0.8427, 1.0, 0.168], dtype=np.float32)
    )
    np.testing.assert_array_equal(
        round4(gelu_erf(x)), np.array([2.9960, 0.8413, 3.9999, 0.0839], dtype=np.float32)
    )


def test_float32_erf_is_the_fast_rational_fit_within_5e7():
    # float32 goes through Eigen/XLA's rational fit (core/backends/cpu.py); float64 stays exact.
    import math

    import numpy as np

    from wick.core.backends import cpu

    x = np.linspace(-7.0, 7.0, 200001).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in x])
    got = cpu.erf(x)
    assert got.dtype == np.float32
    assert np.abs(got - exact).max() < 5e-7
    edges = cpu.erf(np.array([0.0, -0.0, np.inf, -np.inf, 1e-30], np.float32))
    assert edges.tolist() == [0.0, -0.0, 1.0, -1.0, np.float32(1.1283791e-30)]
    assert np.isnan(cpu.erf(np.array([np.nan], np.float32)))[0]
