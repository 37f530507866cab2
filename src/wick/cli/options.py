"""Option types for the command's parser: every value is checked where it is read, so a bad
``--seed -1`` or ``--lr nan`` is one ``wick: error:`` line before any work (and no heavy import)."""

from __future__ import annotations

import argparse
import math

MAX_SEED = 2**64 - 1  # Candle seeds with a u64
MAX_LAYER = 2**31 - 1  # a wider layer could not be indexed by the f32 kernels anyway


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (``--max-new-tokens``)."""
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {n}")
    return n


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--epochs``, ``--batch-size``)."""
    n = _int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def seed(text: str) -> int:
    """A seed in ``[0, 2**64)``, Candle's u64."""
    n = _int(text)
    if not 0 <= n <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {n}")
    return n


def positive_float(text: str) -> float:
    """A finite float above 0 (``--lr``)."""
    value = _float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A float in ``[0, 1)`` (``--test-fraction``)."""
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def temperature(text: str) -> float:
    """A finite float of at least 0 (``--temperature``; 0 is greedy)."""
    value = _float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def top_p(text: str) -> float:
    """A float in ``(0, 1]`` (``--top-p``)."""
    value = _float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def parse_hidden(text: str) -> list:
    """``"30,20"`` -> ``[30, 20]``; ``""`` -> ``[]`` (no hidden layer)."""
    try:
        sizes = [int(p) for p in text.split(",") if p.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 30,20, got {text!r}") from None
    if any(not 1 <= n <= MAX_LAYER for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be in [1, {MAX_LAYER:,}], got {text!r}")
    return sizes


def columns(text: str) -> list:
    """``"a, b"`` -> ``["a", "b"]`` (``--features``)."""
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names like a,b, got {text!r}")
    return names


DELIMITERS = {",": ",", ";": ";", "|": "|", "\\t": "\t", "\t": "\t", "tab": "\t"}


def delimiter(text: str) -> str:
    """``,`` ``;`` ``|`` or a tab (``tab`` or ``\\t``)."""
    try:
        return DELIMITERS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected one of , ; | tab, got {text!r}") from None


def add_csv_options(p: argparse.ArgumentParser) -> None:
    """``--delimiter`` and ``--header/--no-header``, shared by train, predict and eval."""
    g = p.add_argument_group("CSV files")
    g.add_argument(
        "--delimiter",
        type=delimiter,
        metavar="D",
        help="the field separator: , ; | or tab (default: sniffed from the first lines)",
    )
    g.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the first line names the columns (default: yes, and a first line holding "
        "numbers is refused as data); --no-header names the columns col1, col2, ...",
    )


def add_force(p: argparse.ArgumentParser) -> None:
    """``--force``: replace existing output files that wick did not write."""
    p.add_argument(
        "--force",
        action="store_true",
        help="replace output files that wick did not write (never an input file)",
    )
