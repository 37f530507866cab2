"""Reading GGUF files: the header through llama.cpp's ``gguf`` package (memory-mapped, nothing
read until asked), each tensor dequantized on its own, so that loading a model holds at most
one dequantized tensor beside the ones already converted."""

from __future__ import annotations

import os
import stat

import numpy as np

from ..core import Device, DType, Tensor
from ..core.device import as_device
from ..core.errors import Error

# The tensor types wick dequantizes (the ones llama.cpp's common model files use).
GGUF_TYPES = (
    "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K",
)  # fmt: skip


class GgufError(Error, OSError):
    """A GGUF file that cannot be read: missing, not GGUF, truncated, or of an unknown type."""


def _gguf_package():
    try:
        import gguf
    except ImportError as exc:
        raise GgufError(
            "reading GGUF files needs the gguf package: pip install 'wick[gguf]'"
        ) from exc
    return gguf


class GgufFile:
    """An open GGUF file: ``metadata`` (name to Python value), ``tensor_names()``, ``info(name)``
    and ``tensor(name, device, dtype)``, one tensor dequantized at a time."""

    def __init__(self, path):
        self.path = os.fspath(path)
        _check_regular_file(self.path)
        gguf = _gguf_package()
        try:
            self._reader = gguf.GGUFReader(self.path, "r")
        except Exception as exc:  # noqa: BLE001 - the reader raises ValueError, struct.error, ...
            raise GgufError(f"{self.path}: not a readable GGUF file ({exc})") from None
        self._tensors = {t.name: t for t in self._reader.tensors}
        self.metadata = _metadata(self._reader)

    def tensor_names(self) -> list:
        """The tensors' names in file order."""
        return list(self._tensors)

    def info(self, name: str) -> tuple:
        """``(shape, type name)`` of a tensor, its shape in row-major order as wick uses it."""
        t = self._entry(name)
        return tuple(int(d) for d in reversed(t.shape.tolist())), t.tensor_type.name

    def tensor(self, name: str, device: Device = None, dtype: DType = DType.F32) -> Tensor:
        """The tensor ``name`` dequantized to ``dtype`` on ``device``."""
        t = self._entry(name)
        kind = t.tensor_type.name
        if kind not in GGUF_TYPES:
            raise GgufError(
                f"{self.path}: tensor {name} has type {kind}, which wick cannot dequantize"
            )
        shape, _ = self.info(name)
        try:
            values = _dequantize(t, kind)
        except Exception as exc:  # noqa: BLE001 - a truncated file surfaces as any NumPy error
            raise GgufError(f"{self.path}: tensor {name} ({kind}) cannot be read: {exc}") from None
        # Contiguous, row-major: the dequantizer may return a strided view, which would make
        # every later matmul copy the weight.
        values = np.ascontiguousarray(values.reshape(shape))
        if dtype is not DType.F32:
            values = values.astype(dtype.np)
        return Tensor.new(values, as_device(device))

    def _entry(self, name: str):
        t = self._tensors.get(name)
        if t is None:
            raise GgufError(f"{self.path}: no tensor named {name}")
        return t


def _dequantize(t, kind: str) -> np.ndarray:
    if kind == "F32":
        return np.asarray(t.data, dtype=np.float32)
    if kind == "F16":
        return np.asarray(t.data).astype(np.float32)
    from gguf import quants

    return quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)


def _check_regular_file(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise GgufError(f"{path}: cannot open ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise GgufError(f"{path}: not a regular file")


def _metadata(reader) -> dict:
    out = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        value = field.contents()
        if isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def open_gguf(path) -> GgufFile:
    """Opens a GGUF file; nothing is dequantized until a tensor is asked for.

    >>> f = open_gguf("model.gguf")  # doctest: +SKIP
    >>> f.metadata["general.architecture"]  # doctest: +SKIP
    'llama'
    """
    return GgufFile(path)


def load(path, device: Device = None, dtype: DType = DType.F32) -> tuple:
    """``(tensors, metadata)``: every tensor of a GGUF file by its GGUF name, dequantized to
    ``dtype`` on ``device``, and the metadata as Python values."""
    f = open_gguf(path)
    return {name: f.tensor(name, device, dtype) for name in f.tensor_names()}, f.metadata
