"""wick.core: the engine (candle-core). Imports nothing from nn, data or files."""

from .ops import load_all as _load_all

_load_all()

from .backprop import GradStore  # noqa: E402
from .device import Device  # noqa: E402
from .display import (  # noqa: E402
    print_options,
    set_print_options,
    set_print_options_default,
    set_print_options_full,
    set_print_options_short,
)
from .dtype import DType  # noqa: E402
from .errors import *  # noqa: E402,F401,F403
from .shape import D, Shape  # noqa: E402
from .tensor import Tensor  # noqa: E402
from .var import Var  # noqa: E402

__all__ = [
    "D",
    "Device",
    "DType",
    "GradStore",
    "Shape",
    "Tensor",
    "Var",
    "print_options",
    "set_print_options",
    "set_print_options_default",
    "set_print_options_full",
    "set_print_options_short",
]
