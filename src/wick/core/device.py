"""Device: where a tensor lives. A device owns its array backend (``device.xp``) and its RNG."""

from __future__ import annotations

import importlib
import os

from . import backends
from .backends import cpu as _cpu_backend
from .errors import DeviceUnavailable, Msg
from .shape import exact_int, to_usize


class Device:
    """A CPU or CUDA device (Candle's ``Device``). ``Device.Cpu`` is the ready CPU instance."""

    __slots__ = ("kind", "ordinal", "backend", "xp", "_rng", "_memory", "seeded")

    Cpu: Device

    def __init__(self, kind: str, ordinal: int, backend):
        self.kind = kind
        self.ordinal = ordinal
        self.backend = backend
        self.xp = backend.xp
        self._rng = None
        self._memory = None
        self.seeded = False  # set_seed was called: its draws repeat run to run (and rank to rank)
        backends.register(backend)  # ops, which get only xp, find the backend through it

    @staticmethod
    def new_cuda(ordinal: int = 0) -> Device:
        """GPU ``ordinal``, made current for this thread; DeviceUnavailable says what is missing."""
        # One GPU per process (or thread) at a time: CuPy allocates and launches on the current
        # GPU, which this call selects; several GPUs are driven by one process each
        # (wick.distributed), as docs/gpu.md says.
        ordinal = to_usize(ordinal, "new_cuda", "ordinal")
        key = ("cuda", ordinal)
        device = _CUDA_DEVICES.get(key)
        if device is None:
            backend = importlib.import_module(".backends.cuda", __package__)
            backend.select(ordinal)
            device = _CUDA_DEVICES[key] = Device("cuda", ordinal, backend)
        else:
            device.backend.select(ordinal)
        return device

    @staticmethod
    def cuda_if_available(ordinal: int = 0) -> Device:
        """The CUDA device if CuPy and a GPU are there, else ``Device.Cpu``."""
        try:
            return Device.new_cuda(ordinal)
        except DeviceUnavailable:
            return Device.Cpu

    def is_cpu(self) -> bool:
        return self.kind == "cpu"

    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    def location(self) -> str:
        """Candle's DeviceLocation, as it prints: ``Cpu`` or ``Cuda { gpu_id: 0 }``."""
        return "Cpu" if self.kind == "cpu" else f"Cuda {{ gpu_id: {self.ordinal} }}"

    def same_device(self, other: Device) -> bool:
        return self is other

    def set_seed(self, seed: int) -> None:
        """Seeds this device's generator: rand, randn, initialisers, dropout and shuffling repeat."""
        seed = exact_int(seed, "set_seed", "seed")
        if not 0 <= seed < 2**64:  # Candle's u64
            raise Msg(f"set_seed: seed {seed} is not a u64 (0 ..= 2**64 - 1)")
        self._rng = self.backend.new_rng(seed)
        self.seeded = True

    @property
    def rng(self):
        """This device's random generator (created unseeded on first use)."""
        if self._rng is None:
            self._rng = self.backend.new_rng(None)
        return self._rng

    def memory_bytes(self) -> int:
        """The device's total memory: creation ops refuse a tensor larger than this up front."""
        if self._memory is None:
            total = getattr(self.backend, "total_memory", None)
            self._memory = total(self.ordinal) if total is not None else _physical_memory()
        return self._memory

    def synchronize(self) -> None:
        """Waits until queued work on this device is done."""
        self.backend.synchronize()

    def __repr__(self) -> str:
        return "Cpu" if self.kind == "cpu" else f"Cuda({self.ordinal})"

    def __str__(self) -> str:
        return "cpu" if self.kind == "cpu" else f"cuda:{self.ordinal}"

    def __reduce__(self):
        return (_device_by_name, (str(self),))


_CUDA_DEVICES: dict = {}
Device.Cpu = Device("cpu", 0, _cpu_backend)


def _physical_memory() -> int:
    """The host's physical memory in bytes (a fixed 1 TiB where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX (Windows)
        return 2**40


def _device_by_name(name: str) -> Device:
    if name == "cpu":
        return Device.Cpu
    kind, _, ordinal = name.partition(":")
    if kind == "cuda" and (ordinal == "" or ordinal.isdigit()):
        return Device.new_cuda(int(ordinal or 0))
    raise DeviceUnavailable(
        f"unknown device {name!r}: expected a Device, 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)"
    )


def as_device(device) -> Device:
    """Accepts a Device, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    if isinstance(device, Device):
        return device
    if device is None:
        return Device.Cpu
    if isinstance(device, str):
        return _device_by_name(device)
    raise DeviceUnavailable(
        f"unknown device {device!r}: expected a Device, 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)"
    )
