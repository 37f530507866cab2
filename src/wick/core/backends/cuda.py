"""The CUDA backend: CuPy arrays. Imported only when a CUDA device is first asked for."""

from __future__ import annotations

import numpy as np

from ..errors import DeviceUnavailable

try:
    import cupy as cp
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise DeviceUnavailable(
        "cuda device requested but CuPy is not installed (pip install 'wick[cuda]')"
    ) from exc

xp = cp
name = "cuda"


def device_count() -> int:
    """How many GPUs CuPy can see (0 when the driver or runtime is missing)."""
    try:
        return cp.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - CuPy raises several driver/runtime error types
        return 0


def select(ordinal: int):
    """Returns the CuPy device for ``ordinal``; raises when it does not exist."""
    count = device_count()
    if ordinal >= count:
        raise DeviceUnavailable(
            f"cuda device {ordinal} requested but {count} GPU(s) are visible to CuPy"
        )
    return cp.cuda.Device(ordinal)


def to_host(array) -> np.ndarray:
    """Copies a CuPy array to a NumPy array."""
    return cp.asnumpy(array)


def from_host(array: np.ndarray):
    """Copies a NumPy array to the current GPU."""
    return cp.asarray(array)


def new_rng(seed):
    """A CuPy random generator; ``seed=None`` draws fresh entropy."""
    return cp.random.default_rng(seed)


def synchronize() -> None:
    """Waits for the current stream."""
    cp.cuda.get_current_stream().synchronize()
