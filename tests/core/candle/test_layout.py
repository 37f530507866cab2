"""Port of Candle's candle-core/tests/layout_tests.rs.

Not applicable, and what stands in for it:
- ``contiguous_gpu`` / ``contiguous_metal``: CUDA / Metal devices; the CPU case is ported.
- ``strided_blocks``: ``Tensor::strided_blocks()`` and the ``StridedBlocks`` enum (``SingleBlock``,
  ``UniformBlocks``, ``MultipleBlocks``), like ``storage_and_layout``/``offsets``, are Rust
  internals of Candle's CPU kernels that wick (on NumPy) does not expose. ``test_strided_blocks``
  checks what wick does expose for the same tensors: shape, ``stride()``, ``is_contiguous()`` and
  values. The tensors are built from ``arange``, so each value *is* its storage offset: Candle's
  ``start_offset``, ``len``, ``block_len``, ``src_stride`` and ``block_start_index`` numbers are
  asserted as the first value, element counts, strides and the values at each block start.
"""

from __future__ import annotations

import pytest

from wick import Device, DType, Tensor

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def _arange_u32(n: int) -> Tensor:
    return Tensor.arange(0, n, DEV, dtype=DType.U32)


def test_contiguous_cpu():
    tensor = _arange_u32(24).reshape((2, 3, 4))
    assert tensor.to_vec3() == [
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]],
        [[12, 13, 14, 15], [16, 17, 18, 19], [20, 21, 22, 23]],
    ]
    assert tensor.t().contiguous().to_vec3() == [
        [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]],
        [[12, 16, 20], [13, 17, 21], [14, 18, 22], [15, 19, 23]],
    ]
    assert tensor.transpose(0, 1).contiguous().to_vec3() == [
        [[0, 1, 2, 3], [12, 13, 14, 15]],
        [[4, 5, 6, 7], [16, 17, 18, 19]],
        [[8, 9, 10, 11], [20, 21, 22, 23]],
    ]
    assert tensor.transpose(0, 1).flatten_all().to_vec1() == [
        0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23
    ]  # fmt: skip
    assert tensor[1:].transpose(0, 1).contiguous().to_vec3() == [
        [[12, 13, 14, 15]],
        [[16, 17, 18, 19]],
        [[20, 21, 22, 23]],
    ]
    assert tensor.transpose(0, 2).contiguous().to_vec3() == [
        [[0, 12], [4, 16], [8, 20]],
        [[1, 13], [5, 17], [9, 21]],
        [[2, 14], [6, 18], [10, 22]],
        [[3, 15], [7, 19], [11, 23]],
    ]


def test_contiguous_layouts():
    """The layouts behind test_contiguous_cpu: a transpose is a strided view, contiguous() packs it."""
    tensor = _arange_u32(24).reshape((2, 3, 4))
    assert tensor.stride() == [12, 4, 1]
    assert tensor.is_contiguous()
    t = tensor.t()
    assert t.dims() == [2, 4, 3]
    assert t.stride() == [12, 1, 4]
    assert not t.is_contiguous()
    packed = t.contiguous()
    assert packed.stride() == [12, 3, 1]
    assert packed.is_contiguous()
    assert tensor.contiguous() is tensor  # already row-major: no copy, as in Candle
    swapped = tensor.transpose(0, 2)
    assert swapped.stride() == [1, 4, 12]
    assert not swapped.is_contiguous()
    assert swapped.is_fortran_contiguous()


def test_strided_blocks():
    # SingleBlock { start_offset: 0, len: 24 }
    tensor = _arange_u32(24).reshape((2, 3, 4))
    assert tensor.is_contiguous()
    assert tensor.stride() == [12, 4, 1]
    assert tensor.flatten_all().to_vec1()[0] == 0
    assert tensor.elem_count() == 24

    # SingleBlock { start_offset: 2, len: 24 }
    tensor = _arange_u32(26)[2:].reshape((2, 3, 4))
    assert tensor.is_contiguous()
    assert tensor.stride() == [12, 4, 1]
    assert tensor.flatten_all().to_vec1() == list(range(2, 26))
    assert tensor.elem_count() == 24

    # SingleBlock { start_offset: 12, len: 12 }
    tensor = _arange_u32(24).reshape((2, 3, 4))[1]
    assert tensor.is_contiguous()
    assert tensor.stride() == [4, 1]
    assert tensor.flatten_all().to_vec1() == list(range(12, 24))

    # SingleBlock { start_offset: 0, len: 8 } after contiguous()
    tensor = _arange_u32(24).reshape((2, 3, 4))[:, 1].contiguous()
    assert tensor.is_contiguous()
    assert tensor.stride() == [4, 1]
    assert tensor.elem_count() == 8
    assert tensor.to_vec2() == [[4, 5, 6, 7], [16, 17, 18, 19]]

    # UniformBlocks { start_offset: 4, block_len: 4, count: 2, src_stride: 12 }
    tensor = _arange_u32(24).reshape((2, 3, 4))[:, 1]
    assert not tensor.is_contiguous()
    assert tensor.dims() == [2, 4]  # count 2 blocks of block_len 4
    assert tensor.stride() == [12, 1]  # src_stride 12, each block packed
    assert tensor[:, 0].to_vec1() == [4, 16]  # start_offset 4, then 4 + 12

    # MultipleBlocks { block_len: 1, block_start_index: [...] } for t()
    tensor = _arange_u32(24).reshape((2, 3, 4)).t()
    assert not tensor.is_contiguous()
    assert tensor.stride() == [12, 1, 4]  # innermost stride 4 != 1: blocks of one element
    assert tensor.flatten_all().to_vec1() == [
        0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23
    ]  # fmt: skip

    # MultipleBlocks { block_len: 4, block_start_index: [0, 12, 4, 16, 8, 20] } for transpose(0, 1)
    tensor = _arange_u32(24).reshape((2, 3, 4)).transpose(0, 1)
    assert not tensor.is_contiguous()
    assert tensor.stride() == [4, 12, 1]  # innermost dim of 4 packed: blocks of 4
    assert tensor[:, :, 0].flatten_all().to_vec1() == [0, 12, 4, 16, 8, 20]
