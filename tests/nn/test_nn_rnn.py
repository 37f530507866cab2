"""wick.nn recurrent layers (candle-nn's ``rnn.rs``): LSTM, GRU and the RNN interface.

``test_candle_lstm`` and ``test_candle_gru`` port ``candle-nn/tests/rnn.rs`` with Candle's values
(f32, ``to_vec2_round(.., 4)``). The PyTorch golden values (forward and gradients over a short
sequence) live with their generating snippet in tests/nn/nn_rnn_golden.py; they are compared
exactly after rounding in float64 and within 1e-4 (their rounding plus float32 error) in float32.

Not applicable from Candle: nothing; rnn.rs has no doc examples and its two tests are ported.
"""

from __future__ import annotations

import math

import nn_rnn_golden as golden
import numpy as np
import pytest
from nn_helpers import f32, pat_t, rnd

from wick import Device, DType, Tensor, Var
from wick.nn import (
    GRU,
    LSTM,
    RNN,
    Direction,
    GRUConfig,
    GRUState,
    LSTMConfig,
    LSTMState,
    VarBuilder,
    VarMap,
    gru,
    init,
    lstm,
)
from wick.testing import assert_close

F32, F64 = DType.F32, DType.F64
INPUTS = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]


def _candle_tensors(rows: int) -> dict:
    w_ih = Tensor.arange(0.0, float(2 * rows), dtype=F32).reshape((rows, 2)).cos()
    w_hh = Tensor.arange(0.0, float(3 * rows), dtype=F32).reshape((rows, 3)).sin()
    b_ih = Tensor.new([-1.0, 1.0, -0.5, 2.0, -1.0, 1.0, -0.5, 2.0, -1.0, 1.0, -0.5, 2.0][:rows])
    b_ih = b_ih.to_dtype(F32)
    return {
        "weight_ih_l0": w_ih,
        "weight_hh_l0": w_hh,
        "bias_ih_l0": b_ih,
        "bias_hh_l0": b_ih.cos(),
    }


def test_candle_lstm():
    vb = VarBuilder.from_tensors(_candle_tensors(12), F32, Device.Cpu)
    layer = lstm(2, 3, LSTMConfig(), vb)
    state = layer.zero_state(1)
    for v in INPUTS:
        state = layer.step(Tensor.new([[v, v * 0.5]], dtype=F32), state)
    assert rnd(state.h()) == f32([[0.9919, 0.1738, -0.1451]])
    assert rnd(state.c()) == f32([[5.725, 0.4458, -0.2908]])


def test_candle_gru():
    vb = VarBuilder.from_tensors(_candle_tensors(9), F32, Device.Cpu)
    layer = gru(2, 3, GRUConfig(), vb)
    state = layer.zero_state(1)
    for v in INPUTS:
        state = layer.step(Tensor.new([[v, v * 0.5]], dtype=F32), state)
    assert rnd(state.h()) == f32([[0.0579, 0.8836, -0.9991]])


# ----- PyTorch golden values ----------------------------------------------------------------


def _set_params(varmap: VarMap, dtype) -> dict:
    """The generator's ``set_params``: returns the name → Var map."""
    scales = {
        "weight_ih_l0": (0.91, 0.3, 0.5),
        "weight_hh_l0": (0.53, -0.2, 0.5),
        "bias_ih_l0": (1.7, -0.4, 0.3),
        "bias_hh_l0": (0.77, 0.9, 0.3),
    }
    params = varmap.data()
    for name, var in params.items():
        a, b, scale = scales[name]
        var.set(pat_t(var.shape, a, b, dtype, scale))
    return params


def _lstm_case(dtype):
    varmap = VarMap()
    layer = lstm(3, 4, LSTMConfig(), VarBuilder.from_varmap(varmap, dtype))
    params = _set_params(varmap, dtype)
    x = Var.from_tensor(pat_t((2, 3, 3), 0.37, 0.1, dtype))
    h0 = Var.from_tensor(pat_t((2, 4), 0.29, 0.5, dtype, 0.5))
    c0 = Var.from_tensor(pat_t((2, 4), 0.61, -0.3, dtype, 0.5))
    states = layer.seq_init(x, LSTMState(h0, c0))
    out = layer.states_to_tensor(states)
    c_n = states[-1].c()
    loss = (out * pat_t(out.shape, 0.13, 0.7, dtype)).sum_all()
    loss = loss + (c_n * pat_t((2, 4), 0.47, 0.2, dtype)).sum_all()
    grads = loss.backward()
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    got = (out, c_n, grads.get(x), grads.get(h0), grads.get(c0))
    return got + tuple(grads.get(params[n]) for n in names)


def _gru_case(dtype):
    varmap = VarMap()
    layer = gru(3, 4, GRUConfig(), VarBuilder.from_varmap(varmap, dtype))
    params = _set_params(varmap, dtype)
    x = Var.from_tensor(pat_t((2, 3, 3), 0.37, 0.1, dtype))
    # Candle's GRU.states_to_tensor concatenates on dim 1: (batch, seq * hidden).
    out = layer.states_to_tensor(layer.seq(x))
    assert out.dims() == [2, 12]
    out = out.reshape((2, 3, 4))
    grads = (out * pat_t(out.shape, 0.13, 0.7, dtype)).sum_all().backward()
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    return (out, grads.get(x)) + tuple(grads.get(params[n]) for n in names)


LSTM_LABELS = ("out", "c_n", "grad_x", "grad_h0", "grad_c0", "g_w_ih", "g_w_hh", "g_b_ih", "g_b_hh")
GRU_LABELS = ("out", "grad_x", "g_w_ih", "g_w_hh", "g_b_ih", "g_b_hh")


def test_lstm_matches_pytorch_f64():
    for label, actual, expected in zip(LSTM_LABELS, _lstm_case(F64), golden.LSTM, strict=True):
        assert rnd(actual) == expected, label


def test_gru_matches_pytorch_f64():
    for label, actual, expected in zip(GRU_LABELS, _gru_case(F64), golden.GRU, strict=True):
        assert rnd(actual) == expected, label


@pytest.mark.parametrize("case, want", [(_lstm_case, golden.LSTM), (_gru_case, golden.GRU)])
def test_rnn_matches_pytorch_f32(case, want):
    for actual, expected in zip(case(F32), want, strict=True):
        assert actual.dtype == F32
        assert_close(actual, np.array(expected), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    "builder, config, want",
    [
        (lstm, LSTMConfig.default_no_bias(), golden.LSTM_NO_BIAS),
        (gru, GRUConfig.default_no_bias(), golden.GRU_NO_BIAS),
    ],
)
def test_rnn_without_bias_matches_pytorch(builder, config, want):
    varmap = VarMap()
    layer = builder(3, 4, config, VarBuilder.from_varmap(varmap, F64))
    assert sorted(varmap.data()) == ["weight_hh_l0", "weight_ih_l0"]
    _set_params(varmap, F64)
    states = layer.seq(pat_t((2, 3, 3), 0.37, 0.1, F64))
    out = Tensor.stack([s.h() for s in states], 1)
    assert rnd(out) == want


# ----- the RNN interface --------------------------------------------------------------------


def test_zero_state_and_states_to_tensor():
    layer = lstm(3, 5, LSTMConfig(), VarBuilder.from_varmap(VarMap(), F64))
    assert isinstance(layer, RNN) and isinstance(layer, LSTM)
    state = layer.zero_state(2)
    assert isinstance(state, LSTMState)
    assert state.h().dims() == [2, 5] and state.c().dims() == [2, 5] and state.h().dtype == F64
    assert state.h().sum_all().to_scalar() == 0.0 and state.c().sum_all().to_scalar() == 0.0
    states = layer.seq(pat_t((2, 4, 3), 0.37, 0.1, F64))
    assert len(states) == 4
    assert layer.states_to_tensor(states).dims() == [2, 4, 5]  # stack on dim 1
    g = gru(3, 5, GRUConfig(), VarBuilder.from_varmap(VarMap(), F32))
    assert isinstance(g, GRU) and isinstance(g.zero_state(2), GRUState)
    assert g.zero_state(2).h().dims() == [2, 5] and g.zero_state(2).h().dtype == F32
    assert g.states_to_tensor(g.seq(pat_t((2, 4, 3), 0.37, 0.1, F32))).dims() == [2, 20]


@pytest.mark.parametrize("builder, config", [(lstm, LSTMConfig()), (gru, GRUConfig())])
def test_seq_is_repeated_step(builder, config):
    Device.Cpu.set_seed(3)
    layer = builder(3, 4, config, VarBuilder.from_varmap(VarMap(), F64))
    x = pat_t((2, 5, 3), 0.37, 0.1, F64)
    init_state = layer.step(pat_t((2, 3), 0.2, 0.0, F64), layer.zero_state(2))
    states = layer.seq_init(x, init_state)
    state = init_state
    for t in range(5):
        state = layer.step(x[:, t, :], state)
        assert states[t].h().to_vec2() == state.h().to_vec2()
    from_zero = layer.seq(x)
    state = layer.zero_state(2)
    for t in range(5):
        state = layer.step(x[:, t, :], state)
    assert from_zero[-1].h().to_vec2() == state.h().to_vec2()


# ----- configs, names, initialisation -------------------------------------------------------


def test_config_defaults_are_candles():
    for cls in (LSTMConfig, GRUConfig):
        cfg = cls()
        assert cfg.w_ih_init == init.DEFAULT_KAIMING_UNIFORM
        assert cfg.w_hh_init == init.DEFAULT_KAIMING_UNIFORM
        assert cfg.b_ih_init == init.Init.Const(0.0) and cfg.b_hh_init == init.Init.Const(0.0)
        no_bias = cls.default_no_bias()
        assert no_bias.b_ih_init is None and no_bias.b_hh_init is None
        assert no_bias.w_ih_init == init.DEFAULT_KAIMING_UNIFORM
        assert (cfg.layer_idx, cfg.direction) == (0, Direction.Forward)
    layer = lstm(2, 3, LSTMConfig(layer_idx=2), VarBuilder.zeros())
    assert layer.config() == LSTMConfig(layer_idx=2)


@pytest.mark.parametrize(
    "builder, config, gates, suffix",
    [
        (lstm, LSTMConfig(), 4, "l0"),
        (lstm, LSTMConfig(layer_idx=1, direction=Direction.Backward), 4, "l1_reverse"),
        (gru, GRUConfig(), 3, "l0"),
        (gru, GRUConfig(layer_idx=2, direction=Direction.Backward), 3, "l2_reverse"),
    ],
)
def test_parameter_names_and_shapes(builder, config, gates, suffix):
    varmap = VarMap()
    builder(5, 7, config, VarBuilder.from_varmap(varmap).pp("rnn"))
    assert {k: v.dims() for k, v in varmap.data().items()} == {
        f"rnn.weight_ih_{suffix}": [gates * 7, 5],
        f"rnn.weight_hh_{suffix}": [gates * 7, 7],
        f"rnn.bias_ih_{suffix}": [gates * 7],
        f"rnn.bias_hh_{suffix}": [gates * 7],
    }


@pytest.mark.parametrize("builder, gates", [(lstm, 4), (gru, 3)])
def test_init_statistics(builder, gates):
    # Weights: Kaiming uniform, fan-in = dims[1], ReLU gain: U(±√3·√2/√fan_in); biases zero.
    Device.Cpu.set_seed(21)
    varmap = VarMap()
    builder(16, 128, None, VarBuilder.from_varmap(varmap))
    p = {k: v.numpy().astype(np.float64) for k, v in varmap.data().items()}
    for name, fan_in in (("weight_ih_l0", 16), ("weight_hh_l0", 128)):
        w = p[name]
        bound = math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(fan_in)
        n = w.size
        assert w.shape == (gates * 128, fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
        assert abs(w.mean()) < 4 * bound / math.sqrt(3 * n)
        assert w.var() == pytest.approx(bound**2 / 3, rel=4 * math.sqrt(0.8 / n))
    assert not p["bias_ih_l0"].any() and not p["bias_hh_l0"].any()
