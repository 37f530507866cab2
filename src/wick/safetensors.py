"""SafeTensors files: load, save (atomic), lazy access by name (Candle's ``MmapedSafetensors``).

The format: 8 bytes (little-endian u64) giving the header's length, the header (a JSON object:
name -> dtype, shape, data_offsets; plus an optional ``__metadata__`` of strings), then the
tensors' bytes back to back. wick reads and writes it itself, so that every reader (``load``,
``load_buffer``, ``MmapedSafetensors``, ``VarBuilder``, ``wick inspect``) goes through one header
check (``parse_header``) and each file's header is parsed once. Files interoperate both ways with
the ``safetensors`` package, PyTorch and Hugging Face (tested).

A malformed or hostile file raises ``SafeTensorError`` naming the file (and the tensor): never a
crash, a hang (a FIFO or device is refused before it is opened for reading) or an allocation of
what the header claims before the header has been checked.
"""

from __future__ import annotations

import json
import os
import struct
import threading

import numpy as np

from . import atomic
from .core import graph
from .core.device import Device, as_device
from .core.dtype import DType
from .core.errors import CannotFindTensor, SafeTensorError
from .core.tensor import Tensor
from .safetensors_header import (
    MAX_HEADER_BYTES,
    MAX_TENSORS,
    Header,
    TensorInfo,
    header_length,
    open_regular,
    parse_header,
    read_exact,
    read_header,
    read_header_from,
    too_many,
)

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_TENSORS",
    "Header",
    "LOADABLE_DTYPES",
    "MmapedSafetensors",
    "TensorInfo",
    "load",
    "load_buffer",
    "load_with_metadata",
    "parse_header",
    "read_header",
    "read_metadata",
    "save",
]


_PLAIN_NP = {"BOOL": "<u1", "U8": "<u1", "U32": "<u4", "I16": "<i2", "I32": "<i4", "I64": "<i8"}
_PLAIN_NP.update({"F16": "<f2", "F32": "<f4", "F64": "<f8"})
_NP = {name: np.dtype(code) for name, code in _PLAIN_NP.items()}  # BOOL bytes load as U8
LOADABLE_DTYPES = (*_PLAIN_NP, "BF16")  # the format's dtypes wick loads


# ----- arrays and tensors -----------------------------------------------------------------------


def _np_dtype(info: TensorInfo, name: str, where) -> np.dtype:
    found = _NP.get(info.dtype)
    if found is not None:
        return found
    if info.dtype == "BF16":
        return DType.BF16.np  # imports ml_dtypes on first use only
    raise SafeTensorError(
        f"tensor {name!r}: unsupported dtype {info.dtype} (wick loads "
        f"{', '.join(LOADABLE_DTYPES)}; BOOL as U8)",
        where,
    )


def _native(array: np.ndarray) -> np.ndarray:
    return array if array.dtype.isnative else array.astype(array.dtype.newbyteorder("="))


def _to_tensor(array: np.ndarray, device: Device) -> Tensor:
    return graph.wrap(device.backend.from_host(array), device)


def _read_tensor(f, header: Header, name: str, path, device: Device, lock=None) -> Tensor:
    info = header.tensors[name]
    dt = _np_dtype(info, name, path)
    buf = np.empty(info.nbytes, np.uint8)
    try:
        if lock is None:
            read_exact(f, header.data_start + info.start, buf, path)
        else:
            with lock:  # seek + read is not atomic across threads
                read_exact(f, header.data_start + info.start, buf, path)
    except OSError as exc:
        if isinstance(exc, SafeTensorError):
            raise
        raise SafeTensorError(f"cannot read tensor {name!r}: {exc.strerror or exc}", path) from None
    return _to_tensor(_native(buf.view(dt).reshape(info.shape)), device)


def load_with_metadata(path, device: Device = None) -> tuple:
    """``(tensors, metadata)`` of a safetensors file (metadata is a dict of strings)."""
    device = as_device(device)
    atomic.clean_stale(path)
    f, size = open_regular(path)
    with f:
        header = read_header_from(f, size, path)
        tensors = {n: _read_tensor(f, header, n, path, device) for n in header.tensors}
    return tensors, dict(header.metadata)


def load(path, device: Device = None) -> dict:
    """All tensors of a safetensors file, by name.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> save({"w": Tensor.new([1.0, 2.0])}, p)
    >>> load(p)["w"].to_vec1()
    [1.0, 2.0]
    """
    return load_with_metadata(path, device)[0]


def read_metadata(path) -> dict:
    """The metadata of a safetensors file, without reading the tensors."""
    return dict(read_header(path).metadata)


def load_buffer(data, device: Device = None) -> dict:
    """All tensors of an in-memory safetensors buffer (bytes, bytearray, memoryview), by name."""
    where = "<buffer>"
    device = as_device(device)
    try:
        view = memoryview(data).cast("B")
    except TypeError:
        raise SafeTensorError(f"expected bytes, got {type(data).__name__}", where) from None
    n = header_length(bytes(view[:8]), len(view), where)
    header = parse_header(bytes(view[8 : 8 + n]), len(view) - 8 - n, where)
    out = {}
    for name, info in header.tensors.items():
        dt = _np_dtype(info, name, where)
        start = 8 + n + info.start
        buf = np.frombuffer(view[start : start + info.nbytes], np.uint8).copy()  # own the bytes
        out[name] = _to_tensor(_native(buf.view(dt).reshape(info.shape)), device)
    return out


# ----- save ---------------------------------------------------------------------------------------


def _host_arrays(tensors: dict, path) -> dict:
    """Checks every name and value before anything is written; host arrays by name."""
    if not isinstance(tensors, dict):
        raise SafeTensorError(f"tensors must be a dict, got {type(tensors).__name__}", path)
    if len(tensors) > MAX_TENSORS:
        raise too_many(path)
    arrays = {}
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise SafeTensorError(f"tensor names must be strings, got {name!r}", path)
        if not name:
            raise SafeTensorError("a tensor name cannot be empty", path)
        if name == "__metadata__":
            raise SafeTensorError(
                "the tensor name '__metadata__' is reserved by the format for the metadata", path
            )
        if not isinstance(t, Tensor):
            raise SafeTensorError(f"value for {name!r} is not a Tensor", path)
        arrays[name] = (t.dtype, np.asarray(t._device.backend.to_host(t._data), order="C"))
    return arrays


def _check_metadata(metadata, path) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafeTensorError("metadata must map strings to strings", path)
    return dict(metadata)


def _encode_header(arrays: dict, metadata, path) -> tuple:
    """``(length + header bytes, names in data order)``. Wider dtypes first, so that every
    tensor starts aligned to its element size; the header is padded to 8 bytes with spaces."""
    order = sorted(arrays, key=lambda n: (-arrays[n][0].size_in_bytes(), n))
    header, pos = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in order:
        dtype, array = arrays[name]
        nbytes = array.size * dtype.size_in_bytes()
        header[name] = {
            "dtype": dtype.name,
            "shape": list(array.shape),
            "data_offsets": [pos, pos + nbytes],
        }
        pos += nbytes
    try:
        raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = next((n for n in [*order, *(metadata or {}).items()] if _unencodable(n)), "?")
        raise SafeTensorError(f"cannot encode {bad!r} as UTF-8: {exc.reason}", path) from None
    raw += b" " * (-len(raw) % 8)
    if len(raw) > MAX_HEADER_BYTES:
        raise SafeTensorError(
            f"the header would take {len(raw):,} bytes, over the format's limit of "
            f"{MAX_HEADER_BYTES:,} (too many tensors or too much metadata)",
            path,
        )
    return struct.pack("<Q", len(raw)) + raw, order


def _unencodable(item) -> bool:
    texts = item if isinstance(item, tuple) else (item,)
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _write_data(f, header: bytes, arrays: dict, order: list) -> None:
    f.write(header)
    for name in order:
        array = arrays[name][1]
        if array.size:
            f.write(array.reshape(-1).view(np.uint8))  # no copy of the data


def save(tensors: dict, path, metadata: dict | None = None) -> None:
    """Writes tensors to ``path`` atomically (temporary file, fsync, rename; see ``wick.atomic``).

    Every name and value is checked first: a failed save leaves an existing file as it was.
    """
    try:
        os.fspath(path)
    except TypeError:
        raise SafeTensorError(f"expected a file path, got {type(path).__name__}", path) from None
    arrays = _host_arrays(tensors, path)
    metadata = _check_metadata(metadata, path)
    header, order = _encode_header(arrays, metadata, path)
    try:
        with atomic.open_atomic(path, "wb") as f:
            _write_data(f, header, arrays, order)
    except OSError as exc:
        raise SafeTensorError(f"cannot write: {exc.strerror or exc}", path) from None
    except Exception as exc:  # noqa: BLE001 - the old file is intact; no raw exception escapes
        raise SafeTensorError(f"cannot write: {exc}", path) from None


# ----- lazy access --------------------------------------------------------------------------------


class MmapedSafetensors:
    """Lazy access to the tensors of one or several safetensors files (Candle's mmaped files).

    Each file's header is read and checked once, when this is built; the files stay open and
    ``load(name)`` reads that tensor's bytes alone. A name in several files comes from the last.
    ``close()`` (or a ``with`` block) releases the files.
    """

    def __init__(self, paths):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self._files, self._routing = [], {}
        try:
            for path in paths:
                atomic.clean_stale(path)
                f, size = open_regular(path)
                self._files.append((f, None, path, None))  # closed by close() if the check fails
                self._files[-1] = (f, read_header_from(f, size, path), path, threading.Lock())
                for name in self._files[-1][1].tensors:
                    self._routing[name] = len(self._files) - 1
        except BaseException:
            self.close()
            raise

    def _find(self, name: str) -> tuple:
        index = self._routing.get(name)
        if index is None:
            raise CannotFindTensor(name)
        return self._files[index]

    def load(self, name: str, device: Device = None) -> Tensor:
        """The tensor ``name``; raises CannotFindTensor if no file has it."""
        f, header, path, lock = self._find(name)
        if f.closed:
            raise SafeTensorError(f"cannot read tensor {name!r}: the files were closed", path)
        return _read_tensor(f, header, name, path, as_device(device), lock)

    def get(self, name: str, device: Device = None) -> Tensor:
        return self.load(name, device)

    def shape_of(self, name: str) -> tuple:
        """The shape of ``name`` from the header, without reading the data."""
        return self._find(name)[1].tensors[name].shape

    def info(self, name: str) -> TensorInfo:
        """The header entry of ``name`` (format dtype, shape, byte range)."""
        return self._find(name)[1].tensors[name]

    def tensors(self) -> list:
        """All tensor names."""
        return list(self._routing)

    def close(self) -> None:
        """Closes the files (later loads raise SafeTensorError)."""
        for f, *_ in self._files:
            f.close()

    def __enter__(self) -> MmapedSafetensors:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __contains__(self, name: str) -> bool:
        return name in self._routing

    def __len__(self) -> int:
        return len(self._routing)
