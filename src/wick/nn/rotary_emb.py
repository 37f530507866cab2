"""Rotary position embeddings (candle-nn's ``rotary_emb``).

Three layouts, each with Candle's shape checks:

- ``rope``: ``xs`` is (b, h, t, d); the two rotated halves are ``xs[..., :d/2]`` and
  ``xs[..., d/2:]`` (GPT-NeoX / Llama style).
- ``rope_i``: ``xs`` is (b, h, t, d); the rotated pairs are interleaved, ``(x[2i], x[2i+1])``.
- ``rope_thd``: ``xs`` is (b, t, h, d), halves as in ``rope``.

``cos`` and ``sin`` are (t', d/2) with t' >= t (the first t rows are used), or (b, t', d/2) for a
per-sequence table. Candle's ``rope*`` run a fused kernel without a gradient; wick's compute the
kernel's arithmetic (``x1 cos - x2 sin``, ``x1 sin + x2 cos``) from differentiable ops, so they
give the same values and a gradient for ``xs``, ``cos`` and ``sin``. ``rope_slow`` and
``rope_i_slow`` are Candle's reference compositions, kept to test against.
"""

from __future__ import annotations

from ..core import D, Tensor
from ..core.errors import Msg, UnexpectedNumberOfDims


def _dims4(xs: Tensor, op: str):
    if xs.rank() != 4:
        raise UnexpectedNumberOfDims(4, xs.rank(), xs.shape, op)
    return xs.dims4()


def _check_cs(cs: Tensor, b_sz: int, op: str):
    """(t, d/2) of a 2d or 3d cos/sin table; a 3d one must have the batch size of ``xs``."""
    dims = cs.dims()
    if len(dims) == 2:
        return dims[0], dims[1]
    if len(dims) == 3:
        if dims[0] != b_sz:
            raise Msg(f"inconsistent batch size in {op} {b_sz} {cs!r}")
        return dims[1], dims[2]
    raise Msg(f"cos/sin has to be 2D or 3D in {op} {b_sz} {cs!r}")


def _check(op: str, xs: Tensor, cos: Tensor, sin: Tensor, seq_len: int, n_embd: int, b_sz: int):
    cos_seq_len, cos_n_embd = _check_cs(cos, b_sz, op)
    sin_seq_len, sin_n_embd = _check_cs(sin, b_sz, op)
    if (
        cos_n_embd * 2 != n_embd
        or sin_n_embd * 2 != n_embd
        or seq_len > cos_seq_len
        or seq_len > sin_seq_len
    ):
        raise Msg(f"inconsistent last dim size in {op} {xs.shape} {cos.shape} {sin.shape}")
    # The contiguity checks are the fused kernel's requirement in Candle; kept so that a program
    # that runs on wick runs on Candle.
    for name, t in (("xs", xs), ("cos", cos), ("sin", sin)):
        if not t.is_contiguous():
            raise Msg(f"{name} has to be contiguous in {op}")
    dtype = xs.dtype
    if not dtype.is_float() or cos.dtype != dtype or sin.dtype != dtype:
        raise Msg(f"unsupported dtype for {op} {xs.dtype} {cos.dtype} {sin.dtype}")


def _table(cs: Tensor, seq_len: int, shape) -> Tensor:
    """The first ``seq_len`` rows of a 2d or 3d table, reshaped to broadcast against ``xs``."""
    if cs.rank() == 2:
        return cs.narrow(0, 0, seq_len).reshape(shape)
    return cs.narrow(1, 0, seq_len).reshape((cs.dim(0),) + tuple(shape[1:]))


def _rotate(x1: Tensor, x2: Tensor, cos: Tensor, sin: Tensor):
    """The kernel's arithmetic: ``(x1 cos - x2 sin, x1 sin + x2 cos)``."""
    y1 = x1.broadcast_mul(cos).sub(x2.broadcast_mul(sin))
    y2 = x1.broadcast_mul(sin).add(x2.broadcast_mul(cos))
    return y1, y2


def rope(xs: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding of ``xs`` (b, h, t, d), the two halves of the last dim rotated."""
    b_sz, _n_head, seq_len, n_embd = _dims4(xs, "rope")
    _check("rope", xs, cos, sin, seq_len, n_embd, b_sz)
    half = n_embd // 2
    cos = _table(cos, seq_len, (1, 1, seq_len, half))
    sin = _table(sin, seq_len, (1, 1, seq_len, half))
    y1, y2 = _rotate(xs.narrow(D.Minus1, 0, half), xs.narrow(D.Minus1, half, half), cos, sin)
    return Tensor.cat([y1, y2], D.Minus1)


def rope_i(xs: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding of ``xs`` (b, h, t, d), interleaved pairs ``(x[2i], x[2i+1])`` rotated."""
    b_sz, n_head, seq_len, n_embd = _dims4(xs, "rope_i")
    _check("rope_i", xs, cos, sin, seq_len, n_embd, b_sz)
    half = n_embd // 2
    cos = _table(cos, seq_len, (1, 1, seq_len, half, 1))
    sin = _table(sin, seq_len, (1, 1, seq_len, half, 1))
    x = xs.reshape((b_sz, n_head, seq_len, half, 2))
    y1, y2 = _rotate(x.narrow(D.Minus1, 0, 1), x.narrow(D.Minus1, 1, 1), cos, sin)
    return Tensor.cat([y1, y2], D.Minus1).flatten_from(D.Minus2)


def rope_thd(xs: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotary embedding of ``xs`` (b, t, h, d), the two halves of the last dim rotated."""
    b_sz, seq_len, _n_head, n_embd = _dims4(xs, "rope_thd")
    _check("rope_thd", xs, cos, sin, seq_len, n_embd, b_sz)
    half = n_embd // 2
    cos = _table(cos, seq_len, (1, seq_len, 1, half))
    sin = _table(sin, seq_len, (1, seq_len, 1, half))
    y1, y2 = _rotate(xs.narrow(D.Minus1, 0, half), xs.narrow(D.Minus1, half, half), cos, sin)
    return Tensor.cat([y1, y2], D.Minus1)


def _rotate_half(xs: Tensor) -> Tensor:
    """``cat(-x2, x1)`` of the two halves of the last dim."""
    last_dim = xs.dim(D.Minus1)
    xs1 = xs.narrow(D.Minus1, 0, last_dim // 2)
    xs2 = xs.narrow(D.Minus1, last_dim // 2, last_dim - last_dim // 2)
    return Tensor.cat([xs2.neg(), xs1], D.Minus1)


def rope_slow(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Candle's reference ``rope``: ``x * cat(cos, cos) + rotate_half(x) * cat(sin, sin)``
    (2d cos/sin only)."""
    _b_sz, _h, seq_len, _n_embd = _dims4(x, "rope_slow")
    cos = Tensor.cat([cos, cos], D.Minus1).narrow(0, 0, seq_len).unsqueeze(0).unsqueeze(0)
    sin = Tensor.cat([sin, sin], D.Minus1).narrow(0, 0, seq_len).unsqueeze(0).unsqueeze(0)
    return x.broadcast_mul(cos) + _rotate_half(x).broadcast_mul(sin)


def rope_i_slow(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Candle's reference ``rope_i``, from pairs of the reshaped input (2d cos/sin only)."""
    b_sz, n_head, seq_len, n_embd = _dims4(x, "rope_i_slow")
    half = n_embd // 2
    cos = cos.narrow(0, 0, seq_len).reshape((seq_len, half, 1))
    sin = sin.narrow(0, 0, seq_len).reshape((seq_len, half, 1))
    cos = cos.broadcast_as((b_sz, 1, seq_len, half, 1))
    sin = sin.broadcast_as((b_sz, 1, seq_len, half, 1))
    x = x.reshape((b_sz, n_head, seq_len, half, 2))
    x0 = x.narrow(D.Minus1, 0, 1)
    x1 = x.narrow(D.Minus1, 1, 1)
    y0 = x0.broadcast_mul(cos) - x1.broadcast_mul(sin)
    y1 = x0.broadcast_mul(sin) + x1.broadcast_mul(cos)
    return Tensor.cat([y0, y1], D.Minus1).flatten_from(D.Minus2)


__all__ = ["rope", "rope_i", "rope_i_slow", "rope_slow", "rope_thd"]
