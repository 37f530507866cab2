"""VarMap.save / VarMap.load: interop with the safetensors package and PyTorch, strict loading.

Candle cases that do not apply here:
- Candle's `VarMap::load` stops at the first missing tensor (`cannot find tensor ...`); wick's
  contract (SPEC 9) is stricter and lists every missing, unexpected and mis-shaped name at once,
  so the expected messages below are wick's, not Candle's.
"""

import os

import ml_dtypes
import numpy as np
import pytest
from safetensors import numpy as st_numpy

import wick
import wick.safetensors as ws
from wick import Device, DType, Tensor
from wick.nn import Init, VarBuilder, VarMap, linear
from wick.nn.var_map import CheckpointMismatch


def _const_varmap(spec) -> VarMap:
    """A VarMap with one Var per ``(name, shape, value, dtype)``."""
    vm = VarMap()
    for name, shape, value, dtype in spec:
        vm.get(shape, name, Init.Const(value), dtype, Device.Cpu)
    return vm


def _snapshot(vm: VarMap) -> dict:
    return {n: (v.dtype, v.as_tensor().numpy().tobytes()) for n, v in vm.data().items()}


def _mlp(vb):
    l1, l2 = linear(4, 8, vb.pp("l1")), linear(8, 3, vb.pp("l2"))
    return lambda x: l2(l1(x).relu())


# ----- interop ----------------------------------------------------------------------------


def test_varmap_save_loads_in_safetensors_package(tmp_path):
    vm = VarMap()
    _mlp(VarBuilder.from_varmap(vm, DType.F32, Device.Cpu))
    vm.get((2, 2), "stats.f64", Init.Randn(0.0, 1.0), DType.F64, Device.Cpu)
    vm.get((3,), "stats.bf16", Init.Uniform(-1.0, 1.0), DType.BF16, Device.Cpu)
    vm.get((5,), "stats.f16", Init.Const(0.1), DType.F16, Device.Cpu)
    path = tmp_path / "vm.safetensors"
    vm.save(path, metadata={"format": "pt"})

    back = st_numpy.load_file(str(path))
    assert sorted(back) == sorted(vm.data())
    assert sorted(back) == [
        "l1.bias",
        "l1.weight",
        "l2.bias",
        "l2.weight",
        "stats.bf16",
        "stats.f16",
        "stats.f64",
    ]
    for name, var in vm.data().items():
        mine = var.as_tensor().numpy()
        assert back[name].dtype == mine.dtype == var.dtype.np
        assert back[name].shape == tuple(var.shape)
        assert back[name].tobytes() == mine.tobytes()
    assert back["l1.weight"].shape == (8, 4) and back["l2.bias"].shape == (3,)
    assert back["stats.bf16"].dtype == np.dtype(ml_dtypes.bfloat16)
    assert ws.read_metadata(path) == {"format": "pt"}


def test_varmap_round_trip(tmp_path):
    src = VarMap()
    f_src = _mlp(VarBuilder.from_varmap(src, DType.F32, Device.Cpu))
    path = tmp_path / "mlp.safetensors"
    src.save(path)
    dst = VarMap()
    f_dst = _mlp(VarBuilder.from_varmap(dst, DType.F32, Device.Cpu))
    x = Tensor.new(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    assert f_src(x).to_vec2() != f_dst(x).to_vec2()
    dst.load(path)
    assert _snapshot(dst) == _snapshot(src)
    assert f_dst(x).to_vec2() == f_src(x).to_vec2()


def test_package_file_loads_into_varmap(tmp_path):
    path = tmp_path / "pkg.safetensors"
    w = np.arange(6, dtype=np.float32).reshape(3, 2)
    st_numpy.save_file({"w": w, "b": np.array([0.5, -0.5, 0.0], np.float32)}, str(path))
    vm = _const_varmap([("w", (3, 2), 0.0, DType.F32), ("b", (3,), 0.0, DType.F32)])
    vm.load(path)
    assert vm.data()["w"].as_tensor().to_vec2() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert vm.data()["b"].as_tensor().to_vec1() == [0.5, -0.5, 0.0]


# ----- strict loading ---------------------------------------------------------------------


def _mismatched(tmp_path):
    vm = _const_varmap(
        [
            ("enc.weight", (2, 3), 1.0, DType.F32),
            ("enc.bias", (3,), 1.0, DType.F32),
            ("dec.weight", (4, 2), 1.0, DType.F32),
            ("dec.bias", (4,), 1.0, DType.F32),
            ("head.weight", (2, 2), 1.0, DType.F32),
        ]
    )
    path = tmp_path / "ckpt.safetensors"
    st_numpy.save_file(
        {
            "enc.weight": np.full((2, 3), 7.0, np.float32),  # fine
            "dec.weight": np.zeros((2, 4), np.float32),  # transposed
            "head.weight": np.zeros((2, 2, 1), np.float32),  # extra dim
            "decoder.bias": np.zeros(4, np.float32),  # typo of dec.bias
            "step": np.zeros((), np.int64),
        },
        str(path),
    )
    return vm, path


def test_load_lists_every_mismatch_in_one_error(tmp_path):
    vm, path = _mismatched(tmp_path)
    before = _snapshot(vm)
    with pytest.raises(CheckpointMismatch) as info:
        vm.load(path)
    err = info.value
    assert isinstance(err, wick.Error) and isinstance(err, ValueError)
    msg = str(err)
    for name in ("enc.bias", "dec.bias", "decoder.bias", "step", "dec.weight", "head.weight"):
        assert name in msg
    assert err.missing == ["enc.bias", "dec.bias"]
    assert err.unexpected == ["decoder.bias", "step"]
    assert [(n, tuple(a), tuple(b)) for n, a, b in err.mis_shaped] == [
        ("dec.weight", (4, 2), (2, 4)),
        ("head.weight", (2, 2), (2, 2, 1)),
    ]
    assert err.path == path
    # Nothing was set, not even the tensor that matched.
    assert _snapshot(vm) == before
    assert vm.data()["enc.weight"].as_tensor().to_vec2() == [[1.0] * 3] * 2


def test_load_mismatch_message_format(tmp_path):
    vm, path = _mismatched(tmp_path)
    with pytest.raises(CheckpointMismatch) as info:
        vm.load(path)
    assert str(info.value) == (
        f"checkpoint {path} does not match the model:\n"
        "  missing: enc.bias, dec.bias\n"
        "  unexpected: decoder.bias, step\n"
        "  shape mismatch for dec.weight: model [4, 2], file [2, 4]\n"
        "  shape mismatch for head.weight: model [2, 2], file [2, 2, 1]"
    )


def test_load_message_with_only_missing(tmp_path):
    vm = _const_varmap([("a", (1,), 0.0, DType.F32), ("b", (1,), 0.0, DType.F32)])
    path = tmp_path / "only_a.safetensors"
    ws.save({"a": Tensor.new(np.ones(1, np.float32))}, path)
    with pytest.raises(CheckpointMismatch) as info:
        vm.load(path)
    assert str(info.value) == f"checkpoint {path} does not match the model:\n  missing: b"
    assert info.value.unexpected == [] and info.value.mis_shaped == []
    assert vm.data()["a"].as_tensor().to_vec1() == [0.0]


def test_load_converts_f64_file_into_f32_varmap(tmp_path):
    path = tmp_path / "f64.safetensors"
    w = np.array([[0.1, -1.0 / 3.0], [1e-40, 2.0**60 + 1]], np.float64)
    st_numpy.save_file({"w": w, "n": np.array([1, 2, 3], np.int64)}, str(path))
    vm = _const_varmap([("w", (2, 2), 0.0, DType.F32), ("n", (3,), 0.0, DType.F32)])
    vm.load(path)
    got_w = vm.data()["w"].as_tensor()
    assert got_w.dtype == DType.F32
    assert got_w.numpy().tobytes() == w.astype(np.float32).tobytes()
    assert vm.data()["n"].dtype == DType.F32
    assert vm.data()["n"].as_tensor().to_vec1() == [1.0, 2.0, 3.0]


def test_load_converts_bf16_and_f32_files(tmp_path):
    path = tmp_path / "mixed.safetensors"
    st_numpy.save_file(
        {
            "lo": np.array([1.5, -0.0078125, 256.0], ml_dtypes.bfloat16),
            "hi": np.array([0.1, 3.0], np.float32),
        },
        str(path),
    )
    vm = _const_varmap([("lo", (3,), 0.0, DType.F32), ("hi", (2,), 0.0, DType.F64)])
    vm.load(path)
    assert vm.data()["lo"].as_tensor().to_vec1() == [1.5, -0.0078125, 256.0]
    assert vm.data()["hi"].dtype == DType.F64
    assert vm.data()["hi"].as_tensor().to_vec1() == [float(np.float32(0.1)), 3.0]


def test_load_of_hostile_file_leaves_varmap_unchanged(tmp_path):
    vm = _const_varmap([("w", (2,), 3.0, DType.F32)])
    before = _snapshot(vm)
    for data in (b"", b"\xff" * 64, b"\x08\x00\x00\x00\x00\x00\x00\x00not json"):
        path = tmp_path / "bad.safetensors"
        path.write_bytes(data)
        with pytest.raises(wick.SafeTensorError) as info:
            vm.load(path)
        assert str(path) in str(info.value)
    with pytest.raises(wick.SafeTensorError, match="no such file"):
        vm.load(tmp_path / "missing.safetensors")
    assert _snapshot(vm) == before


# ----- atomic save ------------------------------------------------------------------------


def test_varmap_save_crash_keeps_previous_checkpoint(tmp_path, monkeypatch):
    vm = _const_varmap([("w", (4,), 1.0, DType.F32)])
    path = tmp_path / "ckpt.safetensors"
    vm.save(path)
    old = path.read_bytes()
    vm.set_one("w", Tensor.new(np.full(4, 2.0, np.float32)))

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(wick.SafeTensorError) as info:
        vm.save(path)
    assert str(info.value) == f"{path}: cannot write: No space left on device"
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    vm.load(path)
    assert vm.data()["w"].as_tensor().to_vec1() == [1.0, 1.0, 1.0, 1.0]


def test_varmap_save_bad_metadata_and_directory(tmp_path):
    vm = _const_varmap([("w", (1,), 1.0, DType.F32)])
    path = tmp_path / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        vm.save(path, metadata={"epoch": 3})
    assert str(info.value) == f"{path}: metadata must map strings to strings"
    missing = tmp_path / "nowhere" / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        vm.save(missing)
    assert str(missing) in str(info.value)
    assert os.listdir(tmp_path) == []


# ----- PyTorch ----------------------------------------------------------------------------


def _torch_mlp(torch):
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


def _assert_same_outputs(torch, model, f32_forward, path, seed):
    """wick's and torch's outputs from the same checkpoint agree.

    In F64 (the F32 checkpoint widened on both sides) they agree to rtol 1e-6 with no atol. In F32
    an output near zero comes from cancelling sums whose order differs between the two libraries,
    so the F32 check adds an atol of 1e-6 of the output's scale (a few float32 ulps of the terms).
    """
    x = np.random.default_rng(seed).standard_normal((5, 4))
    with torch.no_grad():
        want64 = model.double()(torch.from_numpy(x)).numpy()
        want32 = model.float()(torch.from_numpy(x.astype(np.float32))).numpy()
    f64 = _mlp(VarBuilder.from_mmaped_safetensors([path], DType.F64, Device.Cpu))
    got64 = f64(Tensor.new(x)).numpy()
    assert got64.dtype == np.float64
    np.testing.assert_allclose(got64, want64, rtol=1e-6)
    got32 = f32_forward(Tensor.new(x.astype(np.float32))).numpy()
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want32, rtol=1e-6, atol=1e-6 * np.abs(want32).max())


def test_wick_checkpoint_loads_into_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    vm = VarMap()
    f = _mlp(VarBuilder.from_varmap(vm, DType.F32, Device.Cpu))
    path = tmp_path / "wick_mlp.safetensors"
    vm.save(path)
    state = st_torch.load_file(str(path))
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        "l1.weight": (8, 4),
        "l1.bias": (8,),
        "l2.weight": (3, 8),
        "l2.bias": (3,),
    }
    model = _torch_mlp(torch)
    model.load_state_dict({k.replace("l1", "0").replace("l2", "2"): v for k, v in state.items()})
    _assert_same_outputs(torch, model, f, path, seed=1)


def test_torch_checkpoint_loads_into_varmap(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    model = _torch_mlp(torch)
    state = {k.replace("0.", "l1.").replace("2.", "l2."): v for k, v in model.state_dict().items()}
    path = tmp_path / "torch_mlp.safetensors"
    st_torch.save_file(state, str(path), metadata={"format": "pt"})
    vm = VarMap()
    f = _mlp(VarBuilder.from_varmap(vm, DType.F32, Device.Cpu))
    vm.load(path)
    for name, value in state.items():
        assert vm.data()[name].as_tensor().numpy().tobytes() == value.numpy().tobytes()
    _assert_same_outputs(torch, model, f, path, seed=2)
