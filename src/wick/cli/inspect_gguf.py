"""``wick inspect FILE.gguf``: what a GGUF file holds (architecture, tensors and their quant
types, metadata), read through ``wick.gguf`` without dequantizing anything."""

from __future__ import annotations

import math
import os
import struct
from collections import Counter

from .errors import CliError
from .metrics import table

SHOWN_TENSORS = 24  # longer lists are abbreviated unless --all
SHOWN_ITEMS = 4  # array values: the first and the last few
MAX_TEXT = 300


def is_gguf(path: str) -> bool:
    """Whether ``path`` names a GGUF file (by its name or its magic bytes)."""
    if path.endswith(".gguf"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"GGUF"
    except OSError:
        return False


def _version(path: str):
    with open(path, "rb") as f:
        head = f.read(8)
    return struct.unpack("<I", head[4:8])[0] if len(head) == 8 else None


def _text(value: str) -> str:
    shown = value if len(value) <= MAX_TEXT else value[:MAX_TEXT]
    # one line per key: a template's newlines are shown escaped
    shown = shown if shown.isprintable() else repr(shown)[1:-1]
    if len(value) > MAX_TEXT:
        shown += f"... ({len(value):,} characters)"
    return shown


def _item(value) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return repr(value)


def value_text(value) -> str:
    """A metadata value on one line: long strings cut, long arrays summarised."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        kind = {"str": "strings", "int": "integers", "float": "floats", "bool": "booleans"}.get(
            kinds[0] if len(kinds) == 1 else "", "values"
        )
        if len(value) <= 2 * SHOWN_ITEMS:
            return "[" + ", ".join(_item(v) for v in value) + "]"
        head = ", ".join(_item(v) for v in value[:SHOWN_ITEMS])
        tail = ", ".join(_item(v) for v in value[-SHOWN_ITEMS:])
        return f"[{len(value):,} {kind}: {head}, ..., {tail}]"
    return repr(value)


def run(args) -> int:
    """``wick inspect`` of a GGUF file."""
    from ..core.errors import Error
    from ..gguf import GGUF_TYPES, open_gguf
    from .inspect import _bytes, _natural

    path = args.file
    try:
        f = open_gguf(path)
        names = f.tensor_names()
        infos = {name: f.info(name) for name in names}
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    meta = f.metadata
    kinds = Counter(kind for _, kind in infos.values())
    total = sum(math.prod(shape) for shape, _ in infos.values())
    arch = meta.get("general.architecture", "unknown")
    name = meta.get("general.name")
    named = f", {name!r}" if isinstance(name, str) else ""
    types = ", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "no tensors"
    print(
        f"{path}: GGUF v{_version(path)}, architecture {arch}{named}, {len(names)} tensors, "
        f"{total:,} parameters ({types}), {_bytes(os.path.getsize(path))}\n"
    )
    ordered = sorted(names, key=_natural)
    shown = ordered if args.all or len(ordered) <= SHOWN_TENSORS else ordered[:SHOWN_TENSORS]
    rows = []
    for n in shown:
        shape, kind = infos[n]
        count = math.prod(shape)
        rows.append([n, kind, "[" + ", ".join(map(str, shape)) + "]", f"{count:,}"])
    if len(shown) < len(ordered):
        rows.append(
            [f"... {len(ordered) - len(shown)} more (--all lists every tensor)", "", "", ""]
        )
    rows.append(["total", "", "", f"{total:,}"])
    print(table(["name", "type", "shape", "parameters"], rows, "lllr"))
    print(f"\nmetadata ({len(meta)} keys)" if meta else "\nmetadata: none")
    for key in meta:  # file order: general.* first, as llama.cpp writes them
        print(f"  {key}: {value_text(meta[key])}")
    foreign = sorted(k for k in kinds if k not in GGUF_TYPES)
    if foreign:
        print(f"\nnote: wick cannot dequantize {', '.join(foreign)} tensors")
    return 0
