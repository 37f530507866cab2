"""GELU with the tanh approximation (GPT-2's gelu_new) as a fused primitive, and dropout through
forward_t: inverted scaling, seeded, identity in evaluation, also inside a Sequential."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.nn import Activation, Dropout, Sequential, func, seq
from wick.nn.ops import dropout
from wick.testing import assert_close, gradcheck

X = [-3.0, -1.5, -0.5, 0.0, 0.25, 1.0, 2.0, 4.0]
# x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
# y = torch.nn.functional.gelu(x, approximate="tanh"); y.backward(torch.ones_like(y))
TORCH_Y = [-0.0036373920817729943, -0.10042842301976707, -0.15428599017485606, 0.0,
           0.149675350701685, 0.8411919906082768, 1.954597694087775, 3.9999297540518075]  # fmt: skip
TORCH_DX = [-0.011584166630969648, -0.12771079315143308, 0.13263009646535764, 0.5,
            0.6953540951510604, 1.0829640838457826, 1.0860992566236183, 1.000335123197122]  # fmt: skip


def gelu_composite(x):
    """0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) from elementary primitives."""
    inner = (x + x.powf(3.0) * 0.044715) * math.sqrt(2.0 / math.pi)
    return x * (inner.tanh() + 1.0) * 0.5


def test_gelu_new_equals_torch_golden_values():
    x = Var.new(X)
    y = x.gelu()
    assert_close(y, TORCH_Y, 1e-14, 1e-15)
    assert_close(y.sum_all().backward().get(x), TORCH_DX, 1e-14, 1e-15)


@pytest.mark.parametrize("dtype", [DType.F64, DType.F32])
def test_fused_gelu_equals_its_composite(dtype, device):
    a = np.random.default_rng(0).uniform(-5, 5, (4, 7, 9))
    w = Tensor.new(np.cos(np.arange(a.size)).reshape(a.shape), device).to_dtype(dtype)
    results = []
    for f in (Tensor.gelu, gelu_composite):
        x = Var.new(a, device, dtype)
        y = f(x)
        results.append((y, (y * w).sum_all().backward().get(x)))
    (y, g), (ry, rg) = results
    tol = 1e-13 if dtype == DType.F64 else 2e-6
    assert y.dtype == dtype and g.dtype == dtype
    assert_close(y, ry, tol, tol)
    assert_close(g, rg, tol, tol)
    assert gradcheck(Tensor.gelu, [a])


def test_the_backward_reuses_the_saved_tanh():
    x = Var.new(X)
    node = x.gelu().op
    assert node.prim.name == "gelu" and node.prim.saves
    assert_close(node.saved, np.tanh(math.sqrt(2 / math.pi) * (np.array(X) + 0.044715 * np.array(X) ** 3)), 1e-15, 1e-15)  # fmt: skip
    assert x.gelu().op.saved is not node.saved  # a fresh buffer per call


def test_half_precision_gelu_is_computed_in_f32():
    ref = Tensor.new(X).to_dtype(DType.F32).gelu()
    for dt, tol in ((DType.F16, 2e-3), (DType.BF16, 1e-2)):
        x = Var.new(Tensor.new(X).to_dtype(dt).numpy())
        y = x.gelu()
        assert y.dtype == dt
        assert_close(y.to_dtype(DType.F32), ref, tol, tol)
        g = y.sum_all().backward().get(x)
        assert g.dtype == dt
        assert_close(g.to_dtype(DType.F32), TORCH_DX, tol, tol)


def test_activations_named_gelu_new_use_it():
    x = Tensor.new(X)
    for act in (Activation.NewGelu, Activation.GeluPytorchTanh, Activation.from_name("gelu_new")):
        assert_close(act(x), TORCH_Y, 1e-14, 1e-15)


# ------------------------------------------------------------------------------------------------
# Dropout


def test_dropout_is_inverted_and_seeded_by_the_device(device):
    x = Tensor.ones((200, 500), DType.F32, device)
    device.set_seed(5)
    y = dropout(x, 0.2).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.8)}
    assert abs((y == 0).mean() - 0.2) < 0.0065  # 100,000 draws: 5 standard deviations
    assert abs(y.mean() - 1.0) < 0.01  # the expectation is kept
    device.set_seed(5)
    assert (dropout(x, 0.2).numpy() == y).all()
    assert not (dropout(x, 0.2).numpy() == y).all()  # the generator moved on


def test_dropout_gradient_is_the_kept_mask_scaled():
    x = Var.new(np.random.default_rng(1).normal(size=(30, 40)))
    Device.Cpu.set_seed(2)
    y = dropout(x, 0.5)
    g = y.sum_all().backward().get(x).numpy()
    kept = y.numpy() != 0
    assert set(np.unique(g).tolist()) == {0.0, 2.0}
    assert ((g == 2.0) == kept).all()


def test_dropout_identity_cases():
    x = Tensor.new(X)
    assert dropout(x, 0.0) is x
    layer = Dropout(0.5)
    assert layer.forward_t(x, False) is x
    assert layer(x) is x  # ModuleT's call defaults to evaluation
    with pytest.raises(Exception, match=r"dropout probability 1.0 is not in \[0, 1\)"):
        dropout(x, 1.0)


def test_sequential_never_drops_in_evaluation():
    x = Tensor.ones((50, 50), DType.F32)
    model = seq().add(func(lambda t: t * 3.0)).add(Dropout(0.9)).add_fn(lambda t: t + 1.0)
    nested = Sequential([model, Dropout(0.9)])
    for m in (model, nested):
        assert (m(x).numpy() == 4.0).all()  # forward: evaluation
        assert (m.forward_t(x, False).numpy() == 4.0).all()
        assert (m(x, False).numpy() == 4.0).all()
    assert (model.forward_all(x)[-1].numpy() == 4.0).all()
    Device.Cpu.set_seed(0)
    trained = model.forward_t(x, True).numpy()
    assert (trained == 1.0).mean() > 0.8  # most of 3 * ones dropped to 0, then + 1
    dropped_twice = nested(x, True).numpy()
    assert (dropped_twice == 0).mean() > 0.85
