"""candle-nn/src/init.rs: the ``Init`` variants, Kaiming's fan and gain rules, and the statistics of a
1000x1000 ``linear`` layer's initialisation (Candle's: weight Kaiming normal, fan-in, ReLU gain;
bias uniform in +-1/sqrt(in)).

Candle's init.rs has no doc examples or tests. ``Init::default()`` (Const(0)) is a Rust ``Default``
impl; wick's counterpart is the ``ZERO`` constant, tested here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from wick import Device, DType, Var
from wick.core.errors import Error
from wick.nn import VarBuilder, VarMap, init, linear
from wick.nn.init import FanInOut, Init, NonLinearity, NormalOrUniform

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def test_const_inits():
    for value, want in ((0.0, 0.0), (1.0, 1.0), (0.5, 0.5), (-2.0, -2.0)):
        v = Init.Const(value).var((2, 3), DType.F32, DEV)
        assert isinstance(v, Var) and v.dtype == DType.F32 and v.shape == (2, 3)
        assert v.to_vec2() == [[want] * 3] * 2
    assert init.ZERO == Init.Const(0.0) and init.ONE == Init.Const(1.0)
    assert init.ZERO.var(4, DType.I64, DEV).to_vec1() == [0, 0, 0, 0]


def test_fan_for_shape():
    # PyTorch's _calculate_fan_in_and_fan_out: dims[1] (in) or dims[0] (out) times the receptive
    # field (product of dims[2:]); Candle returns 1 where the dim is missing.
    assert FanInOut.FanIn.for_shape((8, 3, 5, 5)) == 75
    assert FanInOut.FanOut.for_shape((8, 3, 5, 5)) == 200
    assert FanInOut.FanIn.for_shape((10, 20)) == 20
    assert FanInOut.FanOut.for_shape((10, 20)) == 10
    assert FanInOut.FanIn.for_shape((7,)) == 1
    assert FanInOut.FanOut.for_shape((7,)) == 7
    assert FanInOut.FanIn.for_shape(()) == 1 and FanInOut.FanOut.for_shape(()) == 1


def test_gains():
    assert NonLinearity.ReLU.gain() == math.sqrt(2.0)
    assert NonLinearity.Tanh.gain() == 5.0 / 3.0
    assert NonLinearity.Linear.gain() == 1.0 and NonLinearity.Sigmoid.gain() == 1.0
    assert NonLinearity.SELU.gain() == 0.75
    assert NonLinearity.ExplicitGain(2.5).gain() == 2.5
    assert init.DEFAULT_KAIMING_NORMAL == Init.Kaiming(
        NormalOrUniform.Normal, FanInOut.FanIn, NonLinearity.ReLU
    )
    assert init.DEFAULT_KAIMING_UNIFORM == Init.Kaiming(
        NormalOrUniform.Uniform, FanInOut.FanIn, NonLinearity.ReLU
    )


def test_random_inits_need_a_float_dtype():
    for rule in (Init.Randn(0.0, 1.0), Init.Uniform(0.0, 1.0), init.DEFAULT_KAIMING_NORMAL):
        with pytest.raises(Error):
            rule.var((2, 2), DType.U32, DEV)


def test_randn_and_uniform_dtypes_and_bounds():
    DEV.set_seed(3)
    u = Init.Uniform(-0.5, 0.25).var((100, 100), DType.F64, DEV).numpy()
    assert u.dtype == np.float64 and u.min() >= -0.5 and u.max() < 0.25
    r = Init.Randn(3.0, 0.5).var((100, 100), DType.F32, DEV).numpy()
    # n = 10^4: mean has standard error 0.5 / 100 = 0.005; 5 standard errors.
    assert r.dtype == np.float32 and abs(r.mean() - 3.0) < 0.025


def test_kaiming_uniform_bound_and_std():
    # Uniform in +-sqrt(3) * gain / sqrt(fan): std = gain / sqrt(fan) = sqrt(2) / sqrt(75).
    DEV.set_seed(11)
    shape = (400, 3, 5, 5)  # fan_in 75, n = 30000
    w = init.DEFAULT_KAIMING_UNIFORM.var(shape, DType.F32, DEV).numpy().astype(np.float64)
    std = math.sqrt(2.0) / math.sqrt(75)
    bound = math.sqrt(3.0) * std
    assert -bound <= w.min() and w.max() <= bound
    # Standard error of the sample std of a uniform: bound * sqrt(1 / (15 n)) (see below).
    assert abs(w.std() - std) < 5 * bound * math.sqrt(1 / (15 * w.size))


def test_kaiming_fan_out_and_gain():
    DEV.set_seed(5)
    rule = Init.Kaiming(NormalOrUniform.Normal, FanInOut.FanOut, NonLinearity.Tanh)
    w = rule.var((250, 400), DType.F64, DEV).numpy()  # fan_out 250, n = 10^5
    std = (5.0 / 3.0) / math.sqrt(250)
    # Sample std of a normal: standard error std / sqrt(2 n).
    assert abs(w.std() - std) < 5 * std / math.sqrt(2 * w.size)


def test_linear_1000x1000_initialisation_statistics():
    # Each check allows 5 standard errors (two-sided false alarm ~ 6e-7 per check):
    # - weight: n = 10^6 draws of N(0, s^2), s = sqrt(2) / sqrt(1000) = 0.0447 (Kaiming normal,
    #   fan-in 1000, ReLU gain sqrt(2)). The sample mean has standard error s / sqrt(n); the sample
    #   std has s / sqrt(2 n); the fraction within one s of 0 (0.6827 for a normal, 0.577 for a
    #   uniform of the same std) has sqrt(p (1 - p) / n).
    # - bias: n = 1000 draws of U(-b, b), b = 1 / sqrt(1000), std b / sqrt(3). The sample mean
    #   has standard error (b / sqrt(3)) / sqrt(n). The sample variance has variance
    #   (mu4 - sigma^4) / n = b^4 (1/5 - 1/9) / n, so (delta method, divide by 2 sigma) the sample
    #   std has standard error b * sqrt(1 / (15 n)). The extremes lie within 3% of the bounds
    #   unless all 1000 draws miss a 1.5% band: 0.985^1000 ~ 3e-7.
    DEV.set_seed(299792458)
    vm = VarMap()
    layer = linear(1000, 1000, VarBuilder.from_varmap(vm, DType.F32, DEV))
    w = layer.weight().numpy().astype(np.float64)
    b = layer.bias().numpy().astype(np.float64)
    assert w.shape == (1000, 1000) and b.shape == (1000,)
    assert layer.weight().dtype == DType.F32

    n, s = w.size, math.sqrt(2.0) / math.sqrt(1000)
    assert abs(w.mean()) < 5 * s / math.sqrt(n)
    assert abs(w.std() - s) < 5 * s / math.sqrt(2 * n)
    p = math.erf(1 / math.sqrt(2))  # 0.6827
    assert abs(np.mean(np.abs(w) < s) - p) < 5 * math.sqrt(p * (1 - p) / n)

    m, bound = b.size, 1 / math.sqrt(1000)
    assert np.all(np.abs(b) <= bound)
    assert abs(b.mean()) < 5 * (bound / math.sqrt(3)) / math.sqrt(m)
    assert abs(b.std() - bound / math.sqrt(3)) < 5 * bound * math.sqrt(1 / (15 * m))
    assert b.max() > 0.97 * bound and b.min() < -0.97 * bound


def test_seeded_init_is_reproducible():
    DEV.set_seed(42)
    a = init.DEFAULT_KAIMING_NORMAL.var((3, 4), DType.F32, DEV).to_vec2()
    DEV.set_seed(42)
    b = init.DEFAULT_KAIMING_NORMAL.var((3, 4), DType.F32, DEV).to_vec2()
    assert a == b
