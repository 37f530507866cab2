"""SafeTensors files: load, save (atomic), lazy memory-mapped access. Built on ``safetensors``.

Every failure raises ``SafeTensorError`` naming the file; a malformed or hostile file never
crashes, hangs or allocates what its header claims before the header has been validated.
"""

from __future__ import annotations

import os
import secrets

import ml_dtypes  # noqa: F401 - registers bfloat16 with NumPy, which safetensors relies on
import numpy as np
from safetensors import numpy as st_numpy
from safetensors import safe_open

from .core import graph
from .core.device import Device, as_device
from .core.dtype import _FROM_NP
from .core.errors import SafeTensorError
from .core.tensor import Tensor


def _to_tensor(array: np.ndarray, name: str, path, device: Device) -> Tensor:
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    if array.dtype not in _FROM_NP:
        raise SafeTensorError(f"unsupported dtype {array.dtype} for tensor {name!r}", path)
    # np.ascontiguousarray would turn a 0-d array into shape (1,)
    return graph.wrap(device.backend.from_host(np.asarray(array, order="C")), device)


def _open(path):
    try:
        if os.path.isdir(path):  # the package reports "No such device" for a folder
            raise IsADirectoryError("is a directory")
        return safe_open(os.fspath(path), framework="numpy")
    except FileNotFoundError:
        raise SafeTensorError("no such file", path) from None
    except Exception as exc:  # noqa: BLE001 - the package also raises AttributeError, KeyError
        raise SafeTensorError(f"cannot read safetensors file: {exc}", path) from None


def _get(handle, name: str, path):
    try:
        return handle.get_tensor(name)
    except Exception as exc:  # noqa: BLE001 - e.g. AttributeError for F8 dtypes NumPy lacks
        raise SafeTensorError(f"cannot read tensor {name!r}: {exc}", path) from None


def load(path, device: Device = None) -> dict:
    """All tensors of a safetensors file, by name.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> save({"w": Tensor.new([1.0, 2.0])}, p)
    >>> load(p)["w"].to_vec1()
    [1.0, 2.0]
    """
    device = as_device(device)
    with _open(path) as handle:
        return {
            name: _to_tensor(_get(handle, name, path), name, path, device) for name in handle.keys()
        }


def load_with_metadata(path, device: Device = None) -> tuple:
    """``(tensors, metadata)`` of a safetensors file (metadata is a dict of strings)."""
    device = as_device(device)
    with _open(path) as handle:
        tensors = {n: _to_tensor(_get(handle, n, path), n, path, device) for n in handle.keys()}
        return tensors, dict(handle.metadata() or {})


def read_metadata(path) -> dict:
    """The metadata of a safetensors file, without reading the tensors."""
    with _open(path) as handle:
        return dict(handle.metadata() or {})


def load_buffer(data: bytes, device: Device = None) -> dict:
    """All tensors of an in-memory safetensors buffer, by name."""
    device = as_device(device)
    try:
        arrays = st_numpy.load(bytes(data))
    except Exception as exc:  # noqa: BLE001 - e.g. KeyError for F8 dtypes NumPy lacks
        raise SafeTensorError(f"cannot read safetensors buffer: {exc}", "<buffer>") from None
    return {n: _to_tensor(a, n, "<buffer>", device) for n, a in arrays.items()}


def _host_arrays(tensors: dict, path=None) -> dict:
    if not isinstance(tensors, dict):
        raise SafeTensorError(f"tensors must be a dict, got {type(tensors).__name__}", path)
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise SafeTensorError(f"tensor names must be strings, got {name!r}", path)
        if not isinstance(t, Tensor):
            raise SafeTensorError(f"value for {name!r} is not a Tensor", path)
        arrays[name] = np.asarray(t._device.backend.to_host(t._data), order="C")
    return arrays


def _check_metadata(metadata, path=None):
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise SafeTensorError("metadata must map strings to strings", path)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise SafeTensorError("metadata must map strings to strings", path)
    return dict(metadata)


def _create_temp(folder: str) -> tuple:
    """A new temporary file in ``folder``, with ``open``'s permissions (not mkstemp's 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".tmp-{secrets.token_hex(8)}.safetensors")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def save(tensors: dict, path, metadata: dict | None = None) -> None:
    """Writes tensors to ``path`` atomically: a temporary file in the same folder, then rename."""
    path = os.fspath(path)
    arrays = _host_arrays(tensors, path)
    metadata = _check_metadata(metadata, path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = _create_temp(folder)
    except OSError as exc:
        raise SafeTensorError(f"cannot write: {exc.strerror or exc}", path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(st_numpy.save(arrays, metadata=metadata))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise SafeTensorError(f"cannot write: {exc.strerror or exc}", path) from None
        if isinstance(exc, Exception):
            raise SafeTensorError(f"cannot serialize: {exc}", path) from None
        raise  # KeyboardInterrupt and the like, after removing the temporary file


class MmapedSafetensors:
    """Lazy access to the tensors of one or several safetensors files (Candle's mmaped files).

    A tensor is read from disk only when ``load(name)`` asks for it.
    """

    def __init__(self, paths):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self._paths = [os.fspath(p) for p in paths]
        self._routing = {}
        for path in self._paths:
            with _open(path) as handle:
                for name in handle.keys():
                    self._routing[name] = path

    def load(self, name: str, device: Device = None) -> Tensor:
        """The tensor ``name``; raises CannotFindTensor if no file has it."""
        from .core.errors import CannotFindTensor

        path = self._routing.get(name)
        if path is None:
            raise CannotFindTensor(name)
        with _open(path) as handle:
            return _to_tensor(_get(handle, name, path), name, path, as_device(device))

    def get(self, name: str, device: Device = None) -> Tensor:
        return self.load(name, device)

    def shape_of(self, name: str) -> tuple:
        """The shape of ``name`` from the header, without reading the data."""
        from .core.errors import CannotFindTensor

        path = self._routing.get(name)
        if path is None:
            raise CannotFindTensor(name)
        with _open(path) as handle:
            return tuple(handle.get_slice(name).get_shape())

    def tensors(self) -> list:
        """All tensor names."""
        return list(self._routing)

    def __contains__(self, name: str) -> bool:
        return name in self._routing

    def __len__(self) -> int:
        return len(self._routing)
