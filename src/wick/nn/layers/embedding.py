"""Embedding: a lookup table of ``hidden_size`` vectors indexed by token ids (candle-nn's)."""

from __future__ import annotations

from ...core import Tensor
from ..init import Init
from ..module import Module


class Embedding(Module):
    """Rows of ``embeddings`` (``(vocab, hidden_size)``) picked by ids of any shape.

    >>> emb = Embedding(Tensor.new([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]), 2)
    >>> emb(Tensor.new([[2, 0]], dtype="u32")).to_vec3()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """

    __slots__ = ("_embeddings", "_hidden_size")

    def __init__(self, embeddings: Tensor, hidden_size: int):
        self._embeddings = embeddings
        self._hidden_size = hidden_size

    @classmethod
    def new(cls, embeddings: Tensor, hidden_size: int) -> Embedding:
        return cls(embeddings, hidden_size)

    def embeddings(self) -> Tensor:
        return self._embeddings

    def hidden_size(self) -> int:
        return self._hidden_size

    def forward(self, ids: Tensor) -> Tensor:
        # index_select takes 1-d ids: flatten, select rows, restore the ids' shape + hidden.
        final_dims = ids.dims() + [self._hidden_size]
        values = self._embeddings.index_select(ids.flatten_all(), 0)
        return values.reshape(final_dims)

    def __repr__(self) -> str:
        vocab, hidden = self._embeddings.shape
        return f"Embedding(vocab={vocab}, hidden={hidden})"


def embedding(in_size: int, out_size: int, vb) -> Embedding:
    """An Embedding reading ``weight`` of shape ``(in_size, out_size)``, init N(0, 1)."""
    weights = vb.get_with_hints((in_size, out_size), "weight", Init.Randn(0.0, 1.0))
    return Embedding(weights, out_size)
