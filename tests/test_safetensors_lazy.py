"""Lazy access: each file is opened and its header parsed once, then each name is read alone.

Before, ``MmapedSafetensors.load`` re-opened the file and re-parsed its header for every tensor
(quadratic: a 10,000-tensor file never finished through ``VarBuilder``). The timing is in
``benchmarks/bench_lazy_load.py``; here the counts and the consequences of one open handle.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import wick
import wick.safetensors as ws
from wick import DType, Tensor
from wick import safetensors_header as sh
from wick.nn import VarBuilder, VarMap


def _many(tmp_path, n: int = 2000):
    path = tmp_path / "many.safetensors"
    tensors = {f"layers.{i}.w": Tensor.new(np.full((2, 3), i, np.float32)) for i in range(n)}
    ws.save(tensors, path)
    return path, n


@pytest.fixture
def counted(monkeypatch):
    """Counts header parses and tensor reads."""
    counts = {"parse": 0, "read": 0}
    real_parse, real_read = sh.parse_header, ws._read_tensor

    def parse(*args):
        counts["parse"] += 1
        return real_parse(*args)

    def read(*args):
        counts["read"] += 1
        return real_read(*args)

    monkeypatch.setattr(sh, "parse_header", parse)
    monkeypatch.setattr(ws, "_read_tensor", read)
    return counts


def test_one_header_parse_for_every_name(tmp_path, counted):
    path, n = _many(tmp_path)
    files = ws.MmapedSafetensors(path)
    assert counted == {"parse": 1, "read": 0} and len(files) == n
    for i in range(n):
        assert files.load(f"layers.{i}.w").to_vec2() == [[i] * 3] * 2
    assert counted == {"parse": 1, "read": n}


def test_varbuilder_parses_once_and_reads_each_parameter_once(tmp_path, counted):
    path, n = _many(tmp_path)
    vb = VarBuilder.from_mmaped_safetensors([path], DType.F64)
    got = [vb.pp("layers").pp(i).get((2, 3), "w") for i in range(n)]
    assert got[7].dtype == DType.F64 and got[7].to_vec2() == [[7.0] * 3] * 2
    assert counted == {"parse": 1, "read": n}


def test_a_wrong_shape_is_caught_from_the_header_without_reading(tmp_path, counted):
    path, _ = _many(tmp_path, 3)
    vb = VarBuilder.from_mmaped_safetensors(path)
    with pytest.raises(wick.UnexpectedShape, match=r"shape mismatch for layers.1.w"):
        vb.get((3, 2), "layers.1.w")
    assert counted["read"] == 0


def test_varmap_load_checks_names_and_shapes_before_reading(tmp_path, counted):
    path, _ = _many(tmp_path, 3)
    vm = VarMap()
    for i in range(3):
        vm.get((2, 3) if i != 1 else (6,), f"layers.{i}.w", wick.nn.Init.Const(0.0))
    with pytest.raises(wick.nn.var_map.CheckpointMismatch, match="layers.1.w"):
        vm.load(path)
    assert counted == {"parse": 1, "read": 0}


def test_the_open_file_is_read_even_if_replaced_or_removed(tmp_path):
    # One handle per file: a save over the path later does not mix two files in one model.
    path, _ = _many(tmp_path, 4)
    files = ws.MmapedSafetensors(path)
    ws.save({"other": Tensor.new([1.0])}, path)
    assert files.load("layers.3.w").to_vec2() == [[3.0] * 3] * 2
    if os.name != "nt":
        os.unlink(path)
        assert files.load("layers.2.w").to_vec2() == [[2.0] * 3] * 2
    files.close()
    with pytest.raises(wick.SafeTensorError, match="the files were closed"):
        files.load("layers.0.w")


def test_later_files_win_and_context_manager_closes(tmp_path):
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    ws.save({"x": Tensor.new([1.0]), "y": Tensor.new([2.0])}, a)
    ws.save({"x": Tensor.new([9.0])}, b)
    with ws.MmapedSafetensors([a, b]) as files:
        assert files.load("x").to_vec1() == [9.0] and files.load("y").to_vec1() == [2.0]
        assert files.info("y") == ws.TensorInfo("F64", (1,), 8, 16)
    with pytest.raises(wick.SafeTensorError):
        files.load("y")


def test_a_bad_second_file_closes_the_first(tmp_path, monkeypatch):
    good, bad = tmp_path / "good.safetensors", tmp_path / "bad.safetensors"
    ws.save({"w": Tensor.new([1.0])}, good)
    bad.write_bytes(b"\0" * 3)
    opened = []
    real_open = sh.open_regular

    def spy(path):
        f, size = real_open(path)
        opened.append(f)
        return f, size

    monkeypatch.setattr(ws, "open_regular", spy)
    with pytest.raises(wick.SafeTensorError, match="header too small"):
        ws.MmapedSafetensors([good, bad])
    assert len(opened) == 2 and all(f.closed for f in opened)
