"""Port of Candle's candle-core/tests/indexing_tests.rs.

Candle's ``t.i(...)`` is wick's ``t[...]`` (each case also checks ``t.i(...)``). Rust ranges map to
slices: ``a..b`` -> ``a:b``, ``a..`` -> ``a:``, ``..b`` -> ``:b``, ``a..=b`` -> ``a:b+1``,
``..`` -> ``:``. ``slice_assign(&[1..4, 3..5], &src)`` takes Python slices.

Every Candle case applies on the CPU; none is left out.
"""

from __future__ import annotations

import pytest

from wick import Device, DType, Tensor

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def _arange_u32(n: int) -> Tensor:
    return Tensor.arange(0, n, DEV, dtype=DType.U32)


def test_integer_index():
    tensor = _arange_u32(2 * 3).reshape((2, 3))
    result = tensor[1]
    assert result.dims() == [3]
    assert result.dtype == DType.U32
    assert result.to_vec1() == [3, 4, 5]
    assert tensor.i(1).to_vec1() == [3, 4, 5]

    result = tensor[:, 2]
    assert result.dims() == [2]
    assert result.to_vec1() == [2, 5]
    assert tensor.i((slice(None), 2)).to_vec1() == [2, 5]


def test_range_index():
    # RangeFull
    tensor = _arange_u32(2 * 3).reshape((2, 3))
    result = tensor[:]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[0, 1, 2], [3, 4, 5]]

    # Range
    tensor = _arange_u32(4 * 3).reshape((4, 3))
    result = tensor[1:3]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[3, 4, 5], [6, 7, 8]]
    assert tensor.i(slice(1, 3)).to_vec2() == [[3, 4, 5], [6, 7, 8]]

    # RangeFrom
    result = tensor[2:]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[6, 7, 8], [9, 10, 11]]

    # RangeTo
    result = tensor[:2]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[0, 1, 2], [3, 4, 5]]

    # RangeInclusive 1..=2
    result = tensor[1:3]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[3, 4, 5], [6, 7, 8]]

    # RangeTo ..1
    result = tensor[:1]
    assert result.dims() == [1, 3]
    assert result.to_vec2() == [[0, 1, 2]]

    # RangeToInclusive ..=1
    result = tensor[:2]
    assert result.dims() == [2, 3]
    assert result.to_vec2() == [[0, 1, 2], [3, 4, 5]]

    # Empty range 1..1
    result = tensor[1:1]
    assert result.dims() == [0, 3]
    assert result.to_vec2() == []

    # Like PyTorch, a range whose computed length is negative (1..0) is empty.
    result = tensor[1:0]
    assert result.dims() == [0, 3]
    assert result.to_vec2() == []


def test_index_3d():
    tensor = Tensor.from_iter(range(24), DEV, dtype=DType.U32).reshape((2, 3, 4))
    assert tensor[0, 0, 0].to_scalar() == 0
    assert tensor[1, 0, 0].to_scalar() == 12
    assert tensor[0, 1, 0].to_scalar() == 4
    assert tensor[0, 1, 3].to_scalar() == 7
    assert tensor.i((0, 1, 3)).to_scalar() == 7
    assert tensor[0:2, 0, 0].to_vec1() == [0, 12]
    assert tensor[0:2, :, 0].to_vec2() == [[0, 4, 8], [12, 16, 20]]
    assert tensor[:2, :, 3].to_vec2() == [[3, 7, 11], [15, 19, 23]]
    assert tensor[1, :, 3].to_vec1() == [15, 19, 23]


def test_slice_assign():
    tensor = _arange_u32(4 * 5).reshape((4, 5))
    src = _arange_u32(2 * 3).reshape((3, 2))
    out = tensor.slice_assign([slice(1, 4), slice(3, 5)], src)
    assert out.to_vec2() == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 0, 1],
        [10, 11, 12, 2, 3],
        [15, 16, 17, 4, 5],
    ]
    out = tensor.slice_assign([slice(0, 3), slice(0, 2)], src)
    assert out.to_vec2() == [
        [0, 1, 2, 3, 4],
        [2, 3, 7, 8, 9],
        [4, 5, 12, 13, 14],
        [15, 16, 17, 18, 19],
    ]
    # The source tensor is unchanged (tensors are immutable).
    assert tensor.to_vec2()[1] == [5, 6, 7, 8, 9]
