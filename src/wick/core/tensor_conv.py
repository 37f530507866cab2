"""Tensor convolution, pooling and upsampling methods (Candle's argument order)."""

from __future__ import annotations

from . import graph
from .errors import Msg, UnexpectedType
from .ops import conv, resample
from .shape import check_alloc, to_real, to_usize


def _pair(value, op: str, name: str) -> tuple:
    """Candle's ``ToUsize2``: an int means the same value for height and width."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return (to_usize(value[0], op, name), to_usize(value[1], op, name))
    if isinstance(value, (tuple, list)):
        raise UnexpectedType(op, name, "an int or an (h, w) pair", value)
    value = to_usize(value, op, name)
    return (value, value)


def _check_upsample(x, op: str, sizes: tuple) -> None:
    out = resample.check_upsample(op, x._data.shape, sizes)
    check_alloc(op, out, x.dtype, x._device)


def _conv_args(op: str, x, kernel, **params) -> dict:
    """The int arguments of a convolution, validated (Candle's ``usize``s)."""
    graph.check_tensor(op, "kernel", kernel)
    return {name: to_usize(v, op, name) for name, v in params.items()}


def _conv(prim, x, kernel, op: str, out_shape=None, **params):
    graph.check_same_device(op, x, kernel)
    graph.check_same_dtype(op, x, kernel)
    # The input is padded first, then the output allocated: refuse either if it cannot fit.
    pad = params["padding"]
    check_alloc(
        op, x._data.shape[:2] + tuple(d + 2 * pad for d in x._data.shape[2:]), x.dtype, x._device
    )
    if out_shape is not None:
        check_alloc(op, out_shape, x.dtype, x._device)
    return graph.apply2(prim, x, kernel, params)


class ConvMethods:
    """Convolution methods of Tensor (mixed into the class; see tensor.py)."""

    __slots__ = ()

    def conv1d(self, kernel, padding=0, stride=1, dilation=1, groups=1):
        """1-d convolution of ``(b, c_in, l)`` with a ``(c_out, c_in / groups, k)`` kernel."""
        args = _conv_args(
            "conv1d", self, kernel, padding=padding, stride=stride, dilation=dilation, groups=groups
        )
        padding, stride, dilation, groups = (
            args["padding"],
            args["stride"],
            args["dilation"],
            args["groups"],
        )
        out = conv.check_conv1d(
            self._data.shape, kernel._data.shape, padding, stride, dilation, groups
        )
        return _conv(
            conv.CONV1D,
            self,
            kernel,
            "conv1d",
            out,
            padding=padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )

    def conv2d(self, kernel, padding=0, stride=1, dilation=1, groups=1):
        """2-d convolution of ``(b, c_in, h, w)`` with a ``(c_out, c_in / groups, kh, kw)`` kernel."""
        args = _conv_args(
            "conv2d", self, kernel, padding=padding, stride=stride, dilation=dilation, groups=groups
        )
        padding, stride, dilation, groups = (
            args["padding"],
            args["stride"],
            args["dilation"],
            args["groups"],
        )
        out = conv.check_conv2d(
            self._data.shape, kernel._data.shape, padding, stride, dilation, groups
        )
        return _conv(
            conv.CONV2D,
            self,
            kernel,
            "conv2d",
            out,
            padding=padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )

    def conv_transpose1d(self, kernel, padding=0, output_padding=0, stride=1, dilation=1, groups=1):
        """Transposed 1-d convolution with a ``(c_in, c_out / groups, k)`` kernel."""
        args = _conv_args(
            "conv_transpose1d",
            self,
            kernel,
            padding=padding,
            output_padding=output_padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )
        padding, output_padding, stride = args["padding"], args["output_padding"], args["stride"]
        dilation, groups = args["dilation"], args["groups"]
        out = conv.check_conv_transpose1d(
            self._data.shape, kernel._data.shape, padding, output_padding, stride, dilation, groups
        )
        return _conv(
            conv.CONV_TRANSPOSE1D,
            self,
            kernel,
            "conv_transpose1d",
            out,
            padding=padding,
            output_padding=output_padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )

    def conv_transpose2d(self, kernel, padding=0, output_padding=0, stride=1, dilation=1, groups=1):
        """Transposed 2-d convolution with a ``(c_in, c_out / groups, kh, kw)`` kernel."""
        args = _conv_args(
            "conv_transpose2d",
            self,
            kernel,
            padding=padding,
            output_padding=output_padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )
        padding, output_padding, stride = args["padding"], args["output_padding"], args["stride"]
        dilation, groups = args["dilation"], args["groups"]
        out = conv.check_conv_transpose2d(
            self._data.shape, kernel._data.shape, padding, output_padding, stride, dilation, groups
        )
        return _conv(
            conv.CONV_TRANSPOSE2D,
            self,
            kernel,
            "conv_transpose2d",
            out,
            padding=padding,
            output_padding=output_padding,
            stride=stride,
            dilation=dilation,
            groups=groups,
        )

    def _pool(self, prim, op: str, kernel_size, stride):
        kernel_size, stride = _pair(kernel_size, op, "kernel_size"), _pair(stride, op, "stride")
        resample.check_pool2d(op, self._data.shape, kernel_size, stride)
        return graph.apply1(prim, self, {"kernel_size": kernel_size, "stride": stride})

    def avg_pool2d(self, kernel_size):
        """Average over non-overlapping ``kernel_size`` windows of ``(b, c, h, w)``."""
        return self._pool(resample.AVG_POOL2D, "avg_pool2d", kernel_size, kernel_size)

    def avg_pool2d_with_stride(self, kernel_size, stride):
        return self._pool(resample.AVG_POOL2D, "avg_pool2d", kernel_size, stride)

    def max_pool2d(self, kernel_size):
        """Maximum over non-overlapping ``kernel_size`` windows of ``(b, c, h, w)``."""
        return self._pool(resample.MAX_POOL2D, "max_pool2d", kernel_size, kernel_size)

    def max_pool2d_with_stride(self, kernel_size, stride):
        return self._pool(resample.MAX_POOL2D, "max_pool2d", kernel_size, stride)

    def upsample_nearest1d(self, target_size: int):
        """Nearest-neighbour resize of ``(b, c, l)`` to length ``target_size``."""
        target_size = to_usize(target_size, "upsample_nearest1d", "target_size")
        _check_upsample(self, "upsample_nearest1d", (target_size,))
        return graph.apply1(resample.UPSAMPLE_NEAREST1D, self, {"target_size": target_size})

    def upsample_nearest2d(self, target_h: int, target_w: int):
        """Nearest-neighbour resize of ``(b, c, h, w)`` to ``(target_h, target_w)``."""
        target_h = to_usize(target_h, "upsample_nearest2d", "target_h")
        target_w = to_usize(target_w, "upsample_nearest2d", "target_w")
        _check_upsample(self, "upsample_nearest2d", (target_h, target_w))
        params = {"target_h": target_h, "target_w": target_w}
        return graph.apply1(resample.UPSAMPLE_NEAREST2D, self, params)

    interpolate1d = upsample_nearest1d
    interpolate2d = upsample_nearest2d

    def upsample_bilinear2d(self, target_h: int, target_w: int, align_corners: bool = False):
        """Bilinear resize of ``(b, c, h, w)`` (PyTorch's ``interpolate(mode="bilinear")``)."""
        target_h = to_usize(target_h, "upsample_bilinear2d", "target_h")
        target_w = to_usize(target_w, "upsample_bilinear2d", "target_w")
        _check_upsample(self, "upsample_bilinear2d", (target_h, target_w))
        if self._data.shape[2:] == (target_h, target_w):
            return self
        params = {"target_h": target_h, "target_w": target_w, "align_corners": align_corners}
        return graph.apply1(resample.UPSAMPLE_BILINEAR2D, self, params)

    def upsample_bilinear2d_with_scale(
        self, scale_h: float, scale_w: float, align_corners: bool = False
    ):
        """Bilinear resize by scale factors (output size ``floor(size * scale)``)."""
        op = "upsample_bilinear2d"
        resample.check_upsample(op, self._data.shape, (1, 1))
        scale_h, scale_w = to_real(scale_h, op, "scale_h"), to_real(scale_w, op, "scale_w")
        if not (0 <= scale_h < 2**31 and 0 <= scale_w < 2**31):  # also rejects NaN
            raise Msg(f"{op}: scales must be finite and non-negative, got {scale_h}, {scale_w}")
        h, w = self._data.shape[2:]
        target_h, target_w = resample.bilinear_scaled_hw(h, w, scale_h, scale_w)
        _check_upsample(self, op, (target_h, target_w))
        if (h, w) == (target_h, target_w):
            return self
        params = {
            "target_h": target_h,
            "target_w": target_w,
            "align_corners": align_corners,
            "scale_h": scale_h,
            "scale_w": scale_w,
        }
        return graph.apply1(resample.UPSAMPLE_BILINEAR2D, self, params)
