"""Neural-network functions (candle-nn's ``ops``), every one differentiable."""

from __future__ import annotations

from ..core import graph
from ..core.ops import unary
from ..core.tensor import Tensor


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, stable for any ``x``, with a fused backward.

    >>> from wick import Tensor
    >>> sigmoid(Tensor.new([0.0])).to_vec1()
    [0.5]
    """
    return graph.apply1(unary.SIGMOID, x)
