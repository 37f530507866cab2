"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import numpy as np

from . import allocator, special

xp = np
name = "cpu"
defers_checks = False  # bad indices, labels and divisors raise inside the op
allocator.tune()  # no heap trim-and-regrow between steps; WICK_MALLOC=default turns it off


def to_host(array) -> np.ndarray:
    """A NumPy array with the same values (no copy on the CPU)."""
    return array


def from_host(array: np.ndarray) -> np.ndarray:
    """Moves a host array onto this backend (no copy on the CPU)."""
    return array


def check_dtype(dtype, op: str) -> None:
    """Raises UnsupportedDTypeForOp if this backend cannot store ``dtype`` (NumPy stores all)."""


def new_rng(seed):
    """A random generator; ``seed=None`` draws fresh entropy."""
    return np.random.default_rng(seed)


def synchronize() -> None:
    """Waits for pending work (nothing to wait for on the CPU)."""


def check(bad, error) -> None:
    """Raises ``error()`` now if the 0-d boolean array ``bad`` is true."""
    if bad:
        raise error()


def resolve_checks() -> None:
    """Raises the first failed queued check (none on the CPU: :func:`check` raises at once)."""


def scatter_add(target, index, values) -> None:
    """Adds ``values`` into ``target[index]`` in place; repeated indices all accumulate."""
    if (
        index.__class__ is np.ndarray
        and index.ndim == 1
        and index.size
        and target.ndim > 1
        and target.flags.c_contiguous
        and values.shape == index.shape + target.shape[1:]
    ):
        # Whole rows (embedding and index_select backwards): ufunc.at is 5x faster on one
        # flat index than on rows, and adds in the same order (the same bits).
        row = target[0].size
        flat = (index.reshape(-1, 1) * row + np.arange(row)).reshape(-1)
        np.add.at(target.reshape(-1), flat, values.reshape(-1))
        return
    np.add.at(target, index, values)


def scatter_set(target, index, values) -> None:
    """``target[index] = values`` for a tuple of one index array per dim of ``target``; where
    an index repeats, the value written last in NumPy's (row-major) order wins."""
    target[index] = values


def as_strided(x, shape, strides):
    """A read-only view of ``x``'s memory with ``shape`` and byte ``strides`` (not checked)."""
    return np.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, writeable=False)


def erf(x):
    """The error function, elementwise, in ``x``'s float dtype (float64 for integers)."""
    if x.dtype == np.float32:
        return _erf_f32(x)
    return special.erf(x)


# erf(x) ~ x P(x^2) / Q(x^2) on [-4, 4] (beyond, erf is +-1 in float32): the minimax rational
# fit Eigen and XLA use for float32, within 5e-7 of the exact value (a few ulp), at a quarter of
# the cost of the float64 kernel, which made BERT's exact GELU a third of its forward.
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
          -1.60960333262415e-02)  # fmt: skip
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
          -7.37332916720468e-03, -1.42647390514189e-02)  # fmt: skip


def _horner(x2, coefficients):
    """``c0 x2^n + ... + cn`` in place, float32 throughout."""
    f = np.float32
    out = x2 * f(coefficients[0])
    out += f(coefficients[1])
    for c in coefficients[2:]:
        out *= x2
        out += f(c)
    return out


def _erf_f32(x):
    f = np.float32
    x = np.clip(x, f(-4.0), f(4.0))
    x2 = x * x
    p, q = _horner(x2, _ERF_P), _horner(x2, _ERF_Q)
    p *= x
    p /= q
    return np.clip(p, f(-1.0), f(1.0), out=p)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, elementwise, as :func:`erf`."""
    return special.erfc(x)
