"""Neural-network functions (candle-nn's ``ops``), every one differentiable.

``softmax``, ``log_softmax`` and ``sigmoid`` run as fused primitives with their own backward;
the ``*_slow`` functions are Candle's reference compositions, kept to test the fused ones.
"""

from __future__ import annotations

from ..core import Tensor, graph
from ..core.errors import Msg
from ..core.ops import fused, unary
from ..core.shape import to_index
from .module import ModuleT


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, stable for any ``x``, with a fused backward.

    >>> sigmoid(Tensor.new([0.0])).to_vec1()
    [0.5]
    """
    return graph.apply1(unary.SIGMOID, x)


def hard_sigmoid(x: Tensor) -> Tensor:
    """``clamp((x + 3) / 6, 0, 1)``."""
    return ((x + 3.0) * (1.0 / 6.0)).clamp(0.0, 1.0)


def softmax(x: Tensor, dim) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably.

    >>> softmax(Tensor.new([[0.0, 0.0]]), 1).to_vec2()
    [[0.5, 0.5]]
    """
    dim = to_index(dim, x.rank(), x.shape, "softmax")
    return graph.apply1(fused.SOFTMAX, x, {"dim": dim})


def softmax_last_dim(x: Tensor) -> Tensor:
    """Softmax along the last dim."""
    return softmax(x, -1)


def log_softmax(x: Tensor, dim) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``dim``, computed stably."""
    dim = to_index(dim, x.rank(), x.shape, "log_softmax")
    return graph.apply1(fused.LOG_SOFTMAX, x, {"dim": dim})


def softmax_slow(x: Tensor, dim) -> Tensor:
    """Candle's composite softmax (max, sub, exp, sum, div)."""
    peak = x.max_keepdim(dim)
    num = x.broadcast_sub(peak).exp()
    return num.broadcast_div(num.sum_keepdim(dim))


def log_softmax_slow(x: Tensor, dim) -> Tensor:
    """Candle's composite log-softmax."""
    diff = x.broadcast_sub(x.max_keepdim(dim))
    return diff.broadcast_sub(diff.exp().sum_keepdim(dim).log())


def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)``."""
    return x.silu()


def swiglu(x: Tensor) -> Tensor:
    """Splits the last dim in two halves ``a, b`` and returns ``silu(a) * b``."""
    a, b = x.chunk(2, -1)
    return a.silu() * b


def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))``."""
    softplus = x.relu() + x.abs().neg().exp().affine(1.0, 1.0).log()
    return x * softplus.tanh()


def leaky_relu(x: Tensor, negative_slope: float) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return x.maximum(0.0) + x.minimum(0.0) * negative_slope


def selu(x: Tensor, alpha: float = 1.6732632423543772, gamma: float = 1.0507009873554805) -> Tensor:
    """Scaled ELU."""
    return x.elu(alpha) * gamma


def dropout(x: Tensor, p: float) -> Tensor:
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``."""
    if not 0.0 <= p < 1.0:
        raise Msg(f"dropout probability {p} is not in [0, 1)")
    if p == 0.0:
        return x
    keep = Tensor.rand(0.0, 1.0, x.shape, x.device, x.dtype).ge(p).to_dtype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


class Dropout(ModuleT):
    """Dropout as a ModuleT: active only when ``train`` is true."""

    def __init__(self, p: float):
        self.p = p

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        return dropout(x, self.p) if train else x

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
