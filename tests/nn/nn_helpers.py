"""Shared helpers of the tests/nn golden-value tests: the input pattern and Candle's rounding."""

from __future__ import annotations

import math

import numpy as np

from wick import DType, Tensor


def pat(shape, a: float, b: float) -> np.ndarray:
    """``sin(a * arange(n) + b)`` in float64, reshaped: the generators' ``pat``."""
    n = math.prod(shape)
    return np.sin(a * np.arange(n, dtype=np.float64) + b).reshape(shape)


def pat_t(shape, a: float, b: float, dtype=DType.F64, scale: float = 1.0) -> Tensor:
    """``pat`` (times ``scale``, in float64) as a Tensor of ``dtype``."""
    return Tensor.new(pat(shape, a, b) * scale).to_dtype(dtype)


def _round_half_away(a: np.ndarray) -> np.ndarray:
    """Rust's ``f32::round`` / ``f64::round``: half away from zero, exact in the array's type."""
    whole = np.trunc(a)
    step = (np.abs(a - whole) >= a.dtype.type(0.5)).astype(a.dtype)
    return whole + np.copysign(step, a)


def rnd(t, digits: int = 4):
    """Candle's ``to_vec*_round(t, digits)``: ``round(v * 10^d) / 10^d`` in the tensor's own
    float type, as nested lists."""
    a = t.numpy() if isinstance(t, Tensor) else np.asarray(t)
    scale = a.dtype.type(10**digits)
    return (_round_half_away(a * scale) / scale).tolist()


def f32(values):
    """Expected values as Rust's f32 literals, for ``==`` as Candle's ``assert_eq!``."""
    return np.asarray(values, np.float32).tolist()
