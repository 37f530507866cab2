"""Parameter initialisation (candle-nn's ``init``): ``Init`` variants and Kaiming's rules."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ..core import Device, DType, Tensor, Var
from ..core.errors import Msg


class FanInOut(enum.Enum):
    """Which fan Kaiming initialisation scales by."""

    FanIn = "fan_in"
    FanOut = "fan_out"

    def for_shape(self, shape) -> int:
        """The fan of a weight of ``shape``: dims[1] (in) or dims[0] (out) times the receptive field."""
        dims = tuple(shape)
        receptive = math.prod(dims[2:])
        if self is FanInOut.FanIn:
            return 1 if len(dims) < 2 else dims[1] * receptive
        return 1 if not dims else dims[0] * receptive


class NormalOrUniform(enum.Enum):
    Normal = "normal"
    Uniform = "uniform"


class NonLinearity:
    """The activation a layer feeds, which sets Kaiming's gain."""

    __slots__ = ("name", "_gain")

    def __init__(self, name: str, gain: float):
        self.name, self._gain = name, gain

    def gain(self) -> float:
        return self._gain

    @staticmethod
    def ExplicitGain(gain: float) -> NonLinearity:  # noqa: N802 (Candle's name)
        return NonLinearity(f"ExplicitGain({gain})", gain)

    def __repr__(self) -> str:
        return f"NonLinearity.{self.name}"

    def __eq__(self, other) -> bool:
        return isinstance(other, NonLinearity) and (self.name, self._gain) == (
            other.name,
            other._gain,
        )

    def __hash__(self) -> int:
        return hash((self.name, self._gain))


NonLinearity.ReLU = NonLinearity("ReLU", math.sqrt(2.0))
NonLinearity.Linear = NonLinearity("Linear", 1.0)
NonLinearity.Sigmoid = NonLinearity("Sigmoid", 1.0)
NonLinearity.Tanh = NonLinearity("Tanh", 5.0 / 3.0)
NonLinearity.SELU = NonLinearity("SELU", 0.75)


class Init:
    """How a new variable is filled: ``Init.Const(v)``, ``Init.Randn(mean, stdev)``,
    ``Init.Uniform(lo, up)`` or ``Init.Kaiming(dist, fan, non_linearity)``."""

    def var(self, shape, dtype=DType.F32, device: Device = None) -> Var:
        """A new Var of ``shape`` filled by this rule."""
        raise NotImplementedError

    @staticmethod
    def Const(value: float) -> Const:  # noqa: N802
        return Const(value)

    @staticmethod
    def Randn(mean: float, stdev: float) -> Randn:  # noqa: N802
        return Randn(mean, stdev)

    @staticmethod
    def Uniform(lo: float, up: float) -> Uniform:  # noqa: N802
        return Uniform(lo, up)

    @staticmethod
    def Kaiming(dist, fan, non_linearity) -> Kaiming:  # noqa: N802
        return Kaiming(dist, fan, non_linearity)


@dataclass(frozen=True)
class Const(Init):
    value: float

    def var(self, shape, dtype=DType.F32, device=None) -> Var:
        if self.value == 0:
            return Var.zeros(shape, dtype, device)
        if self.value == 1:
            return Var.ones(shape, dtype, device)
        return Var.from_tensor(Tensor.ones(shape, dtype, device).affine(self.value, 0.0))


@dataclass(frozen=True)
class Randn(Init):
    mean: float
    stdev: float

    def var(self, shape, dtype=DType.F32, device=None) -> Var:
        _require_float(dtype)
        return Var.randn(self.mean, self.stdev, shape, device, dtype)


@dataclass(frozen=True)
class Uniform(Init):
    lo: float
    up: float

    def var(self, shape, dtype=DType.F32, device=None) -> Var:
        _require_float(dtype)
        return Var.rand(self.lo, self.up, shape, device, dtype)


@dataclass(frozen=True)
class Kaiming(Init):
    dist: NormalOrUniform
    fan: FanInOut
    non_linearity: NonLinearity

    def var(self, shape, dtype=DType.F32, device=None) -> Var:
        _require_float(dtype)
        std = self.non_linearity.gain() / math.sqrt(self.fan.for_shape(shape))
        if self.dist is NormalOrUniform.Uniform:
            bound = math.sqrt(3.0) * std
            return Var.rand(-bound, bound, shape, device, dtype)
        return Var.randn(0.0, std, shape, device, dtype)


def _require_float(dtype) -> None:
    from ..core.dtype import to_dtype

    if not to_dtype(dtype).is_float():
        raise Msg(f"random initialisation needs a float dtype, got {dtype}")


ZERO = Const(0.0)
ONE = Const(1.0)
DEFAULT_KAIMING_UNIFORM = Kaiming(NormalOrUniform.Uniform, FanInOut.FanIn, NonLinearity.ReLU)
DEFAULT_KAIMING_NORMAL = Kaiming(NormalOrUniform.Normal, FanInOut.FanIn, NonLinearity.ReLU)
