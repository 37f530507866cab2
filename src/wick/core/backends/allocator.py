"""The host allocator's settings: no trim-and-regrow churn of the heap between training steps.

A training step allocates and frees the same arrays every step. glibc's defaults serve arrays
above 128 KiB (a threshold that adapts up to 32 MiB) with a fresh ``mmap`` each time, and give
the top of the heap back to the kernel whenever more than twice that is free; the next step
then faults every page in again (about 1,700 minor faults and a third of the time of a small
GPT step). Raising both thresholds with ``mallopt`` once, when the CPU backend loads, keeps
freed arrays in the heap for the next step: zero faults per step in steady state.

The cost is that memory freed at the end of a step stays with the process (up to
``TRIM_THRESHOLD`` above what is in use) instead of going back to the OS; peak memory does
not change. ``WICK_MALLOC=default`` (or ``off``/``0``) leaves glibc's settings alone; glibc's
own ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` variables, when set, win over
the values here. Other C libraries (musl, macOS, Windows) are left as they are.
"""

from __future__ import annotations

import os

# Arrays up to 1 GiB come from the heap; 1 GiB of free heap top is kept for the next step.
MMAP_THRESHOLD = 1 << 30
TRIM_THRESHOLD = 1 << 30
_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
_M_MMAP_THRESHOLD = -3

# What tune() did: {"M_MMAP_THRESHOLD": bytes, ...}, or {} when it changed nothing.
applied: dict = {}


def tune() -> dict:
    """Raises glibc's mmap and trim thresholds once (see the module docstring); returns what it set."""
    if applied or os.environ.get("WICK_MALLOC", "").lower() in ("default", "off", "0", "no"):
        return applied
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return applied
    except (AttributeError, ValueError, OSError):  # not glibc, or not POSIX
        return applied
    import ctypes  # NumPy has imported it already: free

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return applied
    for name, param, value, env in (
        ("M_MMAP_THRESHOLD", _M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"),
        ("M_TRIM_THRESHOLD", _M_TRIM_THRESHOLD, TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_"),
    ):
        if env not in os.environ and mallopt(param, value) == 1:
            applied[name] = value
    return applied
