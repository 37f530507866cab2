"""Helpers for tests that run on each device (the ``device`` fixture, tests/conftest.py)."""

from __future__ import annotations

import pytest

from wick import DType, Tensor, UnsupportedDTypeForOp


def suffix(device) -> str:
    """What Candle prints after the dtype for ``device``: ``""`` or ``", cuda:0"``."""
    return f", {device}" if device.is_cuda() else ""


def bf16_refused(device) -> bool:
    """True on a device without BF16 (CUDA: CuPy has none), after checking that it says so."""
    if not device.is_cuda():
        return False
    with pytest.raises(UnsupportedDTypeForOp, match="CuPy has no bfloat16"):
        Tensor.zeros((1,), DType.BF16, device)
    return True
