"""Loss functions (candle-nn's ``loss``). Each returns a rank-0 tensor: the mean over the batch."""

from __future__ import annotations

from ..core.errors import ShapeMismatchBinaryOp
from ..core.tensor import Tensor


def binary_cross_entropy_with_logit(inp: Tensor, target: Tensor) -> Tensor:
    """Mean binary cross-entropy of ``sigmoid(inp)`` against ``target`` in [0, 1].

    Computed as ``max(z, 0) - z * y + log(1 + exp(-|z|))``, which is finite for every logit
    and equals Candle's ``-(y log σ(z) + (1 - y) log(1 - σ(z)))`` wherever that is finite.

    >>> from wick import Tensor
    >>> round(binary_cross_entropy_with_logit(Tensor.new([0.0]), Tensor.new([1.0])).to_scalar(), 4)
    0.6931
    """
    if inp.shape != target.shape:
        raise ShapeMismatchBinaryOp(inp.shape, target.shape, "binary_cross_entropy_with_logit")
    softplus = inp.abs().neg().exp().affine(1.0, 1.0).log()
    return (inp.relu() - inp * target + softplus).mean_all()
