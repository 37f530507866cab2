"""The CPU backend: NumPy arrays."""

from __future__ import annotations

import numpy as np

xp = np
name = "cpu"


def to_host(array) -> np.ndarray:
    """A NumPy array with the same values (no copy on the CPU)."""
    return array


def from_host(array: np.ndarray) -> np.ndarray:
    """Moves a host array onto this backend (no copy on the CPU)."""
    return array


def new_rng(seed):
    """A random generator; ``seed=None`` draws fresh entropy."""
    return np.random.default_rng(seed)


def synchronize() -> None:
    """Waits for pending work (nothing to wait for on the CPU)."""
