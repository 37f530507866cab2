"""Hostile safetensors files: every reader (load, load_buffer, MmapedSafetensors, VarBuilder,
VarMap.load, ``wick inspect``) goes through the one header check and refuses the same files,
at once, with a SafeTensorError (inspect: one line, exit 2) naming the file and the tensor."""

from __future__ import annotations

import json
import os
import stat
import struct
import threading
import time

import numpy as np
import pytest

import wick
import wick.safetensors as ws
from wick import DType, Tensor
from wick import safetensors_header as sh
from wick.cli import inspect as cli_inspect
from wick.cli.errors import CliError
from wick.nn import VarBuilder, VarMap


def _file(header, data: bytes = b"", raw: bytes | None = None) -> bytes:
    raw = json.dumps(header).encode() if raw is None else raw
    return struct.pack("<Q", len(raw)) + raw + data


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)) -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def _readers():
    """Every way wick reads a file, each reading every tensor it can."""
    return {
        "load": ws.load,
        "load_with_metadata": ws.load_with_metadata,
        "read_metadata": ws.read_metadata,
        "read_header": ws.read_header,
        "MmapedSafetensors": ws.MmapedSafetensors,
        "VarBuilder": lambda p: VarBuilder.from_mmaped_safetensors([p]),
        "VarMap.load": lambda p: VarMap().load(p),
    }


def _assert_every_reader_refuses(path, data: bytes | None, *fragments) -> None:
    for name, reader in _readers().items():
        with pytest.raises(wick.SafeTensorError) as info:
            reader(path)
        text = str(info.value)
        assert text.startswith(f"{path}: "), (name, text)
        for fragment in fragments:
            assert fragment in text, (name, text)
    if data is not None:
        with pytest.raises(wick.SafeTensorError) as info:
            ws.load_buffer(data)
        for fragment in fragments:
            assert fragment in str(info.value)
    with pytest.raises(CliError) as info:
        cli_inspect.read_header(str(path))
    line = str(info.value)
    assert line.startswith(f"{path} is not a safetensors file (") and "\n" not in line
    for fragment in fragments:
        assert fragment in line, line


def _write(tmp_path, data: bytes):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(data)
    return path


# ----- one check, the same answer everywhere -----------------------------------------------------

CASES = {
    # The safetensors package keeps the last of duplicate names silently; wick refuses.
    "duplicate-name": (
        b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
        b'"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
        b"\x07",
        ["duplicate key 'a' in the header"],
    ),
    "duplicate-field": (
        b'{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}}',
        b"\x07",
        ["duplicate key 'dtype' in the header"],
    ),
    "duplicate-metadata": (
        b'{"__metadata__":{"k":"1","k":"2"}}',
        b"",
        ["duplicate key 'k' in the header"],
    ),
    "overlap": (
        json.dumps({"a": _entry(offsets=(0, 8)), "b": _entry(offsets=(4, 12))}).encode(),
        b"\0" * 12,
        ["tensor 'b': data_offsets [4, 12] overlap tensor 'a'"],
    ),
    "gap": (
        json.dumps({"a": _entry(offsets=(0, 8)), "b": _entry(offsets=(12, 20))}).encode(),
        b"\0" * 20,
        ["tensor 'b': data_offsets start at 12, leaving a gap after byte 8"],
    ),
    "past-the-end": (
        json.dumps({"a": _entry(shape=(4,), offsets=(0, 16))}).encode(),
        b"\0" * 8,
        ["tensor 'a': data_offsets [0, 16] go past the end of the data (8 bytes)"],
    ),
    "bytes-left-over": (
        json.dumps({"a": _entry()}).encode(),
        b"\0" * 12,
        ["the tensors cover 8 bytes of data but the file holds 12"],
    ),
    "unknown-dtype": (
        json.dumps({"w": _entry(dtype="F9")}).encode(),
        b"\0" * 8,
        ["tensor 'w': unknown dtype 'F9'"],
    ),
    "size-mismatch": (
        json.dumps({"w": _entry(shape=(3,), offsets=(0, 16))}).encode(),
        b"\0" * 16,
        ["tensor 'w': F32 of shape [3] needs 12 bytes, its data_offsets [0, 16] hold 16"],
    ),
    "bool-in-shape": (
        b'{"w":{"dtype":"U8","shape":[true],"data_offsets":[0,1]}}',
        b"\0",
        ["tensor 'w': shape must be a list of non-negative integers, got [True]"],
    ),
    "negative-offset": (
        json.dumps({"w": _entry(offsets=(-8, 0))}).encode(),
        b"",
        ["tensor 'w': data_offsets must be [start, end], got [-8, 0]"],
    ),
    "reversed-offsets": (
        json.dumps({"w": _entry(shape=(0,), offsets=(8, 0))}).encode(),
        b"\0" * 8,
        ["tensor 'w': data_offsets [8, 0] end before they start"],
    ),
    "entry-not-object": (
        json.dumps({"w": [1, 2]}).encode(),
        b"",
        ["tensor 'w': its header entry is not a JSON object"],
    ),
    "missing-field": (
        json.dumps({"w": {"dtype": "F32", "shape": [2]}}).encode(),
        b"\0" * 8,
        ["tensor 'w': its header entry lacks 'data_offsets'"],
    ),
    "metadata-not-strings": (
        json.dumps({"__metadata__": {"epoch": 3}}).encode(),
        b"",
        ["__metadata__ must map strings to strings"],
    ),
    "header-not-object": (b"[1, 2, 3]", b"", ["header is not a JSON object"]),
    "not-json": (b"{not json", b"", ["invalid JSON in header"]),
    "deep-nesting": (b"[" * 100_000 + b"]" * 100_000, b"", ["invalid JSON in header"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_reader_refuses_the_same_malformed_header(tmp_path, case):
    raw, data, fragments = CASES[case]
    blob = _file(None, data, raw=raw)
    _assert_every_reader_refuses(_write(tmp_path, blob), blob, *fragments)


def test_over_limit_header_is_reported_as_such_not_as_a_short_file(tmp_path):
    blob = struct.pack("<Q", ws.MAX_HEADER_BYTES + 1) + b"{}" + b"\0" * 6
    _assert_every_reader_refuses(
        _write(tmp_path, blob), blob, "header too large", "over the format's limit of 100,000,000"
    )
    # At the limit, a short file is a short file.
    blob = struct.pack("<Q", ws.MAX_HEADER_BYTES) + b"{}"
    _assert_every_reader_refuses(_write(tmp_path, blob), blob, "invalid header length")


def test_too_many_tensors_are_refused_before_parsing(tmp_path):
    n = ws.MAX_TENSORS + 1
    parts = [f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(n)]
    raw = ("{" + ",".join(parts) + "}").encode()
    path = _write(tmp_path, _file(None, b"\0" * n, raw=raw))
    start = time.perf_counter()
    with pytest.raises(wick.SafeTensorError, match="more than 100,000 tensors"):
        ws.read_header(path)
    assert time.perf_counter() - start < 1.0  # counted in the raw bytes, not parsed


def test_too_many_objects_stop_the_parse(monkeypatch):
    # Entries without data_offsets escape the byte count; the parser's own budget stops them.
    monkeypatch.setattr(sh, "MAX_TENSORS", 50)
    raw = json.dumps({f"t{i}": {"dtype": "U8"} for i in range(60)}).encode()
    with pytest.raises(wick.SafeTensorError, match="more than 50 tensors"):
        sh.parse_header(raw, 0, "<test>")
    ok = json.dumps({f"t{i}": _entry("U8", (1,), (i, i + 1)) for i in range(50)}).encode()
    assert len(sh.parse_header(ok, 50, "<test>").tensors) == 50


def test_a_file_at_the_limits_loads():
    names = [f"t{i}" for i in range(1000)]
    raw = json.dumps({n: _entry("U8", (1,), (i, i + 1)) for i, n in enumerate(names)}).encode()
    header = sh.parse_header(raw, 1000, "<test>")
    assert list(header.tensors) == sorted(names)
    assert header.tensors["t999"] == sh.TensorInfo("U8", (1,), 999, 1000)


def test_zero_size_tensors_may_share_an_offset(tmp_path):
    header = {
        "a": _entry("F32", (0,), (0, 0)),
        "b": _entry("F32", (2, 0), (0, 0)),
        "c": _entry("U8", (1,), (0, 1)),
    }
    path = _write(tmp_path, _file(header, b"\x05"))
    got = ws.load(path)
    assert got["a"].shape == (0,) and got["b"].shape == (2, 0) and got["c"].to_vec1() == [5]


# ----- special files: refused before they are opened for reading, never blocking ----------------


def _refuses_within(reader, path, seconds: float = 5.0) -> str:
    """The message ``reader(path)`` raises, run in a daemon thread so a hang fails the test."""
    outcome = {}

    def run():
        try:
            reader(path)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{reader} blocked on {path}"
    assert isinstance(outcome["error"], (wick.SafeTensorError, CliError)), outcome["error"]
    return str(outcome["error"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    readers = {**_readers(), "inspect": lambda p: cli_inspect.read_header(str(p))}
    for name, reader in readers.items():
        message = _refuses_within(reader, fifo)
        assert "a FIFO (named pipe)" in message, (name, message)
    # Nor is a FIFO ever written over.
    with pytest.raises(wick.SafeTensorError, match="not a regular file"):
        ws.save({"w": Tensor.new([1.0])}, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_at_once():
    for reader in _readers().values():
        assert "is a device, not a safetensors file" in _refuses_within(reader, "/dev/zero")


def test_a_folder_is_refused_by_every_reader(tmp_path):
    for reader in _readers().values():
        message = _refuses_within(reader, tmp_path)
        assert message == f"{tmp_path}: is a directory, not a safetensors file"


# ----- dtypes the format names but wick does not hold --------------------------------------------


def test_foreign_dtypes_pass_the_check_but_not_the_load(tmp_path):
    header = {"a": _entry("F8_E4M3", (2,), (0, 2)), "b": _entry("F32", (1,), (2, 6))}
    blob = _file(header, b"\x01\x02" + np.float32(1.5).tobytes())
    path = _write(tmp_path, blob)
    assert ws.read_header(path).tensors["a"].dtype == "F8_E4M3"  # inspect can list it
    files = ws.MmapedSafetensors(path)
    assert files.load("b").to_vec1() == [1.5]  # the others stay readable lazily
    with pytest.raises(wick.SafeTensorError, match="tensor 'a': unsupported dtype F8_E4M3"):
        files.load("a")
    with pytest.raises(wick.SafeTensorError, match="unsupported dtype F8_E4M3"):
        ws.load(path)
    with pytest.raises(wick.SafeTensorError, match="unsupported dtype F8_E4M3"):
        ws.load_buffer(blob)


def test_bool_loads_as_u8(tmp_path):
    path = _write(tmp_path, _file({"m": _entry("BOOL", (3,), (0, 3))}, b"\x01\x00\x01"))
    t = ws.load(path)["m"]
    assert t.dtype == DType.U8 and t.to_vec1() == [1, 0, 1]


def test_a_file_that_shrinks_after_its_header_was_read(tmp_path):
    path = tmp_path / "m.safetensors"
    ws.save({"a": Tensor.new([1.0, 2.0]), "b": Tensor.new([3.0, 4.0])}, path)
    files = ws.MmapedSafetensors(path)
    with open(path, "r+b") as f:  # truncated in place by someone else: no crash, an error
        f.truncate(os.path.getsize(path) - 8)
    with pytest.raises(wick.SafeTensorError, match="shorter than its header says"):
        [files.load(n) for n in files.tensors()]
    files.close()
