"""wick: Hugging Face Candle's tensors, autograd and candle-nn, in Python.

>>> from wick import Tensor, Device
>>> print(Tensor.new([[1., 2., 3.], [4., 5., 6.]], Device.Cpu))
[[1., 2., 3.],
 [4., 5., 6.]]
Tensor[[2, 3], f64]
"""

from .core import (
    D,
    Device,
    DType,
    GradStore,
    Shape,
    Tensor,
    Var,
    print_options,
    set_print_options,
    set_print_options_default,
    set_print_options_full,
    set_print_options_short,
)
from .core.errors import *  # noqa: F401,F403
from .core.errors import __all__ as _error_names

__version__ = "0.1.0"

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
    *_error_names,
]
