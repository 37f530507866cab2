"""Batched matrix products: ``(..., m, k) @ (..., k, n)`` with equal batch dims (Candle)."""

from __future__ import annotations

from . import Primitive

# NumPy has no BLAS kernel for these; a product in f32 then a cast back is far faster.
_WIDEN = {"float16", "bfloat16"}


def matmul_forward(xp, a, b):
    if a.dtype.name in _WIDEN:
        return xp.matmul(a.astype(xp.float32), b.astype(xp.float32)).astype(a.dtype)
    return xp.matmul(a, b)


def matmul_backward(xp, g, out, a, b):
    return matmul_forward(xp, g, xp.swapaxes(b, -1, -2)), matmul_forward(
        xp, xp.swapaxes(a, -1, -2), g
    )


MATMUL = Primitive("matmul", matmul_forward, matmul_backward)
