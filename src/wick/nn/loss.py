"""Loss functions (candle-nn's ``loss``). Each returns a rank-0 tensor: the mean over the batch."""

from __future__ import annotations

import numpy as np

from ..core import Tensor, graph
from ..core.errors import EmptyTensor, Msg, ShapeMismatchBinaryOp, UnsupportedDTypeForOp
from ..core.ops import fused
from ..core.shape import to_real

_LABEL_DTYPES = frozenset(map(np.dtype, ("uint8", "uint32", "int64")))


def _check_pair(op: str, inp: Tensor, target: Tensor) -> None:
    graph.check_tensor(op, "inp", inp)
    graph.check_tensor(op, "target", target)


def _check_labels(op: str, inp: Tensor, target: Tensor) -> None:
    _check_pair(op, inp, target)
    labels, logits = target._data, inp._data
    if labels.dtype not in _LABEL_DTYPES:
        raise UnsupportedDTypeForOp(target.dtype, op)
    if logits.dtype.kind not in "fV":  # integer logits: Candle has no log_softmax kernel
        raise UnsupportedDTypeForOp(inp.dtype, op)
    if labels.ndim != 1:
        raise Msg(f"{op}: the target tensor should have a single dimension, got {target.shape}")
    if logits.ndim != 2:
        raise Msg(f"{op}: the input should have two dimensions (batch, classes), got {inp.shape}")
    if logits.shape[0] != labels.shape[0]:
        raise ShapeMismatchBinaryOp(inp.shape, target.shape, op)
    if logits.shape[0] == 0:  # the mean over no rows, as wick's mean of nothing
        raise EmptyTensor(op)
    graph.check_same_device(op, inp, target)


def nll(inp: Tensor, target: Tensor) -> Tensor:
    """Negative log likelihood of ``target`` labels under log-probabilities ``inp`` (b, classes).

    A label outside ``[0, classes)`` raises InvalidIndex.
    """
    _check_labels("nll", inp, target)
    fused.checked_labels(target.device.xp, target._data, inp.dim(1), "nll")
    b = inp.dim(0)
    return inp.gather(target.unsqueeze(1), 1).sum_all().affine(-1.0 / b, 0.0)


def cross_entropy(inp: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy of logits ``inp`` (b, classes) against ``target`` labels (fused).

    >>> round(cross_entropy(Tensor.new([[0.0, 0.0]]), Tensor.new([1])).to_scalar(), 4)
    0.6931
    """
    _check_labels("cross_entropy", inp, target)
    return graph.apply2(fused.CROSS_ENTROPY, inp, target)


def cross_entropy_slow(inp: Tensor, target: Tensor) -> Tensor:
    """Candle's composite cross-entropy: ``nll(log_softmax(inp, 1), target)``."""
    from .ops import log_softmax_slow

    _check_labels("cross_entropy", inp, target)
    return nll(log_softmax_slow(inp, 1), target)


def mse(inp: Tensor, target: Tensor) -> Tensor:
    """Mean squared error."""
    _check_pair("mse", inp, target)
    if inp.shape != target.shape:
        raise ShapeMismatchBinaryOp(inp.shape, target.shape, "mse")
    if inp._data.dtype.kind not in "fV":  # Candle's sqr has no integer kernel
        raise UnsupportedDTypeForOp(inp.dtype, "mse")
    return (inp - target).sqr().mean_all()


def binary_cross_entropy_with_logit(inp: Tensor, target: Tensor) -> Tensor:
    """Mean binary cross-entropy of ``sigmoid(inp)`` against ``target`` in [0, 1].

    Computed as ``max(z, 0) - z * y + log(1 + exp(-|z|))``, which is finite for every logit
    and equals Candle's ``-(y log σ(z) + (1 - y) log(1 - σ(z)))`` wherever that is finite.

    >>> round(binary_cross_entropy_with_logit(Tensor.new([0.0]), Tensor.new([1.0])).to_scalar(), 4)
    0.6931
    """
    _check_pair("binary_cross_entropy_with_logit", inp, target)
    if inp.shape != target.shape:
        raise ShapeMismatchBinaryOp(inp.shape, target.shape, "binary_cross_entropy_with_logit")
    softplus = inp.abs().neg().exp().affine(1.0, 1.0).log()
    return (inp.relu() - inp * target + softplus).mean_all()


def huber(inp: Tensor, target: Tensor, delta: float) -> Tensor:
    """Huber loss: squared below ``delta``, linear above."""
    _check_pair("huber", inp, target)
    delta = to_real(delta, "huber", "delta")
    if inp.shape != target.shape:
        raise ShapeMismatchBinaryOp(inp.shape, target.shape, "huber")
    diff = inp - target
    abs_diff = diff.abs()
    squared = diff * diff * 0.5
    linear = abs_diff * delta - 0.5 * delta * delta
    return abs_diff.le(delta).where_cond(squared, linear).mean_all()
