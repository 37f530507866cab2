"""NumPy/DLPack interop, apply/apply_t, and seeded random generation."""

import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor, Var
from wick.nn import Activation, Dropout


def test_numpy_view_is_read_only_and_array_protocol_works():
    t = Tensor.new([[1.0, 2.0], [3.0, 4.0]])
    view = t.numpy()
    with pytest.raises(ValueError):
        view[0, 0] = 9.0
    assert np.asarray(t).sum() == 10.0
    assert np.array(t, dtype=np.float32).dtype == np.float32


def test_dlpack_round_trip_shares_values():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor.from_dlpack(a)
    assert t.dtype == DType.F32 and t.to_vec2() == [[0, 1, 2], [3, 4, 5]]
    back = np.from_dlpack(Tensor.new([1, 2, 3], dtype=DType.I32))
    assert back.dtype == np.int32 and back.tolist() == [1, 2, 3]


def test_float_int_and_len():
    assert float(Tensor.new([2.5])) == 2.5 and int(Tensor.new(3)) == 3
    assert len(Tensor.zeros((4, 2))) == 4
    with pytest.raises(wick.UnexpectedNumberOfDims):
        float(Tensor.new([1.0, 2.0]))


def test_apply_and_apply_t():
    x = Tensor.new([-1.0, 2.0])
    assert x.apply(Activation.Relu).to_vec1() == [0.0, 2.0]
    assert x.apply_t(Dropout(0.5), False).to_vec1() == [-1.0, 2.0]
    assert x.normalize_axis(-1) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor.rand(0.0, 1.0, (3, 4)),
        lambda: Tensor.randn(0.0, 1.0, (3, 4), dtype=DType.F64),
        lambda: Var.randn(0.0, 2.0, (5,)),
        lambda: Tensor.zeros((2, 2)).rand_like(-1.0, 1.0),
    ],
)
def test_set_seed_makes_random_draws_repeat_bit_for_bit(make):
    Device.Cpu.set_seed(123)
    first = make().numpy().tobytes()
    Device.Cpu.set_seed(123)
    assert make().numpy().tobytes() == first
    Device.Cpu.set_seed(124)
    assert make().numpy().tobytes() != first


def test_rand_range_and_randn_moments():
    Device.Cpu.set_seed(0)
    u = Tensor.rand(2.0, 3.0, (10000,)).numpy()
    assert u.min() >= 2.0 and u.max() < 3.0
    n = Tensor.randn(1.0, 2.0, (40000,), dtype=DType.F64).numpy()
    # standard errors: 2/sqrt(40000) = 0.01 for the mean; about 0.007 for the std
    assert abs(n.mean() - 1.0) < 0.05 and abs(n.std() - 2.0) < 0.035
    with pytest.raises(wick.UnsupportedDTypeForOp):
        Tensor.rand(0.0, 1.0, (2,), dtype=DType.U8)
