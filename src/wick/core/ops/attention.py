"""Fused scaled-dot-product attention: ``softmax(q k^T * scale + mask) v`` as one primitive.

Inputs are ``q (..., Tq, D)``, ``k (..., Tk, D)``, ``v (..., Tk, Dv)`` with equal leading dims,
then optionally a mask already broadcast to ``(..., Tq, Tk)`` (additive in q's dtype, or U8 where
nonzero means "takes part"), then optionally a U8 dropout keep-mask of that shape. The forward
saves the attention probabilities, which the backward reuses. A row that can see no key at all
gives zeros (PyTorch's safe softmax), not NaN. f16 and bf16 are computed in f32 and cast back.
"""

from __future__ import annotations

from . import Primitive
from .precision import is_half, widen


def causal_additive(xp, tq: int, tk: int, dtype):
    """0 where query ``i`` may see key ``j <= i + tk - tq`` (aligned to the end), else -inf."""
    # Built per call (tiny next to the matmuls) on the current device: no cache to go stale.
    future = xp.triu(xp.ones((tq, tk), dtype=bool), k=tk - tq + 1)
    return xp.where(future, xp.asarray(-xp.inf, dtype=dtype), xp.asarray(0, dtype=dtype))


def _split_extra(extra, mask_kind, dropout):
    mask = extra[0] if mask_kind is not None else None
    keep = extra[-1] if dropout else None
    return mask, keep


def sdpa_forward(xp, q, k, v, *extra, scale, causal, mask_kind, dropout):
    """The attention output; saves the probabilities (and the dropped ones when dropout > 0)."""
    mask, keep = _split_extra(extra, mask_kind, dropout)
    dtype = q.dtype
    if is_half(dtype):
        q, k, v = widen(xp, q), widen(xp, k), widen(xp, v)
        if mask_kind == "add":
            mask = widen(xp, mask)
    s = q @ xp.swapaxes(k, -1, -2)
    s *= s.dtype.type(scale)
    if mask_kind == "add":
        s += mask
    elif mask_kind == "bool":
        s = xp.where(mask != 0, s, s.dtype.type(-xp.inf))
    if causal:
        s += causal_additive(xp, s.shape[-2], s.shape[-1], s.dtype)
    peak = s.max(axis=-1, keepdims=True)
    masked = mask_kind is not None or causal
    if masked:
        blind = ~xp.isfinite(peak)  # rows that see no key (all -inf), or a NaN
        peak[blind] = 0
    s -= peak
    p = xp.exp(s, out=s)
    total = p.sum(axis=-1, keepdims=True)
    if masked:
        total[total == 0] = 1  # the blind rows stay all zeros
    p /= total
    if dropout:
        pd = p * keep
        pd *= pd.dtype.type(1.0 / (1.0 - dropout))
    else:
        pd = p
    out = pd @ v
    return out.astype(dtype, copy=False), (p, pd)


def sdpa_backward(xp, g, out, q, k, v, *extra, scale, causal, mask_kind, dropout, saved, needs):
    # With s = q k^T * scale + mask, p = softmax(s), pd = dropout(p), o = pd v:
    # dv = pd^T g, dpd = g v^T, dp = dpd * keep / (1 - p_drop), ds = p * (dp - sum(dp * p)),
    # dq = ds k * scale, dk = ds^T q * scale, dmask = ds (additive masks only).
    mask, keep = _split_extra(extra, mask_kind, dropout)
    p, pd = saved
    dtype = q.dtype
    if is_half(dtype):
        g, q, k, v = widen(xp, g), widen(xp, q), widen(xp, k), widen(xp, v)
    sc = p.dtype.type(scale)
    gv = xp.swapaxes(pd, -1, -2) @ g if needs[2] else None
    need_s = needs[0] or needs[1] or (mask_kind == "add" and needs[3])
    gq = gk = gm = None
    if need_s:
        ds = g @ xp.swapaxes(v, -1, -2)
        if dropout:
            ds *= keep
            ds *= ds.dtype.type(1.0 / (1.0 - dropout))
        ds -= (ds * p).sum(axis=-1, keepdims=True)
        ds *= p
        if needs[0]:
            gq = ds @ k
            gq *= sc
        if needs[1]:
            gk = xp.swapaxes(ds, -1, -2) @ q
            gk *= sc
        if mask_kind == "add" and needs[3]:
            gm = ds.astype(mask.dtype, copy=False)
    grads = [gq, gk, gv]
    if is_half(dtype):
        grads = [None if x is None else x.astype(dtype) for x in grads]
    if mask_kind is not None:
        grads.append(gm)
    if dropout:
        grads.append(None)
    return tuple(grads)


SDPA = Primitive("sdpa", sdpa_forward, sdpa_backward, takes_needs=True, saves=True)
