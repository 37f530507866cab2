"""Fused normalisation primitives over the last dim: layer-norm and RMS-norm (candle-nn's ops).

Each equals Candle's composition (``layer_norm_slow`` / ``rms_norm_slow`` in ``wick.nn.ops``;
tests check forward and backward against it) but runs as one op with one backward for all of
its inputs. f16 and bf16 inputs are computed in f32 and cast back.
"""

from __future__ import annotations

from . import Primitive
from .precision import widen


def _leading_axes(a) -> tuple:
    """Every axis but the last: the ones the per-feature ``alpha``/``beta`` are broadcast over."""
    return tuple(range(a.ndim - 1))


def _normalised(xp, a, eps):
    """``(a - mean) / sqrt(var + eps)`` along the last dim, with the reciprocal std."""
    centred = a - a.mean(axis=-1, keepdims=True)
    rstd = 1.0 / xp.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    centred *= rstd
    return centred, rstd


def layer_norm_forward(xp, x, alpha, beta, *, eps):
    """``(x - mean) / sqrt(var + eps) * alpha + beta``, the variance biased (divides by n).

    Saves the normalised input and the reciprocal std for the backward."""
    xhat, rstd = _normalised(xp, widen(xp, x), eps)
    y = xhat * widen(xp, alpha)
    y += widen(xp, beta)
    return y.astype(x.dtype, copy=False), (xhat, rstd)


def layer_norm_backward(xp, g, out, x, alpha, beta, *, eps, saved):
    # With xhat the normalised x and dy = g * alpha:
    # dx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), dalpha = sum(g * xhat), dbeta = sum(g).
    gw = widen(xp, g)
    xhat, rstd = saved
    axes = _leading_axes(gw)
    galpha = (gw * xhat).sum(axis=axes)
    gbeta = gw.sum(axis=axes)
    dy = gw * widen(xp, alpha)
    gx = dy - dy.mean(axis=-1, keepdims=True) - xhat * (dy * xhat).mean(axis=-1, keepdims=True)
    gx *= rstd
    return (
        gx.astype(x.dtype, copy=False),
        galpha.astype(alpha.dtype, copy=False),
        gbeta.astype(beta.dtype, copy=False),
    )


def _rms_scale(xp, a, eps):
    """``1 / sqrt(mean(a^2) + eps)`` along the last dim."""
    return 1.0 / xp.sqrt((a * a).mean(axis=-1, keepdims=True) + eps)


def rms_norm_forward(xp, x, alpha, *, eps):
    """``x / sqrt(mean(x^2) + eps) * alpha``."""
    a = widen(xp, x)
    y = a * _rms_scale(xp, a, eps)
    y *= widen(xp, alpha)
    return y.astype(x.dtype, copy=False)


def rms_norm_backward(xp, g, out, x, alpha, *, eps):
    # With r = 1 / sqrt(mean(x^2) + eps) and dy = g * alpha:
    # dx = r * (dy - x * r^2 * mean(dy * x)), dalpha = sum(g * x * r).
    gw, a = widen(xp, g), widen(xp, x)
    r = _rms_scale(xp, a, eps)
    galpha = (gw * a * r).sum(axis=_leading_axes(gw))
    dy = gw * widen(xp, alpha)
    gx = dy - a * (r * r) * (dy * a).mean(axis=-1, keepdims=True)
    gx *= r
    return gx.astype(x.dtype, copy=False), galpha.astype(alpha.dtype, copy=False)


LAYER_NORM = Primitive("layer_norm", layer_norm_forward, layer_norm_backward, saves=True)
RMS_NORM = Primitive("rms_norm", rms_norm_forward, rms_norm_backward)
