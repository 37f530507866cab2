"""A NumPy stand-in for CuPy, so core/backends/cuda.py's own logic runs without a GPU.

It mimics what wick's code paths depend on: CuPy 13's ``ufunc.at`` dtype limits, ``cupyx``'s
f32/f64-only erf loops, and the ``cupy.cuda`` device, runtime and stream calls. It checks wick's
routing, not CuPy: kernels, atomics and numerics need a real GPU. Used by
test_backend_contract.py and by ``pytest --device cuda-stub`` (tests/conftest.py), a rehearsal
of the device-parametrized suite that finds tests still building tensors on the CPU.
"""

from __future__ import annotations

import types

import numpy as np

from wick.core.backends import special

# cupy/_core/_routines_indexing.pyx (v13.6.0), _scatter_op_single.
ADD_AT = {"int32", "uint32", "uint64", "float16", "float32", "float64"}
MAX_AT = {"int32", "uint32", "uint64", "float32", "float64"}


class UfuncWithCupyAt:
    """NumPy's ufunc whose ``.at`` refuses the dtypes CuPy 13 has no atomics for."""

    def __init__(self, ufunc, allowed):
        self._ufunc, self._allowed = ufunc, allowed

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._ufunc, name)  # reduce, accumulate, ...

    def at(self, a, indices, b):
        if a.dtype.name not in self._allowed:
            raise TypeError(f"cupy {self._ufunc.__name__}.at does not support {a.dtype}")
        self._ufunc.at(a, indices, np.asarray(b).astype(a.dtype, copy=False))


def _erf_like_cupy(fn):
    def kernel(x):
        # cupyx.scipy.special's loops are f->f and d->d only.
        if x.dtype.kind != "f":
            raise TypeError("wick casts non-floats before calling CuPy's erf")
        return fn(x.astype(np.float64 if x.dtype == np.float64 else np.float32))

    return kernel


class _Device:
    """cupy.cuda.Device: records which ordinal was made current."""

    current = 0

    def __init__(self, ordinal: int = 0):
        self.id = ordinal

    def use(self):
        _Device.current = self.id

    @property
    def mem_info(self):
        return (2**34, 2**34)  # (free, total) bytes


class _Stream:
    synchronized = 0

    def synchronize(self):
        _Stream.synchronized += 1


def stub_modules(gpus: int = 1) -> dict:
    """``{module name: module}`` for cupy, cupy.cuda and cupyx.scipy.special over NumPy."""
    cp = types.ModuleType("cupy")
    cp.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    cp.add = UfuncWithCupyAt(np.add, ADD_AT)
    cp.maximum = UfuncWithCupyAt(np.maximum, MAX_AT)
    cp.asnumpy = np.asarray
    cp.__version__ = "stub"
    cuda = types.ModuleType("cupy.cuda")
    cuda.Device = _Device
    cuda.get_current_stream = _Stream
    cuda.runtime = types.SimpleNamespace(
        getDeviceCount=lambda: gpus,
        getDeviceProperties=lambda n: {"name": b"NumPy stand-in for CuPy"},
    )
    cp.cuda = cuda
    cp.random = types.SimpleNamespace(default_rng=np.random.default_rng)
    cupyx = types.ModuleType("cupyx")
    scipy = types.ModuleType("cupyx.scipy")
    sp = types.ModuleType("cupyx.scipy.special")
    sp.erf, sp.erfc = _erf_like_cupy(special.erf), _erf_like_cupy(special.erfc)
    cupyx.scipy, scipy.special = scipy, sp
    return {
        "cupy": cp,
        "cupy.cuda": cuda,
        "cupyx": cupyx,
        "cupyx.scipy": scipy,
        "cupyx.scipy.special": sp,
    }
