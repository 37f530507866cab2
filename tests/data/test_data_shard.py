"""DataLoader sharding for data-parallel training: disjoint parts of one seeded order per epoch,
the same step count on every rank."""

import numpy as np
import pytest

import wick
from wick import DType, Tensor
from wick.data import DataLoader, TensorDataset

N = 23
IDS = TensorDataset(Tensor.new(np.arange(N, dtype=np.int64)))


def epoch(loader) -> list:
    return [int(i) for (batch,) in loader for i in batch.to_vec1()]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_shuffled_shards_cover_every_example_once_per_epoch(size):
    loaders = [
        DataLoader(IDS, 2, shuffle=True, drop_last=True, seed=7, shard=(r, size))
        for r in range(size)
    ]
    for _ in range(3):  # each epoch a new order, still disjoint and complete
        parts = [epoch(loader) for loader in loaders]
        seen = [i for part in parts for i in part]
        assert len(seen) == len(set(seen))
        per_rank = N // size // 2 * 2  # drop_last: whole batches of a whole share
        assert all(len(part) == per_rank for part in parts)
        assert len({len(loader) for loader in loaders}) == 1


def test_shards_are_parts_of_the_unsharded_order():
    whole = epoch(DataLoader(IDS, N, shuffle=True, seed=3))
    parts = [epoch(DataLoader(IDS, N, shuffle=True, seed=3, shard=(r, 3))) for r in range(3)]
    # 23 = 3 * 8 - 1: the order wraps around by one example to fill rank 2.
    padded = whole + whole[:1]
    assert parts == [padded[r::3] for r in range(3)]
    assert sorted(set(i for part in parts for i in part)) == list(range(N))


def test_without_drop_last_every_rank_still_takes_the_same_number_of_steps():
    loaders = [DataLoader(IDS, 3, shard=(r, 4)) for r in range(4)]
    assert [len(loader) for loader in loaders] == [2, 2, 2, 2]  # 6 examples each, 24 > 23
    assert [len(epoch(loader)) for loader in loaders] == [6, 6, 6, 6]


def test_a_shuffled_shard_needs_a_seed(monkeypatch):
    monkeypatch.setattr(wick.Device.Cpu, "seeded", False)
    with pytest.raises(wick.Msg, match="needs seed="):
        DataLoader(IDS, 2, shuffle=True, shard=(0, 2))
    wick.Device.Cpu.set_seed(4)  # every rank seeding alike is enough too
    assert wick.Device.Cpu.seeded and len(DataLoader(IDS, 2, shuffle=True, shard=(0, 2))) == 6
    with pytest.raises(wick.Msg, match=r"shard must be \(rank, size\)"):
        DataLoader(IDS, 2, shard=3)
    with pytest.raises(wick.Msg, match=r"shard rank -1 is not in \[0, 2\)"):
        DataLoader(IDS, 2, shard=(-1, 2))
    assert DataLoader(IDS, 2, shard=(0, 1)).total_batches() == 12
    assert IDS.tensors[0].dtype == DType.I64
