"""The backend contract (DESIGN.md, "The engine", point 6), checked without a GPU.

- cpu.py and cuda.py define the same public functions (cuda.py is parsed with ``ast``: it cannot
  be imported without CuPy), so an op that calls ``backends.of(xp).name`` works on both;
- nothing outside core/backends/cuda.py imports CuPy;
- every ``xp.<name>`` the engine and nn use is in SHARED_XP_NAMES, names checked to behave alike
  in NumPy 2 and CuPy 13: a new name fails here until someone checks it and lists it;
- cuda.py's own logic (dtype routing of ``cupy.add.at``, last-writer-wins scatter, casts, BF16
  refusal) run under a stand-in ``cupy`` made of NumPy plus CuPy 13's ``ufunc.at`` dtype limits.
  This checks wick's code paths, not CuPy: kernels, atomics and numerics need a real GPU.

Not here: ``Device.new_cuda`` without CuPy raising DeviceUnavailable is tested in test_errors.py
(test_new_cuda_says_what_is_missing).
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import sys
import types

import ml_dtypes
import numpy as np
import pytest
from cuda_stub import stub_modules

import wick
from wick import Device, DType, Tensor, UnsupportedDTypeForOp
from wick.core import backends, graph
from wick.core.backends import cpu
from wick.nn import loss

SRC = pathlib.Path(wick.__file__).parent
BACKENDS = SRC / "core" / "backends"

# Device discovery: only Device.new_cuda and `wick info` call these, never an op, so the CPU
# backend has no twin.
CUDA_ONLY = {"device_count", "select", "device_name", "total_memory"}

# Every xp.<name> (dotted past xp) used by core and nn, each checked against CuPy 13's API
# (cupy/__init__.py and the function bodies of v13.6.0) for the arguments wick passes.
# Where CuPy differs, the op calls a backend function instead (backends.of(xp).scatter_add,
# .scatter_set, .as_strided, .erf): ``add.at`` and ``lib.stride_tricks.as_strided`` are
# deliberately absent, so a new direct use fails this test.
# fmt: off
SHARED_XP_NAMES = {
    # dtypes: CuPy re-exports NumPy's scalar types; cupy.iinfo is numpy.iinfo.
    "float32", "float64", "int32", "int64", "intp", "uint8", "uint32", "iinfo",
    # creation: same signatures for the shape/dtype/order/copy arguments used here.
    "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "empty_like",
    "eye", "tri", "arange", "asarray", "array", "ascontiguousarray", "ix_",
    # elementwise ufuncs (out= supported; CuPy copies inputs that overlap out, as NumPy).
    "exp", "expm1", "log", "sin", "cos", "tanh", "sqrt", "abs", "negative", "reciprocal",
    "maximum", "minimum", "power", "multiply", "floor", "ceil", "trunc", "modf", "sign",
    "where",
    # reductions and scans: axis tuples, keepdims= and dtype= accepted (argmax/argmin too).
    "sum", "argmax", "argmin", "cumsum",
    # CuPy 13's ufunc.reduce exists for add and multiply only (add.reduce is array.sum).
    "add.reduce",
    # layout: views in both (CuPy's broadcast_to views are writable, never written here).
    "swapaxes", "transpose", "moveaxis", "broadcast_to", "flip", "concatenate", "pad",
    # take: CuPy wraps out-of-range indices where NumPy raises; wick range-checks ids first.
    "take",
    # argsort: CuPy accepts only kind=None or "stable", and "stable" is what wick passes.
    "argsort",
    # copyto: CuPy copies through a ufunc that buffers overlapping inputs (Var.set relies on it).
    "copyto",
    # from_dlpack: CuPy raises TypeError for host arrays, Tensor.from_dlpack turns it into Msg.
    "from_dlpack",
    # attention and gelu's backward: cupy.triu(m, k), isfinite, inf, subtract(out=) as NumPy's.
    "triu", "isfinite", "inf", "subtract",
}
# fmt: on

_SCANNED = [SRC / "core", SRC / "nn", SRC / "data"]


def _public_functions(path: pathlib.Path) -> dict:
    """Top-level public functions of a module file: name -> positional argument names."""
    tree = ast.parse(path.read_text())
    return {
        node.name: [a.arg for a in node.args.args]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


def _assigned_names(path: pathlib.Path) -> set:
    tree = ast.parse(path.read_text())
    return {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def test_backends_define_the_same_functions():
    cpu_fns = _public_functions(BACKENDS / "cpu.py")
    cuda_fns = _public_functions(BACKENDS / "cuda.py")
    assert set(cuda_fns) - CUDA_ONLY == set(cpu_fns)
    for name, args in cpu_fns.items():
        assert cuda_fns[name] == args, f"{name}: cpu takes {args}, cuda takes {cuda_fns[name]}"
    for path in (BACKENDS / "cpu.py", BACKENDS / "cuda.py"):
        assert {"xp", "name"} <= _assigned_names(path), path.name


def test_cpu_backend_module_matches_its_source():
    # The ast view above is what cuda.py gets; for cpu.py check it against the real module.
    functions = {n for n, v in vars(cpu).items() if isinstance(v, types.FunctionType)}
    public = {
        n for n in functions if not n.startswith("_") and vars(cpu)[n].__module__ == cpu.__name__
    }
    assert public == set(_public_functions(BACKENDS / "cpu.py"))
    assert backends.of(np) is cpu


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.args[0].value


def test_no_cupy_import_outside_the_cuda_backend():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == BACKENDS / "cuda.py":
            continue
        for module in _imported_modules(ast.parse(path.read_text())):
            if module.split(".")[0] in ("cupy", "cupyx", "cupy_backends"):
                offenders.append(f"{path.relative_to(SRC)}: {module}")
    assert offenders == []


def _xp_chain(node: ast.Attribute):
    """``'add.at'`` for ``xp.add.at`` or ``device.xp.add.at``; None if not rooted at an xp."""
    parts = []
    while isinstance(node, ast.Attribute):
        if node.attr == "xp" and parts:
            return ".".join(reversed(parts))
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "xp" and parts:
        return ".".join(reversed(parts))
    return None


def _xp_names_used() -> dict:
    """Every outermost ``xp.<dotted name>`` in the scanned sources: name -> first place used."""
    used = {}
    for folder in _SCANNED:
        for path in sorted(folder.rglob("*.py")):
            if BACKENDS in path.parents:
                continue
            tree = ast.parse(path.read_text())
            inner = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                    inner.add(id(node.value))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and id(node) not in inner:
                    chain = _xp_chain(node)
                    if chain is not None:
                        used.setdefault(chain, f"{path.relative_to(SRC)}:{node.lineno}")
    return used


def test_every_xp_name_is_known_to_exist_in_numpy_and_cupy():
    used = _xp_names_used()
    assert "where" in used and "take" in used  # the scan does see the ops
    unlisted = {name: where for name, where in used.items() if name not in SHARED_XP_NAMES}
    assert unlisted == {}, (
        "xp names not checked against CuPy 13: check each (or add a backend function) and "
        f"list it in SHARED_XP_NAMES: {unlisted}"
    )


def test_shared_xp_names_exist_in_numpy():
    for name in SHARED_XP_NAMES:
        obj = np
        for part in name.split("."):
            obj = getattr(obj, part)


def test_ops_no_longer_use_the_names_cupy_lacks():
    used = _xp_names_used()
    assert "add.at" not in used
    assert not any(name.startswith("lib.") for name in used)


# ------------------------------------------------------------------------------------------------
# cuda.py's logic under a stand-in cupy (NumPy + CuPy 13's ufunc.at dtype limits)


@pytest.fixture
def cuda_on_stub(monkeypatch):
    """core/backends/cuda.py imported against a NumPy stand-in for cupy (tests/cuda_stub.py)."""
    for name, module in stub_modules(gpus=2).items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(backends, "_BY_NAMESPACE", dict(backends._BY_NAMESPACE))
    spec = importlib.util.spec_from_file_location(
        "wick.core.backends._cuda_on_stub", BACKENDS / "cuda.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scatter_add_both(cuda, dtype):
    target = np.array([[1, 2, 3], [4, 5, 6]]).astype(dtype)
    index = (np.array([0, 0, 1, 0]), np.array([2, 2, 0, 2]))
    values = np.array([7, 8, 9, 250]).astype(dtype)
    want = target.copy()
    cpu.scatter_add(want, index, values)
    got = target.copy()
    cuda.scatter_add(got, index, values)
    return got, want


@pytest.mark.parametrize(
    "dtype", ["uint8", "int16", "int32", "uint32", "int64", "float16", "float32", "float64"]
)
def test_cuda_scatter_add_covers_every_wick_dtype(cuda_on_stub, dtype):
    got, want = _scatter_add_both(cuda_on_stub, dtype)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # u8 wraps: 3 + 7 + 8 + 250 = 268 -> 12


def test_cuda_scatter_add_int64_keeps_negative_values(cuda_on_stub):
    target = np.array([5, -5], dtype=np.int64)
    cuda_on_stub.scatter_add(target, np.array([0, 0, 1]), np.array([-9, 2, -(2**40)]))
    np.testing.assert_array_equal(target, [-2, -5 - 2**40])


def test_cuda_scatter_add_into_a_view(cuda_on_stub):
    # index_add adds into a moveaxis view of its output, for i16 through a widened copy.
    out = np.zeros((2, 3), dtype=np.int16)
    cuda_on_stub.scatter_add(np.moveaxis(out, 1, 0), np.array([2, 2]), np.ones((2, 2), np.int16))
    np.testing.assert_array_equal(out, [[0, 0, 2], [0, 0, 2]])


def test_cuda_scatter_set_last_writer_wins(cuda_on_stub):
    target = np.zeros((2, 4), dtype=np.float32)
    rows = np.array([[0], [1]])
    cols = np.array([[3, 1, 3, 3], [0, 0, 2, 0]])
    values = np.arange(1, 9, dtype=np.float32).reshape(2, 4)
    want = target.copy()
    cpu.scatter_set(want, (rows, cols), values)
    cuda_on_stub.scatter_set(target, (rows, cols), values)
    np.testing.assert_array_equal(target, want)
    np.testing.assert_array_equal(target, [[0, 2, 0, 4], [8, 0, 7, 0]])


def test_cuda_erf_keeps_the_float_dtype(cuda_on_stub):
    for dtype in (np.float16, np.float32, np.float64):
        x = np.array([-1.0, 0.25, 2.0], dtype=dtype)
        assert cuda_on_stub.erf(x).dtype == dtype
        assert cuda_on_stub.erfc(x).dtype == dtype
        # The CPU's float32 erf is a rational fit within 5e-7 (CuPy's kernel is libm's erff).
        np.testing.assert_allclose(cuda_on_stub.erf(x), cpu.erf(x), rtol=0, atol=5e-7)
    assert cuda_on_stub.erf(np.array([1, 2])).dtype == np.float64


def test_cuda_as_strided_is_a_view(cuda_on_stub):
    x = np.arange(6.0)
    w = cuda_on_stub.as_strided(x, (2, 3), (16, 8))
    np.testing.assert_array_equal(w, [[0, 1, 2], [2, 3, 4]])
    np.testing.assert_array_equal(cpu.as_strided(x, (2, 3), (16, 8)), w)


def test_cuda_refuses_bf16_with_a_clear_error(cuda_on_stub):
    msg = "unsupported dtype BF16 for op zeros on cuda (CuPy has no bfloat16)"
    with pytest.raises(UnsupportedDTypeForOp, match=msg.replace("(", r"\(").replace(")", r"\)")):
        cuda_on_stub.check_dtype(DType.BF16, "zeros")
    cuda_on_stub.check_dtype(DType.F16, "zeros")
    with pytest.raises(UnsupportedDTypeForOp, match="copy to cuda"):
        cuda_on_stub.from_host(np.zeros(2, dtype=ml_dtypes.bfloat16))


def test_tensor_api_on_a_stub_cuda_device(cuda_on_stub):
    """The Tensor API reaches the device's backend: ops through backends.of(xp)."""
    gpu = Device("cuda", 0, cuda_on_stub)
    assert backends.of(gpu.xp) is cuda_on_stub
    for make in (
        lambda: Tensor.zeros((2,), DType.BF16, gpu),
        lambda: Tensor.ones((2,), DType.BF16, gpu),
        lambda: Tensor.randn(0.0, 1.0, (2,), gpu, DType.BF16),
        lambda: Tensor.new([1.0], gpu, DType.BF16),
        lambda: Tensor.new([1.0], gpu).to_dtype(DType.BF16),
        lambda: Tensor.new([1.0], dtype=DType.BF16).to_device(gpu),
    ):
        with pytest.raises(UnsupportedDTypeForOp, match="CuPy has no bfloat16"):
            make()
    # scatter with repeated indices and scatter_add/index_add on i64, as on the CPU.
    ids = [[0, 0, 1], [2, 2, 2]]
    src = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    for device in (Device.Cpu, gpu):
        x = Tensor.zeros((2, 3), DType.F32, device)
        i = Tensor.new(ids, device, DType.U32)
        assert x.scatter(i, Tensor.new(src, device, DType.F32), 1).to_vec2() == [
            [2.0, 3.0, 0.0],
            [0.0, 0.0, 6.0],
        ]
        xi = Tensor.zeros((2, 3), DType.I64, device)
        assert xi.scatter_add(i, Tensor.new(ids, device, DType.I64), 1).to_vec2() == [
            [0, 1, 0],
            [0, 0, 6],
        ]
        u = Tensor.zeros((3,), DType.U8, device)
        assert u.index_add(
            Tensor.new([1, 1], device, DType.U32), Tensor.new([200, 100], device, DType.U8), 0
        ).to_vec1() == [0, 44, 0]
        assert x.erf().dtype == DType.F32


def test_cuda_defers_bad_index_checks_to_the_next_host_read(cuda_on_stub):
    """On a GPU an index or label check is a queued device flag, raised at the next read."""
    gpu = Device("cuda", 0, cuda_on_stub)
    assert cuda_on_stub.defers_checks and not cpu.defers_checks
    t = Tensor.new([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], gpu, DType.F32)
    picked = t.index_select(Tensor.new([4, 2, 1], gpu, DType.U32), 0)  # no raise yet, no sync
    assert len(cuda_on_stub._PENDING) == 1
    msg = "^index-select invalid index 4 with dim size 3$"
    with pytest.raises(wick.InvalidIndex, match=msg):
        picked.to_vec2()
    assert cuda_on_stub._PENDING == []  # reported once
    # The op ran on clamped ids (row 0 for the bad one), so nothing outside t was read.
    assert picked.to_vec2() == [[0.0, 1.0], [4.0, 5.0], [2.0, 3.0]]
    labels = Tensor.new([0, 3], gpu, DType.I64)
    loss.cross_entropy(t.narrow(0, 0, 2), labels)
    with pytest.raises(wick.InvalidIndex, match="^cross_entropy invalid index 3 with dim size 2$"):
        gpu.synchronize()
    ints = Tensor.new([6, 7], gpu, DType.I64)
    q = ints / Tensor.new([2, 0], gpu, DType.I64)
    with pytest.raises(wick.Msg, match=r"div: integer division by zero \(int64 tensor"):
        q.numpy()
    # Valid ids and the u32 skip sentinel queue a flag that is false: reads succeed.
    skip = Tensor.new([1, 2**32 - 1], gpu, DType.U32)
    assert t.index_select(skip, 0).to_vec2() == [[2.0, 3.0], [0.0, 0.0]]


def test_cuda_check_queue_is_bounded(cuda_on_stub, monkeypatch):
    monkeypatch.setattr(cuda_on_stub, "_MAX_PENDING", 3)
    flags = [np.asarray(False), np.asarray(False), np.asarray(True)]
    cuda_on_stub.check(flags[0], lambda: wick.Msg("first"))
    cuda_on_stub.check(flags[1], lambda: wick.Msg("second"))
    with pytest.raises(wick.Msg, match="^third$"):  # the third fills the queue: read now
        cuda_on_stub.check(flags[2], lambda: wick.Msg("third"))
    assert cuda_on_stub._PENDING == []


def test_cuda_select_makes_the_gpu_current(cuda_on_stub):
    cupy = sys.modules["cupy"]
    cuda_on_stub.select(1)
    assert cupy.cuda.Device.current == 1
    cuda_on_stub.select(0)
    assert cupy.cuda.Device.current == 0
    for bad in (2, -1):
        with pytest.raises(wick.DeviceUnavailable, match=f"cuda device {bad} requested but 2 GPU"):
            cuda_on_stub.select(bad)


def test_wrap_keeps_a_registered_backends_arrays_as_they_are():
    """graph.wrap must not pass a GPU array through the source device's asarray (to_device)."""

    class GpuArray(np.ndarray):
        pass

    class Namespace:
        ndarray = GpuArray

        @staticmethod
        def asarray(_):
            raise AssertionError("asarray called on a backend array")

    fake = types.SimpleNamespace(xp=Namespace)
    try:
        backends.register(fake)
        data = np.zeros(2).view(GpuArray)
        assert graph.wrap(data, Device.Cpu)._data is data
        assert graph.wrap(np.float64(2.0), Device.Cpu)._data.shape == ()  # a scalar: asarray
    finally:
        backends._BY_NAMESPACE.pop(Namespace, None)
        backends.ARRAY_TYPES.discard(GpuArray)


def test_a_cuda_tensor_prints_its_device_as_candle(cuda_on_stub):
    gpu = Device("cuda", 0, cuda_on_stub)
    t = Tensor.new([1, 2], gpu, DType.U32)
    assert str(t) == "[1, 2]\nTensor[[2], u32, cuda:0]"
    assert repr(t) == "Tensor[1, 2; u32, cuda:0]"
    assert t.to_device(Device.Cpu).device is Device.Cpu and t.to_device(Device.Cpu).to_vec1() == [
        1,
        2,
    ]
