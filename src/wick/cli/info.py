"""``wick info``: versions, the BLAS NumPy uses, and the devices wick can use."""

from __future__ import annotations

import importlib
import os
import platform
import sys

from .. import __version__


def _version(module: str) -> str:
    try:
        return importlib.import_module(module).__version__
    except ImportError:
        return "not installed"
    except Exception as exc:  # noqa: BLE001 - a broken optional install should not stop `info`
        return f"unusable ({type(exc).__name__})"


def blas() -> str:
    """The BLAS library NumPy was built with, as NumPy reports it."""
    import numpy as np

    try:
        config = np.show_config(mode="dicts")
        lib = config["Build Dependencies"]["blas"]
        text = f"{lib.get('name', '?')} {lib.get('version', '')}".strip()
        return text + (
            f" ({lib['openblas configuration']})" if "openblas configuration" in lib else ""
        )
    except Exception:  # noqa: BLE001 - older NumPy has no mode="dicts"
        return "unknown (NumPy does not report it)"


def cuda() -> str:
    """``available: ...`` or why CUDA cannot be used."""
    from ..core import Device
    from ..core.errors import Error

    try:
        device = Device.new_cuda(0)
    except Error as exc:
        return "not available: " + " ".join(str(exc).split())
    backend = device.backend  # core/backends/cuda.py: the one module that touches CuPy
    count, name = backend.device_count(), backend.device_name(0)
    return f"available: {count} GPU(s), {device} is {name} (CuPy {backend.xp.__version__})"


def run(args) -> int:
    """The ``wick info`` command."""
    rows = [
        ("wick", __version__),
        ("python", f"{sys.version.split()[0]} ({platform.platform()})"),
        ("numpy", _version("numpy")),
        ("blas", blas()),
        ("safetensors", _version("safetensors")),
        ("ml_dtypes", _version("ml_dtypes")),
        ("tqdm", _version("tqdm")),
        ("matplotlib", _version("matplotlib") + " (optional: wick train --plot)"),
        ("cupy", _version("cupy") + " (optional: CUDA devices)"),
        ("cpu", f"available: {os.cpu_count()} cores"),
        ("cuda", cuda()),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    return 0
