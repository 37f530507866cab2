"""Modules and parameter plumbing: Module/ModuleT repr, Sequential/seq, Func/func, FuncT/func_t,
Activation and PReLU (candle-nn's sequential.rs, func.rs, activation.rs), VarBuilder paths, errors
and renaming (var_builder.rs, with its ``rename_f`` doc example), VarMap (var_map.rs).

Not applicable:
- ``VarBuilder::from_npz``/``from_pth``/``from_buffered_safetensors``/``ShardedSafeTensors``
  (NumPy .npz, PyTorch pickle, tensor-parallel sharding) and ``get_unchecked``: not in wick's
  API (SPEC section 9); safetensors loading is tested with the io tests.
- Activation's serde (de)serialisation: Rust-only; ``Activation.from_name`` covers the names.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from devices import bf16_refused

from wick import Device, DType, Tensor, Var
from wick.core.errors import CannotFindTensor, Error, UnexpectedShape
from wick.nn import (
    Activation,
    Dropout,
    Func,
    FuncT,
    Init,
    Module,
    ModuleT,
    PReLU,
    Sequential,
    VarBuilder,
    VarMap,
    func,
    func_t,
    linear,
    linear_no_bias,
    ops,
    prelu,
    seq,
)

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device


def rnd(t: Tensor, digits: int = 4) -> list:
    """Candle's ``to_vec*_round``: in f32, ``round(v * 10^d) / 10^d``, half away from zero."""
    a = np.asarray(t.to_dtype(DType.F32).numpy(), np.float32)
    b = np.float32(10.0**digits)
    scaled = (a * b).astype(np.float64)
    r = np.copysign(np.floor(np.abs(scaled) + 0.5), scaled).astype(np.float32)
    return (r / b).astype(np.float32).tolist()


def f32(values) -> list:
    return np.asarray(values, np.float32).tolist()


XS = [-2.0, -0.5, 0.0, 1.5, 3.0, 7.0]


class Mlp(Module):
    def __init__(self, vb):
        self.fc1 = linear(2, 3, vb.pp("fc1"))
        self.act = Activation.Relu
        self.fc2 = linear_no_bias(3, 1, vb.pp("fc2"))
        self.scale = Tensor.ones(3, DType.F32, DEV)
        self.note = "not a child"

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


# ----- Module repr and composition ---------------------------------------------------------------


def test_module_repr_lists_children_and_shapes():
    m = Mlp(VarBuilder.from_varmap(VarMap(), DType.F32, DEV))
    assert repr(m) == (
        "Mlp(\n"
        "  (fc1): Linear(in=2, out=3, bias=True)\n"
        "  (act): Activation.Relu\n"
        "  (fc2): Linear(in=3, out=1, bias=False)\n"
        "  (scale): Tensor[3]\n"
        ")"
    )

    class Empty(Module):
        pass

    assert repr(Empty()) == "Empty()"
    with pytest.raises(NotImplementedError):
        Empty()(Tensor.zeros(1, DType.F32, DEV))


def test_sequential_repr_nests():
    def double(x):
        return x * 2.0

    s = seq().add(Activation.Gelu).add_fn(double).add(Dropout(0.1))
    assert repr(s) == (
        "Sequential(\n"
        "  (layers.0): Activation.Gelu\n"
        "  (layers.1): Func(double)\n"
        "  (layers.2): Dropout(p=0.1)\n"
        ")"
    )


def test_seq_add_add_fn_forward_and_forward_all():
    s = seq()
    assert isinstance(s, Sequential) and s.is_empty() and len(s) == 0
    x = Tensor.new([-1.0, 2.0], DEV)
    assert s.forward(x).to_vec1() == [-1.0, 2.0]  # no layer: the input
    s = s.add(Activation.Relu).add_fn(lambda t: t * 3.0).add(func(lambda t: t - 1.0))
    assert not s.is_empty() and len(s) == 3
    assert s.forward(x).to_vec1() == [-1.0, 5.0]
    assert s(x).to_vec1() == [-1.0, 5.0]
    assert [t.to_vec1() for t in s.forward_all(x)] == [[0.0, 2.0], [0.0, 6.0], [-1.0, 5.0]]


def test_sequential_passes_train_to_module_t_layers():
    s = Sequential([func(lambda t: t + 1.0), Dropout(0.5)])
    x = Tensor.ones((50, 50), DType.F32, DEV)
    assert s.forward(x).to_vec2() == [[2.0] * 50] * 50  # forward is evaluation
    assert s.forward_t(x, False).to_vec2() == [[2.0] * 50] * 50
    DEV.set_seed(0)
    y = s(x, True).numpy()
    assert set(np.unique(y).tolist()) == {0.0, 4.0}


def test_func_and_func_t():
    f = Func(lambda t: t.relu())
    assert isinstance(f, Module)
    assert f(Tensor.new([-1.0, 2.0], DEV)).to_vec1() == [0.0, 2.0]
    ft = func_t(lambda t, train: t * (2.0 if train else 1.0))
    assert isinstance(ft, FuncT) and isinstance(ft, ModuleT)
    x = Tensor.new([1.5], DEV)
    assert ft.forward_t(x, True).to_vec1() == [3.0]
    assert ft(x).to_vec1() == [1.5]
    assert seq().add(ft).forward_t(x, True).to_vec1() == [3.0]


# ----- Activation --------------------------------------------------------------------------------


def _sig(v):
    return 1 / (1 + math.exp(-v))


ACTIVATION_CASES = {
    # name: reference in float64 (the formulas of candle-nn's Activation::forward)
    "Gelu": lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))),
    "NewGelu": lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3))),
    "GeluPytorchTanh": lambda v: (
        0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
    ),
    "Relu": lambda v: max(v, 0.0),
    "Relu2": lambda v: max(v, 0.0) ** 2,
    "Relu6": lambda v: min(max(v, 0.0), 6.0),
    "Silu": lambda v: v * _sig(v),
    "Swish": lambda v: v * _sig(v),
    "Sigmoid": _sig,
    "HardSigmoid": lambda v: min(max((v + 3) / 6, 0.0), 1.0),
    "HardSwish": lambda v: v * min(max((v + 3) / 6, 0.0), 1.0),
    "Mish": lambda v: v * math.tanh(math.log1p(math.exp(v))),
    "Tanh": math.tanh,
}


@pytest.mark.parametrize("name", sorted(ACTIVATION_CASES))
def test_activation_values(name):
    act = getattr(Activation, name)
    got = act.forward(Tensor.new(XS, DEV, DType.F32))
    assert got.dtype == DType.F32
    assert rnd(got) == rnd(Tensor.new([ACTIVATION_CASES[name](v) for v in XS]))


def test_parametrised_activations():
    x = Tensor.new(XS, DEV, DType.F32)
    # Elu: x if x > 0 else alpha (e^x - 1); LeakyRelu: x if x > 0 else slope x.
    want_elu = [0.5 * math.expm1(v) if v <= 0 else v for v in XS]
    assert rnd(Activation.Elu(0.5)(x)) == rnd(Tensor.new(want_elu))
    assert rnd(Activation.LeakyRelu(0.1)(x)) == f32([-0.2, -0.05, 0.0, 1.5, 3.0, 7.0])
    assert Activation.Elu(0.5) == Activation.Elu(0.5) != Activation.Elu(1.0)
    assert repr(Activation.LeakyRelu(0.1)) == "Activation.LeakyRelu(0.1)"
    assert repr(Activation.Silu) == "Activation.Silu"


def test_swiglu_activation():
    x = Tensor.new([[1.0, -1.0, 2.0, 0.5]], DEV, DType.F32)
    assert Activation.Swiglu(x).to_vec2() == ops.swiglu(x).to_vec2()


@pytest.mark.parametrize(
    "name,want",
    [
        ("gelu", "Gelu"),
        ("gelu_new", "NewGelu"),
        ("newgelu", "NewGelu"),
        ("gelu_pytorch_tanh", "GeluPytorchTanh"),
        ("relu", "Relu"),
        ("relu2", "Relu2"),
        ("relu6", "Relu6"),
        ("silu", "Silu"),
        ("swish", "Swish"),
        ("sigmoid", "Sigmoid"),
        ("hardsigmoid", "HardSigmoid"),
        ("hardswish", "HardSwish"),
        ("swiglu", "Swiglu"),
        ("mish", "Mish"),
        ("GELU", "Gelu"),
    ],
)
def test_activation_from_hugging_face_names(name, want):
    assert Activation.from_name(name) == getattr(Activation, want)


def test_activation_unknown_name_raises():
    with pytest.raises(Error, match="unknown activation"):
        Activation.from_name("nope")


def test_prelu():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, DType.F32, DEV)
    scalar = prelu(None, vb.pp("a"))
    assert vm.data()["a.weight"].to_vec1() == [0.25]  # PyTorch's init and 1-element encoding
    assert isinstance(scalar, PReLU) and scalar.is_scalar()
    x = Tensor.new([[-4.0, 2.0], [1.0, -8.0]], DEV, DType.F32)
    assert scalar(x).to_vec2() == [[-1.0, 2.0], [1.0, -2.0]]
    per_channel = PReLU(Tensor.new([0.5, 0.1], DEV, DType.F32), False)
    assert per_channel(x).to_vec2() == [[-2.0, 2.0], [1.0, -0.8000000119209290]]
    assert prelu(2, vb.pp("b")).weight().shape == (2,)
    with pytest.raises(Error, match="prelu"):
        per_channel(Tensor.zeros((2, 3), DType.F32, DEV))


# ----- VarBuilder --------------------------------------------------------------------------------


def test_var_builder_nested_prefixes_create_dotted_names():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, DType.F32, DEV)
    sub = vb.pp("a").pp("b")
    assert sub.prefix == "a.b" and vb.prefix == ""
    w = sub.get((2, 3), "weight")
    assert list(vm.data()) == ["a.b.weight"]
    assert w.shape == (2, 3) and w.dtype == DType.F32
    assert vb.push_prefix("a").push_prefix("b").prefix == "a.b"
    assert vb.pp(0).pp("x").prefix == "0.x"  # layer indices, as in encoder.layer.0
    assert sub.root().prefix == "" and vb.set_prefix("p.q").prefix == "p.q"
    # The same path returns the same variable; init hints apply on creation only.
    again = vb.pp("a").pp("b").get_with_hints((2, 3), "weight", Init.Const(5.0))
    assert again.to_vec2() == w.to_vec2()
    c = vb.get_with_hints(2, "c", Init.Const(5.0))
    assert c.to_vec1() == [5.0, 5.0]
    assert isinstance(vm.data()["c"], Var)
    assert sub.contains_tensor("weight") and not sub.contains_tensor("bias")
    assert vb.contains_tensor("a.b.weight") and not vb.contains_tensor("a")


def test_var_builder_varmap_shape_mismatch_names_path_and_shapes():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, DType.F32, DEV)
    vb.pp("x").get((2, 2), "w")
    with pytest.raises(UnexpectedShape) as err:
        vb.pp("x").get((3, 2), "w")
    assert str(err.value) == "shape mismatch on x.w, expected: [3, 2], got: [2, 2]"


def test_var_builder_from_tensors_missing_name():
    vb = VarBuilder.from_tensors({"a.w": Tensor.zeros((2, 3), DType.F32, DEV)}, DType.F32, DEV)
    with pytest.raises(CannotFindTensor) as err:
        vb.pp("a").pp("b").get((2, 2), "zz")
    assert err.value.path == "a.b.zz"
    assert str(err.value) == "cannot find tensor a.b.zz"


def test_var_builder_from_tensors_shape_mismatch():
    vb = VarBuilder.from_tensors({"a.w": Tensor.zeros((2, 3), DType.F32, DEV)}, DType.F32, DEV)
    with pytest.raises(UnexpectedShape) as err:
        vb.pp("a").get((2, 2), "w")
    assert str(err.value) == "shape mismatch for a.w, expected: [2, 2], got: [2, 3]"
    assert err.value.expected == (2, 2) and err.value.got == (2, 3)


def test_var_builder_from_tensors_converts_dtype():
    t = Tensor.new([[1.5, 2.5]], DEV, DType.F64)
    vb = VarBuilder.from_tensors({"w": t}, DType.F32, DEV)
    assert vb.dtype == DType.F32 and vb.device == DEV
    assert vb.get((1, 2), "w").dtype == DType.F32
    if not bf16_refused(DEV):
        assert vb.set_dtype(DType.BF16).get((1, 2), "w").dtype == DType.BF16
    assert vb.get_with_hints_dtype((1, 2), "w", Init.Const(0.0), DType.F16).dtype == DType.F16


def test_candle_doc_rename_f():
    a = Tensor.arange(0.0, 6.0, DEV, DType.F32).reshape((2, 3))
    vb = VarBuilder.from_tensors({"foo": a}, DType.F32, DEV)
    assert vb.contains_tensor("foo")
    assert vb.get((2, 3), "foo").to_vec2() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert not vb.contains_tensor("bar")
    vb = vb.rename_f(lambda f: "foo" if f == "bar" else f)
    assert vb.contains_tensor("bar")
    assert vb.contains_tensor("foo")
    assert vb.get((2, 3), "bar").to_vec2() == a.to_vec2()
    assert vb.get((2, 3), "foo").to_vec2() == a.to_vec2()
    assert not vb.contains_tensor("baz")


def test_rename_f_sees_the_full_path_and_survives_pp():
    # A Hugging Face checkpoint names LayerNorm weights gamma/beta; map them on the fly.
    t = {"enc.ln.gamma": Tensor.ones(4, DType.F32, DEV)}
    vb = VarBuilder.from_tensors(t, DType.F32, DEV).rename_f(lambda p: p.replace("weight", "gamma"))
    assert vb.pp("enc").pp("ln").get(4, "weight").to_vec1() == [1.0] * 4
    with pytest.raises(CannotFindTensor) as err:
        vb.pp("enc").get(4, "weight")
    assert err.value.path == "enc.gamma"


def test_var_builder_zeros():
    vb = VarBuilder.zeros(DType.F64, DEV)
    w = vb.pp("any").get((2, 3), "thing")
    assert w.dtype == DType.F64 and w.to_vec2() == [[0.0] * 3] * 2
    assert vb.contains_tensor("whatever")
    layer = linear(3, 2, vb.pp("fc"))
    assert layer.forward(Tensor.ones((1, 3), DType.F64, DEV)).to_vec2() == [[0.0, 0.0]]


# ----- VarMap ------------------------------------------------------------------------------------


def test_varmap_get_set_all_vars():
    vm = VarMap()
    w = vm.get((1, 2), "w", Init.Const(0.0), DType.F32, DEV)
    b = vm.get((), "b", Init.Const(1.0), DType.F32, DEV)
    assert len(vm) == 2 and "w" in vm and "c" not in vm
    assert [v.shape for v in vm.all_vars()] == [(1, 2), ()]
    assert all(isinstance(v, Var) for v in vm.all_vars())
    vm.set({"w": Tensor.new([[3.0, 4.0]], DEV, DType.F32)})
    vm.set_one("b", Tensor.new(-1.0, DEV, DType.F32))
    assert w.to_vec2() == [[3.0, 4.0]] and b.to_scalar() == -1.0  # tensors share the Var's storage
    with pytest.raises(CannotFindTensor):
        vm.set_one("nope", Tensor.zeros(2, DType.F32, DEV))
    with pytest.raises(Error):
        vm.set_one("w", Tensor.zeros((2, 1), DType.F32, DEV))


def test_varmap_save_load_round_trip_and_strictness(tmp_path):
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, DType.F32, DEV)
    DEV.set_seed(1)
    Mlp(vb)
    path = tmp_path / "mlp.safetensors"
    vm.save(path)
    vm2 = VarMap()
    DEV.set_seed(2)
    Mlp(VarBuilder.from_varmap(vm2, DType.F32, DEV))
    assert vm2.data()["fc1.weight"].to_vec2() != vm.data()["fc1.weight"].to_vec2()
    vm2.load(path)
    for name, var in vm.data().items():
        assert vm2.data()[name].numpy().tobytes() == var.numpy().tobytes()

    vm3 = VarMap()
    vb3 = VarBuilder.from_varmap(vm3, DType.F32, DEV)
    linear(2, 4, vb3.pp("fc1"))  # mis-shaped fc1.weight and fc1.bias, fc2.weight missing
    vb3.get(1, "extra")
    with pytest.raises(Error) as err:
        vm3.load(path)
    msg = str(err.value)
    assert "missing: extra" in msg and "unexpected: fc2.weight" in msg
    assert "shape mismatch for fc1.weight: model [4, 2], file [3, 2]" in msg
    assert "shape mismatch for fc1.bias: model [4], file [3]" in msg
