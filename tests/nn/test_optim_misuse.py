"""Optimizers, losses and softmax under misuse: wick.Errors that name what is wrong.

``AdamW(vars, 0.01)`` is Candle's ``AdamW::new_lr`` (SPEC 9); every other second argument is
refused at construction, not at the first ``step``. Loading the state file of another model
lists every missing, unexpected and mis-shaped buffer at once, as ``VarMap.load`` does.
"""

from __future__ import annotations

import pytest

import wick
from wick import DType, Tensor, Var
from wick.nn import loss, ops, optim


def expect(cls, message: str, f):
    with pytest.raises(wick.Error) as info:
        f()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert str(info.value) == message
    return info.value


def _quadratic_step(opt, v):
    opt.backward_step(v.sqr().sum_all())


def test_adamw_with_a_learning_rate_is_new_lr():
    v = Var.new([1.0, -2.0])
    opt = optim.AdamW([v], 0.01)
    assert opt.params == optim.ParamsAdamW(lr=0.01)
    same = Var.new([1.0, -2.0])
    ref = optim.AdamW.new_lr([same], 0.01)
    for _ in range(3):
        _quadratic_step(opt, v)
        _quadratic_step(ref, same)
    assert v.to_vec1() == same.to_vec1()
    assert optim.AdamW([v], 1).params.lr == 1.0  # an int learning rate is a learning rate


def test_bad_optimizer_arguments_raise_at_construction():
    v = Var.new([1.0])
    message = "AdamW: params must be a ParamsAdamW or a learning rate, got {}"
    expect(wick.UnexpectedType, message.format("str 'x'"), lambda: optim.AdamW([v], "x"))
    expect(wick.UnexpectedType, message.format("bool True"), lambda: optim.AdamW([v], True))
    expect(wick.UnexpectedType, message.format("dict {}"), lambda: optim.AdamW([v], {}))
    expect(
        wick.UnexpectedType,
        "AdamW: beta1 must be a number, got str 'a'",
        lambda: optim.AdamW([v], optim.ParamsAdamW(beta1="a")),
    )
    expect(wick.Msg, "AdamW: lr must be finite, got nan", lambda: optim.AdamW([v], float("nan")))
    expect(wick.UnexpectedType, "SGD: lr must be a number, got None", lambda: optim.SGD([v], None))
    expect(
        wick.UnexpectedType,
        "SGD: vars must be a list of Vars, got None",
        lambda: optim.SGD(None, 0.1),
    )
    expect(
        wick.UnexpectedType,
        "SGD: vars[0] must be a Tensor, got float 1.0",
        lambda: optim.SGD([1.0], 0.1),
    )
    expect(
        wick.UnexpectedType,
        "SGD: momentum must be a number, got str 'm'",
        lambda: optim.SGD([v], 0.1, momentum="m"),
    )
    opt = optim.SGD([v], 0.1)
    expect(
        wick.UnexpectedType, "SGD.step: grads must be a GradStore, got None", lambda: opt.step(None)
    )
    expect(
        wick.UnexpectedType,
        "SGD: lr must be a number, got str 'fast'",
        lambda: opt.set_learning_rate("fast"),
    )
    expect(
        wick.UnexpectedType,
        "backward_step: loss must be a Tensor, got float 1.0",
        lambda: opt.backward_step(1.0),
    )


def test_loading_another_models_adamw_state_lists_every_difference(tmp_path):
    a, b = Var.new([1.0, 2.0]), Var.new([[1.0, 2.0, 3.0]])
    saved = optim.AdamW([a, b], 0.01)
    _quadratic_step(saved, a)
    path = tmp_path / "adamw.safetensors"
    saved.save(path)

    other = optim.AdamW([Var.new([[0.0, 0.0]])], 0.01)
    expect(
        wick.Msg,
        f"{path}: optimizer state for other parameters (1 here): unexpected: m.1, v.1; "
        "mis-shaped: m.0 (file [2], expected [1, 2]), v.0 (file [2], expected [1, 2])",
        lambda: other.load(path),
    )
    bigger = optim.AdamW([Var.new([0.0, 0.0]), Var.new([[0.0] * 3]), Var.new([0.0])], 0.01)
    expect(
        wick.Msg,
        f"{path}: optimizer state for other parameters (3 here): missing: m.2, v.2",
        lambda: bigger.load(path),
    )
    # The right parameters load, and nothing was changed by the refused loads.
    fresh = optim.AdamW([Var.new([1.0, 2.0]), Var.new([[1.0, 2.0, 3.0]])], 0.5)
    fresh.load(path)
    assert fresh.step_t == 1 and fresh.params.lr == 0.01
    assert other.step_t == 0 and bigger.step_t == 0


def test_loading_another_models_sgd_state(tmp_path):
    v = Var.new([1.0, 2.0])
    saved = optim.SGD([v], 0.1, momentum=0.9)
    _quadratic_step(saved, v)
    path = tmp_path / "sgd.safetensors"
    saved.save(path)
    expect(
        wick.Msg,
        f"{path}: optimizer state for other parameters (1 here): "
        "mis-shaped: momentum.0 (file [2], expected [3])",
        lambda: optim.SGD([Var.new([0.0] * 3)], 0.1, momentum=0.9).load(path),
    )
    expect(
        wick.Msg,
        f"{path}: optimizer state for other parameters (0 here): unexpected: momentum.0",
        lambda: optim.SGD([], 0.1, momentum=0.9).load(path),
    )
    again = optim.SGD([Var.new([1.0, 2.0])], 0.5, momentum=0.9)
    again.load(path)
    assert again.lr == 0.1


def test_losses_on_empty_batches_and_non_tensors():
    empty, labels = Tensor.zeros((0, 3)), Tensor.zeros((0,), DType.U32)
    expect(wick.EmptyTensor, "empty tensor for nll", lambda: loss.nll(empty, labels))
    expect(
        wick.EmptyTensor,
        "empty tensor for cross_entropy",
        lambda: loss.cross_entropy(empty, labels),
    )
    expect(wick.EmptyTensor, "empty tensor for mean", lambda: loss.mse(empty, empty))
    logits = Tensor.zeros((2, 3))
    expect(
        wick.UnexpectedType,
        "cross_entropy: target must be a Tensor, got list [0, 1]",
        lambda: loss.cross_entropy(logits, [0, 1]),
    )
    expect(
        wick.UnexpectedType,
        "mse: target must be a Tensor, got None",
        lambda: loss.mse(logits, None),
    )
    expect(
        wick.UnexpectedType,
        "huber: delta must be a number, got str 'd'",
        lambda: loss.huber(logits, logits, "d"),
    )


def test_softmax_over_an_empty_dim_is_empty():
    # Nothing to normalise: the empty tensor comes back (PyTorch does the same); no NumPy error.
    x = Tensor.zeros((2, 0))
    assert ops.softmax(x, 1).shape == (2, 0)
    assert ops.log_softmax(x, 1).shape == (2, 0)
    assert ops.softmax_last_dim(x).shape == (2, 0)
    assert ops.softmax(Tensor.zeros((0, 3)), 1).shape == (0, 3)
