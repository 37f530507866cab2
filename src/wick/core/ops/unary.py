"""Elementwise unary primitives: forward and backward side by side.

Every forward computes in the input's dtype, as Candle does; the backward formulas are
Candle's (``backprop.rs``) unless a comment says otherwise. Where Candle has no integer kernel
(exp, log, sin, cos, tanh, neg, recip, sqr, sqrt: its CPU kernels panic and CUDA has none), an
integer input raises UnsupportedDTypeForOp instead of truncating a float result.
"""

from __future__ import annotations

import math

from .. import backends
from ..dtype import dtype_of_array
from ..errors import UnsupportedDTypeForOp
from . import NOT_DIFFERENTIABLE, Primitive
from .precision import widen

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CA = 0.044715 * _SQRT_2_OVER_PI


def _no_int_kernel(x, op: str):
    raise UnsupportedDTypeForOp(dtype_of_array(x), op)


def exp_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "exp")
    return xp.exp(x)


def exp_backward(xp, g, out, x):
    return (g * out,)


def log_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "log")
    return xp.log(x)


def log_backward(xp, g, out, x):
    return (g / x,)


def sin_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "sin")
    return xp.sin(x)


def sin_backward(xp, g, out, x):
    return (g * xp.cos(x),)


def cos_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "cos")
    return xp.cos(x)


def cos_backward(xp, g, out, x):
    return (-g * xp.sin(x),)


def tanh_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "tanh")
    return xp.tanh(x)


def tanh_backward(xp, g, out, x):
    return (g * (1 - out * out),)


def neg_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "neg")
    return xp.negative(x)


def neg_backward(xp, g, out, x):
    return (xp.negative(g),)


def recip_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "recip")
    return xp.reciprocal(x)


def recip_backward(xp, g, out, x):
    return (-g * out * out,)


def sqr_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "sqr")
    return x * x


def sqr_backward(xp, g, out, x):
    return (2 * g * x,)


def sqrt_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "sqrt")
    return xp.sqrt(x)


def sqrt_backward(xp, g, out, x):
    return (0.5 * g / out,)


def abs_forward(xp, x):
    return xp.abs(x)


def abs_backward(xp, g, out, x):
    # Candle: d|x|/dx is +1 at 0 (it tests x >= 0).
    return (xp.where(x >= 0, g, -g),)


def relu_forward(xp, x):
    return xp.maximum(x, 0)


def relu_backward(xp, g, out, x):
    # Candle passes the gradient through at exactly 0 (x >= 0).
    return (g * (x >= 0),)


def gelu_forward(xp, x):
    """The tanh approximation of GELU (Candle's ``gelu``, GPT-2's ``gelu_new``); saves the tanh."""
    a = widen(xp, x)
    t = a * a  # t = tanh(c * x * (1 + 0.044715 x^2)), built in one buffer
    t *= _GELU_CA
    t += _SQRT_2_OVER_PI
    t *= a
    xp.tanh(t, out=t)
    y = t + 1
    y *= a
    y *= 0.5
    return y.astype(x.dtype, copy=False), t


def gelu_backward(xp, g, out, x, *, saved):
    # Exact derivative of the forward's formula (Candle's uses rounded constants), reusing t:
    # d/dx = 0.5 * (1 + t + x * (1 - t^2) * c * (1 + 3 * 0.044715 x^2)).
    t, a = saved, widen(xp, x)
    d = a * a
    d *= 3 * _GELU_CA
    d += _SQRT_2_OVER_PI
    d *= a
    r = t * t
    xp.subtract(1, r, out=r)
    r *= d
    r += t
    r += 1
    r *= widen(xp, g)
    r *= 0.5
    return (r.astype(x.dtype, copy=False),)


def erf_forward(xp, x):
    return backends.of(xp).erf(x)


def erf_backward(xp, g, out, x):
    return (g * (_TWO_OVER_SQRT_PI * xp.exp(-x * x)),)


def gelu_erf_forward(xp, x):
    return 0.5 * x * (1 + backends.of(xp).erf(x * _INV_SQRT_2))


def gelu_erf_backward(xp, g, out, x):
    cdf = 0.5 * (1 + backends.of(xp).erf(x * _INV_SQRT_2))
    pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
    return (g * (cdf + x * pdf),)


def _stable_sigmoid(xp, x):
    # sigmoid(x) = (1 + tanh(x / 2)) / 2: no exp to overflow for very negative x (f16 below -11).
    s = xp.tanh(x * x.dtype.type(0.5))
    s += 1
    s *= x.dtype.type(0.5)
    return s


def silu_forward(xp, x):
    return x * _stable_sigmoid(xp, x)


def silu_backward(xp, g, out, x):
    sig = _stable_sigmoid(xp, x)
    return (g * (sig * (1 - out) + out),)


def elu_forward(xp, x, *, alpha):
    return xp.where(x >= 0, x, alpha * xp.expm1(xp.minimum(x, 0)))


def elu_backward(xp, g, out, x, *, alpha):
    return (xp.where(x > 0, g, g * (out + alpha)),)


def powf_forward(xp, x, *, e):
    return xp.power(x, xp.asarray(e, dtype=x.dtype))


def powf_backward(xp, g, out, x, *, e):
    return (g * (e * xp.power(x, xp.asarray(e - 1, dtype=x.dtype))),)


def affine_forward(xp, x, *, mul, add):
    """Candle's ``x * mul + add`` with ``mul`` and ``add`` cast to the dtype first."""
    t = x.dtype.type
    if x.dtype.kind in "ui":
        return (x * t(mul) + t(add)).astype(x.dtype, copy=False)
    if add == 0 and mul != 0:
        return x * t(mul)  # differs from x * mul + 0 only where the product is -0
    if mul == 1:
        return x + t(add)  # x * 1 is x exactly, -0 and NaN included
    out = x * t(mul)
    out += t(add)  # even 0: Candle's -1 * 0 + 0 is +0 (-1 * 0 alone is -0)
    return out


def affine_backward(xp, g, out, x, *, mul, add):
    return (g * g.dtype.type(mul),)


def to_dtype_forward(xp, x, *, dtype):
    if dtype.kind in "ui" and x.dtype.kind in "fV":
        return _float_to_int(xp, x, dtype)
    return x.astype(dtype)


def _float_to_int(xp, x, dtype):
    """Rust's ``as`` (Candle's to_dtype): toward zero, saturated at the dtype's range, NaN → 0."""
    w = widen(xp, x)  # f16 and bf16 go through f32, as Candle's `v.to_f32() as u8`
    info = xp.iinfo(dtype)
    lo, hi = float(info.min), float(info.max) + 1.0  # 0 or -2**k, and 2**k: exact in any float
    out = xp.where((w >= lo) & (w < hi), w, 0).astype(dtype)  # NaN and out-of-range: 0 first
    out[w >= hi] = info.max
    out[w < lo] = info.min
    return out


def to_dtype_backward(xp, g, out, x, *, dtype):
    return (g.astype(x.dtype),)


def copy_forward(xp, x):
    return xp.array(x, copy=True, order="C")


def copy_backward(xp, g, out, x):
    return (g,)


def floor_forward(xp, x):
    return xp.floor(x)


def ceil_forward(xp, x):
    return xp.ceil(x)


def round_forward(xp, x):
    # Rust's f64::round rounds half away from zero; NumPy's rint rounds half to even. The split
    # by modf is exact (floor(|x| + 0.5) is not: 0.49999997f32 + 0.5 rounds up to 1).
    if x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        return x
    frac, whole = xp.modf(x)
    return xp.where(xp.abs(frac) >= 0.5, whole + xp.sign(x), whole)


def sign_forward(xp, x):
    return xp.sign(x)


EXP = Primitive("exp", exp_forward, exp_backward)
LOG = Primitive("log", log_forward, log_backward)
SIN = Primitive("sin", sin_forward, sin_backward)
COS = Primitive("cos", cos_forward, cos_backward)
TANH = Primitive("tanh", tanh_forward, tanh_backward)
NEG = Primitive("neg", neg_forward, neg_backward)
RECIP = Primitive("recip", recip_forward, recip_backward)
SQR = Primitive("sqr", sqr_forward, sqr_backward)
SQRT = Primitive("sqrt", sqrt_forward, sqrt_backward)
ABS = Primitive("abs", abs_forward, abs_backward)
RELU = Primitive("relu", relu_forward, relu_backward)
GELU = Primitive("gelu", gelu_forward, gelu_backward, saves=True)
ERF = Primitive("erf", erf_forward, erf_backward)
GELU_ERF = Primitive("gelu_erf", gelu_erf_forward, gelu_erf_backward)
SILU = Primitive("silu", silu_forward, silu_backward)
ELU = Primitive("elu", elu_forward, elu_backward)
POWF = Primitive("powf", powf_forward, powf_backward)
AFFINE = Primitive("affine", affine_forward, affine_backward)
TO_DTYPE = Primitive("to_dtype", to_dtype_forward, to_dtype_backward, keeps_dtype=False)
COPY = Primitive("copy", copy_forward, copy_backward)
# Piecewise constant: the gradient is zero almost everywhere, so Candle records no graph for them.
FLOOR = Primitive("floor", floor_forward, NOT_DIFFERENTIABLE)
CEIL = Primitive("ceil", ceil_forward, NOT_DIFFERENTIABLE)
ROUND = Primitive("round", round_forward, NOT_DIFFERENTIABLE)
SIGN = Primitive("sign", sign_forward, NOT_DIFFERENTIABLE)


def sigmoid_forward(xp, x):
    if x.dtype.kind in "ui":
        _no_int_kernel(x, "sigmoid")  # candle-nn's sigmoid: UnsupportedDTypeForOp
    # Two branches so that exp never overflows: e = exp(-|x|) is in (0, 1].
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(xp, g, out, x):
    return (g * out * (1 - out),)


SIGMOID = Primitive("sigmoid", sigmoid_forward, sigmoid_backward)
