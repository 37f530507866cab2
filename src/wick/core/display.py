"""Pretty printing of tensors, following Candle's ``display.rs`` byte for byte.

The functions here work on raw NumPy arrays plus Candle's lower-case dtype name, so the
Tensor class can call them without this module importing it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .dtype import DType

__all__ = [
    "PrinterOptions",
    "format_debug",
    "format_tensor",
    "print_options",
    "set_edge_items",
    "set_line_width",
    "set_precision",
    "set_print_options",
    "set_print_options_default",
    "set_print_options_full",
    "set_print_options_short",
    "set_sci_mode",
    "set_threshold",
]

# Candle's `usize::MAX`, used by the "full" preset so that nothing is ever summarised.
USIZE_MAX = 2**64 - 1


@dataclass
class PrinterOptions:
    """Options for tensor pretty printing (Candle's ``PrinterOptions``)."""

    precision: int = 4
    threshold: int = 1000
    edge_items: int = 3
    line_width: int = 80
    sci_mode: bool | None = None


# Candle keeps the options behind a global mutex; a lock around module state mirrors that.
_LOCK = threading.Lock()
_OPTS = PrinterOptions()


def print_options() -> PrinterOptions:
    """A copy of the current print options."""
    with _LOCK:
        return replace(_OPTS)


def _set(**fields: object) -> None:
    global _OPTS
    with _LOCK:
        _OPTS = replace(_OPTS, **fields)


def set_print_options(
    *,
    precision: int = 4,
    threshold: int = 1000,
    edge_items: int = 3,
    line_width: int = 80,
    sci_mode: bool | None = None,
) -> None:
    """Replaces all print options at once; omitted fields take Candle's defaults."""
    _set(
        precision=precision,
        threshold=threshold,
        edge_items=edge_items,
        line_width=line_width,
        sci_mode=sci_mode,
    )


def set_print_options_default() -> None:
    """Restores Candle's default options (precision 4, threshold 1000, 3 edge items)."""
    set_print_options()


def set_print_options_short() -> None:
    """Candle's short preset: precision 2 and 2 edge items."""
    set_print_options(precision=2, edge_items=2)


def set_print_options_full() -> None:
    """Candle's full preset: never summarise."""
    set_print_options(threshold=USIZE_MAX)


def set_line_width(line_width: int) -> None:
    """Sets only the line width."""
    _set(line_width=line_width)


def set_precision(precision: int) -> None:
    """Sets only the number of digits after the decimal point."""
    _set(precision=precision)


def set_edge_items(edge_items: int) -> None:
    """Sets only how many items are kept at each edge when summarising."""
    _set(edge_items=edge_items)


def set_threshold(threshold: int) -> None:
    """Sets only the element count above which tensors are summarised."""
    _set(threshold=threshold)


def set_sci_mode(sci_mode: bool | None) -> None:
    """Forces scientific notation on (True) or off (False), or lets it be chosen (None)."""
    _set(sci_mode=sci_mode)


# ---------------------------------------------------------------------------------------------
# Rust float formatting, reproduced with Python's correctly rounded (half-to-even) formatting.

_HALF_TYPES = ("bf16", "f16")


def _rust_special(v: float) -> str | None:
    """Rust's spelling of NaN and infinities (never a sign on NaN), or None if finite."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _rust_fixed(v: float, precision: int) -> str:
    """Rust's ``{:.prec$}`` (negative zero keeps its sign, as in Rust >= 1.53)."""
    return _rust_special(v) or f"{v:.{precision}f}"


def _rust_exp(v: float, precision: int) -> str:
    """Rust's ``{:.prec$e}``: like C's %e but the exponent has no '+' and no zero padding."""
    special = _rust_special(v)
    if special is not None:
        return special
    mantissa, exp = f"{v:.{precision}e}".split("e")
    return f"{mantissa}e{int(exp)}"


def _rust_exp_shortest_f32(v: float) -> str:
    """Rust's ``{:e}`` of an f32: the shortest round-trip digits, e.g. ``1e0``, ``1.5e-3``."""
    special = _rust_special(v)
    if special is not None:
        return special
    text = np.format_float_scientific(np.float32(v), unique=True, trim="-")
    mantissa, exp = text.split("e")
    return f"{mantissa}e{int(exp)}"


def _rust_display(v: float, dtype_name: str) -> str:
    """Rust's plain ``{}`` of one element: shortest round-trip digits, never an exponent."""
    if isinstance(v, int):
        return str(v)
    special = _rust_special(v)
    if special is not None:
        return special
    # half's bf16/f16 Display goes through f32.
    scalar = np.float64(v) if dtype_name == "f64" else np.float32(v)
    return np.format_float_positional(scalar, unique=True, trim="-")


# ---------------------------------------------------------------------------------------------
# Formatters: each turns one element and a width into text.

Formatter = Callable[[Any, int], str]


def _int_formatter(v: object, width: int) -> str:
    return str(v).rjust(width)


def _cast_threshold(x: float, np_type: np.dtype) -> float:
    """``S::from(x)`` in Candle: f64 -> f32 -> S, as half's NumCast does for bf16/f16."""
    with np.errstate(over="ignore"):
        return float(np.asarray(np.float32(x)).astype(np_type))


def _float_formatter(
    to_display: np.ndarray, dtype_name: str, np_type: np.dtype, po: PrinterOptions
) -> Formatter:
    """Candle's FloatFormatter: picks integer/scientific mode from the displayed values.

    ``to_display`` holds the displayed values widened to float64 (exact for every float type).
    """
    int_mode, sci_mode = True, False
    values = to_display.ravel()
    values = values[np.isfinite(values) & (values != 0)]
    if values.size:
        mags = np.abs(values)
        vmin, vmax = float(mags.min()), float(mags.max())
        int_mode = bool(np.all(np.ceil(values) == values))
        # The ratio is computed in the element type (half types divide in f32 then round).
        with np.errstate(over="ignore"):
            if dtype_name == "f64":
                ratio = vmax / vmin
                thresholds = (1000.0, 1e8, 1e-4)
            else:
                ratio = float(np.asarray(np.float32(vmax) / np.float32(vmin)).astype(np_type))
                thresholds = tuple(_cast_threshold(x, np_type) for x in (1000.0, 1e8, 1e-4))
        sci_mode = ratio > thresholds[0] or vmax > thresholds[1] or vmin < thresholds[2]
    if po.sci_mode is not None:
        sci_mode = po.sci_mode
    precision = po.precision
    half = dtype_name in _HALF_TYPES

    def fmt(v: float, width: int) -> str:
        if sci_mode:
            if half:
                # half's LowerExp impl re-formats via `{:e}` on f32, dropping width and precision.
                return _rust_exp_shortest_f32(v)
            return _rust_exp(v, precision).rjust(width)
        if int_mode:
            if math.isfinite(v):
                return _rust_fixed(v, 0).rjust(width - 1) + "."
            return _rust_fixed(v, 0).rjust(width)
        return _rust_fixed(v, precision).rjust(width)

    return fmt


# ---------------------------------------------------------------------------------------------
# Layout.


def _summarized(a: np.ndarray, edge_items: int) -> np.ndarray:
    """Candle's get_summarized_data: keeps edge_items at both ends of every long axis."""
    for axis, size in enumerate(a.shape):
        if size > 2 * edge_items:
            keep = np.concatenate([np.arange(edge_items), np.arange(size - edge_items, size)])
            a = np.take(a, keep, axis=axis)
    return a


def _fmt_block(
    a: np.ndarray,
    indent: int,
    max_w: int,
    summarize: bool,
    po: PrinterOptions,
    fmt: Formatter,
    out: list[str],
) -> None:
    """Candle's fmt_tensor: appends the bracketed text of ``a`` to ``out``."""
    newline = "\n" + " " * indent
    edge = po.edge_items
    out.append("[")
    if a.ndim == 0:
        out.append(fmt(a.item(), max_w))
    elif a.ndim == 1 and summarize and a.shape[0] > 2 * edge:
        # A summarised row is never wrapped, however long it gets.
        n = a.shape[0]
        out.extend(fmt(v, max_w) + ", " for v in a[:edge].tolist())
        out.append("...")
        out.extend(", " + fmt(v, max_w) for v in a[n - edge :].tolist())
    elif a.ndim == 1:
        per_line = max(1, po.line_width // (max_w + 2))
        for i, v in enumerate(a.tolist()):
            if i > 0:
                out.append("," + newline if i % per_line == 0 else ", ")
            out.append(fmt(v, max_w))
    else:
        n = a.shape[0]
        if summarize and n > 2 * edge:
            for i in range(edge):
                _fmt_block(a[i], indent + 1, max_w, summarize, po, fmt, out)
                out.append("," + newline)
            out.append("..." + newline)
            rows = range(n - edge, n)
        else:
            rows = range(n)
        for i in rows:
            _fmt_block(a[i], indent + 1, max_w, summarize, po, fmt, out)
            if i + 1 != n:
                out.append("," + newline)
    out.append("]")


def _as_host(array: object, dtype_name: str) -> np.ndarray:
    """The array on the host in the NumPy dtype that stores ``dtype_name``."""
    return np.asarray(array).astype(DType.from_str(dtype_name).np, copy=False)


def _python_values(a: np.ndarray, dtype_name: str) -> np.ndarray:
    """Widens to int64/float64 (exactly) so ``tolist`` gives Python ints and floats."""
    return a.astype(np.float64 if DType.from_str(dtype_name).is_float() else np.int64)


def _shape_list(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def format_tensor(array: np.ndarray, dtype_name: str, device_suffix: str = "") -> str:
    """Candle's ``Display`` for a tensor: the values, a newline, then ``Tensor[[dims], dtype]``."""
    po = print_options()
    host = _as_host(array, dtype_name)
    summarize = host.size > po.threshold
    to_display = _summarized(host, po.edge_items) if summarize else host
    if DType.from_str(dtype_name).is_float():
        fmt = _float_formatter(_python_values(to_display, dtype_name), dtype_name, host.dtype, po)
    else:
        fmt = _int_formatter
    # Widths come from the displayed values only, as Candle's max_width does.
    shown = _python_values(to_display, dtype_name).ravel().tolist()
    max_w = max([1, *(len(fmt(v, 1)) for v in shown)])
    out: list[str] = []
    _fmt_block(_python_values(host, dtype_name), 1, max_w, summarize, po, fmt, out)
    out.append(f"\nTensor[{_shape_list(host.shape)}, {dtype_name}{device_suffix}]")
    return "".join(out)


def format_debug(array: np.ndarray, dtype_name: str, device_suffix: str = "") -> str:
    """Candle's ``Debug``: values for scalars and vectors shorter than 10, else the dims."""
    host = _as_host(array, dtype_name)
    if host.ndim <= 1 and (host.ndim == 0 or host.shape[0] < 10):
        values = _python_values(host, dtype_name).ravel().tolist()
        body = ", ".join(_rust_display(v, dtype_name) for v in values)
    else:
        body = "dims " + ", ".join(str(d) for d in host.shape)
    return f"Tensor[{body}; {dtype_name}{device_suffix}]"
