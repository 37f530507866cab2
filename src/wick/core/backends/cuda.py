"""The CUDA backend: CuPy arrays. Imported only when a CUDA device is first asked for.

Written against CuPy 13 and checked without a GPU (tests/core/test_backend_contract.py); the
functions below are where CuPy differs from NumPy, each named after what it does.
"""

from __future__ import annotations

import numpy as np

from ..dtype import DType
from ..errors import DeviceUnavailable, UnsupportedDTypeForOp

try:
    import cupy as cp
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise DeviceUnavailable(
        "cuda device requested but CuPy is not installed (pip install 'wick[cuda]')"
    ) from exc

xp = cp
name = "cuda"
# Index, label and divisor checks are queued as device flags instead of read back at once
# (a read is a host sync per op); the queue is read at the next to_host or synchronize, or
# when it holds _MAX_PENDING flags. Until then the op has run on clamped, harmless inputs.
defers_checks = True
_MAX_PENDING = 64
_PENDING: list = []

# cupy.add.at has atomics for these dtypes only (CuPy 13, _routines_indexing.pyx).
_ADD_AT_DTYPES = frozenset(np.dtype(t) for t in ("int32", "uint32", "uint64", "f2", "f4", "f8"))


def device_count() -> int:
    """How many GPUs CuPy can see (0 when the driver or runtime is missing)."""
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - CuPy raises several driver/runtime error types
        return 0


def select(ordinal: int):
    """Makes GPU ``ordinal`` current for this thread (new arrays and kernels go there)."""
    count = device_count()
    if not 0 <= ordinal < count:
        raise DeviceUnavailable(
            f"cuda device {ordinal} requested but {count} GPU(s) are visible to CuPy"
        )
    device = cp.cuda.Device(ordinal)
    device.use()
    return device


def total_memory(ordinal: int) -> int:
    """The GPU's total memory in bytes (the bound creation ops check a request against)."""
    return int(cp.cuda.Device(ordinal).mem_info[1])


def device_name(ordinal: int) -> str:
    """The GPU's name as the driver reports it (e.g. ``NVIDIA H100 80GB HBM3``)."""
    return cp.cuda.runtime.getDeviceProperties(ordinal)["name"].decode()


def to_host(array) -> np.ndarray:
    """Copies a CuPy array to a NumPy array, raising first any queued check that failed."""
    resolve_checks()
    return cp.asnumpy(array)


def from_host(array: np.ndarray):
    """Copies a NumPy array to the current GPU; bfloat16 raises (CuPy has no such dtype)."""
    if array.dtype.name == "bfloat16":
        raise UnsupportedDTypeForOp(DType.BF16, "copy to cuda (CuPy has no bfloat16)")
    return cp.asarray(array)


def check_dtype(dtype, op: str) -> None:
    """Raises UnsupportedDTypeForOp for BF16, the one wick dtype CuPy cannot store."""
    if dtype is DType.BF16:
        raise UnsupportedDTypeForOp(dtype, f"{op} on cuda (CuPy has no bfloat16)")


def new_rng(seed):
    """A CuPy random generator; ``seed=None`` draws fresh entropy."""
    return cp.random.default_rng(seed)


def synchronize() -> None:
    """Waits for the current stream, then raises any queued check that failed."""
    cp.cuda.get_current_stream().synchronize()
    resolve_checks()


def check(bad, error) -> None:
    """Queues the 0-d device flag ``bad``; ``error()`` is raised at the next host read if true."""
    _PENDING.append((bad, error))
    if len(_PENDING) >= _MAX_PENDING:
        resolve_checks()


def resolve_checks() -> None:
    """Reads every queued flag in one transfer and raises the first failed check's error."""
    if not _PENDING:
        return
    pending = _PENDING[:]
    _PENDING.clear()
    flags = cp.asnumpy(cp.stack([bad for bad, _ in pending]))
    for flag, (_, error) in zip(flags.tolist(), pending):
        if flag:
            raise error()


def scatter_add(target, index, values) -> None:
    """Adds ``values`` into ``target[index]`` in place; repeated indices all accumulate.

    cupy.add.at only has atomics for i32, u32, u64, f16, f32, f64: i64 adds through u64 views
    (two's complement sums are the same bits) and u8/i16 through an i32 copy.
    """
    dtype = target.dtype
    if dtype in _ADD_AT_DTYPES:
        cp.add.at(target, index, values)
    elif dtype == np.int64:
        wide = values.astype(dtype, copy=False).view(np.uint64)
        cp.add.at(target.view(np.uint64), index, wide)
    else:
        acc = target.astype(np.int32)
        cp.add.at(acc, index, values.astype(np.int32))
        target[...] = acc  # wraps as NumPy's u8/i16 add.at does


def scatter_set(target, index, values) -> None:
    """``target[index] = values`` for a tuple of one index array per dim of ``target``; where
    an index repeats, the value last in row-major order wins (as NumPy).

    CuPy's fancy assignment lets repeated indices race, so the winner of each destination is
    chosen first (an atomic max of 1-based positions) and only winners are written.
    """
    shape = cp.broadcast(*index).shape
    order = cp.arange(1, int(np.prod(shape, dtype=np.int64)) + 1, dtype=np.uint64)
    order = order.reshape(shape)
    last = cp.zeros(target.shape, dtype=np.uint64)
    cp.maximum.at(last, index, order)
    won = last[index] == order
    dest = tuple(cp.broadcast_to(i, shape)[won] for i in index)
    target[dest] = cp.broadcast_to(values, shape)[won]


def as_strided(x, shape, strides):
    """A view of ``x``'s memory with ``shape`` and byte ``strides`` (CuPy has no read-only flag)."""
    return cp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def erf(x):
    """The error function, elementwise, in ``x``'s float dtype (float64 for integers)."""
    from cupyx.scipy.special import erf as cupy_erf

    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    # CuPy's kernel has f32 and f64 loops only: f16 comes back as f32.
    return cupy_erf(x).astype(x.dtype, copy=False)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, elementwise, as :func:`erf`."""
    from cupyx.scipy.special import erfc as cupy_erfc

    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    return cupy_erfc(x).astype(x.dtype, copy=False)
