"""wick.jit.capture: a recorded training step replays bit for bit as eager execution, records
again on new shapes, and refuses at capture what a replay could not honour."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.jit import capture
from wick.models import gpt2
from wick.nn import SGD, AdamW, Linear, ParamsAdamW, VarBuilder, VarMap
from wick.nn.loss import cross_entropy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
from tutorial import NeuralNetwork  # noqa: E402 - the tutorial's own network


def _same_vars(a: VarMap, b: VarMap) -> bool:
    da, db = a.data(), b.data()
    return da.keys() == db.keys() and all(np.array_equal(da[k].numpy(), db[k].numpy()) for k in da)


def _batches(n_in, classes, batch, count, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (
            Tensor.new(rng.standard_normal((batch, n_in)).astype(np.float32)),
            Tensor.new(rng.integers(0, classes, batch).astype(np.uint32)),
        )
        for _ in range(count)
    ]


def _twins(build, seed=0):
    """Two identical (model, varmap) pairs built from the same seed."""
    out = []
    for _ in range(2):
        Device.Cpu.set_seed(seed)
        varmap = VarMap()
        out.append((build(VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu)), varmap))
    return out


def _run_both(build, make_opt, batches):
    """Losses of eager steps and of captured steps over the same batches, and both VarMaps."""
    (m1, v1), (m2, v2) = _twins(build)
    o1, o2 = make_opt(v1), make_opt(v2)

    def eager(x, y):
        loss = cross_entropy(m1(x), y)
        o1.backward_step(loss)
        return loss

    @capture
    def step(x, y):
        loss = cross_entropy(m2(x), y)
        o2.backward_step(loss)
        return loss

    eager_losses = [eager(x, y).to_scalar() for x, y in batches]
    captured_losses = [step(x, y).to_scalar() for x, y in batches]
    return eager_losses, captured_losses, v1, v2, step


def test_tutorial_mlp_with_sgd_replays_bit_for_bit():
    batches = _batches(2, 2, 2, 8)
    eager, captured, v1, v2, step = _run_both(
        lambda vb: NeuralNetwork(2, 2, vb), lambda vm: SGD(vm.all_vars(), 0.5), batches
    )
    assert captured == eager
    assert _same_vars(v1, v2)
    assert step.stats == {"traces": 2, "replays": 6}


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_mlp_784_256_128_10_replays_bit_for_bit(optimizer):
    def build(vb):
        layers = [
            Linear(vb.get((o, i), f"l{k}.weight"), vb.get(o, f"l{k}.bias"))
            for k, (i, o) in enumerate([(784, 256), (256, 128), (128, 10)])
        ]

        def forward(x):
            for layer in layers[:-1]:
                x = layer(x).relu()
            return layers[-1](x)

        return forward

    def make_opt(vm):
        if optimizer == "sgd":
            return SGD(vm.all_vars(), 0.01)
        return AdamW(vm.all_vars(), ParamsAdamW(lr=0.001, weight_decay=0.01))

    eager, captured, v1, v2, _ = _run_both(build, make_opt, _batches(784, 10, 16, 5))
    assert captured == eager
    assert _same_vars(v1, v2)


def _tiny_gpt_config():
    return gpt2.Config(
        vocab_size=48, n_positions=8, n_embd=16, n_layer=2, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip


def test_gpt_step_with_adamw_replays_bit_for_bit():
    cfg = _tiny_gpt_config()
    (m1, v1), (m2, v2) = _twins(lambda vb: gpt2.Model.load(vb, cfg))
    o1 = AdamW(v1.all_vars(), ParamsAdamW(lr=4e-4, weight_decay=0.1))
    o2 = AdamW(v2.all_vars(), ParamsAdamW(lr=4e-4, weight_decay=0.1))
    rng = np.random.default_rng(3)
    ids = [rng.integers(0, cfg.vocab_size, (2, 9)).astype(np.uint32) for _ in range(5)]
    batches = [(Tensor.new(i[:, :-1]), Tensor.new(i[:, 1:])) for i in ids]

    def loss_of(model, x, y):
        return cross_entropy(model.forward_t(x, True).flatten(0, 1), y.flatten_all())

    @capture
    def step(x, y):
        loss = loss_of(m2, x, y)
        o2.backward_step(loss)
        return loss

    eager = []
    for x, y in batches:
        loss = loss_of(m1, x, y)
        o1.backward_step(loss)
        eager.append(loss.to_scalar())
    assert [step(x, y).to_scalar() for x, y in batches] == eager
    assert _same_vars(v1, v2)
    assert o1.step_t == o2.step_t == 5


def test_new_shapes_record_again_and_stay_equal_to_eager():
    small, large = _batches(2, 2, 2, 3), _batches(2, 2, 5, 3, seed=1)
    batches = [small[0], large[0], small[1], large[1], small[2], large[2]]
    eager, captured, v1, v2, step = _run_both(
        lambda vb: NeuralNetwork(2, 2, vb), lambda vm: SGD(vm.all_vars(), 0.1), batches
    )
    assert captured == eager
    assert _same_vars(v1, v2)
    assert step.stats == {"traces": 4, "replays": 2}


def test_learning_rate_changes_between_replays_are_honoured():
    (m1, v1), (m2, v2) = _twins(lambda vb: NeuralNetwork(2, 2, vb))
    o1, o2 = AdamW(v1.all_vars(), 0.01), AdamW(v2.all_vars(), 0.01)

    @capture
    def step(x, y):
        loss = cross_entropy(m2(x), y)
        o2.backward_step(loss)
        return loss

    for i, (x, y) in enumerate(_batches(2, 2, 3, 6)):
        o1.set_learning_rate(0.01 / (i + 1))
        o2.set_learning_rate(0.01 / (i + 1))
        o1.backward_step(cross_entropy(m1(x), y))
        step(x, y)
    assert _same_vars(v1, v2)


def test_results_keep_their_structure_and_carry_no_graph():
    w = Var.new(np.array([[1.0, 2.0]], np.float32))
    opt = SGD([w], 0.1)

    @capture
    def step(x):
        out = x.matmul(w.t())
        loss = out.sum_all()
        opt.backward_step(loss)
        return loss, [out, None]

    x = Tensor.new(np.array([[3.0, 4.0]], np.float32))
    for _ in range(3):
        loss, (out, none) = step(x)
    assert none is None and not loss.track_op() and not out.track_op()
    # d(sum(x w^T))/dw = x = [3, 4]; after two steps of lr 0.1, w = [1 - 0.6, 2 - 0.8], which
    # the third call reads: 3 * 0.4 + 4 * 1.2.
    assert out.to_vec2()[0] == pytest.approx([6.0])


def _model_and_opt():
    (model, varmap), _ = _twins(lambda vb: NeuralNetwork(2, 2, vb))
    return model, SGD(varmap.all_vars(), 0.1)


def test_refusals_name_what_cannot_be_replayed():
    import wick

    model, opt = _model_and_opt()
    x, y = _batches(2, 2, 2, 1)[0]

    def fails(fn, text):
        with pytest.raises(wick.Error, match=text):
            capture(fn)(x, y)

    fails(lambda x, y: float(model(x).sum_all()), "reading a tensor's values")
    fails(lambda x, y: Var.new([1.0]), "creating a Var")
    fails(lambda x, y: opt.vars[0].set(opt.vars[0].zeros_like()), "Var.set")
    fails(lambda x, y: list(cross_entropy(model(x), y).backward()), "only go to an optimizer")
    fails(lambda x, y: wick.nn.ops.dropout(model(x), 0.5), "random numbers")
    graph_outside = model(x)
    fails(lambda x, y: graph_outside + model(x), "graph was built before the step")


def test_a_value_that_changes_between_recordings_raises():
    model, opt = _model_and_opt()
    batches = _batches(2, 2, 2, 2)
    current = {"batch": batches[0]}

    @capture
    def step():  # reads its batch from outside instead of taking it as an argument
        x, y = current["batch"]
        loss = cross_entropy(model(x), y)
        opt.backward_step(loss)
        return loss

    step()
    current["batch"] = batches[1]
    import wick

    with pytest.raises(wick.Error, match="recorded differently.*read from outside"):
        step()


def test_wick_jit_0_runs_the_step_eagerly(monkeypatch):
    monkeypatch.setenv("WICK_JIT", "0")
    model, opt = _model_and_opt()

    @capture
    def step(x, y):
        loss = cross_entropy(model(x), y)
        opt.backward_step(loss)
        return loss.to_scalar()  # allowed: nothing is recorded

    x, y = _batches(2, 2, 2, 1)[0]
    assert isinstance(step(x, y), float)
    assert step.stats["traces"] == 0
