"""wick.safetensors: interop with the ``safetensors`` package, hostile files, atomic writes.

Candle cases that do not apply here:
- candle-core/src/safetensors.rs's `convert_slice` / `Load` trait / `unsafe` mmap are Rust
  mechanics; wick reads the format itself (one checked header per file), so the tests below
  check byte-exact interop with the `safetensors` package in both directions instead.
- Candle's F8E4M3 / F6 / F4 dtypes: wick has no such DType, so those files must raise
  SafeTensorError (tested) rather than load.
"""

import json
import os
import resource
import stat
import struct
import time

import ml_dtypes
import numpy as np
import pytest
import safetensors
from safetensors import numpy as st_numpy
from safetensors import safe_open

import wick
import wick.safetensors as ws
from wick import DType, Tensor

# (DType, values) with each dtype's extremes, so a byte-level mix-up would show.
DTYPE_CASES = [
    (DType.U8, np.array([0, 1, 127, 255], np.uint8)),
    (DType.U32, np.array([0, 1, 2**31, 2**32 - 1], np.uint32)),
    (DType.I16, np.array([-(2**15), -1, 0, 2**15 - 1], np.int16)),
    (DType.I32, np.array([-(2**31), -1, 7, 2**31 - 1], np.int32)),
    (DType.I64, np.array([-(2**63), -1, 2**53 + 1, 2**63 - 1], np.int64)),
    (DType.BF16, np.array([1.0, -2.5, 3.140625, -0.0], ml_dtypes.bfloat16)),
    (DType.F16, np.array([65504.0, -6.0e-8, 0.1, np.inf], np.float16)),
    (DType.F32, np.array([3.4028235e38, -1.0e-45, 0.1, -np.inf], np.float32)),
    (DType.F64, np.array([1.7976931348623157e308, 5e-324, 0.1, np.nan], np.float64)),
]


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


# ----- interop: files written by the safetensors package load into wick ---------------------


@pytest.mark.parametrize("dtype,values", DTYPE_CASES, ids=[d.name for d, _ in DTYPE_CASES])
def test_package_numpy_file_loads_exactly(tmp_path, dtype, values):
    path = tmp_path / "pkg.safetensors"
    arrays = {"vec": values, "mat": np.resize(values, (3, 4)), "scalar": values[:1].reshape(())}
    st_numpy.save_file(arrays, str(path))
    loaded = ws.load(path)
    assert sorted(loaded) == ["mat", "scalar", "vec"]
    for name, expected in arrays.items():
        t = loaded[name]
        assert t.dtype == dtype
        assert t.shape == expected.shape
        assert _same_bytes(t.numpy(), expected)


def test_package_raw_serialize_bf16_loads_exactly(tmp_path):
    # Raw bf16 bit patterns: 1.0, -2.0, +inf, smallest subnormal, 1.5, 3.140625.
    bits = np.array([[0x3F80, 0xC000, 0x7F80], [0x0001, 0x3FC0, 0x4049]], np.uint16)
    spec = safetensors.TensorSpec(
        dtype="bfloat16", shape=[2, 3], data_ptr=bits.ctypes.data, data_len=bits.nbytes
    )
    path = tmp_path / "raw.safetensors"
    path.write_bytes(bytes(safetensors.serialize({"b": spec}, metadata={"src": "raw"})))
    t = ws.load(path)["b"]
    assert t.dtype == DType.BF16
    assert t.shape == (2, 3)
    assert t.numpy().view(np.uint16).tobytes() == bits.tobytes()
    assert t.to_dtype(DType.F32).to_vec2() == [
        [1.0, -2.0, float("inf")],
        [float(np.float32(2.0**-133)), 1.5, 3.140625],
    ]
    assert ws.read_metadata(path) == {"src": "raw"}


@pytest.mark.parametrize("dtype,values", DTYPE_CASES, ids=[d.name for d, _ in DTYPE_CASES])
def test_wick_file_loads_in_package_exactly(tmp_path, dtype, values):
    path = tmp_path / "wick.safetensors"
    ws.save({"v": Tensor.new(values), "m": Tensor.new(np.resize(values, (2, 2)))}, path)
    back = st_numpy.load_file(str(path))
    assert sorted(back) == ["m", "v"]
    assert _same_bytes(back["v"], values)
    assert _same_bytes(back["m"], np.resize(values, (2, 2)))


def test_scalar_and_empty_shapes_round_trip(tmp_path):
    # np.ascontiguousarray used to turn a 0-d tensor into shape [1] on save and on load.
    path = tmp_path / "shapes.safetensors"
    tensors = {
        "scalar": Tensor.new(np.float32(2.5)),
        "empty": Tensor.zeros((0,), DType.F32),
        "empty3": Tensor.zeros((2, 0, 3), DType.I64),
    }
    ws.save(tensors, path)
    back = st_numpy.load_file(str(path))
    assert {k: v.shape for k, v in back.items()} == {
        "scalar": (),
        "empty": (0,),
        "empty3": (2, 0, 3),
    }
    loaded = ws.load(path)
    assert loaded["scalar"].shape == () and loaded["scalar"].to_scalar() == 2.5
    assert loaded["empty"].shape == (0,)
    assert loaded["empty3"].shape == (2, 0, 3) and loaded["empty3"].dtype == DType.I64


def test_non_contiguous_tensor_saves_its_logical_values(tmp_path):
    path = tmp_path / "t.safetensors"
    t = Tensor.new(np.arange(6, dtype=np.float32).reshape(2, 3)).t()
    ws.save({"t": t}, path)
    np.testing.assert_array_equal(st_numpy.load_file(str(path))["t"], [[0, 3], [1, 4], [2, 5]])


def test_metadata_round_trips_both_ways(tmp_path):
    meta = {"format": "pt", "epoch": "3", "note": "ünïcode ✓", "empty": ""}
    wick_path = tmp_path / "w.safetensors"
    ws.save({"x": Tensor.ones((2,), DType.F32)}, wick_path, metadata=meta)
    with safe_open(str(wick_path), framework="numpy") as f:
        assert f.metadata() == meta
    tensors, got = ws.load_with_metadata(wick_path)
    assert got == meta and list(tensors) == ["x"]
    assert ws.read_metadata(wick_path) == meta

    pkg_path = tmp_path / "p.safetensors"
    st_numpy.save_file({"y": np.zeros(1, np.float32)}, str(pkg_path), metadata=meta)
    assert ws.read_metadata(pkg_path) == meta
    ws.save({"x": Tensor.ones((2,), DType.F32)}, wick_path)
    assert ws.read_metadata(wick_path) == {}


def test_tensor_save_safetensors(tmp_path):
    path = tmp_path / "one.safetensors"
    Tensor.new([[1.0, 2.0], [3.0, 4.0]]).save_safetensors("weight", path)
    back = st_numpy.load_file(str(path))
    assert list(back) == ["weight"]
    assert back["weight"].dtype == np.float64
    np.testing.assert_array_equal(back["weight"], [[1.0, 2.0], [3.0, 4.0]])
    assert ws.load(path)["weight"].to_vec2() == [[1.0, 2.0], [3.0, 4.0]]


def test_load_buffer(tmp_path):
    data = st_numpy.save({"a": np.arange(4, dtype=np.int32), "b": np.ones((2, 2), np.float16)})
    for buf in (data, bytearray(data), memoryview(data)):
        loaded = ws.load_buffer(buf)
        assert loaded["a"].dtype == DType.I32 and loaded["a"].to_vec1() == [0, 1, 2, 3]
        assert loaded["b"].dtype == DType.F16 and loaded["b"].to_vec2() == [[1.0, 1.0], [1.0, 1.0]]
    path = tmp_path / "buf.safetensors"
    ws.save({"c": Tensor.new(np.array([7, 8, 9], np.uint32))}, path)
    assert ws.load_buffer(path.read_bytes())["c"].to_vec1() == [7, 8, 9]


def test_mmaped_safetensors_over_several_files(tmp_path, monkeypatch):
    p1, p2 = tmp_path / "part1.safetensors", tmp_path / "part2.safetensors"
    st_numpy.save_file({"a": np.array([1.0, 2.0], np.float32)}, str(p1))
    st_numpy.save_file({"b": np.arange(6, dtype=np.int64).reshape(2, 3), "c": np.zeros(1)}, str(p2))
    reads = []
    real_read = ws._read_tensor

    def counting_read(f, header, name, path, *args):
        reads.append((name, os.path.basename(path)))
        return real_read(f, header, name, path, *args)

    monkeypatch.setattr(ws, "_read_tensor", counting_read)
    files = ws.MmapedSafetensors([p1, str(p2)])
    assert reads == []  # opening reads headers only
    assert sorted(files.tensors()) == ["a", "b", "c"] and len(files) == 3
    assert "b" in files and "z" not in files
    assert files.shape_of("b") == (2, 3)
    assert reads == []
    assert files.load("b").to_vec2() == [[0, 1, 2], [3, 4, 5]]
    assert reads == [("b", "part2.safetensors")]
    assert files.get("a").to_vec1() == [1.0, 2.0]
    assert reads == [("b", "part2.safetensors"), ("a", "part1.safetensors")]
    with pytest.raises(wick.CannotFindTensor) as info:
        files.load("missing.weight")
    assert str(info.value) == "cannot find tensor missing.weight"
    assert isinstance(info.value, KeyError)
    with pytest.raises(wick.CannotFindTensor):
        files.shape_of("missing.weight")
    assert len(reads) == 2


def test_mmaped_safetensors_single_path_and_bad_member(tmp_path):
    good = tmp_path / "good.safetensors"
    ws.save({"w": Tensor.new([1.0])}, good)
    assert ws.MmapedSafetensors(good).load("w").to_vec1() == [1.0]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    with pytest.raises(wick.SafeTensorError) as info:
        ws.MmapedSafetensors([good, bad])
    assert str(bad) in str(info.value)


def test_unsupported_dtypes_raise_safetensor_error(tmp_path):
    for arr in (np.zeros(2, np.uint16), np.zeros(2, np.int8), np.zeros(2, np.uint64)):
        path = tmp_path / f"{arr.dtype}.safetensors"
        st_numpy.save_file({"x": arr}, str(path))
        with pytest.raises(wick.SafeTensorError, match="unsupported dtype") as info:
            ws.load(path)
        assert str(path) in str(info.value)
        with pytest.raises(wick.SafeTensorError):
            ws.load_buffer(path.read_bytes())


def test_saved_file_gets_ordinary_permissions(tmp_path):
    # The temporary file used to come from mkstemp, so checkpoints ended up 0600.
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    path = tmp_path / "m.safetensors"
    ws.save({"x": Tensor.new([1.0])}, path)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


# ----- hostile or malformed files -------------------------------------------------------------


def _header_file(header, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _valid_file() -> bytes:
    return st_numpy.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(4)})


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _assert_rejected(path, data: bytes | None = None) -> list:
    """Every reader raises SafeTensorError naming ``path``, fast and without a big allocation."""
    rss = _max_rss_mb()
    messages = []
    readers = [ws.load, ws.read_metadata, ws.load_with_metadata, ws.MmapedSafetensors]
    for reader in readers:
        start = time.perf_counter()
        with pytest.raises(wick.SafeTensorError) as info:
            reader(path)
        assert time.perf_counter() - start < 2.0, reader
        assert type(info.value) is wick.SafeTensorError
        assert isinstance(info.value, OSError) and isinstance(info.value, wick.Error)
        assert str(path) in str(info.value)
        messages.append(str(info.value))
    if data is not None:
        start = time.perf_counter()
        with pytest.raises(wick.SafeTensorError) as info:
            ws.load_buffer(data)
        assert time.perf_counter() - start < 2.0
        assert "<buffer>" in str(info.value)
    assert _max_rss_mb() - rss < 200, "a reader allocated what the header claims"
    return messages


def _write(tmp_path, data: bytes):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    return path


def test_truncated_data(tmp_path):
    data = _valid_file()[:-5]
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "go past the end of the data" in msgs[0] and "truncated" in msgs[0]


def test_truncated_header(tmp_path):
    data = _valid_file()[:20]
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "invalid header length" in msgs[0]


def test_random_garbage(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    _assert_rejected(_write(tmp_path, data), data)


def test_oversized_header_length(tmp_path):
    data = struct.pack("<Q", 10**12) + b"{}" + b"\x00" * 30
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "header too large" in msgs[0]


def test_header_length_past_end_of_file(tmp_path):
    data = struct.pack("<Q", 10**6) + b'{"a": 1}'
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "invalid header length" in msgs[0]


def test_header_not_json(tmp_path):
    data = struct.pack("<Q", 10) + b"not json!!" + b"\x00" * 8
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "invalid JSON" in msgs[0]


def test_header_not_utf8(tmp_path):
    raw = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}\xff\xfe'
    data = struct.pack("<Q", len(raw)) + raw + b"\x00"
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "UTF-8" in msgs[0]


def test_overlapping_offsets(tmp_path):
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    data = _header_file(header, b"\x00" * 12)
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "tensor 'b': data_offsets [4, 12] overlap tensor 'a' (which ends at 8)" in msgs[0]


def test_offsets_beyond_data(tmp_path):
    data = _header_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8)
    _assert_rejected(_write(tmp_path, data), data)


def test_giant_shape_with_small_offsets(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 8]}}
    data = _header_file(header, b"\x00" * 8)
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "needs 4e+18 bytes, its data_offsets [0, 8] hold 8" in msgs[0]


def test_large_shape_not_matching_offsets(tmp_path):
    # 40 GB claimed without overflowing u64: must be caught by the size check, not allocated.
    header = {"a": {"dtype": "F32", "shape": [10**5, 10**5], "data_offsets": [0, 8]}}
    data = _header_file(header, b"\x00" * 8)
    msgs = _assert_rejected(_write(tmp_path, data), data)
    assert "tensor 'a': F32 of shape [100000, 100000] needs 4e+10 bytes" in msgs[0]


def test_unknown_dtype_in_header(tmp_path):
    data = _header_file({"a": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8)
    _assert_rejected(_write(tmp_path, data), data)


def test_float8_tensor_raises_instead_of_leaking(tmp_path):
    # The package raises AttributeError (file) / KeyError (buffer) as NumPy has no float8 type.
    for dtype in ("F8_E4M3", "F8_E5M2"):
        header = {"a": {"dtype": dtype, "shape": [2], "data_offsets": [0, 2]}}
        data = _header_file(header, b"\x01\x02")
        path = _write(tmp_path, data)
        for reader in (ws.load, lambda p: ws.MmapedSafetensors(p).load("a")):
            with pytest.raises(wick.SafeTensorError) as info:
                reader(path)
            assert str(path) in str(info.value)
        with pytest.raises(wick.SafeTensorError):
            ws.load_buffer(data)


def test_non_existent_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    msgs = _assert_rejected(path)
    assert msgs[0] == f"{path}: no such file"


def test_directory_instead_of_file(tmp_path):
    msgs = _assert_rejected(tmp_path)
    assert msgs[0] == f"{tmp_path}: is a directory, not a safetensors file"


def test_empty_file(tmp_path):
    msgs = _assert_rejected(_write(tmp_path, b""), b"")
    assert "header too small" in msgs[0]


def test_buffer_of_wrong_type():
    with pytest.raises(wick.SafeTensorError):
        ws.load_buffer(12)


# ----- atomic writes --------------------------------------------------------------------------


def _old_file(tmp_path):
    path = tmp_path / "model.safetensors"
    ws.save({"w": Tensor.new([1.0, 2.0, 3.0])}, path, metadata={"v": "old"})
    return path, path.read_bytes()


def _assert_untouched(tmp_path, path, old: bytes):
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind
    assert ws.load(path)["w"].to_vec1() == [1.0, 2.0, 3.0]


def _new_tensors():
    return {"w": Tensor.new([9.0, 9.0, 9.0]), "extra": Tensor.zeros((1000,), DType.F32)}


def test_crash_in_rename_keeps_old_file(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def failing_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save(_new_tensors(), path)
    assert str(info.value) == f"{path}: cannot write: Input/output error"
    monkeypatch.undo()
    _assert_untouched(tmp_path, path, old)


def test_disk_full_mid_write_keeps_old_file(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def half_write(f, header, arrays, order):
        f.write(header[: len(header) // 2])
        f.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ws, "_write_data", half_write)
    with pytest.raises(wick.SafeTensorError, match="No space left on device") as info:
        ws.save(_new_tensors(), path)
    assert str(path) in str(info.value)
    monkeypatch.undo()
    _assert_untouched(tmp_path, path, old)


def test_fsync_failure_keeps_old_file(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(wick.SafeTensorError):
        ws.save(_new_tensors(), path)
    monkeypatch.undo()
    _assert_untouched(tmp_path, path, old)


def test_serializer_failure_keeps_old_file(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def failing_write(f, header, arrays, order):
        f.write(header)
        raise RuntimeError("serializer exploded")

    monkeypatch.setattr(ws, "_write_data", failing_write)
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save(_new_tensors(), path)
    assert str(info.value) == f"{path}: cannot write: serializer exploded"
    monkeypatch.undo()
    _assert_untouched(tmp_path, path, old)


def test_interrupt_mid_save_propagates_and_cleans_up(tmp_path, monkeypatch):
    path, old = _old_file(tmp_path)

    def interrupted_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        ws.save(_new_tensors(), path)
    monkeypatch.undo()
    _assert_untouched(tmp_path, path, old)


def test_successful_overwrite_replaces_file(tmp_path):
    path, old = _old_file(tmp_path)
    ws.save(_new_tensors(), path)
    assert path.read_bytes() != old
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert ws.load(path)["w"].to_vec1() == [9.0, 9.0, 9.0]
    assert ws.read_metadata(path) == {}


def test_save_into_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save({"w": Tensor.new([1.0])}, path)
    assert str(info.value) == f"{path}: cannot write: No such file or directory"
    assert not (tmp_path / "no").exists()


def test_save_under_a_regular_file(tmp_path):
    parent = tmp_path / "file"
    parent.write_bytes(b"x")
    path = parent / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save({"w": Tensor.new([1.0])}, path)
    assert str(path) in str(info.value)
    assert parent.read_bytes() == b"x"


def test_save_into_read_only_directory(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode: refuse the create like the OS
            real_open = os.open

            def denied_open(p, flags, mode=0o777, **kw):
                if os.path.dirname(p) == str(folder):
                    raise PermissionError(13, "Permission denied")
                return real_open(p, flags, mode, **kw)

            monkeypatch.setattr(os, "open", denied_open)
        path = folder / "m.safetensors"
        with pytest.raises(wick.SafeTensorError) as info:
            ws.save({"w": Tensor.new([1.0])}, path)
        assert str(info.value) == f"{path}: cannot write: Permission denied"
        monkeypatch.undo()
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


def test_save_onto_a_directory(tmp_path):
    target = tmp_path / "dir.safetensors"
    target.mkdir()
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save({"w": Tensor.new([1.0])}, target)
    assert str(target) in str(info.value)
    assert target.is_dir() and os.listdir(tmp_path) == ["dir.safetensors"]


@pytest.mark.parametrize(
    "metadata", [{"epoch": 3}, {"k": None}, {1: "a"}, [("a", "b")], "a=b"], ids=repr
)
def test_bad_metadata_raises_before_writing(tmp_path, metadata):
    path = tmp_path / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save({"w": Tensor.new([1.0])}, path, metadata=metadata)
    assert str(info.value) == f"{path}: metadata must map strings to strings"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "tensors,message",
    [
        ({"w": np.zeros(2)}, "value for 'w' is not a Tensor"),
        ({1: Tensor.new([1.0])}, "tensor names must be strings, got 1"),
        ([Tensor.new([1.0])], "tensors must be a dict, got list"),
    ],
    ids=["not-a-tensor", "int-name", "list"],
)
def test_bad_tensors_argument_raises(tmp_path, tensors, message):
    path = tmp_path / "m.safetensors"
    with pytest.raises(wick.SafeTensorError) as info:
        ws.save(tensors, path)
    assert str(info.value) == f"{path}: {message}"
    assert os.listdir(tmp_path) == []
