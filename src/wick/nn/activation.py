"""Activation: the named activation functions as modules (candle-nn's ``Activation``)."""

from __future__ import annotations

from ..core import Tensor
from . import ops
from .module import Module


class Activation(Module):
    """``Activation.Relu``, ``Activation.Gelu`` (erf), ``Activation.LeakyRelu(0.01)``, ...

    >>> Activation.Relu(Tensor.new([-1.0, 2.0])).to_vec1()
    [0.0, 2.0]
    """

    __slots__ = ("name", "_f", "param")

    def __init__(self, name: str, f, param=None):
        self.name, self._f, self.param = name, f, param

    def forward(self, x: Tensor) -> Tensor:
        return self._f(x) if self.param is None else self._f(x, self.param)

    def __repr__(self) -> str:
        return f"Activation.{self.name}" + ("" if self.param is None else f"({self.param})")

    def __eq__(self, other) -> bool:
        return isinstance(other, Activation) and (self.name, self.param) == (
            other.name,
            other.param,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.param))

    @staticmethod
    def Elu(alpha: float) -> Activation:  # noqa: N802 (Candle's name)
        return Activation("Elu", Tensor.elu, alpha)

    @staticmethod
    def LeakyRelu(slope: float) -> Activation:  # noqa: N802
        return Activation("LeakyRelu", ops.leaky_relu, slope)

    @staticmethod
    def from_name(name: str) -> Activation:
        """Parses a Hugging Face config name (``"gelu"``, ``"gelu_new"``, ``"silu"``, ...)."""
        key = _ALIASES.get(name.lower(), name.lower())
        for act in _NAMED:
            if act.name.lower() == key:
                return act
        from ..core.errors import Msg

        raise Msg(f"unknown activation {name!r}")


_NAMED = [
    Activation("Gelu", Tensor.gelu_erf),
    Activation("NewGelu", Tensor.gelu),
    Activation("Relu", Tensor.relu),
    Activation("Relu2", lambda x: x.relu().sqr()),
    Activation("Relu6", lambda x: x.clamp(0.0, 6.0)),
    Activation("Silu", Tensor.silu),
    Activation("Sigmoid", ops.sigmoid),
    Activation("HardSigmoid", ops.hard_sigmoid),
    Activation("Swiglu", ops.swiglu),
    Activation("Swish", lambda x: x * ops.sigmoid(x)),
    Activation("HardSwish", lambda x: x * ops.hard_sigmoid(x)),
    Activation("Mish", ops.mish),
    Activation("GeluPytorchTanh", Tensor.gelu),
    Activation("Tanh", Tensor.tanh),
]
for _act in _NAMED:
    setattr(Activation, _act.name, _act)
_ALIASES = {"gelu_new": "newgelu", "gelu_pytorch_tanh": "gelupytorchtanh", "swish": "swish"}


class PReLU(Module):
    """``max(x, 0) + weight * min(x, 0)`` with a learnt slope, one or one per channel (dim 1)."""

    __slots__ = ("_is_scalar", "_weight")

    def __init__(self, weight: Tensor, is_scalar: bool):
        self._weight, self._is_scalar = weight, is_scalar

    def weight(self) -> Tensor:
        return self._weight

    def is_scalar(self) -> bool:
        return self._is_scalar

    def forward(self, x: Tensor) -> Tensor:
        w = self._weight
        if self._is_scalar:
            w = w.reshape(())
        elif x.shape != w.shape and x.rank() >= 2:
            if w.elem_count() != x.dim(1):
                from ..core.errors import Msg

                raise Msg(
                    f"error in prelu: unexpected number of channels for the input, got "
                    f"{x.dim(1)}, weight dim is {w.elem_count()}"
                )
            w = w.reshape([w.elem_count() if i == 1 else 1 for i in range(x.rank())])
        return x.maximum(0.0) + x.minimum(0.0).broadcast_mul(w)

    def __repr__(self) -> str:
        return f"PReLU(weight={list(self._weight.shape)}, scalar={self._is_scalar})"


def prelu(num_channels, vb) -> PReLU:
    """A PReLU reading ``weight`` (init 0.25): one slope if ``num_channels`` is None."""
    from .init import Init

    w = vb.get_with_hints(
        (1 if num_channels is None else num_channels,), "weight", Init.Const(0.25)
    )
    return PReLU(w, num_channels is None)
