"""Datasets: anything with ``__len__`` and ``__getitem__`` returning a tuple of tensors."""

from __future__ import annotations

from typing import Protocol

from ..core import Tensor
from ..core.errors import InvalidIndex, Msg


class Dataset(Protocol):
    """What a DataLoader needs: a length and one example (a tuple of tensors) by index."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple: ...


class TensorDataset:
    """Examples are the rows of tensors that share their first dim.

    >>> ds = TensorDataset(Tensor.new([[1.0, 2.0], [3.0, 4.0]]), Tensor.new([0, 1]))
    >>> len(ds), ds[1][0].to_vec1()
    (2, [3.0, 4.0])
    """

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise Msg("TensorDataset needs at least one tensor")
        n = tensors[0].dims()[0] if tensors[0].rank() else 0
        for t in tensors:
            if t.rank() == 0 or t.dim(0) != n:
                raise Msg(
                    "TensorDataset: every tensor needs the same first dim, got shapes "
                    + ", ".join(str(t.shape) for t in tensors)
                )
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].dim(0)

    def __getitem__(self, index: int) -> tuple:
        n = len(self)
        if not -n <= index < n:
            raise InvalidIndex("TensorDataset", index, n)
        return tuple(t.get(index % n) for t in self.tensors)

    def len(self) -> int:
        """The number of examples (the tutorial's ``len()``)."""
        return len(self)

    def get_item(self, index: int) -> tuple:
        """One example (the tutorial's ``get_item``)."""
        return self[index]
