"""``wick inspect``: what a safetensors file holds, read from its header alone (a GGUF file:
``inspect_gguf``).

The header goes through the same check as every reader of wick (``wick.safetensors_header``), so
inspect rejects (exit 2, one line) exactly the files ``load`` rejects as malformed. Only the
header is read, so a checkpoint of any size is inspected at once, and every dtype the format
names (BF16, F8_E4M3, ...) is listed, whether wick can load it or not.
"""

from __future__ import annotations

import math
import os
import re

from ..core.errors import SafeTensorError
from ..safetensors import LOADABLE_DTYPES as LOADABLE
from ..safetensors_header import read_header as _checked_header
from .errors import CliError
from .metrics import table


def read_header(path: str) -> tuple:
    """``(tensors, metadata, data bytes)``: tensors maps name -> (dtype, shape, bytes)."""
    if not os.path.exists(path):
        raise CliError(f"no such file: {path}")
    if os.path.isdir(path):
        raise CliError(f"{path} is a folder, not a safetensors file")
    try:
        header = _checked_header(path)
    except SafeTensorError as exc:
        if exc.msg.startswith("is "):  # "is a FIFO (named pipe), not a safetensors file"
            raise CliError(f"{path} {exc.msg}") from None
        raise CliError(f"{path} is not a safetensors file ({exc.msg})") from None
    tensors = {n: (t.dtype, list(t.shape), t.nbytes) for n, t in header.tensors.items()}
    return tensors, header.metadata, header.data_size


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
    from .generate import resolve
    from .inspect_gguf import is_gguf

    args.file = resolve(args.file)  # `wick inspect smollm2`: the file of its wheel
    if os.path.isfile(args.file) and is_gguf(args.file):
        from .inspect_gguf import run as run_gguf

        return run_gguf(args)
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
    foreign = [d for d in dtypes if d not in LOADABLE]
    if foreign:
        print(
            f"\nnote: wick cannot load {', '.join(foreign)} tensors (it holds {', '.join(LOADABLE)})"
        )
    return 0
