"""Batched matrix products: ``(..., m, k) @ (..., k, n)`` with equal batch dims (Candle)."""

from __future__ import annotations

from . import Primitive
from .precision import is_half


def matmul_forward(xp, a, b):
    if is_half(a.dtype):
        # NumPy has no BLAS kernel for f16/bf16; a product in f32 then a cast is far faster.
        return (a.astype(xp.float32) @ b.astype(xp.float32)).astype(a.dtype)
    return a @ b


def matmul_backward(xp, g, out, a, b, *, needs=(True, True)):
    ga = matmul_forward(xp, g, xp.swapaxes(b, -1, -2)) if needs[0] else None
    gb = matmul_forward(xp, xp.swapaxes(a, -1, -2), g) if needs[1] else None
    return ga, gb


MATMUL = Primitive("matmul", matmul_forward, matmul_backward, takes_needs=True)
