"""``wick inspect`` (any safetensors file, header only) and ``wick info``."""

from __future__ import annotations

import json
import struct
import time

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file


def test_inspect_a_wick_model(wick, tmp_path):
    wick("train").ok()
    done = wick("inspect", "model.safetensors").ok()
    assert done.stdout.startswith(
        "model.safetensors: 6 tensors, 752 parameters, 2.9 KiB of data (F32)\n\n"
        "name        dtype  shape     parameters\n"
        "l1.bias     F32    [30]              30\n"
        "l1.weight   F32    [30, 2]           60\n"
        "l2.bias     F32    [20]              20\n"
        "l2.weight   F32    [20, 30]         600\n"
        "out.bias    F32    [2]                2\n"
        "out.weight  F32    [2, 20]           40\n"
        "total                               752\n"
        "\nmetadata\n"
    )
    assert '  wick.classes: ["0", "1"]\n' in done.stdout
    assert '  wick.features: ["x1", "x2"]\n' in done.stdout
    assert "  wick.format: wick-mlp-classifier/1\n" in done.stdout


def test_inspect_a_hugging_face_style_checkpoint(wick, tmp_path):
    # Written by the safetensors package itself, as Hugging Face checkpoints are.
    tensors = {
        "embeddings.word_embeddings.weight": np.zeros((1000, 64), dtype=ml_dtypes.bfloat16),
        "encoder.layer.10.attention.self.query.weight": np.zeros((64, 64), dtype=np.float16),
        "encoder.layer.2.attention.self.query.weight": np.zeros((64, 64), dtype=np.float16),
        "encoder.layer.2.attention.self.query.bias": np.zeros((64,), dtype=np.float32),
        "embeddings.position_ids": np.arange(512, dtype=np.int64)[None, :],
        "pooler.scale": np.zeros((), dtype=np.float64),
    }
    save_file(tensors, str(tmp_path / "hf.safetensors"), metadata={"format": "pt"})
    done = wick("inspect", "hf.safetensors").ok()
    assert done.stdout == (
        "hf.safetensors: 6 tensors, 72,769 parameters, 145.3 KiB of data "
        "(BF16, F16, F32, F64, I64)\n"
        "\n"
        "name                                          dtype  shape       parameters\n"
        "embeddings.position_ids                       I64    [1, 512]           512\n"
        "embeddings.word_embeddings.weight             BF16   [1000, 64]      64,000\n"
        "encoder.layer.2.attention.self.query.bias     F32    [64]                64\n"
        "encoder.layer.2.attention.self.query.weight   F16    [64, 64]         4,096\n"
        "encoder.layer.10.attention.self.query.weight  F16    [64, 64]         4,096\n"
        "pooler.scale                                  F64    []                   1\n"
        "total                                                                72,769\n"
        "\n"
        "metadata\n"
        "  format: pt\n"
    )


def test_inspect_reads_only_the_header_of_a_huge_file(wick, tmp_path):
    # A 16 GiB file that is all hole: reading its data would take minutes and all the memory.
    header = {
        "big.weight": {
            "dtype": "BF16",
            "shape": [65536, 131072],
            "data_offsets": [0, 65536 * 131072 * 2],
        },
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + 65536 * 131072 * 2)
    started = time.perf_counter()
    done = wick("inspect", "huge.safetensors").ok()
    assert time.perf_counter() - started < 20
    assert "huge.safetensors: 1 tensors, 8,589,934,592 parameters, 16.0 GiB of data (BF16)" in (
        done.stdout
    )
    assert "big.weight  BF16   [65536, 131072]  8,589,934,592" in done.stdout


def test_inspect_rejects_malformed_headers(wick, tmp_path):
    def file(name, header: bytes, data: bytes = b""):
        (tmp_path / name).write_bytes(struct.pack("<Q", len(header)) + header + data)

    file("json.safetensors", b"{not json")
    file(
        "past_end.safetensors",
        json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode(),
        b"\0" * 8,
    )
    file(
        "wrong_size.safetensors",
        json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}).encode(),
        b"\0" * 16,
    )
    (tmp_path / "short.safetensors").write_bytes(b"\x10\0\0")
    # The files `load` rejects too (inspect used to list them and exit 0).
    entry = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}'
    file("duplicate.safetensors", f'{{"a":{entry},"a":{entry}}}'.encode(), b"\0")
    overlap = {"a": [0, 8], "b": [4, 12]}
    overlap = {k: {"dtype": "F32", "shape": [2], "data_offsets": v} for k, v in overlap.items()}
    file("overlap.safetensors", json.dumps(overlap).encode(), b"\0" * 12)
    (tmp_path / "huge_header.safetensors").write_bytes(struct.pack("<Q", 10**8 + 1) + b"{}")
    bad = "is not a safetensors file"
    expected = {
        "json.safetensors": f"json.safetensors {bad} (invalid JSON in header: Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1))",
        "past_end.safetensors": f"past_end.safetensors {bad} (tensor 'w': data_offsets [0, 16] go "
        "past the end of the data (8 bytes): the file is truncated or its header is wrong)",
        "wrong_size.safetensors": f"wrong_size.safetensors {bad} (tensor 'w': F32 of shape [3] "
        "needs 12 bytes, its data_offsets [0, 16] hold 16)",
        "short.safetensors": f"short.safetensors {bad} (header too small: the file has 3 bytes, "
        "the header length alone takes 8)",
        "duplicate.safetensors": f"duplicate.safetensors {bad} (duplicate key 'a' in the header)",
        "overlap.safetensors": f"overlap.safetensors {bad} (tensor 'b': data_offsets [4, 12] "
        "overlap tensor 'a' (which ends at 8))",
        "huge_header.safetensors": f"huge_header.safetensors {bad} (header too large: it claims "
        "100,000,001 bytes, over the format's limit of 100,000,000)",
    }
    for name, message in expected.items():
        done = wick("inspect", name)
        assert (done.returncode, done.stderr) == (2, f"wick: error: {message}\n")


def test_info_reports_versions_blas_and_devices(wick):
    done = wick("info", block=["cupy"]).ok()
    lines = dict(line.split(None, 1) for line in done.stdout.splitlines())
    assert lines["wick"] == "0.1.0"
    assert lines["numpy"] == np.__version__
    assert lines["blas"] and not lines["blas"].startswith("unknown")
    assert lines["cpu"].startswith("available: ")
    assert lines["cupy"] == "not installed (optional: CUDA devices)"
    assert lines["cuda"] == (
        "not available: cuda device requested but CuPy is not installed (pip install 'wick[cuda]')"
    )


def test_version_and_help(wick):
    assert wick("--version").ok().stdout == "wick 0.1.0\n"
    text = wick("--help").ok().stdout
    for command in ("train", "predict", "eval", "inspect", "info"):
        assert command in text
    assert "--resume CHECKPOINT" in wick("train", "--help").ok().stdout
