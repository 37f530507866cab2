"""The op-table sweep (DESIGN.md, "Tests", layer 1): every primitive in ``wick.core.ops.PRIMITIVES``
is called through the public Tensor API and checked against a float64 NumPy reference (F64 and F32,
F16/BF16 for elementwise ops), its backward against float64 central differences
(``wick.testing.gradcheck``), again with non-contiguous inputs (a transposed view and a narrowed
slice), and for binary ops with broadcast operator inputs. Non-differentiable primitives are
checked forward only and must record no graph.

Not covered here: ``to_device`` to a real GPU (the case moves between two CPU ``Device`` handles,
which runs the same primitive; CUDA needs CuPy and a GPU).
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor, Var
from wick.core import graph
from wick.core.ops import NOT_DIFFERENTIABLE, PRIMITIVES, fused
from wick.nn import ops as nn_ops
from wick.nn.ops import sigmoid
from wick.testing import assert_close, gradcheck

F64, F32, F16, BF16 = DType.F64, DType.F32, DType.F16, DType.BF16
FLOATS = (F64, F32)
ALL_FLOATS = (F64, F32, F16, BF16)
TOL = {F64: (1e-10, 1e-12), F32: (2e-5, 1e-6), F16: (4e-3, 4e-3), BF16: (3e-2, 3e-2)}
NP_DT = {F64: np.float64, F32: np.float32, F16: np.float16, BF16: ml_dtypes.bfloat16}
RNG = np.random.default_rng(20240601)


def rand(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, shape)


def away(*shape, lo=0.3, hi=2.0):
    """Values at least ``lo`` away from 0 (for kinks at 0: abs, relu, elu, recip)."""
    return RNG.uniform(lo, hi, shape) * RNG.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """Values with no ties, spaced by at least 0.1 (for max/min, sorting, max-pool)."""
    return (RNG.permutation(math.prod(shape)).reshape(shape) - math.prod(shape) / 2) * 0.1


def prims_in(t) -> set:
    """Names of the primitives recorded in ``t``'s graph."""
    seen, names, stack = set(), set(), [t]
    while stack:
        x = stack.pop()
        if id(x) in seen or x.op is None:
            continue
        seen.add(id(x))
        names.add(x.op.prim.name)
        stack.extend(x.op.inputs)
    return names


def transposed(a):
    """A contiguous array whose ``.t()`` view holds ``a``'s values."""
    return np.ascontiguousarray(np.swapaxes(a, -1, -2)) if a.ndim >= 2 else a


def padded(a):
    """``a`` with one extra leading column on the last dim; ``x[..., 1:]`` gives ``a`` back."""
    return np.concatenate([np.full(a.shape[:-1] + (1,), 7.0), a], axis=-1)


def check(
    f, ref, arrays, *, dtypes=FLOATS, grad=True, layouts=True, eps=1e-6, gtol=1e-4, keeps_dtype=True
):
    """Forward of ``f`` against ``ref`` per dtype, gradcheck, and both again on views."""
    expected = ref(*arrays)
    for dt in dtypes:
        inputs = [Tensor.new(a, dtype=dt) for a in arrays]
        rounded = [np.asarray(t.numpy(), dtype=np.float64) for t in inputs]
        out = f(*inputs)
        if keeps_dtype and out.dtype.is_float():
            assert out.dtype == dt, (out.dtype, dt)
        rtol, atol = TOL[dt]
        want = ref(*rounded) if dt in (F16, BF16) else expected
        assert_close(out.to_dtype(F64) if out.dtype.is_float() else out, want, rtol, atol)
    if grad:
        assert gradcheck(f, arrays, eps=eps, rtol=gtol)
    if not layouts:
        return
    views = (
        (transposed, lambda x: x.t() if x.rank() >= 2 else x),
        (padded, lambda x: x[..., 1:]),
    )
    strided = []
    for make_base, view in views:
        bases = [make_base(a) for a in arrays]

        def g(*xs, view=view):
            ins = [view(x) for x in xs]
            strided.append(not all(x.is_contiguous() for x in ins))
            return f(*ins)

        assert_close(g(*[Tensor.new(b) for b in bases]), expected, *TOL[F64])
        if grad:
            assert gradcheck(g, bases, eps=eps, rtol=gtol)
    assert any(strided), "no view gave the op a non-contiguous input"


def check_no_graph(f, arrays):
    """A non-differentiable op records nothing, even on a Var."""
    out = f(*[Var.new(a) for a in arrays])
    assert out.op is None
    assert not out.track_op()


# ------------------------------------------------------------------------------------------------
# Elementwise unary


def unary(method, ref, sample=None, dtypes=ALL_FLOATS, **kw):
    def case():
        x = rand(3, 4) if sample is None else sample(3, 4)
        check(method, ref, [x], dtypes=dtypes, **kw)

    return case


def _erf(x):
    return np.vectorize(math.erf)(x)


def _round_away(x):
    return np.copysign(np.floor(np.abs(x) + 0.5), x)


def piecewise(method, ref):
    """floor/ceil/round/sign: forward (halves and integers included), no graph."""

    def case():
        x = np.array([[-2.5, -1.5, -0.5, -0.2, 0.0], [0.2, 0.5, 1.5, 2.5, 3.7], [-3.7, 1.0, -1, 4, 9]])
        check(method, ref, [x], dtypes=ALL_FLOATS, grad=False)
        check_no_graph(method, [x])
        # On integers these are the identity (sign: -1/0/1), and the dtype stays.
        out = method(Tensor.new([[-3, 0, 5]]))
        assert out.dtype == DType.I64
        assert out.to_vec2() == ref(np.array([[-3, 0, 5]])).tolist()

    return case


def case_to_dtype():
    x = rand(3, 4, lo=-5, hi=5)
    to_f32 = lambda t: t.to_dtype(F32)  # noqa: E731
    check(to_f32, lambda a: a.astype(np.float32), [x], dtypes=ALL_FLOATS, grad=False, keeps_dtype=False)
    # float -> int truncates toward zero (Candle's `as`), int -> float is exact.
    t = Tensor.new([[-1.7, -0.2, 0.0, 2.9]])
    assert t.to_dtype(DType.I64).to_vec2() == [[-1, 0, 0, 2]]
    assert t.to_dtype(DType.I64).to_dtype(F32).to_vec2() == [[-1.0, 0.0, 0.0, 2.0]]
    # Backward: a round trip through F32 is linear, so a wide step is exact to F32 rounding.
    roundtrip = lambda t: t.to_dtype(F32).to_dtype(F64) * 1.5  # noqa: E731
    ref = lambda a: a.astype(np.float32).astype(np.float64) * 1.5  # noqa: E731
    check(roundtrip, ref, [x], dtypes=(), eps=1e-2, gtol=1e-4)
    y = Var.new(x)
    g = y.to_dtype(F32).sum_all().backward().get(y)
    assert g.dtype == F64 and g.to_vec2() == np.ones((3, 4)).tolist()


def case_copy():
    x = rand(3, 4)
    check(lambda t: t.copy(), lambda a: a, [x], dtypes=ALL_FLOATS)
    assert Tensor.new(x).t().copy().is_contiguous()


# ------------------------------------------------------------------------------------------------
# Elementwise binary and comparisons


def binary(method, operator, ref, sample=rand, rhs_sample=None):
    """Strict method (``a.add(b)``), views, then broadcasting ``(3, 1) op (1, 4)``."""
    rhs_sample = rhs_sample or sample

    def case():
        a, b = sample(3, 4), rhs_sample(3, 4)
        check(method, ref, [a, b], dtypes=ALL_FLOATS)
        a, b = sample(3, 1), rhs_sample(1, 4)
        check(operator, ref, [a, b], dtypes=FLOATS)
        assert "broadcast_as" in prims_in(operator(Var.new(a), Var.new(b)))

    return case


def case_maximum_minimum(name):
    def case():
        a, b = distinct(3, 4), distinct(3, 4) + 0.05  # never equal: no tie at the kink
        f = getattr(Tensor, name)
        ref = getattr(np, name)
        check(f, ref, [a, b], dtypes=ALL_FLOATS)
        bf = getattr(Tensor, "broadcast_" + name)
        check(bf, ref, [distinct(3, 1), distinct(1, 4) + 0.05])
        # A scalar operand is broadcast explicitly, then the strict primitive runs.
        check(lambda t: f(t, 0.33), lambda x: ref(x, 0.33), [a])
        # Candle's rule at a tie: each side gets half of the gradient.
        x, y = Var.new([[1.0, 2.0]]), Var.new([[1.0, 3.0]])
        grads = f(x, y).sum_all().backward()
        half = [[0.5, 0.0 if name == "maximum" else 1.0]]
        assert grads.get(x).to_vec2() == half

    return case


def comparison(name):
    ref = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}[name]  # fmt: skip

    def case():
        a = np.round(rand(3, 4), 0)
        b = np.round(rand(3, 4), 0)  # small integers: plenty of ties
        method = getattr(Tensor, name)

        def f(x, y):
            out = method(x, y)
            assert out.dtype == DType.U8
            return out

        check(f, lambda x, y: ref(x, y).astype(np.uint8), [a, b], dtypes=ALL_FLOATS, grad=False)
        check_no_graph(method, [a, b])
        assert method(Tensor.new(a), 0.0).to_vec2() == ref(a, 0.0).astype(int).tolist()
        ia, ib = Tensor.new(a.astype(np.int64)), Tensor.new(b.astype(np.int64))
        assert method(ia, ib).to_vec2() == ref(a, b).astype(int).tolist()
        bcast = getattr(Tensor, "broadcast_" + name)
        col, row = a[:, :1], b[:1, :]
        assert bcast(Tensor.new(col), Tensor.new(row)).to_vec2() == ref(col, row).astype(int).tolist()

    return case


# ------------------------------------------------------------------------------------------------
# Reductions and matmul


def case_sum():
    x = rand(2, 3, 4)
    check(lambda t: t.sum_keepdim(1), lambda a: a.sum(1, keepdims=True), [x])
    check(lambda t: t.sum((0, 2)), lambda a: a.sum((0, 2)), [x])
    check(lambda t: t.sum_all(), lambda a: a.sum(), [x], layouts=False)
    check(lambda t: t.mean_keepdim(-1), lambda a: a.mean(-1, keepdims=True), [x])
    ints = Tensor.new([[1, 2], [3, 4]])
    assert ints.sum(0).dtype == DType.I64 and ints.sum(0).to_vec1() == [4, 6]


def extremum(name):
    def case():
        x = distinct(2, 3, 4)
        ref = getattr(np, name)
        check(lambda t: getattr(t, name + "_keepdim")(1), lambda a: ref(a, 1, keepdims=True), [x])
        check(lambda t: getattr(t, name)(-1), lambda a: ref(a, -1), [x])
        check(lambda t: getattr(t, name + "_all")(), lambda a: ref(a), [x], layouts=False)
        # Candle sends the gradient to every position equal to the extremum (ties included).
        v = Var.new([[2.0, 5.0, 5.0] if name == "max" else [-5.0, 2.0, -5.0]])
        g = getattr(v, name)(1).sum_all().backward().get(v)
        assert g.to_vec2() == [[0.0, 1.0, 1.0] if name == "max" else [1.0, 0.0, 1.0]]

    return case


def arg_extremum(name):
    def case():
        x = distinct(3, 4, 5)
        ref = getattr(np, name)

        def f(t, dim=1, keep=False):
            out = getattr(t, name + ("_keepdim" if keep else ""))(dim)
            assert out.dtype == DType.U32
            return out

        check(f, lambda a: ref(a, 1), [x], grad=False)
        check(lambda t: f(t, -1, True), lambda a: ref(a, -1)[..., None], [x], grad=False)
        check_no_graph(f, [x])
        # The first index wins on a tie, as in Candle and NumPy.
        assert f(Tensor.new([[1.0, 3.0, 3.0, 1.0]])).to_vec1() == [1 if name == "argmax" else 0]

    return case


def case_cumsum():
    x = rand(3, 5)
    check(lambda t: t.cumsum(1), lambda a: np.cumsum(a, 1), [x])
    check(lambda t: t.cumsum(0), lambda a: np.cumsum(a, 0), [x])


def case_matmul():
    a, b = rand(2, 3, 4), rand(2, 4, 5)
    check(lambda x, y: x.matmul(y), np.matmul, [a, b], dtypes=ALL_FLOATS)
    check(lambda x, y: x @ y, np.matmul, [rand(3, 4), rand(4, 2)])
    check(lambda x, y: x.broadcast_matmul(y), np.matmul, [rand(2, 1, 3, 4), rand(3, 4, 2)])


# ------------------------------------------------------------------------------------------------
# Movement


def case_reshape():
    x = rand(3, 4)
    check(lambda t: t.reshape((2, 6)), lambda a: a.reshape(2, 6), [x])
    check(lambda t: t.reshape((-1, 2)), lambda a: a.reshape(-1, 2), [x])
    check(lambda t: t.flatten_all(), lambda a: a.reshape(-1), [x])
    check(lambda t: t.unsqueeze(1), lambda a: a[:, None], [x])


def case_transpose():
    x = rand(2, 3, 4)
    check(lambda t: t.transpose(0, 2), lambda a: a.transpose(2, 1, 0), [x])
    check(lambda t: t.t(), lambda a: np.swapaxes(a, -1, -2), [x])


def case_permute():
    x = rand(2, 3, 4)
    check(lambda t: t.permute((2, 0, 1)), lambda a: a.transpose(2, 0, 1), [x])


def case_broadcast_as():
    x = rand(3, 1)
    check(lambda t: t.broadcast_as((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)), [x])
    check(lambda t: t.broadcast_left(2), lambda a: np.broadcast_to(a, (2, 3, 1)), [x])
    check(lambda t: t.expand((3, 5)), lambda a: np.broadcast_to(a, (3, 5)), [x])


def case_narrow():
    x = rand(3, 5)
    check(lambda t: t.narrow(1, 1, 3), lambda a: a[:, 1:4], [x])
    check(lambda t: t[1:, 2], lambda a: a[1:, 2], [x])
    check(lambda t: t.chunk(2, 0)[1], lambda a: a[2:], [x])


def case_cat():
    a, b, c = rand(3, 2), rand(3, 4), rand(3, 1)
    check(lambda x, y, z: Tensor.cat([x, y, z], 1), lambda *s: np.concatenate(s, 1), [a, b, c],
          dtypes=ALL_FLOATS)  # fmt: skip
    check(lambda x, y: Tensor.stack([x, y], 0), lambda *s: np.stack(s, 0), [a, rand(3, 2)])
    check(lambda x: x.pad_with_zeros(0, 1, 2), lambda s: np.pad(s, ((1, 2), (0, 0))), [a])
    check(lambda x: x.roll(1, 1), lambda s: np.roll(s, 1, 1), [b])


def case_flip():
    x = rand(3, 4)
    check(lambda t: t.flip((0, 1)), lambda a: a[::-1, ::-1], [x])
    check(lambda t: t.flip(1), lambda a: a[:, ::-1], [x])


def case_contiguous():
    x = rand(3, 4)

    def f(t):
        out = t.contiguous()
        assert out.is_contiguous()
        return out

    check(f, lambda a: a, [x], dtypes=ALL_FLOATS)


def case_slice_scatter():
    x, src = rand(3, 5), rand(3, 2)
    check(lambda t, s: t.slice_scatter(s, 1, 2), _scatter_cols, [x, src])
    check(lambda t, s: t.slice_assign((slice(0, 3), slice(2, 4)), s), _scatter_cols, [x, src])


def _scatter_cols(a, s):
    out = a.copy()
    out[:, 2:4] = s
    return out


def case_unfold():
    x = rand(3, 7)
    ref = lambda a: np.lib.stride_tricks.sliding_window_view(a, 3, axis=1)[:, ::2]  # noqa: E731
    check(lambda t: t.unfold(1, 3, 2), ref, [x])
    ref0 = lambda a: np.moveaxis(np.lib.stride_tricks.sliding_window_view(a, 2, axis=0), 1, 1)  # noqa
    check(lambda t: t.unfold(0, 2, 1), ref0, [x])


def case_to_device():
    # A second CPU handle stands in for a GPU: to_device copies through the host either way.
    other = Device("cpu", 1, Device.Cpu.backend)

    def f(t):
        out = t.to_device(other)
        assert out.device is other
        return out.to_device(Device.Cpu)

    check(f, lambda a: a, [rand(3, 4)], dtypes=ALL_FLOATS)


# ------------------------------------------------------------------------------------------------
# Indexing and sorting

IDS = {dt: [2, 0, 2, 1] for dt in (DType.U8, DType.U32, DType.I64)}


def case_index_select():
    x = rand(3, 4)
    for dt, ids in IDS.items():
        idx = Tensor.new(ids, dtype=dt)
        check(lambda t: t.index_select(idx, 0), lambda a: a[ids], [x], dtypes=ALL_FLOATS)
        check(lambda t: t.index_select(idx, 1), lambda a: a[:, ids], [x])
    check(lambda t: t.embedding(Tensor.new([1, 1, 0])), lambda a: a[[1, 1, 0]], [x])
    # u32::MAX is Candle's "skip" sentinel: a row of zeros, and no gradient.
    skip = Tensor.new([1, 2**32 - 1], dtype=DType.U32)
    check(lambda t: t.index_select(skip, 0), lambda a: np.stack([a[1], 0 * a[0]]), [x])


def case_gather():
    x = rand(3, 4)
    ids = np.array([[3, 0], [1, 1], [2, 3]])
    for dt in (DType.U8, DType.U32, DType.I64):
        idx = Tensor.new(ids, dtype=dt)
        ref = lambda a: np.take_along_axis(a, ids, 1)  # noqa: E731
        check(lambda t: t.gather(idx, 1), ref, [x], dtypes=ALL_FLOATS)
    d = distinct(3, 5)  # sort_last_dim is arg_sort_last_dim then gather
    check(lambda t: t.sort_last_dim(False)[0], lambda a: -np.sort(-a, 1), [d])


def case_scatter_add():
    x, src = rand(3, 4), rand(3, 3)
    ids = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])  # duplicates accumulate

    def ref(a, s):
        out = a.copy()
        for i in range(3):
            for j in range(3):
                out[i, ids[i, j]] += s[i, j]
        return out

    idx = Tensor.new(ids, dtype=DType.U32)
    check(lambda t, s: t.scatter_add(idx, s, 1), ref, [x, src])


def case_scatter():
    x, src = rand(3, 4), rand(3, 2)
    ids = np.array([[0, 3], [2, 1], [1, 0]])  # unique per row: the result is well defined

    def ref(a, s):
        out = a.copy()
        np.put_along_axis(out, ids, s, 1)
        return out

    check(lambda t, s: t.scatter(Tensor.new(ids), s, 1), ref, [x, src])


def case_index_add():
    x, src = rand(4, 3), rand(3, 3)
    ids = [2, 0, 2]

    def ref(a, s):
        out = a.copy()
        np.add.at(out, ids, s)
        return out

    check(lambda t, s: t.index_add(Tensor.new(ids, dtype=DType.U32), s, 0), ref, [x, src])
    check(lambda t, s: t.index_add(Tensor.new(ids), s, 1), lambda a, s: ref(a.T, s.T).T, [x.T, src])


def case_where_cond():
    mask = (RNG.uniform(size=(3, 4)) > 0.5).astype(np.uint8)
    a, b = rand(3, 4), rand(3, 4)

    def f(x, y):
        return Tensor.new(mask).where_cond(x, y)

    check(f, lambda x, y: np.where(mask != 0, x, y), [a, b], dtypes=ALL_FLOATS)
    m_t = Tensor.new(mask.T.copy()).t()  # a non-contiguous mask too
    check(lambda x, y: m_t.where_cond(x, y), lambda x, y: np.where(mask != 0, x, y), [a, b])


def case_arg_sort():
    x = distinct(3, 5)

    def f(t, asc=True):
        out = t.arg_sort_last_dim(asc)
        assert out.dtype == DType.U32
        return out

    check(f, lambda a: np.argsort(a, -1), [x], dtypes=ALL_FLOATS, grad=False)
    check(lambda t: f(t, False), lambda a: np.argsort(-a, -1), [x], grad=False)
    check_no_graph(f, [x])
    # Stable: equal keys keep their order in both directions.
    assert f(Tensor.new([[2.0, 1.0, 2.0, 1.0]])).to_vec2() == [[1, 3, 0, 2]]
    assert f(Tensor.new([[2.0, 1.0, 2.0, 1.0]]), False).to_vec2() == [[0, 2, 1, 3]]
    assert f(Tensor.new([[5, -3, 7]], dtype=DType.U8), False).dtype == DType.U32


# ------------------------------------------------------------------------------------------------
# Convolutions, pooling, resizing (naive float64 references)


def np_conv(x, w, padding=0, stride=1, dilation=1, groups=1):
    """Cross-correlation over the trailing 1 or 2 dims, group by group."""
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0)] * 2 + [(padding, padding)] * nd)
    ks = w.shape[2:]
    spans = [dilation * (k - 1) + 1 for k in ks]
    win = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(2, 2 + nd)))
    win = win[(Ellipsis,) + tuple(slice(None, None, dilation) for _ in ks)]
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, stride) for _ in ks)]
    c_g, o_g = w.shape[1], w.shape[0] // groups
    outs = []
    for g in range(groups):
        xs = win[:, g * c_g : (g + 1) * c_g]
        ws = w[g * o_g : (g + 1) * o_g]
        sub = "bcxyKL,ocKL->boxy" if nd == 2 else "bcxK,ocK->box"
        outs.append(np.einsum(sub, xs, ws))
    return np.concatenate(outs, 1)


def np_conv_transpose(x, w, padding=0, output_padding=0, stride=1, dilation=1):
    """Scatter form (groups=1): each input position adds its weighted kernel to the output."""
    nd = x.ndim - 2
    ks = w.shape[2:]
    full = [(n - 1) * stride + dilation * (k - 1) + 1 + output_padding for n, k in zip(x.shape[2:], ks)]
    y = np.zeros((x.shape[0], w.shape[1], *full))
    for pos in np.ndindex(*x.shape[2:]):
        for tap in np.ndindex(*ks):
            dst = tuple(p * stride + t * dilation for p, t in zip(pos, tap))
            y[(slice(None), slice(None)) + dst] += np.einsum("bc,co->bo", x[(..., *pos)], w[(..., *tap)])
    crop = tuple(slice(padding, n - padding) for n in full)
    return y[(slice(None), slice(None)) + crop]


def case_conv1d():
    x, k = rand(2, 4, 9), rand(6, 2, 3)
    f = lambda t, w: t.conv1d(w, padding=1, stride=2, groups=2)  # noqa: E731
    check(f, lambda a, b: np_conv(a, b, 1, 2, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv1d(w, padding=0, stride=1, dilation=2)  # noqa: E731
    check(f, lambda a, b: np_conv(a, b, 0, 1, 2), [x, rand(3, 4, 3)])


def case_conv2d():
    x, k = rand(2, 2, 5, 6), rand(3, 2, 3, 2)
    f = lambda t, w: t.conv2d(w, padding=1, stride=2, dilation=1)  # noqa: E731
    check(f, lambda a, b: np_conv(a, b, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv2d(w, dilation=2, groups=2)  # noqa: E731
    check(f, lambda a, b: np_conv(a, b, 0, 1, 2, 2), [x, rand(4, 1, 2, 2)])


def case_conv_transpose1d():
    x, k = rand(2, 3, 5), rand(3, 2, 3)
    f = lambda t, w: t.conv_transpose1d(w, padding=1, output_padding=1, stride=2)  # noqa: E731
    check(f, lambda a, b: np_conv_transpose(a, b, 1, 1, 2), [x, k], dtypes=ALL_FLOATS)
    f = lambda t, w: t.conv_transpose1d(w, dilation=2)  # noqa: E731
    check(f, lambda a, b: np_conv_transpose(a, b, dilation=2), [x, k])


def case_conv_transpose2d():
    x, k = rand(1, 2, 3, 4), rand(2, 3, 3, 2)
    f = lambda t, w: t.conv_transpose2d(w, padding=1, stride=2)  # noqa: E731
    check(f, lambda a, b: np_conv_transpose(a, b, 1, 0, 2), [x, k], dtypes=ALL_FLOATS)


def np_pool(x, kh, kw, sh, sw, reduce):
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return reduce(win, axis=(-2, -1))


def case_avg_pool2d():
    x = rand(2, 3, 4, 6)
    check(lambda t: t.avg_pool2d((2, 3)), lambda a: np_pool(a, 2, 3, 2, 3, np.mean), [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    f = lambda t: t.avg_pool2d_with_stride(2, 1)  # noqa: E731
    check(f, lambda a: np_pool(a, 2, 2, 1, 1, np.mean), [x])


def case_max_pool2d():
    x = distinct(2, 3, 4, 6)
    check(lambda t: t.max_pool2d(2), lambda a: np_pool(a, 2, 2, 2, 2, np.max), [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    f = lambda t: t.max_pool2d_with_stride((3, 2), (1, 2))  # noqa: E731
    check(f, lambda a: np_pool(a, 3, 2, 1, 2, np.max), [x])


def _nearest(n_in, n_out):
    return [min(n_in - 1, int(i * n_in / n_out)) for i in range(n_out)]


def case_upsample_nearest1d():
    x = rand(2, 3, 4)
    check(lambda t: t.upsample_nearest1d(7), lambda a: a[..., _nearest(4, 7)], [x],
          dtypes=ALL_FLOATS)  # fmt: skip
    check(lambda t: t.interpolate1d(3), lambda a: a[..., _nearest(4, 3)], [x])


def case_upsample_nearest2d():
    x = rand(1, 2, 3, 4)
    ref = lambda a: a[:, :, _nearest(3, 5)][..., _nearest(4, 8)]  # noqa: E731
    check(lambda t: t.upsample_nearest2d(5, 8), ref, [x], dtypes=ALL_FLOATS)


def np_bilinear(x, oh, ow, align_corners):
    def taps(n_in, n_out):
        o = np.arange(n_out, dtype=np.float64)
        if align_corners:
            src = o * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:
            src = np.maximum((o + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), src - i0

    h0, h1, lh = taps(x.shape[2], oh)
    w0, w1, lw = taps(x.shape[3], ow)
    rows = x[:, :, h0] * (1 - lh)[:, None] + x[:, :, h1] * lh[:, None]
    return rows[..., w0] * (1 - lw) + rows[..., w1] * lw


def case_upsample_bilinear2d():
    x = rand(2, 2, 3, 4)
    for align in (False, True):
        f = lambda t, align=align: t.upsample_bilinear2d(5, 7, align)  # noqa: E731
        check(f, lambda a, align=align: np_bilinear(a, 5, 7, align), [x], dtypes=ALL_FLOATS)
    check(lambda t: t.upsample_bilinear2d(2, 3), lambda a: np_bilinear(a, 2, 3, False), [x])


# ------------------------------------------------------------------------------------------------
# Fused primitives (DESIGN.md, "The engine" 4), each also against its composite twin


def case_softmax():
    x = rand(3, 5, lo=-4, hi=4)
    ref = lambda a, d: np.exp(a - logsumexp(a, d))  # noqa: E731
    check(lambda t: nn_ops.softmax(t, 1), lambda a: ref(a, 1), [x], dtypes=ALL_FLOATS)
    check(lambda t: nn_ops.softmax_last_dim(t), lambda a: ref(a, -1), [x])
    check(lambda t: nn_ops.softmax_slow(t, 0), lambda a: ref(a, 0), [x])
    check(lambda t: nn_ops.softmax(t, 0), lambda a: ref(a, 0), [x])


def case_log_softmax():
    x = rand(3, 5, lo=-4, hi=4)
    check(lambda t: nn_ops.log_softmax(t, 1), lambda a: a - logsumexp(a, 1), [x], dtypes=ALL_FLOATS)
    check(lambda t: nn_ops.log_softmax(t, 0), lambda a: a - logsumexp(a, 0), [x])
    check(lambda t: nn_ops.log_softmax_slow(t, 0), lambda a: a - logsumexp(a, 0), [x])


def logsumexp(a, dim):
    peak = a.max(dim, keepdims=True)
    return np.log(np.exp(a - peak).sum(dim, keepdims=True)) + peak


# No public entry point calls these two yet: they are reached through graph.apply as the layer
# (nn.Linear) and the loss (cross_entropy) will; switch the cases over once those are wired.


def case_linear():
    x, w, b = rand(2, 3, 4), rand(5, 4), rand(1, 5)
    f = lambda t, v, c: graph.apply(fused.LINEAR, (t, v, c.reshape(5)))  # noqa: E731
    check(f, lambda a, v, c: a @ v.T + c[0], [x, w, b], dtypes=ALL_FLOATS)
    f = lambda t, v: graph.apply2(fused.LINEAR, t, v)  # noqa: E731
    check(f, lambda a, v: a @ v.T, [x, w])


def case_cross_entropy():
    x = rand(4, 5, lo=-3, hi=3)
    labels = np.array([0, 4, 2, 2])
    ref = lambda a: np.mean(logsumexp(a, 1)[:, 0] - a[np.arange(4), labels])  # noqa: E731
    for dt in (DType.U8, DType.U32, DType.I64):
        ids = Tensor.new(labels, dtype=dt)
        f = lambda t, ids=ids: graph.apply2(fused.CROSS_ENTROPY, t, ids)  # noqa: E731
        check(f, ref, [x], dtypes=ALL_FLOATS)


# ------------------------------------------------------------------------------------------------
# The table: one case per primitive. A primitive added without a case fails test_every_primitive.

CASES = {
    "exp": unary(Tensor.exp, np.exp),
    "log": unary(Tensor.log, np.log, lambda *s: rand(*s, lo=0.5, hi=3.0)),
    "sin": unary(Tensor.sin, np.sin, lambda *s: rand(*s, lo=-3, hi=3)),
    "cos": unary(Tensor.cos, np.cos, lambda *s: rand(*s, lo=-3, hi=3)),
    "tanh": unary(Tensor.tanh, np.tanh),
    "neg": unary(lambda t: -t, np.negative),
    "recip": unary(Tensor.recip, np.reciprocal, away),
    "sqr": unary(Tensor.sqr, np.square),
    "sqrt": unary(Tensor.sqrt, np.sqrt, lambda *s: rand(*s, lo=0.5, hi=3.0)),
    "abs": unary(Tensor.abs, np.abs, away),
    "relu": unary(Tensor.relu, lambda a: np.maximum(a, 0), away),
    "gelu": unary(
        Tensor.gelu,
        lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))),
        lambda *s: rand(*s, lo=-3, hi=3),
    ),
    "erf": unary(Tensor.erf, _erf),
    "gelu_erf": unary(Tensor.gelu_erf, lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2)))),
    "silu": unary(Tensor.silu, lambda a: a / (1 + np.exp(-a)), lambda *s: rand(*s, lo=-4, hi=4)),
    "sigmoid": unary(sigmoid, lambda a: 1 / (1 + np.exp(-a)), lambda *s: rand(*s, lo=-6, hi=6)),
    "elu": unary(lambda t: t.elu(0.7), lambda a: np.where(a >= 0, a, 0.7 * np.expm1(a)), away),
    "powf": unary(lambda t: t.powf(2.5), lambda a: a**2.5, lambda *s: rand(*s, lo=0.5, hi=2)),
    "affine": unary(lambda t: t.affine(1.5, -0.5), lambda a: a * 1.5 - 0.5),
    "to_dtype": case_to_dtype,
    "copy": case_copy,
    "floor": piecewise(Tensor.floor, np.floor),
    "ceil": piecewise(Tensor.ceil, np.ceil),
    "round": piecewise(Tensor.round, _round_away),
    "sign": piecewise(Tensor.sign, np.sign),
    "add": binary(Tensor.add, lambda a, b: a + b, np.add),
    "sub": binary(Tensor.sub, lambda a, b: a - b, np.subtract),
    "mul": binary(Tensor.mul, lambda a, b: a * b, np.multiply),
    "div": binary(Tensor.div, lambda a, b: a / b, np.divide, rand, away),
    "maximum": case_maximum_minimum("maximum"),
    "minimum": case_maximum_minimum("minimum"),
    **{name: comparison(name) for name in ("eq", "ne", "lt", "le", "gt", "ge")},
    "sum": case_sum,
    "max": extremum("max"),
    "min": extremum("min"),
    "argmax": arg_extremum("argmax"),
    "argmin": arg_extremum("argmin"),
    "cumsum": case_cumsum,
    "matmul": case_matmul,
    "reshape": case_reshape,
    "transpose": case_transpose,
    "permute": case_permute,
    "broadcast_as": case_broadcast_as,
    "narrow": case_narrow,
    "cat": case_cat,
    "flip": case_flip,
    "contiguous": case_contiguous,
    "slice_scatter": case_slice_scatter,
    "unfold": case_unfold,
    "to_device": case_to_device,
    "index_select": case_index_select,
    "gather": case_gather,
    "scatter_add": case_scatter_add,
    "scatter": case_scatter,
    "index_add": case_index_add,
    "where_cond": case_where_cond,
    "arg_sort_last_dim": case_arg_sort,
    "conv1d": case_conv1d,
    "conv2d": case_conv2d,
    "conv_transpose1d": case_conv_transpose1d,
    "conv_transpose2d": case_conv_transpose2d,
    "avg_pool2d": case_avg_pool2d,
    "max_pool2d": case_max_pool2d,
    "upsample_nearest1d": case_upsample_nearest1d,
    "upsample_nearest2d": case_upsample_nearest2d,
    "upsample_bilinear2d": case_upsample_bilinear2d,
    "softmax": case_softmax,
    "log_softmax": case_log_softmax,
    "linear": case_linear,
    "cross_entropy": case_cross_entropy,
}


def test_table_is_loaded_and_every_primitive_is_marked():
    assert wick  # importing wick loads every op family
    assert len(PRIMITIVES) > 60
    for name, prim in PRIMITIVES.items():
        assert prim.name == name
        assert callable(prim.forward), name
        assert prim.backward is NOT_DIFFERENTIABLE or callable(prim.backward), (
            f"{name} has neither a backward nor the NOT_DIFFERENTIABLE mark"
        )


def test_every_primitive_has_a_case_and_no_case_is_stale():
    missing = sorted(set(PRIMITIVES) - set(CASES))
    stale = sorted(set(CASES) - set(PRIMITIVES))
    assert not missing, f"primitives without a sweep case: {missing}"
    assert not stale, f"sweep cases for primitives that do not exist: {stale}"


@pytest.mark.parametrize("name", sorted(set(PRIMITIVES) | set(CASES)))
def test_primitive(name):
    """Runs the case, checking that it actually reaches the primitive it is named after."""
    assert name in CASES, f"primitive {name} has no sweep case"
    prim = PRIMITIVES[name]
    calls = []
    forward = prim.forward

    def counting(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    prim.forward = counting
    try:
        CASES[name]()
    finally:
        prim.forward = forward
    assert calls, f"the case for {name} never ran its primitive"
