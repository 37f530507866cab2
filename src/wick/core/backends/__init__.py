"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs (imported only when a GPU is asked for).

Each backend module exposes ``xp`` (its array namespace) and one named function per place where
NumPy and CuPy differ (``scatter_add``, ``scatter_set``, ``as_strided``, ``erf``, ...); both
modules define the same functions (``tests/core/test_backend_contract.py`` checks it). Ops get
only ``xp``; ``of(xp)`` gives them the backend module behind it.

A backend also says whether it ``defers_checks``: the CPU raises on a bad index, label or
integer divisor at once; the GPU queues the check with ``check`` (no host sync on the hot path)
and raises at the next ``to_host`` or ``synchronize`` (``resolve_checks``).
"""

from __future__ import annotations

from . import cpu as _cpu

_BY_NAMESPACE: dict = {_cpu.xp: _cpu}

# Array classes graph.wrap stores as they are (anything else, e.g. a NumPy scalar that a ufunc
# returned for a 0-d result, goes through xp.asarray). A set, so a GPU array costs no asarray.
ARRAY_TYPES: set = {_cpu.xp.ndarray}


def register(backend) -> None:
    """Makes ``backend`` reachable from its array namespace through :func:`of`."""
    _BY_NAMESPACE[backend.xp] = backend
    ARRAY_TYPES.add(backend.xp.ndarray)


def of(xp):
    """The backend module whose array namespace is ``xp`` (e.g. ``of(np)`` is the CPU backend)."""
    return _BY_NAMESPACE[xp]
