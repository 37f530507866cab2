"""The safetensors header: the one check every reader of a file or buffer goes through.

The format: 8 bytes (little-endian u64) giving the header's length, the header (a JSON object:
name -> dtype, shape, data_offsets; plus an optional ``__metadata__`` of strings), then the
tensors' bytes back to back. ``parse_header`` accepts what the ``safetensors`` package accepts,
and also refuses duplicate names (the package keeps the last silently) and headers listing more
than ``MAX_TENSORS`` entries; ``open_regular`` refuses folders, FIFOs and devices before reading.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from typing import NamedTuple

from .core.errors import SafeTensorError

MAX_HEADER_BYTES = 100_000_000  # the format's own limit (the safetensors package's too)
MAX_TENSORS = 100_000  # wick's limit per file: checking 100,000 entries takes 0.5-2 s here

# Bits per element of every dtype the format names (wick holds the first ten).
FORMAT_BITS = {
    "BOOL": 8,
    "U8": 8,
    "U32": 32,
    "I16": 16,
    "I32": 32,
    "I64": 64,
    "BF16": 16,
    "F16": 16,
    "F32": 32,
    "F64": 64,
    "I8": 8,
    "U16": 16,
    "U64": 64,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}
_U64_MAX = 2**64 - 1
_PREADV = hasattr(os, "preadv")


class TensorInfo(NamedTuple):
    """One header entry: the format's dtype name, the shape, and the byte range in the data."""

    dtype: str
    shape: tuple
    start: int
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


class Header(NamedTuple):
    """A checked header: entries sorted by name, metadata, where the data starts and its size."""

    tensors: dict
    metadata: dict
    data_start: int
    data_size: int


class _TooMany(Exception):
    pass


class _Duplicate(Exception):
    def __init__(self, key):
        self.key = key


def _json_objects():
    """An ``object_pairs_hook`` refusing duplicate keys, and stopping the parse once there are
    more objects than any header within the limits can hold."""
    budget = [MAX_TENSORS + 2]

    def hook(pairs):
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooMany
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen = set()
            for key, _ in pairs:
                if key in seen:
                    raise _Duplicate(key)
                seen.add(key)
        return obj

    return hook


def _is_u64(v) -> bool:
    return type(v) is int and 0 <= v <= _U64_MAX  # bool is an int subclass: refused


def _entry(name: str, info, where) -> TensorInfo:
    """One checked entry; the fast path first, as a header may list 100,000 of them."""
    try:
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        bits = FORMAT_BITS[dtype]
        count = 1
        for d in shape:
            if type(d) is not int or d < 0 or d > _U64_MAX:
                raise TypeError
            count *= d
        start, end = offsets
        if type(start) is not int or type(end) is not int or not 0 <= start <= end <= _U64_MAX:
            raise TypeError
        if type(shape) is not list or type(offsets) is not list:
            raise TypeError
    except (KeyError, TypeError, ValueError):
        _entry_error(name, info, where)
    if count * bits != (end - start) * 8:
        raise SafeTensorError(
            f"tensor {name!r}: {dtype} of shape {shape} needs {count * bits / 8:g} bytes, its "
            f"data_offsets [{start}, {end}] hold {end - start}"[:300],
            where,
        )
    return TensorInfo(dtype, tuple(shape), start, end)


def _entry_error(name: str, info, where):
    """Raises the message that says what is wrong with a malformed entry."""
    if not isinstance(info, dict):
        raise SafeTensorError(f"tensor {name!r}: its header entry is not a JSON object", where)
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
    if missing:
        raise SafeTensorError(f"tensor {name!r}: its header entry lacks {missing[0]!r}", where)
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in FORMAT_BITS:
        raise SafeTensorError(f"tensor {name!r}: unknown dtype {dtype!r}"[:300], where)
    if not isinstance(shape, list) or not all(_is_u64(d) for d in shape):
        raise SafeTensorError(
            f"tensor {name!r}: shape must be a list of non-negative integers, got {shape!r}"[:300],
            where,
        )
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_u64, offsets))):
        raise SafeTensorError(
            f"tensor {name!r}: data_offsets must be [start, end], got {offsets!r}"[:300], where
        )
    raise SafeTensorError(
        f"tensor {name!r}: data_offsets {offsets} end before they start"[:300], where
    )


def _check_layout(tensors: dict, data_size: int, where) -> None:
    """The tensors must tile the data exactly: back to back from 0, no overlap, no gap, nothing
    past the end and nothing left over (the format's rule)."""
    pos = 0
    for info in tensors.values():  # files are usually written in order: no sort needed
        if info.start != pos:
            break
        pos = info.end
    else:
        if pos <= data_size:
            _check_end(pos, data_size, where)
            return
    pos, prev = 0, None
    for name, info in sorted(tensors.items(), key=lambda kv: (kv[1].start, kv[1].end)):
        if info.end > data_size:
            raise SafeTensorError(
                f"tensor {name!r}: data_offsets [{info.start}, {info.end}] go past the end of the "
                f"data ({data_size} bytes): the file is truncated or its header is wrong",
                where,
            )
        if info.start < pos:
            raise SafeTensorError(
                f"tensor {name!r}: data_offsets [{info.start}, {info.end}] overlap tensor "
                f"{prev!r} (which ends at {pos})",
                where,
            )
        if info.start > pos:
            raise SafeTensorError(
                f"tensor {name!r}: data_offsets start at {info.start}, leaving a gap after byte "
                f"{pos} (the format stores tensors back to back)",
                where,
            )
        pos, prev = info.end, name
    _check_end(pos, data_size, where)


def _check_end(pos: int, data_size: int, where) -> None:
    if pos != data_size:
        raise SafeTensorError(
            f"the tensors cover {pos} bytes of data but the file holds {data_size} after its "
            "header (truncated, or bytes left over)",
            where,
        )


def parse_header(raw: bytes, data_size: int, where) -> Header:
    """Checks a header (the JSON bytes after the length) against the ``data_size`` bytes that
    follow it; returns it, or raises SafeTensorError naming ``where`` and the tensor."""
    if raw.count(b'"data_offsets"') > MAX_TENSORS:  # a cheap bound before building anything
        raise too_many(where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SafeTensorError(f"header is not UTF-8 (byte {exc.start + 8})", where) from None
    try:
        header = json.loads(text, object_pairs_hook=_json_objects())
    except _TooMany:
        raise too_many(where) from None
    except _Duplicate as dup:
        raise SafeTensorError(f"duplicate key {dup.key!r} in the header", where) from None
    except (ValueError, RecursionError) as exc:
        raise SafeTensorError(f"invalid JSON in header: {exc}"[:300], where) from None
    if not isinstance(header, dict):
        raise SafeTensorError("header is not a JSON object", where)
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SafeTensorError("__metadata__ must map strings to strings", where)
    if len(header) > MAX_TENSORS:
        raise too_many(where)
    tensors = {name: _entry(name, info, where) for name, info in header.items()}
    _check_layout(tensors, data_size, where)
    return Header(dict(sorted(tensors.items())), metadata, 0, data_size)  # by name, as the package


def too_many(where) -> SafeTensorError:
    return SafeTensorError(
        f"the header lists more than {MAX_TENSORS:,} tensors (wick's limit)", where
    )


def header_length(prefix: bytes, size: int, where) -> int:
    """The header length from the first 8 bytes, checked against the limit and the file size."""
    if size < 8:
        raise SafeTensorError(
            f"header too small: the file has {size} bytes, the header length alone takes 8", where
        )
    (n,) = struct.unpack("<Q", prefix)
    if n > MAX_HEADER_BYTES:
        raise SafeTensorError(
            f"header too large: it claims {n:,} bytes, over the format's limit of "
            f"{MAX_HEADER_BYTES:,}",
            where,
        )
    if n > size - 8:
        raise SafeTensorError(
            f"invalid header length: it claims {n:,} bytes, the file has {size - 8:,} after the "
            "length (truncated, or not a safetensors file)",
            where,
        )
    return n


# ----- files ------------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path):
    """``(binary file, size)``; refuses folders, FIFOs and devices before reading a byte."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise SafeTensorError(f"expected a file path, got {type(path).__name__}", path) from None
    try:
        mode = os.stat(p).st_mode
        if not stat.S_ISREG(mode):  # checked before opening: opening a FIFO blocks
            raise SafeTensorError(f"is {_kind(mode)}, not a safetensors file", path)
        # O_NONBLOCK: should a FIFO be swapped in after the check, opening it does not block.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SafeTensorError("no such file", path) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        if isinstance(exc, SafeTensorError):
            raise
        raise SafeTensorError(
            f"cannot read: {getattr(exc, 'strerror', None) or exc}", path
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise SafeTensorError(f"is {_kind(st.st_mode)}, not a safetensors file", path)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb", buffering=0), st.st_size


def read_exact(f, offset: int, buf, path) -> None:
    """Fills ``buf`` from ``offset``; a file that shrank since its header was read is an error."""
    view, got = memoryview(buf).cast("B"), 0
    if not _PREADV:
        f.seek(offset)
    while got < len(view):
        if _PREADV:  # one system call, no seek
            n = os.preadv(f.fileno(), [view[got:]], offset + got)
        else:
            n = f.readinto(view[got:])
        if not n:
            raise SafeTensorError(
                "the file is shorter than its header says (it changed while being read)", path
            )
        got += n


def _read_file_header(f, size: int, path) -> Header:
    prefix = f.read(8) if size >= 8 else b""
    n = header_length(prefix, size, path)
    raw = bytearray(n)
    read_exact(f, 8, raw, path)
    found = parse_header(raw, size - 8 - n, path)
    return found._replace(data_start=8 + n)


def read_header(path) -> Header:
    """The checked header of a safetensors file, without reading the tensors."""
    f, size = open_regular(path)
    with f:
        return read_header_from(f, size, path)


def read_header_from(f, size: int, path) -> Header:
    """The checked header of an open file of ``size`` bytes (OS errors become SafeTensorError)."""
    try:
        return _read_file_header(f, size, path)
    except OSError as exc:
        if isinstance(exc, SafeTensorError):
            raise
        raise SafeTensorError(f"cannot read: {exc.strerror or exc}", path) from None
