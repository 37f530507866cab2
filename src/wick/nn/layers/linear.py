"""Linear: ``y = x W^T + b`` as one fused op (candle-nn's ``Linear``)."""

from __future__ import annotations

import math

from ...core import Tensor, graph
from ...core.errors import ShapeMismatchBinaryOp
from ...core.ops import fused
from ..init import DEFAULT_KAIMING_NORMAL, Init
from ..module import Module


class Linear(Module):
    """A fully connected layer with weight ``(out, in)`` and optional bias ``(out,)``."""

    __slots__ = ("_weight", "_bias")

    def __init__(self, weight: Tensor, bias: Tensor | None = None):
        self._weight = weight
        self._bias = bias

    def weight(self) -> Tensor:
        return self._weight

    def bias(self) -> Tensor | None:
        return self._bias

    def forward(self, x: Tensor) -> Tensor:
        w = self._weight
        xd, wd = x._data, w._data
        if xd.ndim == 0 or xd.shape[-1] != wd.shape[1]:
            raise ShapeMismatchBinaryOp(xd.shape, wd.shape, "linear")
        if xd.dtype is not wd.dtype:
            graph.check_same_dtype("linear", x, w)
        graph.check_same_device("linear", x, w)
        if self._bias is None:
            return graph.apply2(fused.LINEAR, x, w)
        return graph.apply(fused.LINEAR, (x, w, self._bias))

    __call__ = forward  # one Python call less per layer on the hot path

    def __repr__(self) -> str:
        out_dim, in_dim = self._weight.shape
        return f"Linear(in={in_dim}, out={out_dim}, bias={self._bias is not None})"


def linear_b(in_dim: int, out_dim: int, bias: bool, vb) -> Linear:
    """A Linear layer reading ``weight`` (and ``bias`` if asked) from ``vb``.

    Initialisation as Candle: weight Kaiming normal (fan-in, ReLU gain), bias uniform ±1/√in.
    """
    weight = vb.get_with_hints((out_dim, in_dim), "weight", DEFAULT_KAIMING_NORMAL)
    if not bias:
        return Linear(weight, None)
    bound = 1.0 / math.sqrt(in_dim)
    return Linear(weight, vb.get_with_hints((out_dim,), "bias", Init.Uniform(-bound, bound)))


def linear(in_dim: int, out_dim: int, vb) -> Linear:
    """A Linear layer with bias.

    >>> from wick.nn import VarMap, VarBuilder
    >>> layer = linear(2, 3, VarBuilder.from_varmap(VarMap()))
    >>> layer.weight().shape, layer.bias().shape
    ([3, 2], [3])
    """
    return linear_b(in_dim, out_dim, True, vb)


def linear_no_bias(in_dim: int, out_dim: int, vb) -> Linear:
    """A Linear layer without bias."""
    return linear_b(in_dim, out_dim, False, vb)
