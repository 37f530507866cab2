"""examples/llm/ch04.py and ch05.py: the book's GPTModel, its parameter counts, the ch05 recipe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("tokenizers")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples", "llm")
sys.path.insert(0, EXAMPLES)

import ch04  # noqa: E402
import ch05  # noqa: E402

from wick import DType, Tensor  # noqa: E402
from wick.nn import VarBuilder  # noqa: E402


def _count(cfg) -> int:
    """Parameters of the book's GPTModel by formula: embeddings, blocks, final norm, head."""
    d, v, c, n = cfg["emb_dim"], cfg["vocab_size"], cfg["context_length"], cfg["n_layers"]
    qkv = 3 * d * d + (3 * d if cfg["qkv_bias"] else 0)
    block = qkv + d * d + d + (d * 4 * d + 4 * d) + (4 * d * d + d) + 4 * d
    return v * d + c * d + n * block + 2 * d + v * d


def test_parameter_counts_of_gpt_config_124m():
    assert _count(ch04.GPT_CONFIG_124M) == 163_009_536
    assert _count(ch04.GPT_CONFIG_124M) - 50257 * 768 == 124_412_160
    small = {
        **ch04.GPT_CONFIG_124M,
        "emb_dim": 16,
        "n_heads": 2,
        "n_layers": 2,
        "context_length": 8,
    }
    model, varmap = ch04.build(small)
    assert sum(v.elem_count() for v in varmap.all_vars()) == _count(small)
    assert "trf_blocks.1.att.W_query.weight" in varmap.data()  # the book's state-dict names
    ids = Tensor.new([[6109, 3626, 6100, 345]], dtype=DType.U32)
    assert model(ids).shape == (1, 4, 50257)
    out = ch04.generate_text_simple(model, ids, 6, small["context_length"])
    assert out.shape == (1, 10) and out.to_vec2()[0][:4] == [6109, 3626, 6100, 345]


def test_generate_text_simple_crops_the_context():
    cfg = {**ch04.GPT_CONFIG_124M, "emb_dim": 8, "n_heads": 2, "n_layers": 1, "context_length": 4}
    model = ch04.GPTModel(cfg, VarBuilder.zeros(DType.F32))
    out = ch04.generate_text_simple(model, Tensor.new([[1, 2, 3]], dtype=DType.U32), 5, 4)
    assert out.to_vec2() == [[1, 2, 3, 0, 0, 0, 0, 0]]  # zero weights: uniform logits, argmax 0


@pytest.mark.slow
def test_ch05_small_run_prints_the_books_counts(capsys):
    result = ch05.main(
        ["--emb-dim", "32", "--layers", "1", "--heads", "2", "--context", "256", "--epochs", "2",
         "--eval-freq", "9", "--lr", "5e-3"]
    )  # fmt: skip
    out = capsys.readouterr().out
    for line in ("Characters: 20479", "Tokens: 5145", "Training tokens: 4608",
                 "Validation tokens: 512", "All tokens: 5120", "forward",
                 "[0.0615, 0.0000, 0.0000, 0.5775, 0.0000, 0.0000, 0.0000, 0.3610, 0.0000]"):  # fmt: skip
        assert line in out.splitlines(), line
    assert out.count("[2, 256] [2, 256]") == 9 + 1  # the book's 9 training batches, 1 validation
    losses = result["train_losses"]
    assert 10.5 < losses[0] < 11.5 and losses[-1] < losses[0] - 0.25, losses


@pytest.mark.slow
def test_ch04_script_prints_the_books_values():
    done = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "ch04.py")],
        capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for line in ("Total number of parameters: 163,009,536",
                 "Number of trainable parameters considering weight tying: 124,412,160",
                 "Total size of the model: 621.83 MB", "Output shape: [2, 4, 50257]",
                 "encoded: [15496, 11, 314, 716]", "Output length: 10"):  # fmt: skip
        assert line in done.stdout.splitlines(), line
    assert "[[6109, 3626, 6100,  345],\n [6109, 1110, 6622,  257]]" in done.stdout
