"""The op-table sweep (DESIGN.md, "Tests", layer 1): every primitive in ``wick.core.ops.PRIMITIVES``
is called through the public Tensor API and checked against a float64 NumPy reference (F64 and F32,
F16/BF16 for most ops), its backward against float64 central differences
(``wick.testing.gradcheck``), again with non-contiguous inputs (a transposed view and a narrowed
slice), and for binary ops with broadcast operator inputs. Non-differentiable primitives are
checked forward only and must record no graph. Helpers are in op_sweep.py, the conv/pool/resize
cases in op_sweep_conv.py.

Not covered here: ``to_device`` to a real GPU (the case moves between two CPU ``Device`` handles,
which runs the same primitive; CUDA needs CuPy and a GPU).
"""

from __future__ import annotations

import math

import numpy as np
import op_sweep
import pytest
from op_sweep import (
    ALL_FLOATS,
    F32,
    F64,
    FLOATS,
    RNG,
    away,
    check,
    check_no_graph,
    distinct,
    prims_in,
    rand,
    reseed,
)
from op_sweep_conv import CONV_CASES

import wick
from wick import Device, DType, Tensor, Var
from wick.core.ops import NOT_DIFFERENTIABLE, PRIMITIVES
from wick.nn import Linear, loss
from wick.nn import ops as nn_ops
from wick.nn.ops import sigmoid

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
        x = np.array(
            [[-2.5, -1.5, -0.5, -0.2, 0.0], [0.2, 0.5, 1.5, 2.5, 3.7], [-3.7, 1.0, -1, 4, 9]]
        )
        check(method, ref, [x], dtypes=ALL_FLOATS, grad=False)
        check_no_graph(method, [x])
        # On integers these are the identity (sign: -1/0/1), and the dtype stays.
        out = method(Tensor.new([[-3, 0, 5]]))
        assert out.dtype == DType.I64
        assert out.to_vec2() == ref(np.array([[-3, 0, 5]])).tolist()

    return case


def case_to_dtype():
    x = rand(3, 4, lo=-5, hi=5)
    to_f32 = lambda t: t.to_dtype(F32)
    check(
        to_f32,
        lambda a: a.astype(np.float32),
        [x],
        dtypes=ALL_FLOATS,
        grad=False,
        keeps_dtype=False,
    )
    # float -> int truncates toward zero (Candle's `as`), int -> float is exact.
    t = Tensor.new([[-1.7, -0.2, 0.0, 2.9]])
    assert t.to_dtype(DType.I64).to_vec2() == [[-1, 0, 0, 2]]
    assert t.to_dtype(DType.I64).to_dtype(F32).to_vec2() == [[-1.0, 0.0, 0.0, 2.0]]
    # Backward: a round trip through F32 is linear, so a unit step is exact up to F32 rounding.
    roundtrip = lambda t: t.to_dtype(F32).to_dtype(F64) * 1.5
    ref = lambda a: a.astype(np.float32).astype(np.float64) * 1.5
    check(roundtrip, ref, [x], dtypes=(), eps=1.0, gatol=1e-5)
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
        assert (
            bcast(Tensor.new(col), Tensor.new(row)).to_vec2() == ref(col, row).astype(int).tolist()
        )

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
    ref = lambda a: np.lib.stride_tricks.sliding_window_view(a, 3, axis=1)[:, ::2]
    check(lambda t: t.unfold(1, 3, 2), ref, [x])
    ref0 = lambda a: np.moveaxis(np.lib.stride_tricks.sliding_window_view(a, 2, axis=0), 1, 1)
    check(lambda t: t.unfold(0, 2, 1), ref0, [x])


def case_to_device():
    # A second CPU handle stands in for a GPU: to_device copies through the host either way.
    other = Device("cpu", 1, Device.Cpu.backend)

    def f(t):
        out = t.to_device(other)
        assert out.device is other
        return out.to_device(t.device)  # on a GPU: cuda -> cpu handle -> cuda

    check(f, lambda a: a, [rand(3, 4)], dtypes=ALL_FLOATS)


# ------------------------------------------------------------------------------------------------
# Indexing and sorting

IDS = {dt: [2, 0, 2, 1] for dt in (DType.U8, DType.U32, DType.I64)}


def case_index_select():
    x = rand(3, 4)
    for dt, ids in IDS.items():
        idx = Tensor.new(ids, op_sweep.DEV, dtype=dt)
        f0 = lambda t, idx=idx: t.index_select(idx, 0)
        check(f0, lambda a, ids=ids: a[ids], [x], dtypes=ALL_FLOATS)
        check(lambda t, idx=idx: t.index_select(idx, 1), lambda a, ids=ids: a[:, ids], [x])
    check(lambda t: t.embedding(Tensor.new([1, 1, 0], op_sweep.DEV)), lambda a: a[[1, 1, 0]], [x])
    # u32::MAX is Candle's "skip" sentinel: a row of zeros, and no gradient.
    skip = Tensor.new([1, 2**32 - 1], op_sweep.DEV, dtype=DType.U32)
    check(lambda t: t.index_select(skip, 0), lambda a: np.stack([a[1], 0 * a[0]]), [x])


def case_gather():
    x = rand(3, 4)
    ids = np.array([[3, 0], [1, 1], [2, 3]])
    for dt in (DType.U8, DType.U32, DType.I64):
        idx = Tensor.new(ids, op_sweep.DEV, dtype=dt)
        ref = lambda a: np.take_along_axis(a, ids, 1)
        check(lambda t, idx=idx: t.gather(idx, 1), ref, [x], dtypes=ALL_FLOATS)
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
        return Tensor.new(mask, op_sweep.DEV).where_cond(x, y)

    check(f, lambda x, y: np.where(mask != 0, x, y), [a, b], dtypes=ALL_FLOATS)
    m_t = Tensor.new(mask.T.copy(), op_sweep.DEV).t()  # a non-contiguous mask too
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
# Fused primitives (DESIGN.md, "The engine" 4), each also against its composite twin


def case_softmax():
    x = rand(3, 5, lo=-4, hi=4)
    ref = lambda a, d: np.exp(a - logsumexp(a, d))
    check(lambda t: nn_ops.softmax(t, 1), lambda a: ref(a, 1), [x], dtypes=ALL_FLOATS)
    check(lambda t: nn_ops.softmax_last_dim(t), lambda a: ref(a, -1), [x])
    check(lambda t: nn_ops.softmax_slow(t, 0), lambda a: ref(a, 0), [x])
    check(lambda t: nn_ops.softmax(t, 0), lambda a: ref(a, 0), [x])


def case_log_softmax():
    x = rand(3, 5, lo=-4, hi=4)
    check(lambda t: nn_ops.log_softmax(t, 1), lambda a: a - logsumexp(a, 1), [x], dtypes=ALL_FLOATS)
    check(lambda t: nn_ops.log_softmax(t, 0), lambda a: a - logsumexp(a, 0), [x])
    check(lambda t: nn_ops.log_softmax_slow(t, 0), lambda a: a - logsumexp(a, 0), [x])


def np_layer_norm(a, alpha, beta, eps):
    centred = a - a.mean(-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(-1, keepdims=True) + eps) * alpha + beta


def case_layer_norm():
    x, alpha, beta = rand(2, 3, 5), rand(5, lo=0.5, hi=1.5), rand(5)
    ref = lambda a, w, b: np_layer_norm(a, w, b, 1e-5)
    check(
        lambda t, w, b: nn_ops.layer_norm(t, w, b, 1e-5), ref, [x, alpha, beta], dtypes=ALL_FLOATS
    )
    check(lambda t, w, b: nn_ops.layer_norm_slow(t, w, b, 1e-5), ref, [x, alpha, beta])


def case_rms_norm():
    x, alpha = rand(2, 3, 5), rand(5, lo=0.5, hi=1.5)
    ref = lambda a, w: a / np.sqrt((a**2).mean(-1, keepdims=True) + 1e-5) * w
    check(lambda t, w: nn_ops.rms_norm(t, w, 1e-5), ref, [x, alpha], dtypes=ALL_FLOATS)
    check(lambda t, w: nn_ops.rms_norm_slow(t, w, 1e-5), ref, [x, alpha])


def logsumexp(a, dim):
    peak = a.max(dim, keepdims=True)
    return np.log(np.exp(a - peak).sum(dim, keepdims=True)) + peak


def case_linear():
    x, w, b = rand(2, 3, 4), rand(5, 4), rand(1, 5)
    f = lambda t, v, c: Linear(v, c.reshape(5))(t)
    check(f, lambda a, v, c: a @ v.T + c[0], [x, w, b], dtypes=ALL_FLOATS)
    check(lambda t, v: Linear(v)(t), lambda a, v: a @ v.T, [x, w])
    twin = lambda t, v, c: t.broadcast_matmul(v.t()).broadcast_add(c.reshape(5))
    check(twin, lambda a, v, c: a @ v.T + c[0], [x, w, b])


def case_cross_entropy():
    x = rand(4, 5, lo=-3, hi=3)
    labels = np.array([0, 4, 2, 2])
    ref = lambda a: np.mean(logsumexp(a, 1)[:, 0] - a[np.arange(4), labels])
    for dt in (DType.U8, DType.U32, DType.I64):
        ids = Tensor.new(labels, op_sweep.DEV, dtype=dt)
        check(lambda t, ids=ids: loss.cross_entropy(t, ids), ref, [x], dtypes=ALL_FLOATS)
    check(lambda t: loss.cross_entropy_slow(t, Tensor.new(labels, op_sweep.DEV)), ref, [x])


def np_sdpa(q, k, v, add=None, keep=None, causal=False):
    """softmax(q k^T / sqrt(D) + mask) v in float64 NumPy; ``keep`` is a bool mask."""
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if add is not None:
        s = s + add
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    if causal:
        tq, tk = s.shape[-2:]
        s = np.where(np.arange(tk)[None, :] > np.arange(tq)[:, None] + tk - tq, -np.inf, s)
    return np.exp(s - logsumexp(s, -1)) @ v


def case_sdpa():
    q, k, v = rand(2, 3, 4), rand(2, 5, 4), rand(2, 5, 3)
    check(nn_ops.sdpa, np_sdpa, [q, k, v], dtypes=ALL_FLOATS)
    causal = lambda *t: nn_ops.sdpa(*t, is_causal=True)
    check(causal, lambda *a: np_sdpa(*a, causal=True), [q, k, v], dtypes=ALL_FLOATS)
    # An additive mask broadcast over the batch gets a gradient (summed over the batch).
    check(nn_ops.sdpa, np_sdpa, [q, k, v, rand(1, 3, 5)])
    keep = RNG.uniform(size=(3, 5)) > 0.4
    keep[:, 0] = True
    mask = Tensor.new(keep.astype(np.uint8), op_sweep.DEV)
    f = lambda *t: nn_ops.sdpa(*t, mask, is_causal=True)
    check(f, lambda *a: np_sdpa(*a, keep=keep, causal=True), [q, k, v])
    check(lambda *t: nn_ops.sdpa_slow(*t, is_causal=True), lambda *a: np_sdpa(*a, causal=True),
          [q, k, v])  # fmt: skip


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
    **CONV_CASES,
    "softmax": case_softmax,
    "log_softmax": case_log_softmax,
    "linear": case_linear,
    "layer_norm": case_layer_norm,
    "rms_norm": case_rms_norm,
    "cross_entropy": case_cross_entropy,
    "sdpa": case_sdpa,
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
def test_primitive(name, device, monkeypatch):
    """Runs the case on each device, checking that it reaches the primitive it is named after."""
    assert name in CASES, f"primitive {name} has no sweep case"
    monkeypatch.setattr(op_sweep, "DEV", device)  # check() makes its tensors there
    prim = PRIMITIVES[name]
    calls = []
    forward = prim.forward

    def counting(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    prim.forward = counting
    reseed(name)
    try:
        CASES[name]()
    finally:
        prim.forward = forward
    assert calls, f"the case for {name} never ran its primitive"
