"""wick.nn.ops.sdpa: the fused attention primitive against its composite twin, float64 finite
differences and (optionally) torch.nn.functional.scaled_dot_product_attention."""

from __future__ import annotations

import math

import numpy as np
import pytest
from devices import bf16_refused

from wick import Device, DType, Error, Tensor, Var
from wick.nn.ops import sdpa, sdpa_slow
from wick.testing import assert_close, gradcheck

RNG = np.random.default_rng(7)
F32, F64 = DType.F32, DType.F64
TOL = {F64: (1e-12, 1e-12), F32: (2e-5, 2e-6)}


def qkv(b=2, h=3, tq=5, tk=5, d=4, dv=None):
    shape = (b, h) if h else (b,)
    return (
        RNG.normal(size=shape + (tq, d)),
        RNG.normal(size=shape + (tk, d)),
        RNG.normal(size=shape + (tk, dv or d)),
    )


def bool_mask(*shape):
    keep = RNG.uniform(size=shape) > 0.35
    keep[..., 0] = True  # every query sees at least one key: the composite stays finite
    return keep


def run(f, arrays, dtype, extra=None, device=Device.Cpu, **kw):
    """``f(q, k, v, mask, **kw)`` on Vars: the output and every input's gradient (of a weighted
    sum, so each output element gets its own cotangent)."""
    xs = [Var.new(a, device, dtype) for a in arrays]
    if extra is not None:
        extra = extra.to_device(device)
    out = f(*xs[:3], xs[3] if len(xs) > 3 else extra, **kw)
    cot = np.cos(np.arange(out.elem_count())).reshape(out.shape)
    weights = Tensor.new(cot, device).to_dtype(dtype)
    grads = (out * weights).sum_all().backward()
    return out, [grads.get(x) for x in xs]


CASES = {
    "plain": dict(),
    "causal": dict(is_causal=True),
    "causal_fewer_queries": dict(is_causal=True, tq=2, tk=6),  # a KV cache's decode step
    "scale": dict(scale=0.3),
    "value_dim": dict(dv=6, tk=7),
    "rank3": dict(h=0),
    "additive": dict(add=(1, 3, 5, 5)),
    "additive_causal": dict(add=(5, 5), is_causal=True),
    "bool": dict(keep=(2, 1, 5, 5)),
    "bool_causal": dict(keep=(5, 5), is_causal=True),
}


def case_inputs(case):
    c = dict(CASES[case])
    add, keep = c.pop("add", None), c.pop("keep", None)
    sizes = {k: c.pop(k) for k in ("h", "tq", "tk", "dv") if k in c}
    arrays = list(qkv(**sizes))
    extra = None
    if add is not None:
        arrays.append(RNG.normal(size=add))
    if keep is not None:
        extra = Tensor.new(bool_mask(*keep).astype(np.uint8))
    return arrays, extra, c


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_equals_composite_forward_and_backward(case, dtype, device):
    arrays, extra, kw = case_inputs(case)
    out, grads = run(sdpa, arrays, dtype, extra, device, **kw)
    ref, ref_grads = run(sdpa_slow, arrays, dtype, extra, device, **kw)
    assert out.dtype == dtype and out.shape == ref.shape and out.device is device
    rtol, atol = TOL[dtype]
    assert_close(out, ref, rtol, atol)
    for g, r in zip(grads, ref_grads):
        assert g is not None and g.shape == r.shape
        assert_close(g, r, rtol * 10, atol * 10)


@pytest.mark.parametrize("case", ["plain", "causal_fewer_queries", "additive", "bool_causal"])
def test_gradients_match_float64_finite_differences(case):
    arrays, extra, kw = case_inputs(case)
    f = lambda *xs: sdpa(*xs[:3], xs[3] if len(xs) > 3 else extra, **kw)
    assert gradcheck(f, arrays)


def test_causal_is_aligned_to_the_end(device):
    # One query against three keys sees all of them; two queries: the first sees two.
    q, k, v = (Tensor.new(a, device) for a in qkv(b=1, h=1, tq=2, tk=3, d=2))
    out = sdpa(q, k, v, is_causal=True).numpy()
    full = sdpa(q, k, v).numpy()
    first = sdpa(q.narrow(2, 0, 1), k.narrow(2, 0, 2), v.narrow(2, 0, 2))
    assert_close(out[..., 1, :], full[..., 1, :], 1e-12, 1e-12)
    assert_close(out[..., 0, :], first.numpy()[..., 0, :], 1e-12, 1e-12)


def test_prefill_then_decode_equals_the_full_causal_pass(device):
    q, k, v = (Tensor.new(a, device) for a in qkv(b=2, h=2, tq=6, tk=6, d=4))
    full = sdpa(q, k, v, is_causal=True).numpy()
    for t in range(1, 7):
        step = sdpa(q.narrow(2, t - 1, 1), k.narrow(2, 0, t), v.narrow(2, 0, t), is_causal=True)
        assert_close(step.numpy()[:, :, 0], full[:, :, t - 1], 1e-12, 1e-12)


def test_a_query_that_sees_no_key_gets_zeros_and_zero_gradients(device):
    q, k, v = qkv(b=1, h=1, tq=3, tk=3, d=2)
    keep = np.ones((3, 3), dtype=np.uint8)
    keep[1] = 0
    xs = [Var.new(a, device) for a in (q, k, v)]
    out = sdpa(*xs, Tensor.new(keep, device))
    assert out.numpy()[0, 0, 1].tolist() == [0.0, 0.0]
    grads = out.sum_all().backward()
    assert grads.get(xs[0]).numpy()[0, 0, 1].tolist() == [0.0, 0.0]
    assert all(np.isfinite(grads.get(x).numpy()).all() for x in xs)
    # More queries than keys with is_causal: the first Tq - Tk queries see nothing.
    q, k, v = (Tensor.new(a, device) for a in qkv(b=1, h=1, tq=4, tk=2, d=2))
    out = sdpa(q, k, v, is_causal=True).numpy()
    assert out[0, 0, :2].tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert np.abs(out[0, 0, 2:]).min() > 0
    # An additive mask of -inf everywhere on a row behaves the same.
    add = np.zeros((4, 2))
    add[3] = -np.inf
    out = sdpa(q, k, v, Tensor.new(add, device)).numpy()
    assert out[0, 0, 3].tolist() == [0.0, 0.0] and np.isfinite(out).all()


def test_the_book_chapter_3_causal_weights():
    # Chapter 3's inputs as q = k = v (d = 3): the causal weights' first rows are the book's
    # masked_simple_norm pattern: row 0 attends only to itself.
    inputs = Tensor.new(
        [[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
         [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]]
    ).to_dtype(F32)  # fmt: skip
    x = inputs.unsqueeze(0)
    out = sdpa(x, x, x, is_causal=True, scale=1.0)
    assert_close(out.get(0).get(0), inputs.get(0), 0, 0)
    # Without the mask and with scale 1: the book's all_context_vecs (section 3.3.2).
    ctx = sdpa(x, x, x, scale=1.0).get(0)
    book = [[0.4421, 0.5931, 0.5790], [0.4419, 0.6515, 0.5683], [0.4431, 0.6496, 0.5671],
            [0.4304, 0.6298, 0.5510], [0.4671, 0.5910, 0.5266], [0.4177, 0.6503, 0.5645]]  # fmt: skip
    assert_close(ctx, book, 0, 5e-5)


def test_dropout_equals_the_composite_with_the_same_seed(device):
    arrays = qkv(b=2, h=2, tq=6, tk=6, d=4)
    outs = []
    for f in (sdpa, sdpa_slow):
        device.set_seed(11)
        outs.append(run(f, arrays, F64, None, device, is_causal=True, dropout_p=0.4))
    (out, grads), (ref, ref_grads) = outs
    assert_close(out, ref, 1e-12, 1e-12)
    for g, r in zip(grads, ref_grads):
        assert_close(g, r, 1e-11, 1e-11)
    device.set_seed(11)
    again = sdpa(*(Tensor.new(a, device) for a in arrays), is_causal=True, dropout_p=0.4)
    assert_close(again, out, 0, 0)  # seeded: bit for bit
    plain = sdpa(*(Tensor.new(a, device) for a in arrays), is_causal=True)
    assert np.abs(plain.numpy() - out.numpy()).max() > 1e-3  # something was dropped


def test_half_precision_is_computed_in_f32(device):
    arrays = qkv(b=1, h=2, tq=4, tk=4, d=8)
    ref = sdpa(*(Tensor.new(a, device).to_dtype(F32) for a in arrays), is_causal=True)
    halves = ((DType.F16, 4e-3),) + (() if bf16_refused(device) else ((DType.BF16, 3e-2),))
    for dt, tol in halves:
        out = sdpa(*(Tensor.new(a, device).to_dtype(dt) for a in arrays), is_causal=True)
        assert out.dtype == dt
        assert_close(out.to_dtype(F32), ref, tol, tol)


def test_inference_records_no_graph_and_training_records_one_node():
    q, k, v = (Tensor.new(a) for a in qkv())
    assert sdpa(q, k, v, is_causal=True).op is None
    out = sdpa(Var.new(q.numpy()), k, v, is_causal=True)
    assert out.op.prim.name == "sdpa"


def test_bad_input_names_the_op_and_the_shapes():
    q, k, v = (Tensor.new(a) for a in qkv(b=2, h=3, tq=5, tk=5, d=4))
    with pytest.raises(Error, match=r"shape mismatch in sdpa, q: \[2, 3, 5, 4\], k: \[2, 3, 5, 4\], v: \[2, 3, 4, 4\]"):  # fmt: skip
        sdpa(q, k, v.narrow(2, 0, 4))
    with pytest.raises(Error, match=r"sdpa.*k: \[2, 3, 5, 3\]"):
        sdpa(q, k.narrow(3, 0, 3), v)
    with pytest.raises(Error, match=r"sdpa.*k: \[3, 5, 4\]"):
        sdpa(q, k.get(0), v)
    with pytest.raises(Error, match=r"sdpa.*k: \[1, 3, 5, 4\]"):  # no broadcasting of batches
        sdpa(q, k.narrow(0, 0, 1), v.narrow(0, 0, 1))
    with pytest.raises(Error, match="dtype mismatch in sdpa"):
        sdpa(q, k.to_dtype(F32), v)
    with pytest.raises(Error, match="sdpa"):
        sdpa(q.to_dtype(DType.I64), k.to_dtype(DType.I64), v.to_dtype(DType.I64))
    with pytest.raises(Error, match=r"sdpa: the mask \[4, 5\] does not broadcast to the scores \[2, 3, 5, 5\]"):  # fmt: skip
        sdpa(q, k, v, Tensor.zeros((4, 5), F64))
    with pytest.raises(Error, match="sdpa: the mask must be U8 .* or F64 like q, got F32"):
        sdpa(q, k, v, Tensor.zeros((5, 5), F32))
    with pytest.raises(Error, match=r"sdpa: dropout probability 1.0 is not in \[0, 1\)"):
        sdpa(q, k, v, dropout_p=1.0)


# ------------------------------------------------------------------------------------------------
# PyTorch as an optional live oracle


def _bottom_right(tq, tk):
    return np.arange(tk)[None, :] <= np.arange(tq)[:, None] + tk - tq


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_against_torch_scaled_dot_product_attention(case, dtype):
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional.scaled_dot_product_attention
    arrays, extra, kw = case_inputs(case)
    tdt = torch.float64 if dtype == F64 else torch.float32
    ts = [torch.tensor(a, dtype=tdt, requires_grad=True) for a in arrays]
    tq, tk = arrays[0].shape[-2], arrays[1].shape[-2]
    mask = ts[3] if len(ts) > 3 else None
    if extra is not None:
        mask = torch.tensor(extra.numpy() != 0)
    if kw.get("is_causal"):  # torch's is_causal is top-left aligned: pass the end-aligned mask
        causal = torch.tensor(_bottom_right(tq, tk))
        if mask is None:
            mask = causal
        elif mask.dtype == torch.bool:
            mask = mask & causal
        else:
            mask = mask.masked_fill(~causal, float("-inf"))
    want = fn(*ts[:3], attn_mask=mask, scale=kw.get("scale"))
    weights = torch.tensor(np.cos(np.arange(want.numel())).reshape(want.shape), dtype=tdt)
    (want * weights).sum().backward()
    out, grads = run(sdpa, arrays, dtype, extra, **kw)
    rtol, atol = (1e-10, 1e-12) if dtype == F64 else (1e-5, 2e-6)
    assert_close(out, want.detach().numpy(), rtol, atol)
    for g, t in zip(grads, ts):
        assert_close(g, t.grad.numpy(), rtol * 10, atol * 10)


def test_default_scale_is_one_over_sqrt_d():
    q, k, v = qkv(d=9)
    a = sdpa(Tensor.new(q), Tensor.new(k), Tensor.new(v))
    b = sdpa(Tensor.new(q), Tensor.new(k), Tensor.new(v), scale=1 / math.sqrt(9))
    assert_close(a, b, 0, 0)
