"""wick.nn.encoding.one_hot: candle-nn/tests/one_hot.rs and the doc examples of encoding.rs.

Not applicable:
- ``test_iter`` in one_hot.rs never calls ``one_hot``: it checks Rust index arithmetic over a
  ``Vec`` (the layout one_hot writes). Its Python twin below checks the same layout on wick's
  output instead.
- The Rust generic ``one_hot::<f32>`` picks the output dtype from the type parameter; wick takes
  it from ``on_value`` (a NumPy scalar keeps its dtype) or an explicit ``dtype=``.
"""

from __future__ import annotations

import numpy as np
import pytest
from devices import bf16_refused

import wick
from wick import Device, DType, Shape, Tensor
from wick.nn.encoding import one_hot

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def test_i64_one_hot():
    indices = Tensor.new([[0, 2], [1, -1]], DEV)
    depth = 4
    out = one_hot(indices, depth, 1.0, 0.0, dtype=DType.F32)
    assert out.shape == Shape((2, 2, depth))
    assert out.dtype == DType.F32
    assert out.to_vec3() == [
        [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
        [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    ]


def test_rank_3_one_hot():
    indices = Tensor.new([[[0, 1], [2, 3]], [[3, 1], [1, -1]]], DEV)
    out = one_hot(indices, 4, np.float32(1.0), np.float32(0.0))
    expected = Tensor.new(
        [
            [
                [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]],
                [[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
            ],
            [
                [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]],
                [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
            ],
        ],
        DEV,
        dtype=DType.F32,
    )
    assert out.shape == expected.shape
    assert out.dims() == expected.dims()
    assert out.dtype == DType.F32
    assert out.get(1).to_vec3() == expected.get(1).to_vec3()
    # Candle compares only the second half; the first must match too.
    assert out.get(0).to_vec3() == expected.get(0).to_vec3()


def test_u8_one_cold():
    indices = Tensor.new([[0, 2], [1, -1]], DEV)
    out = one_hot(indices, 4, np.uint8(0), np.uint8(1))
    assert out.shape == Shape((2, 2, 4))
    assert out.dtype == DType.U8
    assert out.to_vec3() == [[[0, 1, 1, 1], [1, 1, 0, 1]], [[1, 0, 1, 1], [1, 1, 1, 1]]]


def test_iter_layout():
    # one_hot.rs test_iter: element (i, j) of the indices owns the run starting at
    # i * depth * dim2 + j * depth of the flattened output.
    indices = Tensor.new([[0, 2], [1, -1]], DEV)
    depth = 4
    matrix = indices.to_vec2()
    dim1, dim2 = indices.dims2()
    flat = one_hot(indices, depth, 1, 0).flatten_all().to_vec1()
    for i in range(dim1):
        for j in range(dim2):
            run = flat[i * depth * dim2 + j * depth :][:depth]
            value = matrix[i][j]
            assert run == [int(k == value) for k in range(depth)]


# ----- doc examples of candle-nn/src/encoding.rs ----------------------------------------------
def test_doc_one_hot_encoding():
    indices = Tensor.new([[0, 2], [1, -1]], DEV)
    depth = 4
    out = one_hot(indices, depth, np.float32(1.0), np.float32(0.0))
    assert out.shape == Shape((2, 2, depth))
    assert out.to_vec3() == [
        [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
        [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
    ]


def test_doc_one_cold_encoding():
    depth = 4
    indices = Tensor.new(np.array([[0, 2], [1, 3]], dtype=np.uint8), DEV)
    out = one_hot(indices, depth, np.uint8(0), np.uint8(1))
    assert out.shape == Shape((2, 2, depth))
    assert out.dtype == DType.U8
    assert out.to_vec3() == [[[0, 1, 1, 1], [1, 1, 0, 1]], [[1, 0, 1, 1], [1, 1, 1, 0]]]


# ----- dtypes -----------------------------------------------------------------------------------
def test_index_dtypes_u8_u32_i64():
    for dt in (DType.U8, DType.U32, DType.I64):
        indices = Tensor.new([2, 0, 1], DEV, dtype=dt)
        out = one_hot(indices, 3, 1.0, 0.0)
        assert out.dtype == DType.F64
        assert out.to_vec2() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]


def test_value_dtype_inference():
    indices = Tensor.new([1, 0], DEV)
    assert one_hot(indices, 2, 1, 0).dtype == DType.I64
    assert one_hot(indices, 2, 1.0, 0.0).dtype == DType.F64
    assert one_hot(indices, 2, True, False).dtype == DType.U8
    assert one_hot(indices, 2, np.float32(5), np.float32(-5)).to_vec2() == [
        [-5.0, 5.0],
        [5.0, -5.0],
    ]
    if bf16_refused(DEV):
        return
    out = one_hot(indices, 2, 2, 1, dtype=DType.BF16)
    assert out.dtype == DType.BF16
    assert out.to_dtype(DType.F32).to_vec2() == [[1.0, 2.0], [2.0, 1.0]]


def test_scalar_and_empty_indices():
    assert one_hot(Tensor.new(2, DEV), 3, 1, 0).to_vec1() == [0, 0, 1]
    empty = one_hot(Tensor.zeros((0, 2), DType.I64, DEV), 5, 1.0, 0.0)
    assert empty.dims() == [0, 2, 5]


# ----- errors ----------------------------------------------------------------------------------
def test_index_exceeds_depth():
    indices = Tensor.new([[0, 2], [4, 1]], DEV)
    with pytest.raises(wick.Msg, match=r"one_hot: index value 4 exceeds depth 4 .*\[2, 2\]"):
        one_hot(indices, 4, 1.0, 0.0)
    # depth too small for every index: the first offending one (in order) is reported
    with pytest.raises(wick.Msg, match=r"one_hot: index value 2 exceeds depth 2"):
        one_hot(indices, 2, 1.0, 0.0)


def test_index_below_minus_one():
    indices = Tensor.new([0, -2, 5], DEV)
    with pytest.raises(
        wick.Msg, match=r"one_hot: invalid negative index value -2, expected a positive index"
    ):
        one_hot(indices, 4, 1.0, 0.0)


def test_unsupported_index_dtype():
    for dt in (DType.I32, DType.F32):
        with pytest.raises(
            wick.UnsupportedDTypeForOp, match=rf"unsupported dtype {dt} for op one_hot"
        ):
            one_hot(Tensor.new([0, 1], DEV, dtype=dt), 2, 1.0, 0.0)
    assert issubclass(wick.UnsupportedDTypeForOp, TypeError)


def test_negative_depth():
    with pytest.raises(wick.Msg, match="one_hot: depth must be non-negative, got -1"):
        one_hot(Tensor.new([0], DEV), -1, 1.0, 0.0)
