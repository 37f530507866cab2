"""TensorDataset and DataLoader: batching, shuffling, drop_last, seeding, sharding."""

import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor
from wick.data import DataLoader, TensorDataset

X = Tensor.new([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]]).to_dtype(
    DType.F32
)
Y = Tensor.new([0, 0, 0, 1, 1]).to_dtype(DType.U32)


def rows(loader):
    return [(x.to_vec2(), y.to_vec1()) for x, y in loader]


def test_tensor_dataset_len_and_items():
    ds = TensorDataset(X, Y)
    assert len(ds) == ds.len() == 5
    x, y = ds[3]
    assert x.to_vec1() == pytest.approx([2.3, -1.1]) and y.to_vec0() == 1
    assert str(ds.get_item(0)[1]) == "[0]\nTensor[[], u32]"
    with pytest.raises(wick.InvalidIndex):
        ds[5]
    with pytest.raises(wick.Msg, match="same first dim"):
        TensorDataset(X, Tensor.new([0, 1]))


def test_unshuffled_batches_in_order_and_the_last_one_kept_or_dropped():
    loader = DataLoader(TensorDataset(X, Y), 2)
    assert len(loader) == loader.total_batches() == 3
    batches = rows(loader)
    assert [b[1] for b in batches] == [[0, 0], [0, 1], [1]]
    assert (
        str(next(iter(loader))[0])
        == "[[-1.2000,  3.1000],\n [-0.9000,  2.9000]]\nTensor[[2, 2], f32]"
    )
    dropped = DataLoader(TensorDataset(X, Y), 2, drop_last=True)
    assert len(dropped) == 2 and [b[1] for b in rows(dropped)] == [[0, 0], [0, 1]]


def test_shuffle_visits_every_example_once_and_reshuffles_every_epoch():
    loader = DataLoader(TensorDataset(X, Y), 5, shuffle=True, seed=0)
    epochs = [rows(loader)[0][0] for _ in range(6)]
    for epoch in epochs:
        assert sorted(map(tuple, epoch)) == sorted(map(tuple, X.to_vec2()))
    assert len({tuple(map(tuple, e)) for e in epochs}) > 1  # the order changes between epochs


def test_seeded_shuffle_repeats_and_device_seed_also_works():
    a = [rows(DataLoader(TensorDataset(X, Y), 2, shuffle=True, seed=7)) for _ in range(2)]
    assert a[0] == a[1]
    Device.Cpu.set_seed(11)
    b = rows(DataLoader(TensorDataset(X, Y), 2, shuffle=True))
    Device.Cpu.set_seed(11)
    c = rows(DataLoader(TensorDataset(X, Y), 2, shuffle=True))
    assert b == c


def test_batches_are_one_gather_per_tensor():
    calls = []
    original = Tensor.index_select

    def counting(self, ids, dim):
        calls.append(ids.dims())
        return original(self, ids, dim)

    Tensor.index_select = counting
    try:
        list(DataLoader(TensorDataset(X, Y), 2))
    finally:
        Tensor.index_select = original
    assert calls == [[2], [2], [2], [2], [1], [1]]  # 3 batches x 2 tensors


class ListDataset:
    """A plain dataset (not a TensorDataset): examples are stacked."""

    def __len__(self):
        return 3

    def __getitem__(self, i):
        return Tensor.new([float(i), float(i) * 10]), Tensor.new(i)


def test_other_datasets_are_stacked():
    (x, y), (x2, y2) = DataLoader(ListDataset(), 2)
    assert x.to_vec2() == [[0.0, 0.0], [1.0, 10.0]] and y.to_vec1() == [0, 1]
    assert x2.dims() == [1, 2]


def test_shards_split_the_examples():
    # Five examples on two ranks: the order wraps around so that both ranks take three.
    parts = [rows(DataLoader(TensorDataset(X, Y), 5, shard=(r, 2))) for r in range(2)]
    assert [p[0][1] for p in parts] == [[0, 0, 1], [0, 1, 0]]
    with pytest.raises(wick.Msg, match="shard rank 2"):
        DataLoader(TensorDataset(X, Y), 2, shard=(2, 2))


def test_bad_batch_size():
    with pytest.raises(wick.Msg, match="batch_size must be at least 1"):
        DataLoader(TensorDataset(X, Y), 0)


def test_iter_method_matches_the_tutorial():
    loader = DataLoader(TensorDataset(X, Y), 2, shuffle=False, drop_last=True)
    assert [y.to_vec1() for _, y in loader.iter()] == [[0, 0], [0, 1]]
    assert np.array_equal(next(loader.iter())[1].numpy(), np.array([0, 0], np.uint32))
