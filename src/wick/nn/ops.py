"""Neural-network functions (candle-nn's ``ops``), every one differentiable.

``softmax``, ``log_softmax`` and ``sigmoid`` run as fused primitives with their own backward;
the ``*_slow`` functions are Candle's reference compositions, kept to test the fused ones.
"""

from __future__ import annotations

import math

from ..core import DType, Tensor, graph
from ..core.errors import Msg, UnsupportedDTypeForOp
from ..core.ops import attention, fused, norm, unary
from ..core.shape import to_index
from .module import ModuleT


def _require_float(x: Tensor, op: str) -> None:
    if not x.dtype.is_float():
        raise UnsupportedDTypeForOp(x.dtype, op)


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, stable for any ``x``, with a fused backward.

    >>> sigmoid(Tensor.new([0.0])).to_vec1()
    [0.5]
    """
    return graph.apply1(unary.SIGMOID, x)


def hard_sigmoid(x: Tensor) -> Tensor:
    """``clamp((x + 3) / 6, 0, 1)``."""
    return ((x + 3.0) * (1.0 / 6.0)).clamp(0.0, 1.0)


def softmax(x: Tensor, dim) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, computed stably.

    >>> softmax(Tensor.new([[0.0, 0.0]]), 1).to_vec2()
    [[0.5, 0.5]]
    """
    _require_float(x, "softmax")
    dim = to_index(dim, x.rank(), x.shape, "softmax")
    if x.dims()[dim] == 0:
        return x  # nothing to normalise: the empty result, as PyTorch gives
    return graph.apply1(fused.SOFTMAX, x, {"dim": dim})


def softmax_last_dim(x: Tensor) -> Tensor:
    """Softmax along the last dim."""
    return softmax(x, -1)


def log_softmax(x: Tensor, dim) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``dim``, computed stably."""
    _require_float(x, "log_softmax")
    dim = to_index(dim, x.rank(), x.shape, "log_softmax")
    if x.dims()[dim] == 0:
        return x  # nothing to normalise: the empty result, as PyTorch gives
    return graph.apply1(fused.LOG_SOFTMAX, x, {"dim": dim})


def softmax_slow(x: Tensor, dim) -> Tensor:
    """Candle's composite softmax (max, sub, exp, sum, div)."""
    peak = x.max_keepdim(dim)
    num = x.broadcast_sub(peak).exp()
    return num.broadcast_div(num.sum_keepdim(dim))


def log_softmax_slow(x: Tensor, dim) -> Tensor:
    """Candle's composite log-softmax."""
    diff = x.broadcast_sub(x.max_keepdim(dim))
    return diff.broadcast_sub(diff.exp().sum_keepdim(dim).log())


def silu(x: Tensor) -> Tensor:
    """``x * sigmoid(x)``."""
    return x.silu()


def swiglu(x: Tensor) -> Tensor:
    """Splits the last dim in two halves ``a, b`` and returns ``silu(a) * b``."""
    a, b = x.chunk(2, -1)
    return a.silu() * b


def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))``."""
    softplus = x.relu() + x.abs().neg().exp().affine(1.0, 1.0).log()
    return x * softplus.tanh()


def leaky_relu(x: Tensor, negative_slope: float) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return x.maximum(0.0) + x.minimum(0.0) * negative_slope


def selu(x: Tensor, alpha: float = 1.6732632423543772, gamma: float = 1.0507009873554805) -> Tensor:
    """Scaled ELU."""
    return x.elu(alpha) * gamma


def dropout(x: Tensor, p: float) -> Tensor:
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``."""
    if not 0.0 <= p < 1.0:
        raise Msg(f"dropout probability {p} is not in [0, 1)")
    if p == 0.0:
        return x
    keep = Tensor.rand(0.0, 1.0, x.shape, x.device, x.dtype).ge(p).to_dtype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


class Dropout(ModuleT):
    """Dropout as a ModuleT: active only when ``train`` is true."""

    def __init__(self, p: float):
        self.p = p

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        return dropout(x, self.p) if train else x

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def sdpa(q: Tensor, k: Tensor, v: Tensor, mask=None, scale=None, is_causal=False, *, dropout_p=0.0):
    """Scaled dot-product attention ``softmax(q k^T * scale + mask) v`` as one fused op.

    ``q`` is ``(..., Tq, D)``, ``k`` ``(..., Tk, D)``, ``v`` ``(..., Tk, Dv)``, the leading dims
    equal (``(B, H)`` or ``(B,)``; no GQA broadcasting: repeat k/v heads first). ``scale``
    defaults to ``1 / sqrt(D)``. ``mask`` broadcasts to ``(..., Tq, Tk)``: a float mask of q's
    dtype is added to the scores (and gets a gradient), a U8 mask keeps the scores where it is
    nonzero (PyTorch's bool ``attn_mask``: True takes part). ``is_causal`` lets query ``i`` see
    keys ``j <= i + Tk - Tq`` (aligned to the end, as a KV cache needs; PyTorch's when Tq == Tk);
    it may be combined with ``mask``. A query that sees no key gets zeros. ``dropout_p`` drops
    attention probabilities (inverted scaling, the device's generator); pass it only in training.

    >>> q = Tensor.new([[[1.0, 0.0], [0.0, 1.0]]])
    >>> sdpa(q, q, Tensor.new([[[1.0], [3.0]]]), is_causal=True).to_vec3()[0][0]
    [1.0]
    """
    op = "sdpa"
    for t in (q, k, v):
        _require_float(t, op)
    for t in (k, v):
        graph.check_same_dtype(op, q, t)
        graph.check_same_device(op, q, t)
    qs, ks, vs = q._data.shape, k._data.shape, v._data.shape
    if (
        len(qs) < 2
        or not len(qs) == len(ks) == len(vs)
        or not qs[:-2] == ks[:-2] == vs[:-2]
        or ks[-1] != qs[-1]
        or vs[-2] != ks[-2]
    ):
        raise Msg(
            f"shape mismatch in {op}, q: {q.shape}, k: {k.shape}, v: {v.shape} (expected q "
            "(..., Tq, D), k (..., Tk, D), v (..., Tk, Dv) with equal leading dims)"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise Msg(f"{op}: dropout probability {dropout_p} is not in [0, 1)")
    inputs = [q, k, v]
    mask_kind = None
    if mask is not None:
        full = qs[:-1] + ks[-2:-1]
        ms = mask._data.shape
        if len(ms) > len(full) or any(m not in (1, f) for m, f in zip(ms[::-1], full[::-1])):
            raise Msg(f"{op}: the mask {mask.shape} does not broadcast to the scores {list(full)}")
        graph.check_same_device(op, q, mask)
        if mask.dtype == DType.U8:
            mask_kind = "bool"
        elif mask.dtype == q.dtype:
            mask_kind = "add"
        else:
            raise Msg(f"{op}: the mask must be U8 (bool) or {q.dtype} like q, got {mask.dtype}")
        inputs.append(mask if ms == full else mask.broadcast_as(full))
    if dropout_p:
        full = qs[:-1] + ks[-2:-1]
        inputs.append(Tensor.rand(0.0, 1.0, full, q.device, q.dtype).ge(dropout_p))
    params = {
        "scale": float(1.0 / math.sqrt(qs[-1]) if scale is None else scale),
        "causal": bool(is_causal),
        "mask_kind": mask_kind,
        "dropout": float(dropout_p),
    }
    return graph.apply(attention.SDPA, tuple(inputs), params)


def sdpa_slow(q, k, v, mask=None, scale=None, is_causal=False, *, dropout_p=0.0):
    """The composite twin of ``sdpa`` (matmul, masks, softmax, dropout, matmul), for tests.

    Unlike ``sdpa`` it gives NaN for a query that sees no key (a softmax of all -inf)."""
    scale = 1.0 / math.sqrt(q.dim(-1)) if scale is None else scale
    s = q.matmul(k.transpose(-1, -2)) * scale
    tq, tk = s.dim(-2), s.dim(-1)
    neg_inf = Tensor.full(float("-inf"), s.shape, s.device).to_dtype(s.dtype)
    if mask is not None:
        if mask.dtype == DType.U8:
            s = mask.broadcast_as(s.shape).where_cond(s, neg_inf)
        else:
            s = s.broadcast_add(mask)
    if is_causal:
        rows = Tensor.arange(tk - tq, tk, s.device).reshape((tq, 1))
        future = Tensor.arange(0, tk, s.device).reshape((1, tk)).broadcast_gt(rows)
        s = future.broadcast_as(s.shape).where_cond(neg_inf, s)
    p = softmax_slow(s, -1)
    return dropout(p, dropout_p).matmul(v) if dropout_p else p.matmul(v)


def _check_norm_params(op: str, x: Tensor, params: tuple) -> None:
    """Each of ``params`` must be 1-d with the size of ``x``'s last dim, dtype and device alike."""
    hidden = x._data.shape[-1:]
    if any(p._data.shape != hidden for p in params):
        shapes = " ".join(f"{name}: {p.shape}" for name, p in zip(("alpha", "beta"), params))
        raise Msg(f"shape mismatch in {op} src: {x.shape} {shapes}")
    for p in params:
        graph.check_same_dtype(op, x, p)
        graph.check_same_device(op, x, p)


def layer_norm(x: Tensor, alpha: Tensor, beta: Tensor, eps: float) -> Tensor:
    """Normalises the last dim to zero mean and unit variance, then ``* alpha + beta`` (fused).

    >>> one, zero = Tensor.new([1.0, 1.0]), Tensor.new([0.0, 0.0])
    >>> layer_norm(Tensor.new([[1.0, 3.0]]), one, zero, 0.0).to_vec2()
    [[-1.0, 1.0]]
    """
    _check_norm_params("layer-norm", x, (alpha, beta))
    return graph.apply(norm.LAYER_NORM, (x, alpha, beta), {"eps": float(eps)})


def rms_norm(x: Tensor, alpha: Tensor, eps: float) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * alpha`` over the last dim (fused).

    >>> rms_norm(Tensor.new([[1.0, -1.0]]), Tensor.new([2.0, 3.0]), 0.0).to_vec2()
    [[2.0, -3.0]]
    """
    _check_norm_params("rms-norm", x, (alpha,))
    return graph.apply2(norm.RMS_NORM, x, alpha, {"eps": float(eps)})


def _internal_dtype(dtype: DType) -> DType:
    """f16/bf16 are normalised in f32 (Candle's internal dtype)."""
    return DType.F32 if dtype in (DType.F16, DType.BF16) else dtype


def layer_norm_slow(x: Tensor, alpha: Tensor, beta: Tensor, eps: float) -> Tensor:
    """Candle's composite layer-norm (mean, sub, sqr, sum, div, sqrt)."""
    x_dtype = x.dtype
    hidden = x.dim(-1)
    x = x.to_dtype(_internal_dtype(x_dtype))
    x = x.broadcast_sub(x.sum_keepdim(-1) / hidden)
    norm_x = x.sqr().sum_keepdim(-1) / hidden
    x_normed = x.broadcast_div((norm_x + eps).sqrt())
    return x_normed.to_dtype(x_dtype).broadcast_mul(alpha).broadcast_add(beta)


def rms_norm_slow(x: Tensor, alpha: Tensor, eps: float) -> Tensor:
    """Candle's composite RMS-norm."""
    x_dtype = x.dtype
    hidden = x.dim(-1)
    x = x.to_dtype(_internal_dtype(x_dtype))
    norm_x = x.sqr().sum_keepdim(-1) / hidden
    x_normed = x.broadcast_div((norm_x + eps).sqrt())
    return x_normed.to_dtype(x_dtype).broadcast_mul(alpha)
