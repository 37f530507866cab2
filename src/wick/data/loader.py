"""DataLoader: batches of a dataset, optionally shuffled anew every epoch (seeded)."""

from __future__ import annotations

import numpy as np

from ..core import Device, DType, Tensor
from ..core.device import as_device
from ..core.errors import Msg
from .dataset import TensorDataset


class DataLoader:
    """Iterates over batches of ``dataset``.

    ``shuffle`` draws a new order every epoch from ``seed`` (or from the CPU device's
    generator, which ``Device.Cpu.set_seed`` makes reproducible); ``drop_last`` drops an
    incomplete final batch. A TensorDataset is batched with one gather per tensor; other
    datasets by stacking their examples. ``shard=(rank, size)`` keeps every ``size``-th
    example starting at ``rank`` (data-parallel training).

    >>> x = Tensor.new([[1.0], [2.0], [3.0]])
    >>> [b[0].to_vec2() for b in DataLoader(TensorDataset(x), 2)]
    [[[1.0], [2.0]], [[3.0]]]
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        *,
        seed=None,
        device: Device = None,
        shard=None,
    ):
        if batch_size < 1:
            raise Msg(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = None if device is None else as_device(device)
        self._rng = np.random.default_rng(seed) if seed is not None else None
        n = len(dataset)
        indices = np.arange(n)
        if shard is not None:
            rank, size = shard
            if not 0 <= rank < size:
                raise Msg(f"DataLoader: shard rank {rank} is not in [0, {size})")
            indices = indices[rank::size]
        self._indices = indices

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return self._indices
        rng = self._rng if self._rng is not None else Device.Cpu.rng
        return rng.permutation(self._indices)

    def total_batches(self) -> int:
        """Batches per epoch."""
        n = len(self._indices)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __len__(self) -> int:
        return self.total_batches()

    def __iter__(self):
        order = self._order()
        for b in range(self.total_batches()):
            ids = order[b * self.batch_size : (b + 1) * self.batch_size]
            batch = self._batch(ids)
            if self.device is not None:
                batch = tuple(t.to_device(self.device) for t in batch)
            yield batch

    def iter(self):
        """The tutorial's ``loader.iter()``: the same as ``iter(loader)``."""
        return iter(self)

    def _batch(self, ids: np.ndarray) -> tuple:
        if isinstance(self.dataset, TensorDataset):
            first = self.dataset.tensors[0]
            index = Tensor.new(ids.astype(np.int64), first.device, DType.I64)
            return tuple(t.index_select(index, 0) for t in self.dataset.tensors)
        examples = [self.dataset[int(i)] for i in ids]
        return tuple(Tensor.stack(parts, 0) for parts in zip(*examples))
