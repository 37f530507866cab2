"""Port of candle-nn/tests/optim.rs, plus golden trajectories from PyTorch for AdamW and for SGD
with momentum (plain, nesterov, dampening, weight decay), and bit-exact resumption of training
from saved model and optimizer state.

Candle's optim.rs has no doc examples. Candle's ``SGD`` has no momentum ("Contrary to the PyTorch
implementation of SGD, this version does not support momentum"); wick adds PyTorch's options as
keywords, so those cases are checked against PyTorch instead of Candle.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.core.errors import Error
from wick.nn import SGD, AdamW, Init, Linear, Optimizer, ParamsAdamW, VarMap
from wick.testing import assert_close

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def rnd(t: Tensor, digits: int = 4):
    """Candle's ``to_vec*_round``: in f32, ``round(v * 10^d) / 10^d``, half away from zero."""
    a = np.asarray(t.to_dtype(DType.F32).numpy(), np.float32)
    b = np.float32(10.0**digits)
    scaled = (a * b).astype(np.float64)
    r = np.copysign(np.floor(np.abs(scaled) + 0.5), scaled).astype(np.float32)
    return (r / b).astype(np.float32).tolist()


def f32(values):
    """Expected values as Rust's f32 literals, compared with ``==`` like ``assert_eq!``."""
    return np.asarray(values, np.float32).tolist()


def regression_data():
    """Candle's data: y = 3 x1 + x2 - 2 at four points."""
    gen = Linear(Tensor.new([[3.0, 1.0]], DEV, DType.F32), Tensor.new(-2.0, DEV, DType.F32))
    xs = Tensor.new([[2.0, 1.0], [7.0, 4.0], [-4.0, 12.0], [5.0, 8.0]], DEV, DType.F32)
    return xs, gen.forward(xs)


# ----- candle-nn/tests/optim.rs ------------------------------------------------------------------


def test_candle_sgd_optim():
    x = Var.new(0.0, DEV, DType.F32)
    sgd = SGD([x], 0.1)
    xt = x.as_tensor()
    for _ in range(100):
        sgd.backward_step((xt - 4.2) * (xt - 4.2))
    assert x.to_scalar() == f32(4.199999)


def test_candle_sgd_linear_regression():
    xs, ys = regression_data()
    w = Var.new([[0.0, 0.0]], DEV, DType.F32)
    b = Var.new(0.0, DEV, DType.F32)
    sgd = SGD([w, b], 0.004)
    lin = Linear(w.as_tensor(), b.as_tensor())
    for _ in range(1000):
        sgd.backward_step(lin.forward(xs).sub(ys).sqr().sum_all())
    assert w.to_vec2() == f32([[2.9983196, 0.99790204]])
    assert b.to_scalar() == f32(-1.9796902)


def test_candle_adamw_linear_regression():
    xs, ys = regression_data()
    w = Var.new([[0.0, 0.0]], DEV, DType.F32)
    b = Var.new(0.0, DEV, DType.F32)
    opt = AdamW([w, b], ParamsAdamW(lr=0.1))
    lin = Linear(w.as_tensor(), b.as_tensor())
    for _ in range(100):
        opt.backward_step(lin.forward(xs).sub(ys).sqr().sum_all())
    assert rnd(w.as_tensor()) == f32([[2.7257, 0.7097]])
    assert rnd(b.as_tensor()) == f32(0.7873)


def test_candle_adamw_linear_regression_varmap():
    xs, ys = regression_data()
    var_map = VarMap()
    w = var_map.get((1, 2), "w", Init.Const(0.0), DType.F32, DEV)
    b = var_map.get((), "b", Init.Const(0.0), DType.F32, DEV)
    opt = AdamW(var_map.all_vars(), ParamsAdamW(lr=0.1))
    lin = Linear(w, b)
    for _ in range(100):
        opt.backward_step(lin.forward(xs).sub(ys).sqr().sum_all())
    assert rnd(lin.weight()) == f32([[2.7257, 0.7097]])
    assert rnd(lin.bias()) == f32(0.7873)

    var_map.set([("w", Tensor.zeros((1, 2), DType.F32, DEV))])
    var_map.set([("b", Tensor.ones((), DType.F32, DEV))])
    assert rnd(lin.weight()) == f32([[0.0, 0.0]])
    assert rnd(lin.bias()) == f32(1.0)


# ----- the Optimizer interface -------------------------------------------------------------------


def test_learning_rate_and_float_vars_only():
    w = Var.new([1.0, 2.0], DEV, DType.F32)
    n = Var.new([1, 2], DEV, DType.I64)
    for opt in (SGD([w, n], 0.5), AdamW([w, n], ParamsAdamW(lr=0.5)), AdamW.new_lr([w, n], 0.5)):
        assert isinstance(opt, Optimizer)
        assert len(opt.vars) == 1  # integer Vars are dropped, as Candle does
        assert opt.learning_rate() == 0.5
        opt.set_learning_rate(0.25)
        assert opt.learning_rate() == 0.25
    assert ParamsAdamW() == ParamsAdamW(0.001, 0.9, 0.999, 1e-8, 0.01)


def test_step_skips_vars_without_gradient():
    a = Var.new([1.0], DEV)
    b = Var.new([2.0], DEV)
    for opt in (SGD([a, b], 0.1, momentum=0.9), AdamW([a, b])):
        opt.backward_step((a * 3.0).sum_all())
        assert b.to_vec1() == [2.0]
        assert a.to_vec1()[0] < 1.0


def test_sgd_nesterov_needs_momentum_without_dampening():
    w = Var.new([1.0], DEV)
    with pytest.raises(Error, match="nesterov"):
        SGD([w], 0.1, nesterov=True)
    with pytest.raises(Error, match="nesterov"):
        SGD([w], 0.1, momentum=0.9, dampening=0.1, nesterov=True)


def test_sgd_momentum_by_hand():
    # loss = 2 w (gradient 2), lr 0.5, momentum 0.9: buf 2, 3.8, 5.42; w 1 - 1 - 1.9 - 2.71.
    w = Var.new([1.0], DEV)
    opt = SGD([w], 0.5, momentum=0.9)
    seen = []
    for _ in range(3):
        opt.backward_step((w * 2.0).sum_all())
        seen.append(round(w.to_vec1()[0], 12))
    assert seen == [0.0, -1.9, -4.61]


# ----- golden trajectories from PyTorch ----------------------------------------------------------
# Parameters [w1, w2, b] after each of 10 steps of a linear regression (mean squared error) from
# w = [[0.5, -0.3]], b = [0.1], produced by PyTorch 2.13 (CPU, f32) with:
#
#     import numpy as np, torch
#     xs = torch.tensor([[2.0, 1.0], [7.0, 4.0], [-4.0, 12.0], [5.0, 8.0]])
#     ys = xs @ torch.tensor([[3.0, 1.0]]).t() - 2.0
#     def run(make_opt):
#         m = torch.nn.Linear(2, 1)
#         with torch.no_grad():
#             m.weight.copy_(torch.tensor([[0.5, -0.3]]))
#             m.bias.copy_(torch.tensor([0.1]))
#         opt, out = make_opt(m.parameters()), []
#         for _ in range(10):
#             opt.zero_grad()
#             ((m(xs) - ys) ** 2).mean().backward()
#             opt.step()
#             out.append(m.weight.detach().flatten().tolist() + m.bias.detach().tolist())
#         return out
#     cases = {
#         "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
#         "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.005, momentum=0.9),
#         "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.005, momentum=0.9, nesterov=True),
#         "sgd_dampening": lambda p: torch.optim.SGD(p, lr=0.005, momentum=0.9, dampening=0.5),
#         "sgd_weight_decay": lambda p: torch.optim.SGD(p, lr=0.005, momentum=0.9, weight_decay=0.1),
#     }
#     for name, mk in cases.items():
#         print(name)
#         for row in run(mk):
#             print("    [" + ", ".join(str(np.float32(v)) for v in row) + "],")
GOLDEN_ADAMW = [
    [0.5095, -0.28970003, 0.1099],
    [0.5189892, -0.2794129, 0.11978793],
    [0.52846664, -0.2691404, 0.12966235],
    [0.53793144, -0.2588842, 0.13952179],
    [0.5473827, -0.24864608, 0.1493648],
    [0.5568197, -0.2384278, 0.15918991],
    [0.5662413, -0.2282311, 0.16899568],
    [0.5756468, -0.2180577, 0.17878066],
    [0.5850353, -0.20790936, 0.18854342],
    [0.59440607, -0.19778778, 0.19828255],
]
GOLDEN_SGD_MOMENTUM = [
    [1.1064999, 0.43749997, 0.22275],
    [2.0726912, 1.3828769, 0.39349124],
    [3.0792854, 1.9197565, 0.5224764],
    [3.8529394, 1.7235698, 0.55387133],
    [4.2451444, 0.93346506, 0.49004146],
    [4.246928, 0.035686307, 0.380724],
    [3.9490247, -0.44726443, 0.28762746],
    [3.4802995, -0.26300693, 0.2476927],
    [2.9588494, 0.44636896, 0.25620496],
    [2.4732594, 1.2574753, 0.27693465],
]
GOLDEN_SGD_NESTEROV = [
    [1.65235, 1.1012499, 0.33322498],
    [2.623932, 1.4541731, 0.44031116],
    [3.2753756, 1.1517116, 0.4506252],
    [3.6043112, 0.74614316, 0.42129838],
    [3.6629355, 0.5300441, 0.3871256],
    [3.5251436, 0.52266884, 0.35644183],
    [3.2752628, 0.62064976, 0.32575792],
    [2.9970937, 0.72621, 0.29209968],
    [2.7595453, 0.7943476, 0.2566948],
    [2.6048174, 0.8227879, 0.22295882],
]
GOLDEN_SGD_DAMPENING = [
    [1.1064999, 0.43749997, 0.22275],
    [1.8625205, 1.2420634, 0.3633581],
    [2.640394, 1.8555158, 0.48474264],
    [3.328148, 2.09925, 0.5593252],
    [3.846348, 1.9204439, 0.5751995],
    [4.1557803, 1.396894, 0.5372671],
    [4.2558346, 0.70299906, 0.46359143],
    [4.1756954, 0.050502427, 0.37854874],
    [3.9618053, -0.37635967, 0.30509317],
    [3.6653283, -0.47191823, 0.25844637],
]
GOLDEN_SGD_WEIGHT_DECAY = [
    [1.1062499, 0.43764997, 0.2227],
    [2.0717146, 1.3828754, 0.39328226],
    [3.076854, 1.918995, 0.52195424],
    [3.8482866, 1.7217594, 0.55292],
    [4.237785, 0.9311836, 0.48866636],
    [4.236903, 0.03428914, 0.37906352],
    [3.9369564, -0.44644174, 0.28587514],
    [3.4672585, -0.2596527, 0.2459826],
    [2.9461224, 0.4510688, 0.25454333],
    [2.4621158, 1.2613207, 0.27523044],
]

GOLDEN = {
    "adamw": (lambda vs: AdamW(vs, ParamsAdamW(lr=0.01, weight_decay=0.1)), GOLDEN_ADAMW),
    "sgd_momentum": (lambda vs: SGD(vs, 0.005, momentum=0.9), GOLDEN_SGD_MOMENTUM),
    "sgd_nesterov": (lambda vs: SGD(vs, 0.005, momentum=0.9, nesterov=True), GOLDEN_SGD_NESTEROV),
    "sgd_dampening": (
        lambda vs: SGD(vs, 0.005, momentum=0.9, dampening=0.5),
        GOLDEN_SGD_DAMPENING,
    ),
    "sgd_weight_decay": (
        lambda vs: SGD(vs, 0.005, momentum=0.9, weight_decay=0.1),
        GOLDEN_SGD_WEIGHT_DECAY,
    ),
}


def golden_model():
    xs, _ = regression_data()
    ys = xs.matmul(Tensor.new([[3.0, 1.0]], DEV, DType.F32).t()) - 2.0
    w = Var.new([[0.5, -0.3]], DEV, DType.F32)
    b = Var.new([0.1], DEV, DType.F32)
    return xs, ys, w, b


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_matches_pytorch_step_by_step(name):
    make_opt, want = GOLDEN[name]
    xs, ys, w, b = golden_model()
    opt = make_opt([w, b])
    lin = Linear(w.as_tensor(), b.as_tensor())
    for step in range(10):
        opt.backward_step((lin.forward(xs) - ys).sqr().mean_all())
        got = w.numpy().ravel().tolist() + b.numpy().tolist()
        # f32 rounding only: PyTorch orders the arithmetic differently (lerp, sqrt(v) /
        # sqrt(1 - beta2^t), ...). The parameters reach 4.3, where one f32 ulp is 4.8e-7.
        assert_close(np.float32(got), np.float32(want[step]), rtol=4e-7, atol=2e-7)


# ----- resuming from saved state ----------------------------------------------------------------


def _train(varmap, opt, steps):
    xs, ys = regression_data()
    lin = Linear(varmap.data()["w"].as_tensor(), varmap.data()["b"].as_tensor())
    for _ in range(steps):
        opt.backward_step((lin.forward(xs) - ys).sqr().mean_all())


def _fresh(make_opt):
    vm = VarMap()
    vm.get((1, 2), "w", Init.Const(0.5), DType.F32, DEV)
    vm.get((1,), "b", Init.Const(-0.25), DType.F32, DEV)
    return vm, make_opt(vm.all_vars())


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda vs: SGD(vs, 0.005, momentum=0.9),
        lambda vs: SGD(vs, 0.005, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda vs: AdamW(vs, ParamsAdamW(lr=0.01, weight_decay=0.1)),
    ],
    ids=["sgd_momentum", "sgd_nesterov_wd", "adamw"],
)
def test_save_load_resumes_bit_for_bit(tmp_path, make_opt):
    vm_ref, opt_ref = _fresh(make_opt)
    _train(vm_ref, opt_ref, 10)

    vm, opt = _fresh(make_opt)
    _train(vm, opt, 5)
    vm.save(tmp_path / "model.safetensors")
    opt.save(tmp_path / "optim.safetensors")
    del vm, opt

    vm2, opt2 = _fresh(make_opt)
    vm2.load(tmp_path / "model.safetensors")
    opt2.load(tmp_path / "optim.safetensors")
    _train(vm2, opt2, 5)
    for name in ("w", "b"):
        got = vm2.data()[name].numpy()
        want = vm_ref.data()[name].numpy()
        assert got.tobytes() == want.tobytes(), name


def test_fresh_optimizer_without_loaded_state_diverges():
    # The check above is not vacuous: dropping the momentum (or the moments) changes the run.
    for make_opt in (lambda vs: SGD(vs, 0.005, momentum=0.9), lambda vs: AdamW(vs)):
        vm_ref, opt_ref = _fresh(make_opt)
        _train(vm_ref, opt_ref, 10)
        vm, opt = _fresh(make_opt)
        _train(vm, opt, 5)
        _train(vm, make_opt(vm.all_vars()), 5)  # model resumed, optimizer state lost
        assert vm.data()["w"].to_vec2() != vm_ref.data()["w"].to_vec2()


def test_optimizer_state_file_is_checked(tmp_path):
    vm, sgd = _fresh(lambda vs: SGD(vs, 0.005, momentum=0.9))
    _train(vm, sgd, 1)
    sgd.save(tmp_path / "sgd.safetensors")
    _, adamw = _fresh(lambda vs: AdamW(vs))
    with pytest.raises(Error, match="SGD"):
        adamw.load(tmp_path / "sgd.safetensors")
    _, other = _fresh(lambda vs: SGD(vs, 0.1, momentum=0.9))
    other.load(tmp_path / "sgd.safetensors")
    assert other.learning_rate() == 0.005
