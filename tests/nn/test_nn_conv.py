"""wick.nn convolution layers (candle-nn's ``conv.rs``): builders, forward and gradients.

Golden values come from PyTorch (tests/nn/nn_conv_golden.py holds them with the snippet that
generated them); they are compared exactly after Candle's 4-decimal rounding in float64, and within
1e-4 (the goldens' own rounding plus float32 error) in float32.

Not applicable from Candle: candle-nn has no tests of its own for the conv layers (no
``tests/conv.rs``, no doc examples in ``conv.rs``); the Tensor-level conv cases of
``candle-core/tests/conv_tests.rs`` are ported in tests/core/candle/test_conv.py. ``cudnn_fwd_algo``
is CUDA-only: it is accepted in the configs and ignored.
"""

from __future__ import annotations

import math

import nn_conv_golden as golden
import numpy as np
import pytest
from nn_helpers import pat_t, rnd

from wick import Device, DType, Tensor, Var
from wick.core.errors import Error
from wick.nn import (
    Conv1d,
    Conv1dConfig,
    Conv2d,
    Conv2dConfig,
    ConvTranspose1d,
    ConvTranspose1dConfig,
    ConvTranspose2d,
    ConvTranspose2dConfig,
    VarBuilder,
    VarMap,
    conv1d,
    conv1d_no_bias,
    conv2d,
    conv2d_no_bias,
    conv_transpose1d,
    conv_transpose1d_no_bias,
    conv_transpose2d,
    conv_transpose2d_no_bias,
)
from wick.testing import assert_close

# (golden name, builder, in, out, kernel, config, input shape): the cases of nn_conv_golden.py.
CASES = [
    ("C1", conv1d, 4, 6, 3, Conv1dConfig(padding=1, stride=3, dilation=2, groups=2), (2, 4, 9)),
    ("C2", conv2d, 4, 4, 3, Conv2dConfig(padding=1, stride=2, groups=2), (1, 4, 5, 5)),
    ("C2_DIL", conv2d, 2, 3, 2, Conv2dConfig(padding=1, dilation=2), (1, 2, 4, 4)),
    (
        "CT1",
        conv_transpose1d,
        4,
        6,
        3,
        ConvTranspose1dConfig(padding=1, output_padding=1, stride=2, groups=2),
        (2, 4, 3),
    ),
    (
        "CT2",
        conv_transpose2d,
        2,
        3,
        2,
        ConvTranspose2dConfig(padding=1, output_padding=1, stride=2),
        (1, 2, 3, 3),
    ),
    (
        "CT2_DIL",
        conv_transpose2d,
        2,
        2,
        2,
        ConvTranspose2dConfig(padding=1, dilation=2),
        (1, 2, 3, 3),
    ),
    ("CT2_G", conv_transpose2d, 4, 4, 2, ConvTranspose2dConfig(groups=2), (1, 4, 1, 2)),
]


def _run_case(builder, in_c, out_c, k, cfg, x_shape, dtype):
    """Builds the layer from a VarMap, sets the generator's parameters, returns (y, grads...)."""
    varmap = VarMap()
    layer = builder(in_c, out_c, k, cfg, VarBuilder.from_varmap(varmap, dtype))
    w, b = varmap.data()["weight"], varmap.data()["bias"]
    w.set(pat_t(w.shape, 0.91, 0.3, dtype, 0.5))
    b.set(pat_t(b.shape, 1.7, -0.4, dtype, 0.3))
    x = Var.from_tensor(pat_t(x_shape, 0.37, 0.1, dtype))
    y = layer.forward(x)
    grads = (y * pat_t(y.shape, 0.13, 0.7, dtype)).sum_all().backward()
    return y, grads.get(x), grads.get(w), grads.get(b)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_layer_matches_pytorch_f64(case):
    name, *args = case
    want = getattr(golden, name)
    got = _run_case(*args, DType.F64)
    for label, actual, expected in zip(("y", "grad_x", "grad_w", "grad_b"), got, want):
        assert rnd(actual) == expected, f"{name} {label}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_layer_matches_pytorch_f32(case):
    name, *args = case
    want = getattr(golden, name)
    got = _run_case(*args, DType.F32)
    for actual, expected in zip(got, want):
        assert actual.dtype == DType.F32
        assert_close(actual, np.array(expected), rtol=1e-5, atol=1e-4)


def test_bias_is_broadcast_over_channels():
    # Candle reshapes the bias to (1, c, 1) / (1, c, 1, 1) and broadcast-adds it.
    w1 = Tensor.zeros((3, 2, 1), DType.F32)
    b = Tensor.new([1.0, 2.0, 3.0], dtype=DType.F32)
    y = Conv1d(w1, b, Conv1dConfig()).forward(Tensor.ones((2, 2, 4), DType.F32))
    assert y.dims() == [2, 3, 4]
    assert y.sum_keepdim(2).to_vec3() == [[[4.0], [8.0], [12.0]]] * 2
    w2 = Tensor.zeros((2, 3, 1, 1), DType.F32)
    y = ConvTranspose2d(w2, b, ConvTranspose2dConfig()).forward(
        Tensor.ones((1, 2, 2, 2), DType.F32)
    )
    assert y[0, :, 0, 0].to_vec1() == [1.0, 2.0, 3.0]


def test_layer_accessors_and_defaults():
    w = Tensor.ones((4, 2, 3), DType.F32)
    layer = Conv1d(w, None, Conv1dConfig(stride=2))
    assert layer.weight() is w and layer.bias() is None
    assert layer.config() == Conv1dConfig(padding=0, stride=2, dilation=1, groups=1)
    # Candle's Default impls.
    assert Conv1dConfig() == Conv1dConfig(0, 1, 1, 1, None)
    assert Conv2dConfig() == Conv2dConfig(0, 1, 1, 1, None)
    assert ConvTranspose1dConfig() == ConvTranspose1dConfig(0, 0, 1, 1, 1)
    assert ConvTranspose2dConfig() == ConvTranspose2dConfig(0, 0, 1, 1, 1)
    assert Conv2d(Tensor.ones((1, 1, 1, 1)), None).config() == Conv2dConfig()
    assert ConvTranspose1d(Tensor.ones((1, 1, 1)), None).config() == ConvTranspose1dConfig()
    assert "Conv1d(weight=[4, 2, 3], bias=False" in repr(layer)


def test_cudnn_fwd_algo_is_ignored():
    x = pat_t((1, 2, 5), 0.37, 0.1, DType.F32)
    w = pat_t((3, 2, 2), 0.91, 0.3, DType.F32)
    plain = Conv1d(w, None, Conv1dConfig()).forward(x)
    algo = Conv1d(w, None, Conv1dConfig(cudnn_fwd_algo="ImplicitGemm")).forward(x)
    assert algo.to_vec3() == plain.to_vec3()


@pytest.mark.parametrize(
    "builder, cfg, weight_shape, has_bias",
    [
        (conv1d, Conv1dConfig(groups=2), [6, 2, 3], True),
        (conv1d_no_bias, Conv1dConfig(), [6, 4, 3], False),
        (conv2d, Conv2dConfig(groups=2), [6, 2, 3, 3], True),
        (conv2d_no_bias, Conv2dConfig(), [6, 4, 3, 3], False),
        (conv_transpose1d, ConvTranspose1dConfig(groups=2), [4, 3, 3], True),
        (conv_transpose1d_no_bias, ConvTranspose1dConfig(), [4, 6, 3], False),
        (conv_transpose2d, ConvTranspose2dConfig(), [4, 6, 3, 3], True),
        (conv_transpose2d_no_bias, ConvTranspose2dConfig(), [4, 6, 3, 3], False),
    ],
)
def test_builders_names_and_shapes(builder, cfg, weight_shape, has_bias):
    varmap = VarMap()
    layer = builder(4, 6, 3, cfg, VarBuilder.from_varmap(varmap).pp("conv"))
    expected = {"conv.weight": weight_shape} | ({"conv.bias": [6]} if has_bias else {})
    assert {k: v.dims() for k, v in varmap.data().items()} == expected
    assert layer.weight().dims() == weight_shape
    assert (layer.bias() is not None) == has_bias
    assert layer.config() == cfg


def test_builders_accept_none_config():
    layer = conv2d(2, 3, 1, None, VarBuilder.zeros())
    assert layer.config() == Conv2dConfig()


def test_builder_reads_checkpoint_and_checks_shapes():
    tensors = {"weight": Tensor.ones((6, 4, 3)), "bias": Tensor.zeros((6,))}
    layer = conv1d(4, 6, 3, Conv1dConfig(), VarBuilder.from_tensors(tensors))
    assert layer.weight().dtype == DType.F32
    with pytest.raises(Error, match="weight"):
        conv1d(4, 6, 2, Conv1dConfig(), VarBuilder.from_tensors(tensors))
    with pytest.raises(Error, match="bias"):
        conv1d(4, 6, 3, Conv1dConfig(), VarBuilder.from_tensors({"weight": tensors["weight"]}))


# ----- initialisation: Candle's formulas ----------------------------------------------------


def _sample(builder, in_c, out_c, k, cfg, seed):
    Device.Cpu.set_seed(seed)
    varmap = VarMap()
    builder(in_c, out_c, k, cfg, VarBuilder.from_varmap(varmap))
    return {name: var.numpy().astype(np.float64) for name, var in varmap.data().items()}


def _check_uniform(values, bound):
    """Inside ±bound, reaching close to it, with U(-bound, bound)'s mean 0 and variance bound²/3
    (within 4 standard errors: sd(mean) = bound/√(3n), relative sd(var) = √(0.8/n))."""
    n = values.size
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.95 * bound
    assert abs(values.mean()) < 4 * bound / math.sqrt(3 * n)
    assert values.var() == pytest.approx(bound**2 / 3, rel=4 * math.sqrt(0.8 / n))


def test_conv1d_init_statistics():
    # weight: Kaiming normal, fan-in = (in / groups) * k, gain √2; bias: U(±1/√in_channels).
    p = _sample(conv1d, 32, 512, 3, Conv1dConfig(groups=2), seed=11)
    w = p["weight"]
    assert w.shape == (512, 16, 3)
    assert abs(w.mean()) < 0.01
    assert w.std() == pytest.approx(math.sqrt(2.0) / math.sqrt(16 * 3), rel=0.03)
    # Candle bounds the bias by 1/√in_channels (0.177), not PyTorch's 1/√fan_in (0.144).
    _check_uniform(p["bias"], 1.0 / math.sqrt(32))


def test_conv2d_init_statistics():
    p = _sample(conv2d, 8, 256, 3, Conv2dConfig(), seed=12)
    w = p["weight"]
    assert w.shape == (256, 8, 3, 3)
    assert abs(w.mean()) < 0.01
    assert w.std() == pytest.approx(math.sqrt(2.0) / math.sqrt(8 * 9), rel=0.03)
    _check_uniform(p["bias"], 1.0 / math.sqrt(8))


def test_conv_transpose1d_init_statistics():
    # weight and bias: U(±1/√(out_channels · k)).
    p = _sample(conv_transpose1d, 64, 32, 4, ConvTranspose1dConfig(), seed=13)
    bound = 1.0 / math.sqrt(32 * 4)
    assert p["weight"].shape == (64, 32, 4)
    _check_uniform(p["weight"], bound)
    assert np.abs(p["bias"]).max() <= bound


def test_conv_transpose2d_init_statistics():
    # weight and bias: U(±1/(√out_channels · k)).
    p = _sample(conv_transpose2d, 32, 16, 3, ConvTranspose2dConfig(), seed=14)
    bound = 1.0 / math.sqrt(16) / 3
    assert p["weight"].shape == (32, 16, 3, 3)
    _check_uniform(p["weight"], bound)
    assert np.abs(p["bias"]).max() <= bound


def test_init_is_seeded():
    a = _sample(conv1d, 3, 4, 2, Conv1dConfig(), seed=5)
    b = _sample(conv1d, 3, 4, 2, Conv1dConfig(), seed=5)
    assert all(np.array_equal(a[k], b[k]) for k in a)


# ----- absorb_bn ----------------------------------------------------------------------------


class _EvalBatchNorm:
    """The part of candle-nn's BatchNorm that ``absorb_bn`` reads (eval mode, affine)."""

    def __init__(self, weight, bias, mean, var, eps):
        self._wb, self._mean, self._var, self._eps = (weight, bias), mean, var, eps

    def weight_and_bias(self):
        return self._wb

    def running_mean(self):
        return self._mean

    def running_var(self):
        return self._var

    def eps(self):
        return self._eps

    def forward(self, x):
        shape = (1, x.dim(1), 1, 1)
        w, b = self._wb
        scale = w.div((self._var + self._eps).sqrt()).reshape(shape)
        return (
            (x.broadcast_sub(self._mean.reshape(shape)))
            .broadcast_mul(scale)
            .broadcast_add(b.reshape(shape))
        )


@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_absorb_bn(with_bias):
    f = DType.F64
    conv = Conv2d(
        pat_t((3, 2, 2, 2), 0.91, 0.3, f), pat_t((3,), 1.7, -0.4, f) if with_bias else None
    )
    bn = _EvalBatchNorm(
        pat_t((3,), 0.5, 0.2, f),
        pat_t((3,), 0.3, 1.0, f),
        pat_t((3,), 0.8, 0.0, f),
        pat_t((3,), 0.4, 0.5, f, 1.0) + 1.5,
        1e-5,
    )
    x = pat_t((2, 2, 4, 4), 0.37, 0.1, f)
    fused = conv.absorb_bn(bn)
    assert fused.bias() is not None and fused.config() == conv.config()
    assert_close(fused.forward(x), bn.forward(conv.forward(x)), rtol=1e-12, atol=1e-12)
