"""Convolution layers (candle-nn's ``conv``): Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core import Tensor
from ...core.errors import Msg
from ..init import DEFAULT_KAIMING_NORMAL, Init
from ..module import Module


@dataclass(frozen=True)
class Conv1dConfig:
    """Options of a 1-d convolution; ``cudnn_fwd_algo`` is accepted for Candle parity and ignored."""

    padding: int = 0
    stride: int = 1
    dilation: int = 1
    groups: int = 1
    cudnn_fwd_algo: object = None


@dataclass(frozen=True)
class Conv2dConfig:
    """Options of a 2-d convolution; ``cudnn_fwd_algo`` is accepted for Candle parity and ignored."""

    padding: int = 0
    stride: int = 1
    dilation: int = 1
    groups: int = 1
    cudnn_fwd_algo: object = None


@dataclass(frozen=True)
class ConvTranspose1dConfig:
    """Options of a transposed 1-d convolution."""

    padding: int = 0
    output_padding: int = 0
    stride: int = 1
    dilation: int = 1
    groups: int = 1


@dataclass(frozen=True)
class ConvTranspose2dConfig:
    """Options of a transposed 2-d convolution (``groups`` is a wick extension; Candle has none)."""

    padding: int = 0
    output_padding: int = 0
    stride: int = 1
    dilation: int = 1
    groups: int = 1


def _add_bias(x: Tensor, bias: Tensor | None) -> Tensor:
    """Adds a ``(c,)`` bias over the channel dim of ``(b, c, ...)``, as Candle reshapes it."""
    if bias is None:
        return x
    shape = (1, bias.dims1()) + (1,) * (x.rank() - 2)
    return x.broadcast_add(bias.reshape(shape))


class _ConvBase(Module):
    __slots__ = ("_bias", "_config", "_weight")

    def __init__(self, weight: Tensor, bias: Tensor | None = None, config=None):
        self._weight = weight
        self._bias = bias
        self._config = self._default_config() if config is None else config

    @staticmethod
    def _default_config():
        raise NotImplementedError

    def weight(self) -> Tensor:
        """The kernel."""
        return self._weight

    def bias(self) -> Tensor | None:
        """The per-output-channel bias, or None."""
        return self._bias

    def config(self):
        """The layer's config (padding, stride, ...)."""
        return self._config

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(weight={list(self._weight.shape)}, "
            f"bias={self._bias is not None}, {self._config})"
        )


class Conv1d(_ConvBase):
    """1-d convolution of ``(b, c_in, l)`` with a ``(c_out, c_in / groups, k)`` weight."""

    __slots__ = ()

    @staticmethod
    def _default_config():
        return Conv1dConfig()

    def forward(self, x: Tensor) -> Tensor:
        c = self._config
        y = x.conv1d(self._weight, c.padding, c.stride, c.dilation, c.groups)
        return _add_bias(y, self._bias)


class Conv2d(_ConvBase):
    """2-d convolution of ``(b, c_in, h, w)`` with a ``(c_out, c_in / groups, kh, kw)`` weight."""

    __slots__ = ()

    @staticmethod
    def _default_config():
        return Conv2dConfig()

    def forward(self, x: Tensor) -> Tensor:
        c = self._config
        y = x.conv2d(self._weight, c.padding, c.stride, c.dilation, c.groups)
        return _add_bias(y, self._bias)

    def absorb_bn(self, bn) -> Conv2d:
        """This convolution with an (eval-mode, affine) batch norm that follows it folded in."""
        weight_and_bias = bn.weight_and_bias()
        if weight_and_bias is None:
            raise Msg("batch norm does not have weight_and_bias")
        w_bn, b_bn = weight_and_bias
        std = w_bn.div((bn.running_var() + bn.eps()).sqrt())
        weight = self._weight.broadcast_mul(std.reshape((self._weight.dims4()[0], 1, 1, 1)))
        if self._bias is None:
            bias = b_bn.sub(std.mul(bn.running_mean()))
        else:
            bias = b_bn.add(std.mul(self._bias.sub(bn.running_mean())))
        return Conv2d(weight, bias, self._config)


class ConvTranspose1d(_ConvBase):
    """Transposed 1-d convolution with a ``(c_in, c_out / groups, k)`` weight."""

    __slots__ = ()

    @staticmethod
    def _default_config():
        return ConvTranspose1dConfig()

    def forward(self, x: Tensor) -> Tensor:
        c = self._config
        y = x.conv_transpose1d(
            self._weight, c.padding, c.output_padding, c.stride, c.dilation, c.groups
        )
        return _add_bias(y, self._bias)


class ConvTranspose2d(_ConvBase):
    """Transposed 2-d convolution with a ``(c_in, c_out / groups, kh, kw)`` weight."""

    __slots__ = ()

    @staticmethod
    def _default_config():
        return ConvTranspose2dConfig()

    def forward(self, x: Tensor) -> Tensor:
        c = self._config
        y = x.conv_transpose2d(
            self._weight, c.padding, c.output_padding, c.stride, c.dilation, c.groups
        )
        return _add_bias(y, self._bias)


# ----- builders (Candle's shapes, names and initialisation) ----------------------------------


def _conv_weight(vb, shape) -> Tensor:
    return vb.get_with_hints(shape, "weight", DEFAULT_KAIMING_NORMAL)


def _conv_bias(vb, in_channels: int, out_channels: int) -> Tensor:
    # Candle bounds the bias by the channel count alone (PyTorch uses the full fan-in).
    bound = 1.0 / math.sqrt(in_channels)
    return vb.get_with_hints((out_channels,), "bias", Init.Uniform(-bound, bound))


def conv1d(in_channels: int, out_channels: int, kernel_size: int, cfg, vb) -> Conv1d:
    """A Conv1d with bias: weight Kaiming normal (fan-in, ReLU gain), bias uniform ±1/√in_channels.

    >>> from wick.nn import VarMap, VarBuilder
    >>> layer = conv1d(4, 6, 3, Conv1dConfig(groups=2), VarBuilder.from_varmap(VarMap()))
    >>> layer.weight().shape, layer.bias().shape
    ([6, 2, 3], [6])
    """
    cfg = Conv1dConfig() if cfg is None else cfg
    ws = _conv_weight(vb, (out_channels, in_channels // cfg.groups, kernel_size))
    return Conv1d(ws, _conv_bias(vb, in_channels, out_channels), cfg)


def conv1d_no_bias(in_channels: int, out_channels: int, kernel_size: int, cfg, vb) -> Conv1d:
    """A Conv1d without bias."""
    cfg = Conv1dConfig() if cfg is None else cfg
    ws = _conv_weight(vb, (out_channels, in_channels // cfg.groups, kernel_size))
    return Conv1d(ws, None, cfg)


def conv2d(in_channels: int, out_channels: int, kernel_size: int, cfg, vb) -> Conv2d:
    """A Conv2d with a square kernel and bias, initialised as ``conv1d``."""
    cfg = Conv2dConfig() if cfg is None else cfg
    shape = (out_channels, in_channels // cfg.groups, kernel_size, kernel_size)
    return Conv2d(_conv_weight(vb, shape), _conv_bias(vb, in_channels, out_channels), cfg)


def conv2d_no_bias(in_channels: int, out_channels: int, kernel_size: int, cfg, vb) -> Conv2d:
    """A Conv2d with a square kernel and no bias."""
    cfg = Conv2dConfig() if cfg is None else cfg
    shape = (out_channels, in_channels // cfg.groups, kernel_size, kernel_size)
    return Conv2d(_conv_weight(vb, shape), None, cfg)


def _transpose1d(in_channels, out_channels, kernel_size, cfg, vb, bias) -> ConvTranspose1d:
    cfg = ConvTranspose1dConfig() if cfg is None else cfg
    bound = 1.0 / math.sqrt(out_channels * kernel_size)
    init = Init.Uniform(-bound, bound)
    shape = (in_channels, out_channels // cfg.groups, kernel_size)
    ws = vb.get_with_hints(shape, "weight", init)
    bs = vb.get_with_hints((out_channels,), "bias", init) if bias else None
    return ConvTranspose1d(ws, bs, cfg)


def conv_transpose1d(
    in_channels: int, out_channels: int, kernel_size: int, cfg, vb
) -> ConvTranspose1d:
    """A ConvTranspose1d with bias; weight and bias uniform ±1/√(out_channels·k) (Candle)."""
    return _transpose1d(in_channels, out_channels, kernel_size, cfg, vb, True)


def conv_transpose1d_no_bias(
    in_channels: int, out_channels: int, kernel_size: int, cfg, vb
) -> ConvTranspose1d:
    """A ConvTranspose1d without bias."""
    return _transpose1d(in_channels, out_channels, kernel_size, cfg, vb, False)


def _transpose2d(in_channels, out_channels, kernel_size, cfg, vb, bias) -> ConvTranspose2d:
    cfg = ConvTranspose2dConfig() if cfg is None else cfg
    bound = 1.0 / math.sqrt(out_channels) / kernel_size
    init = Init.Uniform(-bound, bound)
    shape = (in_channels, out_channels // cfg.groups, kernel_size, kernel_size)
    ws = vb.get_with_hints(shape, "weight", init)
    bs = vb.get_with_hints((out_channels,), "bias", init) if bias else None
    return ConvTranspose2d(ws, bs, cfg)


def conv_transpose2d(
    in_channels: int, out_channels: int, kernel_size: int, cfg, vb
) -> ConvTranspose2d:
    """A ConvTranspose2d with bias; weight and bias uniform ±1/(√out_channels·k) (Candle)."""
    return _transpose2d(in_channels, out_channels, kernel_size, cfg, vb, True)


def conv_transpose2d_no_bias(
    in_channels: int, out_channels: int, kernel_size: int, cfg, vb
) -> ConvTranspose2d:
    """A ConvTranspose2d without bias."""
    return _transpose2d(in_channels, out_channels, kernel_size, cfg, vb, False)
