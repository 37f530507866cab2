"""Normalisation layers (candle-nn's ``layer_norm``, ``batch_norm`` and ``group_norm``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core import DType, Tensor, Var
from ...core.errors import Msg
from .. import ops
from ..init import ONE, ZERO
from ..module import Module, ModuleT


def _internal_dtype(dtype: DType) -> DType:
    """f16/bf16 statistics are computed in f32 (Candle's internal dtype)."""
    return DType.F32 if dtype in (DType.F16, DType.BF16) else dtype


# ------------------------------------------------------------------------------------------------
# LayerNorm and RmsNorm


@dataclass(frozen=True)
class LayerNormConfig:
    """``eps``; ``remove_mean`` (false turns LayerNorm into RmsNorm); ``affine`` (a bias)."""

    eps: float = 1e-5
    remove_mean: bool = True
    affine: bool = True


class LayerNorm(Module):
    """Normalises the last dim, then scales by ``weight`` and shifts by ``bias`` (if any).

    >>> ln = LayerNorm(Tensor.new([1.0, 1.0, 1.0]), Tensor.new([0.0, 0.0, 0.0]), 1e-5)
    >>> [round(v, 4) for v in ln(Tensor.new([[1.0, 2.0, 3.0]])).to_vec2()[0]]
    [-1.2247, 0.0, 1.2247]
    """

    __slots__ = ("_weight", "_bias", "_remove_mean", "_eps")

    def __init__(self, weight: Tensor, bias: Tensor | None, eps: float, remove_mean: bool = True):
        self._weight = weight
        self._bias = bias
        self._remove_mean = remove_mean
        self._eps = eps

    @classmethod
    def new(cls, weight: Tensor, bias: Tensor, eps: float) -> LayerNorm:
        """A layer norm with weight and bias."""
        return cls(weight, bias, eps)

    @classmethod
    def new_no_bias(cls, weight: Tensor, eps: float) -> LayerNorm:
        """A layer norm that removes the mean but has no bias."""
        return cls(weight, None, eps)

    @classmethod
    def rms_norm(cls, weight: Tensor, eps: float) -> LayerNorm:
        """A layer norm that keeps the mean and has no bias: RMS normalisation."""
        return cls(weight, None, eps, remove_mean=False)

    def weight(self) -> Tensor:
        return self._weight

    def bias(self) -> Tensor | None:
        return self._bias

    def eps(self) -> float:
        return self._eps

    def remove_mean(self) -> bool:
        return self._remove_mean

    def forward(self, x: Tensor) -> Tensor:
        # The fused op handles any layout, so unlike Candle it does not require a contiguous x.
        if self._remove_mean and self._bias is not None:
            return ops.layer_norm(x, self._weight, self._bias, self._eps)
        x_dtype = x.dtype
        hidden = x.dim(-1)
        x = x.to_dtype(_internal_dtype(x_dtype))
        if self._remove_mean:
            x = x.broadcast_sub(x.sum_keepdim(-1) / hidden)
        norm_x = x.sqr().sum_keepdim(-1) / hidden
        x = x.broadcast_div((norm_x + self._eps).sqrt())
        x = x.to_dtype(x_dtype).broadcast_mul(self._weight)
        return x if self._bias is None else x.broadcast_add(self._bias)


def layer_norm(size: int, config, vb) -> LayerNorm:
    """A LayerNorm reading ``weight`` (init 1) and, if ``config.affine``, ``bias`` (init 0).

    ``config`` is a LayerNormConfig or an eps (Candle's ``From<f64>``).
    """
    if not isinstance(config, LayerNormConfig):
        config = LayerNormConfig(eps=float(config))
    weight = vb.get_with_hints(size, "weight", ONE)
    bias = vb.get_with_hints(size, "bias", ZERO) if config.affine else None
    return LayerNorm(weight, bias, config.eps, config.remove_mean)


def layer_norm_no_bias(size: int, eps: float, vb) -> LayerNorm:
    """A LayerNorm with ``weight`` only."""
    return layer_norm(size, LayerNormConfig(eps, remove_mean=True, affine=False), vb)


class RmsNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last dim, as one fused op."""

    __slots__ = ("_inner",)

    def __init__(self, weight: Tensor, eps: float):
        self._inner = LayerNorm.rms_norm(weight, eps)

    @classmethod
    def new(cls, weight: Tensor, eps: float) -> RmsNorm:
        return cls(weight, eps)

    def into_inner(self) -> LayerNorm:
        """The equivalent LayerNorm (``remove_mean`` false, no bias)."""
        return self._inner

    def weight(self) -> Tensor:
        return self._inner.weight()

    def eps(self) -> float:
        return self._inner.eps()

    def forward_diff(self, x: Tensor) -> Tensor:
        """The composite path (Candle's ``forward_diff``)."""
        return self._inner.forward(x)

    def forward(self, x: Tensor) -> Tensor:
        return ops.rms_norm(x, self._inner.weight(), self._inner.eps())


def rms_norm(size: int, eps: float, vb) -> RmsNorm:
    """An RmsNorm reading ``weight`` (init 1)."""
    return RmsNorm(vb.get_with_hints(size, "weight", ONE), eps)


# ------------------------------------------------------------------------------------------------
# BatchNorm


@dataclass(frozen=True)
class BatchNormConfig:
    """``eps``; ``remove_mean``; ``affine`` (false: no weight or bias at all); ``momentum`` of the
    running statistics: ``running * (1 - momentum) + batch_stat * momentum``."""

    eps: float = 1e-5
    remove_mean: bool = True
    affine: bool = True
    momentum: float = 0.1


class BatchNorm(ModuleT):
    """Normalises each channel (dim 1) over the batch and every other dim.

    ``BatchNorm(num_features, running_mean, running_var, weight, bias, eps)`` is Candle's
    ``BatchNorm::new``; ``new_no_bias`` and the ``*_with_momentum`` variants are classmethods.
    ``forward_t(x, True)`` uses the batch statistics and updates the running ones in place;
    ``forward_t(x, False)`` uses the running statistics.
    """

    __slots__ = ("_running_mean", "_running_var", "_weight_and_bias", "_remove_mean", "_eps",
                 "_momentum")  # fmt: skip

    def __init__(
        self,
        num_features: int,
        running_mean: Tensor,
        running_var: Tensor,
        weight: Tensor,
        bias: Tensor,
        eps: float = 1e-5,
    ):
        self._setup(running_mean, running_var, (weight, bias), eps, 0.1, True)
        self._check_validity(num_features)

    def _setup(self, running_mean, running_var, weight_and_bias, eps, momentum, remove_mean):
        # A Var's tensor (from a VarMap) stays that Var, so the map sees the running updates.
        self._running_mean = Var.from_tensor(running_mean)
        self._running_var = Var.from_tensor(running_var)
        self._weight_and_bias = None if weight_and_bias is None else tuple(weight_and_bias)
        self._remove_mean = remove_mean
        self._eps = eps
        self._momentum = momentum

    @classmethod
    def _make(cls, num_features, running_mean, running_var, weight_and_bias, eps, momentum=0.1,
              remove_mean=True) -> BatchNorm:  # fmt: skip
        """The common constructor (``__init__`` is Candle's ``new``, which takes weight and bias)."""
        out = object.__new__(cls)
        out._setup(running_mean, running_var, weight_and_bias, eps, momentum, remove_mean)
        return out._check_validity(num_features)

    def _check_validity(self, num_features: int) -> BatchNorm:
        if self._eps < 0:
            raise Msg(f"batch-norm eps cannot be negative {self._eps}")
        if not 0.0 <= self._momentum <= 1.0:
            raise Msg(f"batch-norm momentum must be between 0 and 1, is {self._momentum}")
        named = [("running mean", self._running_mean), ("running variance", self._running_var)]
        if self._weight_and_bias is not None:
            named += list(zip(("weight", "bias"), self._weight_and_bias))
        for name, t in named:
            if t.dims() != [num_features]:
                raise Msg(
                    f"batch-norm {name} has unexpected shape {t.shape} "
                    f"should have shape [{num_features}]"
                )
        return self

    @classmethod
    def new(cls, num_features, running_mean, running_var, weight, bias, eps) -> BatchNorm:
        """The same as ``BatchNorm(...)``: weight and bias, momentum 0.1."""
        return cls(num_features, running_mean, running_var, weight, bias, eps)

    @classmethod
    def new_no_bias(cls, num_features, running_mean, running_var, eps) -> BatchNorm:
        """A batch norm without weight or bias."""
        return cls._make(num_features, running_mean, running_var, None, eps)

    @classmethod
    def new_with_momentum(
        cls, num_features, running_mean, running_var, weight, bias, eps, momentum
    ) -> BatchNorm:
        """A batch norm with weight and bias and the given momentum."""
        return cls._make(num_features, running_mean, running_var, (weight, bias), eps, momentum)

    @classmethod
    def new_no_bias_with_momentum(
        cls, num_features, running_mean, running_var, eps, momentum
    ) -> BatchNorm:
        """A batch norm without weight or bias, with the given momentum."""
        return cls._make(num_features, running_mean, running_var, None, eps, momentum)

    def running_mean(self) -> Tensor:
        return self._running_mean.as_tensor()

    def running_var(self) -> Tensor:
        return self._running_var.as_tensor()

    def eps(self) -> float:
        return self._eps

    def momentum(self) -> float:
        return self._momentum

    def weight_and_bias(self) -> tuple | None:
        return self._weight_and_bias

    def forward_train(self, x: Tensor) -> Tensor:
        """Normalises with the batch statistics and updates the running ones (Candle's rule)."""
        num_features = self._running_mean.dim(0)
        if x.rank() < 2:
            raise Msg(f"batch-norm input tensor must have at least two dimensions ({x.shape})")
        if x.dim(1) != num_features:
            raise Msg(
                "batch-norm input doesn't have the expected number of features "
                f"({x.shape} <> {num_features})"
            )
        x_dtype = x.dtype
        x = x.to_dtype(_internal_dtype(x_dtype)).transpose(0, 1)
        dims_post_transpose = x.dims()
        # One row per channel: a spatial batch norm over the batch and every other dim.
        x = x.flatten_from(1).contiguous()
        keep, m = 1.0 - self._momentum, self._momentum
        if self._remove_mean:
            mean_x = x.mean_keepdim(1)
            self._update(self._running_mean, mean_x, keep, m)
            x = x.broadcast_sub(mean_x)
        norm_x = x.sqr().mean_keepdim(1)
        # The running variance is unbiased (n / (n - 1)), the normalisation biased, as Candle
        # and PyTorch. A batch of one divides by zero: Candle gets inf here (and a NaN variance).
        n = x.dim(1)
        self._update(self._running_var, norm_x, keep, m * n / (n - 1) if n > 1 else math.inf)
        x = x.broadcast_div((norm_x + self._eps).sqrt()).to_dtype(x_dtype)
        if self._weight_and_bias is not None:
            weight, bias = self._weight_and_bias
            x = x.broadcast_mul(weight.reshape((-1, 1))).broadcast_add(bias.reshape((-1, 1)))
        return x.reshape(dims_post_transpose).transpose(0, 1)

    @staticmethod
    def _update(running: Var, stat: Tensor, keep: float, weight: float) -> None:
        """``running <- running * keep + stat * weight``, off the graph."""
        stat = stat.detach().flatten_all().to_dtype(running.dtype)
        running.set(running.as_detached_tensor() * keep + stat * weight)

    def forward_eval(self, x: Tensor) -> Tensor:
        """Normalises with the running statistics."""
        target = [d if i == 1 else 1 for i, d in enumerate(x.dims())]
        mean = self._running_mean.as_detached_tensor().reshape(target)
        var = self._running_var.as_detached_tensor().reshape(target)
        x = x.broadcast_sub(mean).broadcast_div((var + self._eps).sqrt())
        if self._weight_and_bias is None:
            return x
        weight, bias = self._weight_and_bias
        return x.broadcast_mul(weight.reshape(target)).broadcast_add(bias.reshape(target))

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        return self.forward_train(x) if train else self.forward_eval(x)


def batch_norm(num_features: int, config, vb) -> BatchNorm:
    """A BatchNorm reading ``running_mean`` (init 0), ``running_var`` (init 1) and, if
    ``config.affine``, ``weight`` (init 1) and ``bias`` (init 0). ``config`` may be an eps."""
    if not isinstance(config, BatchNormConfig):
        config = BatchNormConfig(eps=float(config))
    if config.eps < 0:
        raise Msg(f"batch-norm eps cannot be negative {config.eps}")
    running_mean = vb.get_with_hints(num_features, "running_mean", ZERO)
    running_var = vb.get_with_hints(num_features, "running_var", ONE)
    weight_and_bias = None
    if config.affine:
        weight_and_bias = (
            vb.get_with_hints(num_features, "weight", ONE),
            vb.get_with_hints(num_features, "bias", ZERO),
        )
    return BatchNorm._make(
        num_features,
        running_mean,
        running_var,
        weight_and_bias,
        config.eps,
        config.momentum,
        config.remove_mean,
    )


# ------------------------------------------------------------------------------------------------
# GroupNorm


class GroupNorm(Module):
    """Splits the channels (dim 1) in ``num_groups`` groups and normalises each group over its
    channels and every following dim, then a per-channel ``weight`` and ``bias``."""

    __slots__ = ("_weight", "_bias", "_eps", "_num_channels", "_num_groups")

    def __init__(
        self, weight: Tensor, bias: Tensor, num_channels: int, num_groups: int, eps: float
    ):
        if num_groups <= 0 or num_channels % num_groups:
            raise Msg(
                f"GroupNorm: num_groups ({num_groups}) must divide num_channels ({num_channels})"
            )
        self._weight = weight
        self._bias = bias
        self._eps = eps
        self._num_channels = num_channels
        self._num_groups = num_groups

    @classmethod
    def new(cls, weight, bias, num_channels: int, num_groups: int, eps: float) -> GroupNorm:
        return cls(weight, bias, num_channels, num_groups, eps)

    def weight(self) -> Tensor:
        return self._weight

    def bias(self) -> Tensor:
        return self._bias

    def eps(self) -> float:
        return self._eps

    def forward(self, x: Tensor) -> Tensor:
        x_shape = x.dims()
        if len(x_shape) <= 2:
            raise Msg("input rank for GroupNorm should be at least 3")
        b_sz, n_channels = x_shape[0], x_shape[1]
        if n_channels != self._num_channels:
            raise Msg(f"unexpected num-channels in GroupNorm ({n_channels} <> {self._num_channels}")
        hidden = math.prod(x_shape[2:]) * n_channels // self._num_groups
        x_dtype = x.dtype
        x = x.reshape((b_sz, self._num_groups, hidden)).to_dtype(_internal_dtype(x_dtype))
        x = x.broadcast_sub(x.sum_keepdim(2) / hidden)
        norm_x = x.sqr().sum_keepdim(2) / hidden
        x_normed = x.broadcast_div((norm_x + self._eps).sqrt())
        w_dims = [n_channels if i == 1 else 1 for i in range(len(x_shape))]
        return (
            x_normed.to_dtype(x_dtype)
            .reshape(x_shape)
            .broadcast_mul(self._weight.reshape(w_dims))
            .broadcast_add(self._bias.reshape(w_dims))
        )


def group_norm(num_groups: int, num_channels: int, eps: float, vb) -> GroupNorm:
    """A GroupNorm reading ``weight`` (init 1) and ``bias`` (init 0) of size ``num_channels``."""
    weight = vb.get_with_hints(num_channels, "weight", ONE)
    bias = vb.get_with_hints(num_channels, "bias", ZERO)
    return GroupNorm(weight, bias, num_channels, num_groups, eps)
