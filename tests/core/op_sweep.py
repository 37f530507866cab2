"""Helpers of the op-table sweep (test_op_table.py): samples, views, and ``check``."""

from __future__ import annotations

import math
import zlib

import numpy as np
from devices import bf16_refused

from wick import Device, DType, Tensor, Var
from wick.testing import assert_close, gradcheck

F64, F32, F16, BF16 = DType.F64, DType.F32, DType.F16, DType.BF16
FLOATS = (F64, F32)
ALL_FLOATS = (F64, F32, F16, BF16)
TOL = {F64: (1e-10, 1e-12), F32: (2e-5, 1e-6), F16: (4e-3, 4e-3), BF16: (3e-2, 3e-2)}
RNG = np.random.default_rng(20240601)
DEV = Device.Cpu  # test_op_table.py sets each device under test


def reseed(name: str) -> None:
    """Makes a case's samples independent of which other cases ran before it."""
    RNG.bit_generator.state = np.random.PCG64(zlib.crc32(name.encode())).state


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape)


def away(*shape, lo=0.3, hi=2.0):
    """Values at least ``lo`` away from 0 (for kinks at 0: abs, relu, elu, recip)."""
    return RNG.uniform(lo, hi, shape) * RNG.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """Values with no ties, spaced by at least 0.1 (for max/min, sorting, max-pool)."""
    return (RNG.permutation(math.prod(shape)).reshape(shape) - math.prod(shape) / 2) * 0.1


def prims_in(t) -> set:
    """Names of the primitives recorded in ``t``'s graph."""
    seen, names, stack = set(), set(), [t]
    while stack:
        x = stack.pop()
        if id(x) in seen or x.op is None:
            continue
        seen.add(id(x))
        names.add(x.op.prim.name)
        stack.extend(x.op.inputs)
    return names


def transposed(a):
    """A contiguous array whose ``.t()`` view holds ``a``'s values."""
    return np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a.ndim >= 2 else a


def padded(a):
    """``a`` with one extra leading column on the last dim; ``x[..., 1:]`` gives ``a`` back."""
    return np.concatenate([np.full(a.shape[:-1] + (1,), 7.0), a], axis=-1)


def check(
    f,
    ref,
    arrays,
    *,
    dtypes=FLOATS,
    grad=True,
    layouts=True,
    eps=1e-6,
    gtol=1e-4,
    gatol=1e-6,
    keeps_dtype=True,
):
    """Forward of ``f`` against ``ref`` per dtype, gradcheck, and both again on views."""
    expected = ref(*arrays)
    for dt in dtypes:
        if dt == BF16 and bf16_refused(DEV):
            continue  # CuPy has no bfloat16: the refusal is what is checked
        inputs = [Tensor.new(a, DEV, dtype=dt) for a in arrays]
        rounded = [np.asarray(t.numpy(), dtype=np.float64) for t in inputs]
        out = f(*inputs)
        if keeps_dtype and out.dtype.is_float():
            assert out.dtype == dt, (out.dtype, dt)
        rtol, atol = TOL[dt]
        want = ref(*rounded) if dt in (F16, BF16) else expected
        assert_close(out.to_dtype(F64) if out.dtype.is_float() else out, want, rtol, atol)
    if grad:
        assert gradcheck(f, arrays, eps=eps, rtol=gtol, atol=gatol, device=DEV)
    if not layouts:
        return
    views = (
        (transposed, lambda x: x.t() if x.rank() >= 2 else x),
        (padded, lambda x: x[..., 1:]),
    )
    strided = []
    for make_base, view in views:
        bases = [make_base(a) for a in arrays]

        def g(*xs, view=view):
            ins = [view(x) for x in xs]
            strided.append(not all(x.is_contiguous() for x in ins))
            return f(*ins)

        assert_close(g(*[Tensor.new(b, DEV) for b in bases]), expected, *TOL[F64])
        if grad:
            assert gradcheck(g, bases, eps=eps, rtol=gtol, atol=gatol, device=DEV)
    assert any(strided), "no view gave the op a non-contiguous input"


def check_no_graph(f, arrays):
    """A non-differentiable op records nothing, even on a Var."""
    out = f(*[Var.new(a, DEV) for a in arrays])
    assert out.op is None
    assert not out.track_op()
