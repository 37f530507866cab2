"""Port of Candle's candle-core/tests/tensor_tests.rs, from `zeros` through `cat` (CPU only).

Expected values are Candle's. Rust compares f32 with f32 literals, so expected floats go through
``f32`` (rounded to float32) before comparing with ``to_vec*`` output of F32 tensors.

Not applicable, with the reason:
- CUDA / Metal variants (and the `is_metal` branches): wick tests the CPU device here.
- `ones` / `arange` with `DType::F8E4M3`: wick has no F8 dtype (SPEC section 2 lists none).
- `full` (which in Candle exercises `const_set`) and `slice_set`: these mutate a tensor in place,
  through views that share storage (`t.i((.., 2)).const_set(..)` writes into `t`). wick tensors are
  immutable (SPEC section 5: "no op changes a tensor in place"), so `const_set`, `zero_set`,
  `one_set` and `slice_set` are not offered. The same sequences are tested with the
  non-mutating equivalents: `full_like`/`slice_assign` for `full`, `slice_scatter` for `slice_set`.
- `slice_set`'s last assertion (`cache.slice_set(&cache, 0, 0)` is an error): it guards against a
  deadlock when a storage is locked twice for an in-place write into itself. `slice_scatter`
  returns a new tensor, so there is no aliasing; writing a tensor into itself at offset 0 is valid
  and returns the same values (checked instead).
"""

from __future__ import annotations

import numpy as np
import pytest
from devices import bf16_refused

from wick import Device, DType, Error, Tensor

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
F32 = DType.F32


def f32(values):
    """Candle's f32 literals: each value rounded to float32, back as Python floats."""
    return np.asarray(values, dtype=np.float32).tolist()


def round4(t: Tensor):
    """Candle's ``test_utils::to_vec*_round(&t, 4)``: ``round(v * 1e4) / 1e4`` in f32, half away
    from zero (exactly, through the integer part, rather than ``floor(|v| + 0.5)``)."""
    v = t.numpy().astype(np.float32)
    b = np.float32(10_000)
    scaled = v * b
    whole = np.trunc(scaled)
    frac = np.abs(scaled - whole)  # exact: the fraction of a float is representable
    rounded = np.where(frac >= np.float32(0.5), whole + np.sign(scaled), whole)
    return (rounded.astype(np.float32) / b).astype(np.float32).tolist()


def test_zeros():
    tensor = Tensor.zeros((5, 2), F32, DEV)
    dim1, dim2 = tensor.dims2()
    assert dim1 == 5
    assert dim2 == 2


def test_ones():
    ones = [[1, 1, 1], [1, 1, 1]]
    for dtype in (DType.U8, DType.U32, DType.I64):
        t = Tensor.ones((2, 3), dtype, DEV)
        assert t.dtype == dtype
        assert t.to_vec2() == ones
    for dtype in (DType.F32, DType.F64, DType.F16, DType.BF16):
        if dtype == DType.BF16 and bf16_refused(DEV):
            continue
        t = Tensor.ones((2, 3), dtype, DEV)
        assert t.dtype == dtype
        assert t.to_vec2() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]


def test_full():
    # Candle: `const_set` in place on the tensor and on views of it; here each step builds the
    # new value (see the module docstring).
    tensor = Tensor.zeros((3, 4), DType.U32, DEV)
    tensor = tensor.full_like(42)
    assert tensor.dtype == DType.U32
    assert tensor.to_vec2() == [[42, 42, 42, 42], [42, 42, 42, 42], [42, 42, 42, 42]]
    column = tensor[:, 2:3].full_like(1337)
    tensor = tensor.slice_assign((slice(None), slice(2, 3)), column)
    assert tensor.to_vec2() == [[42, 42, 1337, 42], [42, 42, 1337, 42], [42, 42, 1337, 42]]
    row = tensor[2:3, :].full_like(1)
    tensor = tensor.slice_assign((slice(2, 3), slice(None)), row)
    assert tensor.to_vec2() == [[42, 42, 1337, 42], [42, 42, 1337, 42], [1, 1, 1, 1]]
    assert tensor.dtype == DType.U32


def test_const_set():
    t = Tensor.full(42, (2, 3), DEV, dtype=DType.U32)
    assert t.dtype == DType.U32
    assert t.to_vec2() == [[42, 42, 42], [42, 42, 42]]


def test_arange():
    t = Tensor.arange(0, 5, DEV, dtype=DType.U8)
    assert t.dtype == DType.U8
    assert t.to_vec1() == [0, 1, 2, 3, 4]
    assert Tensor.arange_step(0, 5, 2, DEV, dtype=DType.U8).to_vec1() == [0, 2, 4]
    assert Tensor.arange_step(0, 5, 3, DEV, dtype=DType.U8).to_vec1() == [0, 3]
    t = Tensor.arange_step(5, 0, -1, DEV, dtype=DType.I64)
    assert t.dtype == DType.I64
    assert t.to_vec1() == [5, 4, 3, 2, 1]


def test_add_mul():
    tensor = Tensor.new([3.0, 1.0, 4.0], DEV, dtype=F32)
    assert tensor.dims1() == 3
    assert tensor.to_vec1() == f32([3.0, 1.0, 4.0])
    tensor = Tensor.add(tensor, tensor)
    assert tensor.to_vec1() == f32([6.0, 2.0, 8.0])
    tensor = Tensor.mul(tensor, tensor)
    assert tensor.to_vec1() == f32([36.0, 4.0, 64.0])


def test_tensor_2d():
    data = [[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]]
    tensor = Tensor.new(data, DEV, dtype=F32)
    assert tensor.dims2() == (2, 5)
    assert tensor.to_vec2() == f32(data)


def test_clamp():
    data = [[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]]
    tensor = Tensor.new(data, DEV, dtype=F32).clamp(1.5, 6.2)
    assert tensor.to_vec2() == f32([[3.0, 1.5, 4.0, 1.5, 5.0], [2.0, 1.5, 6.2, 6.2, 2.0]])


def test_asort():
    data = [[3.0, 1.0, 4.0, 1.1, 5.0], [2.1, 1.0, 7.0, 8.0, 2.0]]
    tensor = Tensor.new(data, DEV, dtype=F32)
    indexes = tensor.arg_sort_last_dim(True)
    assert indexes.dtype == DType.U32
    assert indexes.to_vec2() == [[1, 3, 0, 2, 4], [1, 4, 0, 2, 3]]
    indexes = tensor.arg_sort_last_dim(False)
    assert indexes.to_vec2() == [[4, 2, 0, 3, 1], [3, 2, 0, 4, 1]]
    sorted_, indexes = tensor.sort_last_dim(True)
    assert indexes.to_vec2() == [[1, 3, 0, 2, 4], [1, 4, 0, 2, 3]]
    assert sorted_.to_vec2() == f32([[1.0, 1.1, 3.0, 4.0, 5.0], [1.0, 2.0, 2.1, 7.0, 8.0]])
    sorted_, indexes = tensor.sort_last_dim(False)
    assert indexes.to_vec2() == [[4, 2, 0, 3, 1], [3, 2, 0, 4, 1]]
    assert sorted_.to_vec2() == f32([[5.0, 4.0, 3.0, 1.1, 1.0], [8.0, 7.0, 2.1, 2.0, 1.0]])

    offset_view = Tensor.new([[1.0, 2.0, 3.0], [30.0, 10.0, 20.0]], DEV, dtype=F32).narrow(0, 1, 1)
    sorted_, indexes = offset_view.sort_last_dim(True)
    assert indexes.to_vec2() == [[1, 2, 0]]
    assert sorted_.to_vec2() == f32([[10.0, 20.0, 30.0]])
    sorted_, indexes = offset_view.sort_last_dim(False)
    assert indexes.to_vec2() == [[0, 2, 1]]
    assert sorted_.to_vec2() == f32([[30.0, 20.0, 10.0]])


def test_asort_big():
    size = 2000
    data = [float(size - x) for x in range(size)]
    tensor = Tensor.new(data, DEV, dtype=F32)
    indexes = tensor.arg_sort_last_dim(True)
    assert indexes.to_vec1() == list(reversed(range(size)))
    indexes = tensor.arg_sort_last_dim(False)
    assert indexes.to_vec1() == list(range(size))


def test_unary_op():
    data = [[-3.0, 1.0, 4.0, -0.1, 0.5], [2.7, -1.8, -0.28, 1.8, 2.8]]
    tensor = Tensor.new(data, DEV, dtype=F32)
    assert round4(tensor.gelu()) == f32(
        [[-0.0036, 0.8412, 3.9999, -0.046, 0.3457], [2.6911, -0.0647, -0.1091, 1.7353, 2.7933]]
    )
    t_f16 = tensor.to_dtype(DType.F16).gelu().to_dtype(F32)
    max_diff = (tensor.gelu() - t_f16).flatten_all().max(0)
    assert max_diff.dtype == F32
    assert max_diff.to_vec0() < 5e-3
    assert round4(tensor.gelu_erf()) == f32(
        [[-0.004, 0.8413, 3.9999, -0.046, 0.3457], [2.6906, -0.0647, -0.1091, 1.7353, 2.7928]]
    )
    assert round4(tensor.erf()) == f32(
        [[-1.0, 0.8427, 1.0, -0.1125, 0.5205], [0.9999, -0.9891, -0.3079, 0.9891, 0.9999]]
    )
    assert round4(tensor.silu()) == f32(
        [[-0.1423, 0.7311, 3.9281, -0.0475, 0.3112], [2.53, -0.2553, -0.1205, 1.5447, 2.6395]]
    )
    assert round4(tensor.ceil()) == f32([[-3.0, 1.0, 4.0, -0.0, 1.0], [3.0, -1.0, -0.0, 2.0, 3.0]])
    assert round4(tensor.floor()) == f32([[-3.0, 1.0, 4.0, -1.0, 0.0], [2.0, -2.0, -1.0, 1.0, 2.0]])
    assert round4(tensor.round()) == f32([[-3.0, 1.0, 4.0, -0.0, 1.0], [3.0, -2.0, -0.0, 2.0, 3.0]])
    tensor = Tensor.new([2997.9246, 314.15926], DEV, dtype=F32)
    assert round4(tensor.round_to(2)) == f32([2997.92, 314.16])
    assert round4(tensor.round_to(-2)) == f32([3000.0, 300.0])
    tensor = Tensor.new([-1.01, -0.9, -0.1, 0.0, -0.0, 0.1, 0.9, 1.0, 1.1], DEV, dtype=F32)
    assert tensor.sign().to_vec1() == f32([-1.0, -1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    tensor = Tensor.new([-1.0, 0.0, -2.0, 3.0], DEV, dtype=F32)
    y = tensor.elu(2.0)
    assert round4(y) == f32([-1.2642, 0.0000, -1.7293, 3.0000])
    y = tensor.reshape((2, 2)).t().elu(2.0).flatten_all()
    assert round4(y) == f32([-1.2642, -1.7293, 0.0000, 3.0000])


def test_binary_op():
    data = [[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]]
    tensor1 = Tensor.new(data, DEV, dtype=F32)
    data2 = [[5.0, 5.0, 5.0, 5.0, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]]
    tensor2 = Tensor.new(data2, DEV, dtype=F32)
    tensor = tensor1 + (tensor1 * tensor1) / (tensor1 + tensor2)
    assert tensor.dims2() == (2, 5)
    content = tensor.to_vec2()
    assert content[0] == f32([4.125, 1.1666666, 5.7777777, 1.1666666, 7.5])
    assert content[1] == f32([3.0, 1.5, 10.5, 12.0, 3.0])
    tensor = tensor - tensor
    assert tensor.to_vec2()[0] == f32([0.0, 0.0, 0.0, 0.0, 0.0])

    min_ = tensor1.minimum(tensor2 * 0.5)
    max_ = tensor1.maximum(tensor2 * 0.5)
    assert min_.to_vec2() == f32([[2.5, 1.0, 2.5, 1.0, 2.5], [1.0, 0.5, 3.5, 4.0, 1.0]])
    assert max_.to_vec2() == f32([[3.0, 2.5, 4.0, 2.5, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]])

    b, s, h, pad = 3, 4, 5, 2
    base = Tensor.arange(1.0, float(b * (s + pad) * h + 1), DEV, dtype=F32)
    base = base.reshape((b, s + pad, h))
    ub = base.narrow(1, 0, s)  # uniform blocks: strides [h * (s + pad), h, 1]
    cont = ub.contiguous()
    scale = Tensor.arange(1.0, float(b * s * h + 1), DEV, dtype=F32).reshape((b, s, h))
    assert (ub + scale).to_vec3() == (cont + scale).to_vec3()
    assert (ub * scale).to_vec3() == (cont * scale).to_vec3()
    # contiguous lhs, uniform blocks rhs.
    assert (scale + ub).to_vec3() == (scale + cont).to_vec3()


def test_ternary_op():
    ids = Tensor.new([[0, 1, 0, 1, 0], [1, 1, 1, 0, 0]], DEV, dtype=DType.U8)
    a = Tensor.new([[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]], DEV, dtype=F32)
    b = Tensor.new([[10.0, 11.0, 12.0, 13.0, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]], DEV, dtype=F32)
    tensor = ids.where_cond(a, b)
    assert tensor.dims() == [2, 5]
    assert tensor.flatten_all().to_vec1() == f32(
        [10.0, 1.0, 12.0, 3.0, 14.0, 5.0, 6.0, 7.0, 18.0, 19.0]
    )

    fill = Tensor.new(7.0, DEV, dtype=F32).broadcast_as((2, 5))  # strides [0, 0]
    assert ids.where_cond(fill, b).to_vec2() == f32(
        [[10.0, 7.0, 12.0, 7.0, 14.0], [7.0, 7.0, 7.0, 18.0, 19.0]]
    )

    mask = Tensor.new([[0, 1, 1, 0, 1]], DEV, dtype=DType.U8).broadcast_as((2, 5))
    assert mask.where_cond(a, b).to_vec2() == mask.contiguous().where_cond(a, b).to_vec2()

    a_t = Tensor.arange(0.0, 10.0, DEV, dtype=F32).reshape((5, 2)).t()
    ids_t = Tensor.new([[0, 1], [1, 1], [0, 0], [1, 0], [1, 1]], DEV, dtype=DType.U8).t()
    assert (
        ids_t.where_cond(a_t, b).to_vec2()
        == ids_t.contiguous().where_cond(a_t.contiguous(), b).to_vec2()
    )

    narrowed = Tensor.arange(0.0, 14.0, DEV, dtype=F32).reshape((2, 7)).narrow(1, 1, 5)
    assert (
        ids.where_cond(fill, narrowed).to_vec2()
        == ids.where_cond(fill.contiguous(), narrowed.contiguous()).to_vec2()
    )

    fill2 = Tensor.new(9.0, DEV, dtype=F32).broadcast_as((2, 5))
    assert ids.where_cond(a, fill).to_vec2() == ids.where_cond(a, fill.contiguous()).to_vec2()
    assert (
        ids.where_cond(fill, fill2).to_vec2()
        == ids.where_cond(fill.contiguous(), fill2.contiguous()).to_vec2()
    )

    row_mask = Tensor.new([[1], [0]], DEV, dtype=DType.U8).broadcast_as((2, 5))  # strides [1, 0]
    row_ref = row_mask.contiguous()
    assert row_mask.where_cond(a, b).to_vec2() == row_ref.where_cond(a, b).to_vec2()
    assert (
        row_mask.where_cond(a, fill).to_vec2() == row_ref.where_cond(a, fill.contiguous()).to_vec2()
    )
    assert (
        row_mask.where_cond(fill, b).to_vec2() == row_ref.where_cond(fill.contiguous(), b).to_vec2()
    )
    assert (
        row_mask.where_cond(fill, fill2).to_vec2()
        == row_ref.where_cond(fill.contiguous(), fill2.contiguous()).to_vec2()
    )


def test_transpose():
    data = [[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 1.0, 7.0, 8.0, 2.0]]
    tensor = Tensor.new(data, DEV, dtype=F32).t()
    assert tensor.dims2() == (5, 2)
    assert tensor.to_vec2() == f32([[3.0, 2.0], [1.0, 1.0], [4.0, 7.0], [1.0, 8.0], [5.0, 2.0]])
    assert tensor.t().to_vec2() == f32(data)
    assert tensor.contiguous().t().to_vec2() == f32(data)
    assert ((tensor + 1.0).t() - 1.0).to_vec2() == f32(data)


def test_var():
    # Values taken from https://pytorch.org/docs/stable/generated/torch.var.html
    data = [
        [0.2035, 1.2959, 1.8101, -0.4644],
        [1.5027, -0.3270, 0.5905, 0.6538],
        [-1.5745, 1.3330, -0.5596, -0.6548],
        [0.1264, -0.5080, 1.6420, 0.1992],
    ]
    tensor = Tensor.new(data, DEV, dtype=F32)
    assert round4(tensor.var_keepdim(1)) == f32([[1.0631], [0.559], [1.4893], [0.8258]])


def _u32(data) -> Tensor:
    return Tensor.new(data, DEV, dtype=DType.U32)


SMALL = [[[3, 1, 4], [1, 5, 9]], [[2, 1, 7], [8, 2, 8]]]


def test_sum():
    tensor = _u32(SMALL)
    assert tensor.sum_keepdim(2).dtype == DType.U32
    assert tensor.sum_keepdim(2).to_vec3() == [[[8], [15]], [[10], [18]]]
    assert tensor.sum_keepdim(0).to_vec3() == [[[5, 2, 11], [9, 7, 17]]]
    assert tensor.sum_keepdim((0, 2, 1)).to_vec3() == [[[51]]]
    assert tensor.t().sum_keepdim(1).t().to_vec3() == [[[8], [15]], [[10], [18]]]
    assert tensor.sum_keepdim((2, 1)).to_vec3() == [[[8 + 15]], [[10 + 18]]]

    tensor = _u32(list(range(4000)))
    assert tensor.sum_keepdim(0).to_vec1() == [7998000]
    tensor = tensor.reshape((2000, 2))
    for t in (tensor, tensor.t().contiguous().t()):  # the second is non contiguous
        assert t.sum_keepdim((0, 1)).to_vec2() == [[7998000]]
        assert t.sum_keepdim(0).sum_keepdim(1).to_vec2() == [[7998000]]
        assert t.sum_keepdim(1).sum_keepdim(0).to_vec2() == [[7998000]]
        assert t.sum_keepdim(0).to_vec2() == [[3998000, 4000000]]
    tensor = tensor.t().contiguous().t()

    t1 = tensor.reshape((200, 5, 4))
    t2 = t1.transpose(0, 2).contiguous().transpose(0, 2)
    for t in (t1, t2):
        assert t.sum_keepdim((0, 1, 2)).to_vec3() == [[[7998000]]]
        assert t.sum_keepdim(0).sum_keepdim(2).sum_keepdim(1).to_vec3() == [[[7998000]]]
        assert t.sum_keepdim(0).sum_keepdim((1, 2)).to_vec3() == [[[7998000]]]
        assert t.sum_keepdim(1).sum_keepdim((0, 2)).to_vec3() == [[[7998000]]]
        assert t.sum_keepdim(0).to_vec3() == [
            [
                [398000, 398200, 398400, 398600],
                [398800, 399000, 399200, 399400],
                [399600, 399800, 400000, 400200],
                [400400, 400600, 400800, 401000],
                [401200, 401400, 401600, 401800],
            ]
        ]


def _check_reduction(name, small_2, small_0, whole, pair, whole_pair, block):
    """The shared shape of Candle's min/max/argmin/argmax tests for ``<name>_keepdim``."""

    def red(t, dim):
        return getattr(t, f"{name}_keepdim")(dim)

    tensor = _u32(SMALL)
    assert red(tensor, 2).dtype == DType.U32
    assert red(tensor, 2).to_vec3() == small_2
    assert red(tensor, 0).to_vec3() == small_0
    tensor = _u32(list(range(200, 4000)))
    assert red(tensor, 0).to_vec1() == [whole]
    tensor = tensor.reshape((1900, 2))
    for t in (tensor, tensor.t().contiguous().t()):  # the second is non contiguous
        assert red(red(t, 0), 1).to_vec2() == [[whole_pair]]
        assert red(red(t, 1), 0).to_vec2() == [[whole_pair]]
        assert red(t, 0).to_vec2() == [pair]
    tensor = tensor.t().contiguous().t()

    t1 = tensor.reshape((190, 5, 4))
    t2 = t1.transpose(0, 2).contiguous().transpose(0, 2)
    for t in (t1, t2):
        assert red(red(red(t, 0), 2), 1).to_vec3() == [[[whole_pair]]]
        assert red(t, 0).to_vec3() == [block]


def test_min():
    block = [[200 + 4 * r + c for c in range(4)] for r in range(5)]
    assert block[0] == [200, 201, 202, 203] and block[4] == [216, 217, 218, 219]
    _check_reduction(
        "min", [[[1], [1]], [[1], [2]]], [[[2, 1, 4], [1, 2, 8]]], 200, [200, 201], 200, block
    )


def test_max():
    block = [[3980 + 4 * r + c for c in range(4)] for r in range(5)]
    assert block[0] == [3980, 3981, 3982, 3983] and block[4] == [3996, 3997, 3998, 3999]
    _check_reduction(
        "max", [[[4], [9]], [[7], [8]]], [[[3, 1, 7], [8, 5, 9]]], 3999, [3998, 3999], 3999, block
    )


def test_argmin():
    block = [[0, 0, 0, 0]] * 5
    _check_reduction(
        "argmin", [[[1], [0]], [[1], [1]]], [[[1, 0, 0], [0, 1, 1]]], 0, [0, 0], 0, block
    )


def test_argmax():
    block = [[189, 189, 189, 189]] * 5
    _check_reduction(
        "argmax", [[[2], [2]], [[2], [0]]], [[[0, 0, 1], [1, 0, 0]]], 3799, [1899, 1899], 0, block
    )


def test_narrow():
    data = [[[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]], [[2.0, 1.0, 7.0], [8.0, 2.0, 8.0]]]
    tensor = Tensor.new(data, DEV, dtype=F32)
    assert tensor.narrow(2, 1, 2).to_vec3() == f32(
        [[[1.0, 4.0], [5.0, 9.0]], [[1.0, 7.0], [2.0, 8.0]]]
    )
    assert tensor.narrow(1, 1, 1).to_vec3() == f32([[[1.0, 5.0, 9.0]], [[8.0, 2.0, 8.0]]])
    assert tensor.narrow(0, 0, 1).to_vec3() == f32([[[3.0, 1.0, 4.0], [1.0, 5.0, 9.0]]])
    assert tensor.narrow(0, 1, 1).to_vec3() == f32([[[2.0, 1.0, 7.0], [8.0, 2.0, 8.0]]])
    # Checked against PyTorch: t.transpose(-1, -2).narrow(1, 1, 2)
    assert tensor.t().narrow(1, 1, 2).to_vec3() == f32(
        [[[1.0, 5.0], [4.0, 9.0]], [[1.0, 2.0], [7.0, 8.0]]]
    )


def test_broadcast():
    tensor = Tensor.new([3.0, 1.0, 4.0], DEV, dtype=F32)
    assert tensor.broadcast_left((3, 1)).to_vec3() == f32(
        [[[3.0, 1.0, 4.0]], [[3.0, 1.0, 4.0]], [[3.0, 1.0, 4.0]]]
    )


def test_slice_set():
    # Candle's `cache.slice_set(&src, dim, offset)` writes in place; wick's non-mutating
    # equivalent is `cache = cache.slice_scatter(src, dim, offset)` (see the module docstring).
    b, h, max_t, d = 2, 4, 7, 3
    cache = Tensor.zeros((b, h, max_t, d), F32, DEV)
    tensor = Tensor.randn(0.0, 1.0, (b, h, 4, d), DEV)
    assert tensor.dtype == F32
    cache = cache.slice_scatter(tensor, 2, 0)
    diff = (cache.narrow(2, 0, 4) - tensor).abs().sum_all().to_vec0()
    assert diff == 0.0
    cache = cache.slice_scatter(tensor, 2, 1)
    diff = (cache.narrow(2, 1, 4) - tensor).abs().sum_all().to_vec0()
    assert diff == 0.0
    ones = Tensor.ones((b, h, 1, d), F32, DEV)
    cache = cache.slice_scatter(ones, 2, 6)
    diff = cache.narrow(2, 5, 1).abs().sum_all().to_vec0()
    assert diff == 0.0
    diff = (cache.narrow(2, 6, 1) - 1.0).abs().sum_all().to_vec0()
    assert diff == 0.0
    # Candle's in-place `slice_set(&cache, 0, 0)` of a tensor into itself is an error (it used to
    # deadlock); a scatter returns a new tensor, so the same call is valid and a no-op.
    assert (cache.slice_scatter(cache, 0, 0) - cache).abs().sum_all().to_vec0() == 0.0
    # A source that does not fit is still an error.
    with pytest.raises(Error):
        cache.slice_scatter(cache, 0, 1)


def test_cat():
    # 1D
    t1 = Tensor.new([3.0, 1.0, 4.0], DEV, dtype=F32)
    t2 = Tensor.new([1.0, 5.0, 9.0, 2.0], DEV, dtype=F32)
    t3 = Tensor.new([6.0, 5.0, 3.0, 5.0, 8.0, 9.0], DEV, dtype=F32)
    assert Tensor.cat([t1], 0).to_vec1() == f32([3.0, 1.0, 4.0])
    assert Tensor.cat([t1, t2], 0).to_vec1() == f32([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    assert Tensor.cat([t1, t2, t3], 0).to_vec1() == f32(
        [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0, 8.0, 9.0]
    )

    # 2D
    t1 = Tensor.new([[3.0, 1.0, 4.0, 1.0, 5.0], [2.0, 7.0, 1.0, 8.0, 2.0]], DEV, dtype=F32)
    t2 = Tensor.new([[5.0, 5.0, 5.0, 5.0, 5.0], [2.0, 7.0, 1.0, 8.0, 2.0]], DEV, dtype=F32)
    rows = f32(
        [
            [3.0, 1.0, 4.0, 1.0, 5.0],
            [2.0, 7.0, 1.0, 8.0, 2.0],
            [5.0, 5.0, 5.0, 5.0, 5.0],
            [2.0, 7.0, 1.0, 8.0, 2.0],
        ]
    )
    assert Tensor.cat([t1, t2], 0).to_vec2() == rows
    # PyTorch equivalent: torch.cat([t1.t(), t2.t()], dim=1).t()
    assert Tensor.cat([t1.t(), t2.t()], 1).t().to_vec2() == rows
    assert Tensor.cat([t1, t2], 1).to_vec2() == f32(
        [
            [3.0, 1.0, 4.0, 1.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0],
            [2.0, 7.0, 1.0, 8.0, 2.0, 2.0, 7.0, 1.0, 8.0, 2.0],
        ]
    )

    # 3D
    t1 = Tensor.arange(0, 48, DEV, dtype=DType.I64).reshape((2, 6, 4))
    t2 = Tensor.arange(100, 124, DEV, dtype=DType.I64).reshape((2, 3, 4))
    t3 = Tensor.arange(10000, 10032, DEV, dtype=DType.I64).reshape((2, 4, 4))
    t_cat = Tensor.cat([t1, t2, t3], 1)
    t1 = t1.t().contiguous().t()
    t2 = t2.t().contiguous().t()
    t3 = t3.t().contiguous().t()
    t_cat2 = Tensor.cat([t1, t2, t3], 1)

    diff = t_cat.eq(t_cat2).to_dtype(F32).sum_all()
    assert diff.to_vec0() == 104.0
    assert t_cat.dtype == DType.I64
    assert t_cat[0, 0, 0].to_vec0() == 0
    assert t_cat[0, 4, 0].to_vec0() == 16
    assert t_cat[0, 5, 0].to_vec0() == 20
    assert t_cat[1, 5, 0].to_vec0() == 44
    assert t_cat[0, 6, 0].to_vec0() == 100
    assert t_cat[1, 6, 0].to_vec0() == 112
    assert t_cat[0, 6, 1].to_vec0() == 101
    assert t_cat[0, 7, 1].to_vec0() == 105
    assert t_cat[0, 12, 1].to_vec0() == 10013
    assert t_cat[1, 12, 3].to_vec0() == 10031

    # compare contiguous to uniform blocks
    b, s, h, pad = 3, 4, 5, 2
    base = Tensor.arange(0.0, float(b * (s + pad) * h), DEV, dtype=F32).reshape((b, s + pad, h))
    tp1 = base.narrow(1, 0, s)
    tp2 = base.narrow(1, pad, s)
    cat_padded = Tensor.cat([tp1, tp2], 1)
    cat_cont = Tensor.cat([tp1.contiguous(), tp2.contiguous()], 1)
    assert cat_padded.to_vec3() == cat_cont.to_vec3(), (
        "cat along dim=1 with padded outer stride should match contiguous result"
    )


def test_round_and_descending_sort_edge_cases():
    """Not in Candle's file: regressions found while porting it (Rust's `round` and sort)."""
    # Rust's f32::round is exact: 0.49999997 -> 0, and integers beyond 2**23 stay put.
    t = Tensor.new([0.49999997, -0.49999997, 2.5, -2.5, 8388609.0], DEV, dtype=F32)
    assert t.round().to_vec1() == f32([0.0, -0.0, 3.0, -3.0, 8388609.0])
    for dtype in (DType.BF16, DType.F16):
        if dtype == DType.BF16 and bf16_refused(DEV):
            continue
        t = Tensor.new([1.5, -2.5, 0.25, -0.75], DEV, dtype=dtype)
        assert t.round().to_vec1() == [2.0, -3.0, 0.0, -1.0]
        t = Tensor.new([0.3, 0.7, -0.2, 0.5], DEV, dtype=dtype)
        assert t.arg_sort_last_dim(False).to_vec1() == [1, 3, 0, 2]
