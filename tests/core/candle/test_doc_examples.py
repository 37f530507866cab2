"""The ```rust examples in Candle's doc comments, one test each, with their asserted values.

Sources: candle-core/src/tensor.rs, indexer.rs, tensor_cat.rs (``Tensor::cat``).
Where an example only states its result in a comment (``// a == b``, ``// b is on CPU f32.``) or
asserts nothing, the test checks what the comment or the computation states.

Not applicable / absent:
- candle-core/src/shape.rs and candle-core/src/variable.rs have no ```rust doc examples at
  Candle's current revision (their doc comments are prose only). In their place, the unit tests
  of shape.rs (``stride``, ``test_from_tuple``) are ported at the end of this file; variable.rs
  has none.
- ``Tensor::empty``/``empty_like`` are ``unsafe`` in Rust (uninitialized memory); wick's take no
  ``unsafe`` block and the tests check shape, dtype and device only, as the values are undefined.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import D, Device, DType, Shape, Tensor

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
F32 = DType.F32


def _f32(data) -> Tensor:
    return Tensor.new(data, DEV, dtype=F32)


# ----- tensor.rs ------------------------------------------------------------------------------
def test_tensor_struct_matmul():
    a = Tensor.arange(0.0, 6.0, DEV, dtype=F32).reshape((2, 3))
    b = Tensor.arange(0.0, 12.0, DEV, dtype=F32).reshape((3, 4))
    c = a.matmul(b)
    assert c.dims() == [2, 4]
    assert c.dtype == F32
    assert c.to_vec2() == [[20.0, 23.0, 26.0, 29.0], [56.0, 68.0, 80.0, 92.0]]


def test_ones():
    a = Tensor.ones((2, 3), F32, DEV)
    b = Tensor.from_slice([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], (2, 3), DEV, dtype=F32)
    # a == b
    assert a.dtype == b.dtype == F32
    assert a.to_vec2() == b.to_vec2()


def test_ones_like():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = a.ones_like()
    # b == a + 1
    assert b.dtype == F32
    assert b.to_vec2() == (a + 1.0).to_vec2()


def test_zeros():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = Tensor.from_slice([0.0, 0.0, 0.0, 0.0, 0.0, 0.0], (2, 3), DEV, dtype=F32)
    # a == b
    assert a.dtype == b.dtype == F32
    assert a.to_vec2() == b.to_vec2()


def test_zeros_like():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = a.zeros_like()
    # b is on a's device, f32.
    assert b.device.same_device(DEV)
    assert b.dtype == F32
    assert b.dims() == [2, 3]
    assert b.to_vec2() == [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_empty():
    a = Tensor.empty((2, 3), F32, DEV)
    assert a.dims() == [2, 3]
    assert a.dtype == F32
    assert a.device.same_device(DEV)


def test_empty_like():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = a.empty_like()
    assert b.dims() == [2, 3]
    assert b.dtype == F32
    assert b.device.same_device(DEV)


def test_full():
    a = Tensor.full(3.5, (2, 4), DEV)
    assert a.dtype == DType.F64
    assert a.to_vec2() == [[3.5, 3.5, 3.5, 3.5], [3.5, 3.5, 3.5, 3.5]]


def test_from_iter():
    a = Tensor.from_iter(iter([1.0, 2.0, 3.0, 4.0]), DEV)
    assert a.dtype == DType.F64
    assert a.to_vec1() == [1.0, 2.0, 3.0, 4.0]


def test_arange():
    a = Tensor.arange(2.0, 5.0, DEV)
    assert a.dtype == DType.F64
    assert a.to_vec1() == [2.0, 3.0, 4.0]


def test_arange_step():
    a = Tensor.arange_step(2.0, 4.0, 0.5, DEV)
    assert a.dtype == DType.F64
    assert a.to_vec1() == [2.0, 2.5, 3.0, 3.5]


def test_from_vec():
    a = Tensor.from_vec([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], (2, 3), DEV)
    assert a.dtype == DType.F64
    assert a.to_vec2() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_from_slice():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    a = Tensor.from_slice(values[1:7], (2, 3), DEV)
    assert a.dtype == DType.F64
    assert a.to_vec2() == [[2.0, 3.0, 4.0], [5.0, 6.0, 7.0]]


def test_meshgrid():
    x = _f32([1.0, 2.0, 3.0])
    y = _f32([4.0, 5.0, 6.0])

    grids_xy = Tensor.meshgrid([x, y], True)
    assert len(grids_xy) == 2
    assert grids_xy[0].dims() == [3, 3]
    assert grids_xy[0].to_vec2() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    assert grids_xy[1].to_vec2() == [[4.0, 4.0, 4.0], [5.0, 5.0, 5.0], [6.0, 6.0, 6.0]]

    grids_ij = Tensor.meshgrid([x, y], False)
    assert grids_ij[0].to_vec2() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]
    assert grids_ij[1].to_vec2() == [[4.0, 5.0, 6.0], [4.0, 5.0, 6.0], [4.0, 5.0, 6.0]]


def test_affine():
    a = _f32([[0.0, 1.0], [2.0, 3.0]])
    a = a.affine(4.0, -2.0)
    assert a.to_vec2() == [[-2.0, 2.0], [6.0, 10.0]]


def test_narrow():
    a = _f32([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])

    b = a.narrow(0, 1, 2)
    assert b.shape.dims() == [2, 3]
    assert b.to_vec2() == [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]

    c = a.narrow(1, 1, 1)
    assert c.shape.dims() == [3, 1]
    assert c.to_vec2() == [[1.0], [4.0], [7.0]]


def test_roll():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.roll(1, 0)
    assert tensor.to_vec2() == [[4.0, 5.0], [0.0, 1.0], [2.0, 3.0]]
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.roll(-1, 0)
    assert tensor.to_vec2() == [[2.0, 3.0], [4.0, 5.0], [0.0, 1.0]]


def test_sum_keepdim():
    a = _f32([[0.0, 1.0], [2.0, 3.0]])
    s = a.sum_keepdim(0)
    assert s.to_vec2() == [[2.0, 4.0]]
    s = a.sum_keepdim(1)
    assert s.to_vec2() == [[1.0], [5.0]]
    s = a.sum_keepdim((0, 1))
    assert s.to_vec2() == [[6.0]]


def test_mean_keepdim():
    a = _f32([[0.0, 1.0], [2.0, 3.0]])
    s = a.mean_keepdim(0)
    assert s.to_vec2() == [[1.0, 2.0]]
    s = a.mean_keepdim(1)
    assert s.to_vec2() == [[0.5], [2.5]]
    s = a.mean_keepdim((0, 1))
    assert s.to_vec2() == [[1.5]]


def test_upsample_bilinear2d():
    t = Tensor.arange(0.0, 16.0, DEV, dtype=F32).reshape((1, 1, 4, 4))
    upsampled = t.upsample_bilinear2d(8, 8, False)
    assert upsampled.dims() == [1, 1, 8, 8]


def test_upsample_bilinear2d_with_scale():
    t = Tensor.arange(0.0, 16.0, DEV, dtype=F32).reshape((1, 1, 4, 4))
    # Scale by 2x in both dimensions
    upsampled = t.upsample_bilinear2d_with_scale(2.0, 2.0, False)
    assert upsampled.dims() == [1, 1, 8, 8]


def test_dot():
    t1 = Tensor.new([1.0, 2.0, 3.0], DEV)
    t2 = Tensor.new([4.0, 5.0, 6.0], DEV)
    res = t1.dot(t2)
    assert res.dtype == DType.F64
    assert res.to_scalar() == 32.0


def test_norm():
    t = Tensor.new([[3.0, 4.0], [0.0, 0.0]], DEV)
    norm = t.norm()
    assert norm.dtype == DType.F64
    assert norm.to_scalar() == 5.0


def test_mv():
    mat = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], DEV)
    vec = Tensor.new([1.0, 1.0, 1.0], DEV)
    res = mat.mv(vec)
    assert res.to_vec1() == [6.0, 15.0]


def test_embedding():
    values = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    ids = Tensor.new([2, 1, 2], DEV, dtype=DType.U32)
    emb = values.embedding(ids)
    assert emb.to_vec2() == [[4.0, 5.0], [2.0, 3.0], [4.0, 5.0]]


def test_max_all():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.max_all()
    assert tensor.dtype == F32
    assert tensor.to_scalar() == 5.0


def test_min_all():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.min_all()
    assert tensor.to_scalar() == 0.0


def test_sum_all():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.sum_all()
    assert tensor.to_scalar() == 15.0


def test_flatten_all():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.flatten_all()
    assert tensor.to_vec1() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_get():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    t = tensor.get(0)
    assert t.to_vec1() == [0.0, 1.0]
    t = tensor.get(1)
    assert t.to_vec1() == [2.0, 3.0]


def test_get_on_dim():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    t = tensor.get_on_dim(1, 0)
    assert t.to_vec1() == [0.0, 2.0, 4.0]
    t = tensor.get_on_dim(1, 1)
    assert t.to_vec1() == [1.0, 3.0, 5.0]
    t = tensor.get_on_dim(0, 1)
    assert t.to_vec1() == [2.0, 3.0]


def test_t():
    tensor = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    tensor = tensor.t()
    assert tensor.to_vec2() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]


def test_permute():
    tensor = Tensor.arange(0, 120, DEV, dtype=DType.U32).reshape((2, 3, 4, 5))
    assert tensor.dims() == [2, 3, 4, 5]
    tensor = tensor.permute((2, 3, 1, 0))
    assert tensor.dims() == [4, 5, 3, 2]


def test_to_dtype():
    tensor = Tensor.new(3.14159265358979, DEV)
    assert tensor.dtype == DType.F64
    assert tensor.to_scalar() == 3.14159265358979
    tensor = tensor.to_dtype(F32)
    assert tensor.dtype == F32
    # Candle compares with the f32 literal 3.1415927f32.
    assert tensor.to_scalar() == float(np.float32(3.1415927))


def test_reshape():
    a = Tensor.zeros((2, 3), F32, DEV)

    c = a.reshape((1, 6))
    assert c.shape.dims() == [1, 6]

    c = a.reshape((3, 2))
    assert c.shape.dims() == [3, 2]

    c = a.reshape((2, (), 1))
    assert c.shape.dims() == [2, 3, 1]


def test_squeeze():
    a = Tensor.zeros((2, 3, 1), F32, DEV)

    c = a.squeeze(2)
    assert c.shape.dims() == [2, 3]

    c = a.squeeze(D.Minus1)
    assert c.shape.dims() == [2, 3]


def test_unsqueeze():
    a = Tensor.zeros((2, 3), F32, DEV)

    c = a.unsqueeze(0)
    assert c.shape.dims() == [1, 2, 3]

    c = a.unsqueeze(D.Minus1)
    assert c.shape.dims() == [2, 3, 1]


def test_stack():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = Tensor.zeros((2, 3), F32, DEV)

    c = Tensor.stack([a, b], 0)
    assert c.shape.dims() == [2, 2, 3]

    c = Tensor.stack([a, b], 2)
    assert c.shape.dims() == [2, 3, 2]


def test_flip():
    t = Tensor.arange(0.0, 6.0, DEV).reshape((2, 3))
    assert t.to_vec2() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    t_flipped = t.flip([0])
    assert t_flipped.to_vec2() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]


# ----- indexer.rs -----------------------------------------------------------------------------
def test_index_op_index():
    a = Tensor.zeros((2, 3), F32, DEV)

    c = a[0:1]
    assert c.shape.dims() == [1, 3]

    c = a[0]
    assert c.shape.dims() == [3]

    c = a[:, :2]
    assert c.shape.dims() == [2, 2]

    c = a[:, :3]  # ..=2
    assert c.shape.dims() == [2, 3]


def test_index_op_single():
    a = Tensor.new([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], DEV)

    b = a.i(0)
    assert b.shape.dims() == [2]
    assert b.to_vec1() == [0.0, 1.0]

    c = a.i(slice(None, 2))
    assert c.shape.dims() == [2, 2]
    assert c.to_vec2() == [[0.0, 1.0], [2.0, 3.0]]

    d = a.i(slice(1, None))
    assert d.shape.dims() == [2, 2]
    assert d.to_vec2() == [[2.0, 3.0], [4.0, 5.0]]


def test_index_op_one_tuple():
    a = _f32([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])

    b = a[(0,)]
    assert b.shape.dims() == [2]
    assert b.to_vec1() == [0.0, 1.0]

    c = a[(slice(None, 2),)]
    assert c.shape.dims() == [2, 2]
    assert c.to_vec2() == [[0.0, 1.0], [2.0, 3.0]]

    d = a[(slice(1, None),)]
    assert d.shape.dims() == [2, 2]
    assert d.to_vec2() == [[2.0, 3.0], [4.0, 5.0]]


def test_index_op_two_tuple():
    a = _f32([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])

    b = a[1, 0]
    assert b.to_vec0() == 3.0

    c = a[:2, 1]
    assert c.shape.dims() == [2]
    assert c.to_vec1() == [1.0, 4.0]

    d = a[2:, :]
    assert d.shape.dims() == [1, 3]
    assert d.to_vec2() == [[6.0, 7.0, 8.0]]


# ----- tensor_cat.rs --------------------------------------------------------------------------
def test_cat():
    a = Tensor.zeros((2, 3), F32, DEV)
    b = Tensor.zeros((2, 3), F32, DEV)

    c = Tensor.cat([a, b], 0)
    assert c.shape.dims() == [4, 3]

    c = Tensor.cat([a, b], 1)
    assert c.shape.dims() == [2, 6]


# ----- shape.rs unit tests (shape.rs has no doc examples) --------------------------------------
def test_shape_stride():
    assert Shape(()).stride_contiguous() == []
    assert Shape(42).stride_contiguous() == [1]
    assert Shape((42, 1337)).stride_contiguous() == [1337, 1]
    assert Shape((299, 792, 458)).stride_contiguous() == [458 * 792, 458, 1]


def test_shape_from_tuple():
    assert Shape((2,)).dims() == [2]
    assert Shape((2, 3)).dims() == [2, 3]
    assert Shape((2, 3, 4)).dims() == [2, 3, 4]
    assert Shape((2, 3, 4, 5)).dims() == [2, 3, 4, 5]
    assert Shape((2, 3, 4, 5, 6)).dims() == [2, 3, 4, 5, 6]
    assert Shape((2, 3, 4, 5, 6, 7)).dims() == [2, 3, 4, 5, 6, 7]
