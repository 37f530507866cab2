"""examples/llm/ch02.py and ch03.py run and print the book's values (chapters 2 and 3)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.nn import VarBuilder
from wick.safetensors import load
from wick.testing import assert_close

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LLM = os.path.join(ROOT, "examples", "llm")
sys.path.insert(0, LLM)
import ch03  # noqa: E402 - the chapter's own classes, one definition


def run_script(name: str) -> str:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    done = subprocess.run(
        [sys.executable, os.path.join(LLM, name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def ch02_output() -> str:
    pytest.importorskip("tokenizers")
    return run_script("ch02.py")


@pytest.fixture(scope="module")
def ch03_output() -> str:
    return run_script("ch03.py")


# Lines of the book's notebook ch02.ipynb (its outputs), printed the same by the script.
CH02_LINES = [
    "Total number of character: 20479",
    "I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow enough--so it was no ",
    "['Hello', ',', 'world', '.', 'Is', 'this', '--', 'a', 'test', '?']",
    "4690",
    "1130",
    "('Hermia', 50)",
    "[1, 56, 2, 850, 988, 602, 533, 746, 5, 1126, 596, 5, 1, 67, 7, 38, 851, 1108, 754, 793, 7]",
    '" It\' s the last he painted, you know," Mrs. Gisburn said with pardonable pride.',
    "1132",
    "('<|unk|>', 1131)",
    "[1131, 5, 355, 1126, 628, 975, 10, 1130, 55, 988, 956, 984, 722, 988, 1131, 7]",
    "<|unk|>, do you like tea? <|endoftext|> In the sunlit terraces of the <|unk|>.",
    "[15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114, 286, "
    "617, 34680, 27271, 13]",
    "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace.",
    "5145",
    "x: [290, 4920, 2241, 287]",
    "y:      [4920, 2241, 287, 257]",
    "[290, 4920, 2241, 287] ----> 257",
    " and established himself in ---->  a",
    "[[[40, 367, 2885, 1464]], [[367, 2885, 1464, 1807]]]",
    "[[[367, 2885, 1464, 1807]], [[2885, 1464, 1807, 3619]]]",
]
CH02_BLOCKS = [
    # batch_size=8, max_length=4, stride=4: the book's Inputs, in Candle's format.
    " [[   40,   367,  2885,  1464],\n [ 1807,  3619,   402,   271],\n [10899,  2138,   257,  7026],\n"
    " [15632,   438,  2016,   257],\n [  922,  5891,  1576,   438],\n [  568,   340,   373,   645],\n"
    " [ 1049,  5975,   284,   502],\n [  284,  3285,   326,    11]]\nTensor[[8, 4], u32]\n",
    " [ 3285,   326,    11,   287]]\nTensor[[8, 4], u32]\n",
    "\nInputs shape:\n [8, 4]\n[8, 4, 256]\n[4, 256]\n[8, 4, 256]\n",
]


@pytest.mark.parametrize("line", CH02_LINES)
def test_ch02_prints_the_books_lines(ch02_output, line):
    assert line in ch02_output.splitlines()


@pytest.mark.parametrize("block", CH02_BLOCKS)
def test_ch02_prints_the_books_blocks(ch02_output, block):
    assert block in ch02_output


# The book's values (ch03.ipynb), in Candle's print format.
CH03_BLOCKS = [
    "[0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865]\nTensor[[6], f32]\n0.9544\n",
    "Attention weights: [0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656]\n",
    "Attention weights: [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581]\n",
    "[0.4419, 0.6515, 0.5683]\nTensor[[3], f32]\n",
    " [0.6310, 1.0865, 1.0605, 0.6565, 0.2935, 0.9450]]\nTensor[[6, 6], f32]\n",
    "[[0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452],\n",
    "All row sums: [1.0000, 1.0000, 1.0000, 1.0000, 1.0000, 1.0000]\n",
    "[[0.4421, 0.5931, 0.5790],\n [0.4419, 0.6515, 0.5683],\n [0.4431, 0.6496, 0.5671],\n"
    " [0.4304, 0.6298, 0.5510],\n [0.4671, 0.5910, 0.5266],\n [0.4177, 0.6503, 0.5645]]\n",
    # 3.4: the book's seed-123 weights.
    "[0.4306, 1.4551]\nTensor[[2], f32]\nkeys.shape: [6, 2]\nvalues.shape: [6, 2]\n[1.8524]\n",
    "[1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440]\n",
    "[0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820]\nTensor[[6], f32]\n[0.3061, 0.8210]\n",
    "[[0.2996, 0.8053],\n [0.3061, 0.8210],\n [0.3058, 0.8203],\n [0.2948, 0.7939],\n"
    " [0.2927, 0.7891],\n [0.2990, 0.8040]]\n",
    "[[-0.0739,  0.0713],\n [-0.0748,  0.0703],\n [-0.0749,  0.0702],\n [-0.0760,  0.0685],\n"
    " [-0.0763,  0.0679],\n [-0.0754,  0.0693]]\n",
    # 3.5: the causal mask.
    "[[1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],\n [0.5517, 0.4483, 0.0000, 0.0000, 0.0000, 0.0000],\n"
    " [0.3800, 0.3097, 0.3103, 0.0000, 0.0000, 0.0000],\n [0.2758, 0.2460, 0.2462, 0.2319, 0.0000, 0.0000],\n"
    " [0.2175, 0.1983, 0.1984, 0.1888, 0.1971, 0.0000],\n [0.1935, 0.1663, 0.1666, 0.1542, 0.1666, 0.1529]]\n",
    "[[0.2899,   -inf,   -inf,   -inf,   -inf,   -inf],\n",
    " [0.3408, 0.1270, 0.1290, 0.0198, 0.1290, 0.0078]]\n",
    # 3.5.3 and 3.6: the classes.
    "[2, 6, 3]\n[[[-0.4519,  0.2216],\n  [-0.5874,  0.0058],\n  [-0.6300, -0.0632],\n",
    "  [-0.5299, -0.1081]]]\nTensor[[2, 6, 2], f32]\ncontext_vecs.shape: [2, 6, 2]\n",
    "[[[-0.4519,  0.2216,  0.4772,  0.1063],\n  [-0.5874,  0.0058,  0.5891,  0.3257],\n",
    "[[[0.3190, 0.4858],\n  [0.2943, 0.3897],\n  [0.2856, 0.3593],\n  [0.2693, 0.3873],\n"
    "  [0.2639, 0.3928],\n  [0.2575, 0.4028]],\n",
    "   [0.5903, 1.0620, 0.9912]]]]\nTensor[[1, 2, 3, 3], f32]\nFirst head:\n [[1.3208, 1.1631, 1.2879],\n",
]


@pytest.mark.parametrize("block", CH03_BLOCKS)
def test_ch03_prints_the_books_values(ch03_output, block):
    assert block in ch03_output


def test_ch03_dropout_keeps_scaled_entries_only(ch03_output):
    block = ch03_output.split("## 3.5.2")[1].split("\n", 1)[1].split("Tensor[[6, 6], f32]")[0]
    values = {v for v in block.replace("[", " ").replace("]", " ").replace(",", " ").split()}
    assert values == {"0.", "2."}


@pytest.fixture(scope="module")
def weights():
    return VarBuilder.from_tensors(load(ch03.WEIGHTS), DType.F32)


def test_fused_multi_head_attention_equals_the_wrapper_of_causal_heads(weights):
    # One head of MultiHeadAttention with the identity as out_proj is CausalAttention.
    x = Tensor.new(np.random.default_rng(0).uniform(size=(3, 5, 3))).to_dtype(DType.F32)
    vb_ca = weights.pp("ca")
    tensors = {
        f"{n}.weight": vb_ca.get((2, 3), f"{n}.weight") for n in ("W_query", "W_key", "W_value")
    }
    tensors["out_proj.weight"] = Tensor.eye(2, DType.F32)
    tensors["out_proj.bias"] = Tensor.zeros((2,), DType.F32)
    fused = ch03.MultiHeadAttention(3, 2, 6, 0.0, 1, VarBuilder.from_tensors(tensors))
    step_by_step = ch03.CausalAttention(3, 2, 6, 0.0, vb_ca)
    assert_close(fused(x), step_by_step(x), 1e-6, 1e-6)


def test_multi_head_attention_trains_and_drops_only_in_training(weights):
    mha = ch03.MultiHeadAttention(3, 2, 6, 0.5, 2, weights.pp("mha"))
    x = Var.new(np.random.default_rng(1).uniform(size=(2, 6, 3)), dtype=DType.F32)
    evaluation = mha(x).numpy()
    assert (mha.forward_t(x, False).numpy() == evaluation).all()
    Device.Cpu.set_seed(4)
    trained = mha.forward_t(x, True)
    assert np.abs(trained.numpy() - evaluation).max() > 1e-3
    grad = trained.sum_all().backward().get(x)
    assert grad.shape == (2, 6, 3) and np.isfinite(grad.numpy()).all()
