"""Elementwise binary primitives and comparisons. Both inputs always have the same shape:
broadcasting is its own op (``broadcast_as`` in movement.py), so no backward here unbroadcasts.
"""

from __future__ import annotations

from .. import backends
from ..errors import Msg
from . import NOT_DIFFERENTIABLE, Primitive


def add_forward(xp, a, b):
    return a + b


def add_backward(xp, g, out, a, b):
    return g, g


def sub_forward(xp, a, b):
    return a - b


def sub_backward(xp, g, out, a, b):
    return g, xp.negative(g)


def mul_forward(xp, a, b):
    return a * b


def mul_backward(xp, g, out, a, b):
    return g * b, g * a


def div_forward(xp, a, b):
    if a.dtype.kind in "ui":
        return _int_div(xp, a, b)
    return a / b


def _int_div(xp, a, b):
    """Integer division truncating toward zero, as Rust's ``/`` on integers."""
    backend = backends.of(xp)
    if backend.defers_checks and b.size:
        # GPU: no sync; a zero divisor is replaced by 1 and reported at the next host read.
        zero = b == 0
        backend.check(zero.any(), lambda: _div_by_zero(a))
        b = xp.where(zero, 1, b).astype(b.dtype, copy=False)
    elif b.size and not b.all():
        raise _div_by_zero(a)
    if a.dtype.kind == "u":
        return a // b
    q = xp.abs(a) // xp.abs(b)
    return xp.where((a < 0) != (b < 0), -q, q).astype(a.dtype, copy=False)


def _div_by_zero(a):
    return Msg(f"div: integer division by zero ({a.dtype} tensor of shape {list(a.shape)})")


def div_backward(xp, g, out, a, b):
    # Candle's order, g * a / b^2: one rounding fewer than (g / b) * out, so 1 / 3 gets
    # d/db = -1/9 correctly rounded in f32 (grad_tests.rs checks it to the last bit).
    return g / b, -(g * a) / (b * b)


def maximum_forward(xp, a, b):
    return xp.maximum(a, b)


def minimum_forward(xp, a, b):
    return xp.minimum(a, b)


def extremum_backward(xp, g, out, a, b):
    # Candle's rule: on a tie each side gets half of the gradient.
    mask_a = out == a
    mask_b = out == b
    ga = g * mask_a / (mask_b + 1).astype(g.dtype)
    gb = g * mask_b / (mask_a + 1).astype(g.dtype)
    return ga.astype(g.dtype, copy=False), gb.astype(g.dtype, copy=False)


def eq_forward(xp, a, b):
    return (a == b).view(xp.uint8)


def ne_forward(xp, a, b):
    return (a != b).view(xp.uint8)


def lt_forward(xp, a, b):
    return (a < b).view(xp.uint8)


def le_forward(xp, a, b):
    return (a <= b).view(xp.uint8)


def gt_forward(xp, a, b):
    return (a > b).view(xp.uint8)


def ge_forward(xp, a, b):
    return (a >= b).view(xp.uint8)


ADD = Primitive("add", add_forward, add_backward)
SUB = Primitive("sub", sub_forward, sub_backward)
MUL = Primitive("mul", mul_forward, mul_backward)
DIV = Primitive("div", div_forward, div_backward)
MAXIMUM = Primitive("maximum", maximum_forward, extremum_backward)
MINIMUM = Primitive("minimum", minimum_forward, extremum_backward)
EQ = Primitive("eq", eq_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
NE = Primitive("ne", ne_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
LT = Primitive("lt", lt_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
LE = Primitive("le", le_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
GT = Primitive("gt", gt_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
GE = Primitive("ge", ge_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)

COMPARISONS = {"eq": EQ, "ne": NE, "lt": LT, "le": LE, "gt": GT, "ge": GE}
