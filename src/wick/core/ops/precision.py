"""f16 and bf16 on the CPU: NumPy has no fast kernels for them, so heavy ops compute in f32."""

from __future__ import annotations


def is_half(dtype) -> bool:
    """True for F16 and BF16 (ml_dtypes' bfloat16 has kind "V"); False for I16."""
    return dtype.itemsize == 2 and dtype.kind in "fV"


def widen(xp, a):
    """``a`` as f32 if it is f16 or bf16, else ``a`` itself."""
    return a.astype(xp.float32) if is_half(a.dtype) else a
