"""``wick inspect``: what a safetensors file holds, read from its header alone.

The format: 8 bytes (little-endian u64) giving the header's length, the header (a JSON object:
name -> dtype, shape, data_offsets; plus an optional ``__metadata__`` of strings), then the data.
Only the header is read, so a checkpoint of any size is inspected at once, and every dtype the
format names (BF16, F8_E4M3, ...) is listed, whether NumPy knows it or not.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct

from .errors import CliError
from .metrics import table

MAX_HEADER = 100 * 1024 * 1024  # the safetensors package's own limit
BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


def read_header(path: str) -> tuple:
    """``(tensors, metadata, data bytes)``: tensors maps name -> (dtype, shape, bytes)."""
    if not os.path.exists(path):
        raise CliError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CliError(f"{path} is a folder, not a safetensors file")
    size = os.path.getsize(path)
    bad = f"{path} is not a safetensors file"
    try:
        with open(path, "rb") as f:
            if size < 8:
                raise CliError(f"{bad} (only {size} bytes)")
            (n,) = struct.unpack("<Q", f.read(8))
            if n > min(size - 8, MAX_HEADER):
                raise CliError(f"{bad} (its header claims {n} bytes; the file has {size})")
            raw = f.read(n)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CliError(f"{bad} (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise CliError(f"{bad} (its header is not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CliError(f"{bad} (its __metadata__ is not a map of strings)")
    data_size = size - 8 - n
    tensors = {}
    for name, info in header.items():
        tensors[name] = _entry(name, info, data_size, bad)
    return tensors, meta, data_size


def _entry(name: str, info, data_size: int, bad: str) -> tuple:
    try:
        dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        ok = (
            isinstance(dtype, str)
            and isinstance(shape, list)
            and all(isinstance(d, int) and d >= 0 for d in shape)
            and isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start <= end <= data_size
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise CliError(f"{bad} (the entry for {name!r} is malformed or points past the end)")
    count = math.prod(shape)
    if dtype in BITS and (count * BITS[dtype] + 7) // 8 != end - start:
        raise CliError(f"{bad} ({name!r}: {count} {dtype} values do not fill {end - start} bytes)")
    return dtype, shape, end - start


def _natural(name: str) -> list:
    """Sort key: ``layer.2`` before ``layer.10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def run(args) -> int:
    """The ``wick inspect`` command."""
    tensors, meta, data_size = read_header(args.file)
    names = sorted(tensors, key=_natural)
    rows, total = [], 0
    for name in names:
        dtype, shape, _ = tensors[name]
        count = math.prod(shape)
        total += count
        rows.append([name, dtype, "[" + ", ".join(map(str, shape)) + "]", f"{count:,}"])
    dtypes = sorted({t[0] for t in tensors.values()})
    print(
        f"{args.file}: {len(tensors)} tensors, {total:,} parameters, {_bytes(data_size)} of "
        f"data ({', '.join(dtypes) or 'no tensors'})\n"
    )
    rows.append(["total", "", "", f"{total:,}"])
    print(table(["name", "dtype", "shape", "parameters"], rows, "lllr"))
    print("\nmetadata" + ("" if meta else ": none"))
    for key in sorted(meta):
        value = meta[key]
        if len(value) > 300:
            value = value[:300] + f"... ({len(meta[key]):,} characters)"
        print(f"  {key}: {value}")
    return 0
