"""wick: Hugging Face Candle's tensors, autograd and candle-nn, in Python.

>>> from wick import Tensor, Device
>>> print(Tensor.new([[1., 2., 3.], [4., 5., 6.]], Device.Cpu))
[[1., 2., 3.],
 [4., 5., 6.]]
Tensor[[2, 3], f64]
"""

from .core import *  # noqa: F403 - the engine's public names are wick's
from .core import __all__ as _core_names
from .core.errors import *  # noqa: F403
from .core.errors import __all__ as _error_names

__version__ = "0.1.0"

__all__ = [*_core_names, *_error_names]
