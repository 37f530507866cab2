"""Candle's API where wick used to differ: NumPy arrays keep their dtype in ``from_vec``;
``t * 0.0`` is Candle's ``affine(0., 0.)`` (``x * mul + add``, so -1 * 0 + 0 prints ``0.``);
``BatchNorm(num_features, running_mean, running_var, weight, bias, eps)`` is ``BatchNorm::new``;
``LSTMState.h()``/``.c()`` and ``GRUState.h()`` are methods.
"""

import numpy as np
import pytest

import wick
from wick import DType, Tensor, Var
from wick.nn import (
    BatchNorm,
    BatchNormConfig,
    GRUConfig,
    GRUState,
    LSTMConfig,
    LSTMState,
    VarBuilder,
    VarMap,
    batch_norm,
    gru,
    lstm,
)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int32, np.uint8, np.float64])
def test_from_vec_keeps_a_numpy_arrays_dtype(dtype):
    data = np.arange(6, dtype=dtype)
    want = DType(
        np.dtype(dtype).name.replace("float", "f").replace("uint", "u").replace("int", "i")
    )
    for make in (Tensor.from_vec, Tensor.from_slice, Var.from_vec):
        t = make(data, (2, 3))
        assert t.dtype == want and t.to_vec2() == [[0, 1, 2], [3, 4, 5]]
    assert Tensor.from_vec([0.0, 1.0], (2,)).dtype == DType.F64  # Python floats stay F64


def test_from_vec_copies_the_array():
    data = np.zeros(2, np.float32)
    t = Tensor.from_vec(data, (2,))
    data[0] = 5.0
    assert t.to_vec1() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", ["f64", "f32", "f16", "bf16"])
def test_times_zero_prints_positive_zero(dtype):
    # Candle: (Tensor::new(&[-1f64, 2.], &dev)? * 0.)? prints [0., 0.].
    t = Tensor.new([-1.0, 2.0]).to_dtype(dtype)
    want = f"[0., 0.]\nTensor[[2], {dtype}]"
    assert str(t * 0.0) == want
    assert str(t.affine(0.0, 0.0)) == want
    assert str(0.0 * t) == want


def test_affine_is_x_times_mul_plus_add():
    t = Tensor.new([-1.0, 0.5])
    assert t.affine(2.0, 0.0).to_vec1() == [-2.0, 1.0]
    assert t.affine(0.0, 3.0).to_vec1() == [3.0, 3.0]
    assert (t * 0.0).sum_all().to_scalar() == 0.0


def _stats(n=3, dtype=DType.F64):
    return Tensor.zeros(n, dtype), Tensor.ones(n, dtype)


def test_batch_norm_constructor_is_candles_new():
    mean, var = _stats()
    w, b = Tensor.new([1.0, 2.0, 0.5]), Tensor.new([0.0, 1.0, -1.0])
    bn = BatchNorm(3, mean, var, w, b, 1e-5)
    assert bn.eps() == 1e-5 and bn.momentum() == 0.1
    assert bn.weight_and_bias()[0] is w and bn.weight_and_bias()[1] is b
    x = Tensor.new(np.arange(12.0).reshape(2, 3, 2))
    same = BatchNorm.new(3, *_stats(), w, b, 1e-5)
    assert bn.forward_t(x, True).to_vec3() == same.forward_t(x, True).to_vec3()
    assert bn.running_mean().to_vec1() == same.running_mean().to_vec1()
    keywords = BatchNorm(num_features=3, running_mean=mean, running_var=var, weight=w, bias=b)
    assert keywords.eps() == 1e-5


def test_batch_norm_constructor_checks_shapes_and_eps():
    mean, var = _stats()
    with pytest.raises(wick.Msg, match=r"batch-norm weight has unexpected shape \[2\]"):
        BatchNorm(3, mean, var, Tensor.ones(2, DType.F64), Tensor.zeros(3, DType.F64), 1e-5)
    with pytest.raises(wick.Msg, match="batch-norm eps cannot be negative -1"):
        BatchNorm(3, mean, var, Tensor.ones(3, DType.F64), Tensor.zeros(3, DType.F64), -1.0)


def test_batch_norm_variants_and_builder_still_work():
    bn = BatchNorm.new_no_bias_with_momentum(3, *_stats(), 1e-5, 0.5)
    assert bn.weight_and_bias() is None and bn.momentum() == 0.5
    vm = VarMap()
    built = batch_norm(2, BatchNormConfig(momentum=0.5), VarBuilder.from_varmap(vm, DType.F64))
    assert sorted(vm.data()) == ["bias", "running_mean", "running_var", "weight"]
    built.forward_t(Tensor.new([[1.0, 2.0], [3.0, 6.0]]), True)
    # mean over the batch [2, 4], momentum 0.5: running 0 -> 1, 2; the VarMap sees it.
    assert built.running_mean().to_vec1() == [1.0, 2.0]
    assert vm.data()["running_mean"].to_vec1() == [1.0, 2.0]


def test_lstm_state_h_and_c_are_methods():
    vb = VarBuilder.from_varmap(VarMap(), DType.F64)
    layer = lstm(2, 3, LSTMConfig(), vb)
    state = layer.step(Tensor.ones((1, 2), DType.F64), layer.zero_state(1))
    assert isinstance(state, LSTMState)
    assert callable(state.h) and callable(state.c)
    assert state.h().dims() == [1, 3] and state.c().dims() == [1, 3]
    h, c = state  # unpacking still works
    assert h is state.h() and c is state.c()
    again = LSTMState.new(state.h(), state.c())
    assert again.h() is state.h() and again.c() is state.c()


def test_gru_state_h_is_a_method():
    vb = VarBuilder.from_varmap(VarMap(), DType.F64)
    layer = gru(2, 3, GRUConfig(), vb)
    state = layer.step(Tensor.ones((1, 2), DType.F64), layer.zero_state(1))
    assert isinstance(state, GRUState) and callable(state.h)
    assert state.h().dims() == [1, 3]
    assert layer.states_to_tensor([state, state]).dims() == [1, 6]
