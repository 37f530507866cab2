"""Requests larger than the device's memory are refused before anything is allocated.

The bound is ``Device.memory_bytes()`` (the host's physical memory on the CPU, the GPU's total on
CUDA): one over it can never succeed, and NumPy would raise a bare MemoryError or, with Linux's
overcommit, let the process be killed while filling it. Requests below it are not pre-checked; the
dispatch path turns a backend MemoryError into a wick.Error naming the op and inputs.
"""

from __future__ import annotations

import pytest

import wick
from wick import Device, DType, Tensor

HUGE = 10**12  # elements: terabytes in any dtype, more than any test machine holds


def _refused(op: str, f):
    with pytest.raises(wick.Msg) as info:
        f()
    message = str(info.value)
    assert message.startswith(f"{op}: a tensor of shape "), message
    assert "more than the" in message and "of memory of Cpu" in message
    return message


def test_memory_bytes_is_the_machines():
    total = Device.Cpu.memory_bytes()
    assert 2**28 < total < 2**50  # between 256 MiB and 1 PiB: a real machine's RAM


def test_creation_ops_refuse_before_allocating():
    message = _refused("zeros", lambda: Tensor.zeros((10**6, 10**6)))
    assert message.startswith(
        "zeros: a tensor of shape [1000000, 1000000] and dtype f32 needs 3.6 TiB"
    )
    _refused("ones", lambda: Tensor.ones((HUGE,), DType.U8))
    _refused("empty", lambda: Tensor.empty((HUGE,)))
    _refused("full", lambda: Tensor.full(1.5, (HUGE,)))
    _refused("rand", lambda: Tensor.rand(0.0, 1.0, (HUGE,)))
    _refused("randn", lambda: Tensor.randn(0.0, 1.0, (HUGE,)))
    _refused("eye", lambda: Tensor.eye(HUGE))
    _refused("tril2", lambda: Tensor.tril2(HUGE))
    _refused("triu2", lambda: Tensor.triu2(HUGE))
    message = _refused("arange", lambda: Tensor.arange(0, HUGE))
    assert message.startswith(
        "arange: a tensor of shape [1000000000000] and dtype i64 needs 7.3 TiB"
    )
    _refused("arange_step", lambda: Tensor.arange_step(0.0, 1.0, 1e-13))


def test_ops_that_grow_a_tensor_refuse_before_allocating():
    t = Tensor.ones((2, 3))
    _refused("repeat", lambda: t.repeat((HUGE, 1)))
    _refused("pad_with_zeros", lambda: t.pad_with_zeros(0, HUGE, 0))
    _refused("pad_with_same", lambda: t.pad_with_same(1, 0, HUGE))
    _refused("contiguous", lambda: t.reshape((1, 6)).broadcast_as((HUGE, 6)).contiguous())
    x = Tensor.ones((1, 1, 4))
    _refused("upsample_nearest1d", lambda: x.upsample_nearest1d(HUGE))
    _refused("conv1d", lambda: x.conv1d(Tensor.ones((1, 1, 1)), HUGE))
    # A broadcast view costs nothing, so it is allowed (a stride-0 view, as Candle's).
    assert t.reshape((1, 6)).broadcast_as((HUGE, 6)).shape == (HUGE, 6)


def test_a_backend_memory_error_becomes_a_wick_error():
    # Materialising a huge broadcast through an elementwise op: NumPy raises MemoryError (the
    # output is terabytes), the dispatch path names the op and its inputs.
    big = Tensor.ones((1, 1)).broadcast_as((10**6, 10**6))
    with pytest.raises(wick.Msg) as info:
        big.exp()
    assert (
        str(info.value)
        == "exp: out of memory computing the result for inputs f32[1000000, 1000000]"
    )
    assert isinstance(info.value.__cause__, MemoryError)


def test_empty_repeat_does_not_build_a_list():
    # Zero elements: the repeat is free, however many copies (it used to build a list of them).
    assert Tensor.zeros((0, 3)).repeat((HUGE, 1)).shape == (0, 3)
    assert Tensor.zeros((2, 0)).repeat((HUGE, 1)).shape == (2 * HUGE, 0)
