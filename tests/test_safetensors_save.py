"""safetensors.save refuses what no reader could load, before touching the file, and writes
files the ``safetensors`` package reads byte for byte (header padded, tensors aligned)."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from safetensors import numpy as st_numpy

import wick
import wick.safetensors as ws
from wick import DType, Tensor
from wick.nn import VarMap


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "model.safetensors"
    ws.save({"w": Tensor.new([1.0, 2.0])}, path, {"v": "good"})
    return path, path.read_bytes()


def _assert_intact(path, old: bytes) -> None:
    assert path.read_bytes() == old
    assert os.listdir(path.parent) == [path.name]  # and no temporary file
    assert ws.load(path)["w"].to_vec1() == [1.0, 2.0]


@pytest.mark.parametrize(
    "tensors,metadata,message",
    [
        # Before: the package wrote {"__metadata__": <a tensor>}, a file nobody could load.
        (
            {"__metadata__": Tensor.new([1.0])},
            None,
            "the tensor name '__metadata__' is reserved by the format for the metadata",
        ),
        ({"": Tensor.new([1.0])}, None, "a tensor name cannot be empty"),
        ({("a", 1): Tensor.new([1.0])}, None, "tensor names must be strings, got ('a', 1)"),
        ({"w": [1.0]}, None, "value for 'w' is not a Tensor"),
        ({"w": Tensor.new([1.0])}, {"epoch": 3}, "metadata must map strings to strings"),
        ({"w": Tensor.new([1.0])}, {"k": b"v"}, "metadata must map strings to strings"),
        ({"bad\udc80name": Tensor.new([1.0])}, None, "cannot encode 'bad\\udc80name' as UTF-8"),
        ({"w": Tensor.new([1.0])}, {"k": "\ud800"}, "cannot encode ('k', '\\ud800') as UTF-8"),
    ],
    ids=[
        "reserved",
        "empty",
        "tuple-name",
        "not-tensor",
        "int-meta",
        "bytes-meta",
        "surrogate-name",
        "surrogate-meta",
    ],
)
def test_refused_saves_leave_the_good_file(good, tensors, metadata, message):
    path, old = good
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save(tensors, path, metadata)
    assert str(info.value).startswith(f"{path}: {message}")
    _assert_intact(path, old)


def test_varmap_save_refuses_the_reserved_name(good):
    path, old = good
    vm = VarMap()
    vm.insert("__metadata__", wick.Var.new([1.0]))
    with pytest.raises(wick.SafeTensorError, match="reserved"):
        vm.save(path)
    _assert_intact(path, old)


def test_a_non_path_is_refused():
    with pytest.raises(wick.SafeTensorError, match="expected a file path, got float"):
        ws.save({"w": Tensor.new([1.0])}, 3.5)
    with pytest.raises(wick.SafeTensorError, match="expected a file path, got list"):
        ws.load([1])


def test_layout_is_the_package_layout(tmp_path):
    # Header padded with spaces to 8 bytes; wider dtypes first so every tensor is aligned.
    path = tmp_path / "m.safetensors"
    tensors = {
        "a_u8": Tensor.new(np.arange(3, dtype=np.uint8)),
        "b_f64": Tensor.new(np.array([1.5, -2.0])),
        "c_f16": Tensor.new(np.array([0.5], np.float16)),
        "d_i64": Tensor.new(np.array([7], np.int64)),
    }
    ws.save(tensors, path, {"k": "ünï"})
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0 and blob[8 + n - 1 : 8 + n] in (b" ", b"}")
    header = json.loads(blob[8 : 8 + n])
    assert header["__metadata__"] == {"k": "ünï"}
    starts = {k: v["data_offsets"][0] for k, v in header.items() if k != "__metadata__"}
    assert starts == {"b_f64": 0, "d_i64": 16, "c_f16": 24, "a_u8": 26}
    back = st_numpy.load_file(str(path))
    assert back["b_f64"].tolist() == [1.5, -2.0] and back["a_u8"].tolist() == [0, 1, 2]
    # And the package's own file, saved from the same arrays, loads to the same values in wick.
    st_numpy.save_file({k: v for k, v in back.items()}, str(tmp_path / "p.safetensors"))
    theirs = ws.load(tmp_path / "p.safetensors")
    for name, t in ws.load(path).items():
        assert t.dtype == theirs[name].dtype and t.to_vec1() == theirs[name].to_vec1()


def test_bf16_round_trips_through_the_package(tmp_path):
    path = tmp_path / "b.safetensors"
    t = Tensor.new([1.0, -2.5, 3.140625]).to_dtype(DType.BF16)
    ws.save({"b": t}, path)
    back = st_numpy.load_file(str(path))["b"]
    assert back.dtype.name == "bfloat16" and back.astype(np.float32).tolist() == [
        1.0,
        -2.5,
        3.140625,
    ]
    assert ws.load(path)["b"].to_dtype(DType.F32).to_vec1() == [1.0, -2.5, 3.140625]
