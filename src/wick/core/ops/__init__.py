"""The op table: every primitive, its forward on backend arrays and its backward, side by side.

A primitive is registered once with ``Primitive(name, forward, backward)``:

- ``forward(xp, *arrays, **params) -> array`` computes the output from raw backend arrays;
- ``backward(xp, g, out, *arrays, **params) -> tuple`` returns one gradient array (or ``None``)
  per input array, given ``g``, the gradient of the output, and ``out``, the forward's result.

A primitive whose output has no useful gradient (comparisons, argmax) passes
``NOT_DIFFERENTIABLE`` as its backward; ``tests/core/test_op_table.py`` walks ``PRIMITIVES`` and
fails if an op has neither. A primitive whose output dtype differs from its first input's
(comparisons, argmax, to_dtype) passes ``keeps_dtype=False``. Backward functions run detached, on raw arrays, and may return views.
"""

from __future__ import annotations


class _NotDifferentiable:
    """Marks a primitive whose output carries no gradient (e.g. ``eq``, ``argmax``)."""

    def __repr__(self) -> str:
        return "NOT_DIFFERENTIABLE"


NOT_DIFFERENTIABLE = _NotDifferentiable()

PRIMITIVES: dict = {}


class Primitive:
    """One entry of the op table."""

    __slots__ = ("name", "forward", "backward", "keeps_dtype", "takes_needs", "saves")

    def __init__(
        self,
        name: str,
        forward,
        backward,
        *,
        keeps_dtype: bool = True,
        takes_needs: bool = False,
        saves: bool = False,
    ):
        if name in PRIMITIVES:
            raise ValueError(f"primitive {name} registered twice")
        self.name = name
        self.forward = forward
        self.backward = backward
        # The output has the first input's dtype; dispatch casts back where NumPy promoted
        # (ml_dtypes' bfloat16 ufuncs such as tanh return float32).
        self.keeps_dtype = keeps_dtype
        # Expensive backwards (matrix products) get ``needs``, one bool per input, so that
        # they skip the gradients nobody will read (e.g. the input of the first layer).
        self.takes_needs = takes_needs
        # A fused op whose backward reuses forward work (softmax probabilities, normalisation
        # statistics) returns ``(out, saved)``; its backward then gets ``saved=...``.
        self.saves = saves
        PRIMITIVES[name] = self

    @property
    def differentiable(self) -> bool:
        return self.backward is not NOT_DIFFERENTIABLE

    def __repr__(self) -> str:
        return f"Primitive({self.name})"


def load_all() -> None:
    """Imports every op family so that PRIMITIVES is complete."""
    from . import (  # noqa: F401
        attention,
        binary,
        conv,
        fused,
        indexing,
        matmul,
        movement,
        norm,
        reduce,
        resample,
        unary,
    )
