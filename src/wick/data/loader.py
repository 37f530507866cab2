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
    datasets by stacking their examples.

    ``shard=(rank, size)`` (data-parallel training): every epoch, each rank takes every
    ``size``-th position of the same order, so the ranks see disjoint parts that together
    cover the dataset. Every rank gets the same number of examples, so the same number of
    steps: with ``drop_last`` the few examples past a multiple of ``size`` are left out that
    epoch, without it the order wraps around to fill the last ranks (as PyTorch's
    DistributedSampler). Shuffling a shard needs ``seed``, the same on every rank, or
    ``Device.Cpu.set_seed`` called alike on every rank before the same draws.

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
        self._n = len(dataset)
        self._shard = _checked_shard(shard, shuffle, seed)

    def _order(self) -> np.ndarray:
        n = self._n
        if not self.shuffle:
            order = np.arange(n)
        else:
            rng = self._rng if self._rng is not None else Device.Cpu.rng
            order = rng.permutation(n)
        if self._shard is None:
            return order
        rank, size = self._shard
        per_rank = self._shard_length()
        if per_rank * size > n:  # wrap around so that every rank has per_rank examples
            order = np.resize(order, per_rank * size)
        return order[rank : per_rank * size : size]

    def _shard_length(self) -> int:
        if self._shard is None:
            return self._n
        size = self._shard[1]
        return self._n // size if self.drop_last else -(-self._n // size)

    def total_batches(self) -> int:
        """Batches per epoch."""
        n = self._shard_length()
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


def _checked_shard(shard, shuffle: bool, seed):
    if shard is None:
        return None
    try:
        rank, size = (int(x) for x in shard)
    except (TypeError, ValueError):
        raise Msg(f"DataLoader: shard must be (rank, size), got {shard!r}") from None
    if size < 1 or not 0 <= rank < size:
        raise Msg(f"DataLoader: shard rank {rank} is not in [0, {size})")
    if shuffle and seed is None and size > 1 and not Device.Cpu.seeded:
        raise Msg(
            "DataLoader: a shuffled shard needs seed= (the same on every rank) or a seeded "
            "Device.Cpu, so that the ranks draw disjoint parts of one order"
        )
    return rank, size
