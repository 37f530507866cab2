"""GPT-2 against Hugging Face transformers, from committed golden files (no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest
from gpt2_golden import CHECKPOINTS, folder, input_ids, reference

from wick import DType, Tensor
from wick.models import from_pretrained, generate, gpt2
from wick.nn import AdamW, ParamsAdamW, VarBuilder, VarMap
from wick.nn.loss import cross_entropy


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_logits_match_transformers(name):
    tensors, _ = reference()
    model = from_pretrained(folder(name)).model
    logits = model.forward(input_ids())
    assert logits.shape == (2, 16, 96)
    np.testing.assert_allclose(logits.numpy(), tensors[f"logits.{name}"].numpy(), atol=1e-4)


def test_layouts_and_heads_are_detected():
    tied, openai, untied = (from_pretrained(folder(n)).model for n in CHECKPOINTS)
    assert tied.tied and openai.tied and not untied.tied
    assert tied.lm_head is tied.wte.embeddings()  # one tensor, not a copy
    # The openai folder's h.*.attn.bias mask buffers are ignored, its names have no prefix.
    assert openai._prefix == "" and tied._prefix == "transformer"


@pytest.mark.parametrize("name", ("hf_tied", "openai"))
def test_prefill_then_one_token_at_a_time_equals_full_forward(name):
    model = from_pretrained(folder(name)).model
    ids = input_ids()
    full = model.forward(ids).numpy()
    cache = model.new_cache()
    steps = [model.forward(ids.narrow(1, 0, 6), cache).numpy()]
    assert len(cache) == 6
    for t in range(6, 16):
        steps.append(model.forward(ids.narrow(1, t, 1), cache).numpy())
    assert len(cache) == 16
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)


def test_last_only_is_the_last_position():
    model = from_pretrained(folder("hf_tied")).model
    ids = input_ids()
    last = model.forward(ids, last_only=True)
    assert last.shape == (2, 1, 96)
    np.testing.assert_allclose(last.numpy()[:, 0], model.forward(ids).numpy()[:, -1], atol=1e-6)


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_greedy_generation_equals_transformers(name):
    _, ref = reference()
    model = from_pretrained(folder(name)).model
    assert generate(model, ref["prompt"], 24) == ref["greedy"][name]


def _trainable(name: str) -> tuple:
    """A model built on a VarMap (Hugging Face's names), then loaded from the checkpoint."""
    cfg = gpt2.Config.from_file(f"{folder(name)}/config.json")
    varmap = VarMap()
    model = gpt2.Model.load(VarBuilder.from_varmap(varmap, DType.F32), cfg)
    varmap.load(f"{folder(name)}/model.safetensors")
    return model, varmap


def _loss(model, batch: Tensor, train: bool = True) -> Tensor:
    x, y = batch.narrow(1, 0, 16), batch.narrow(1, 1, 16)
    logits = model.forward_t(x, train)
    return cross_entropy(logits.flatten_to(1), y.flatten_all())


def test_varmap_names_are_hugging_faces():
    model, varmap = _trainable("hf_tied")
    names = set(varmap.data())
    assert "transformer.h.1.attn.c_attn.weight" in names and "lm_head.weight" not in names
    assert len(names) == 28 and model.num_parameters() == sum(
        v.elem_count() for v in varmap.all_vars()
    )


def test_tied_head_receives_both_gradients():
    tensors, _ = reference()
    model, varmap = _trainable("hf_tied")
    batch = tensors["train_batches"].get(0).to_dtype(DType.U32)
    grads = _loss(model, batch).backward()
    for name in ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight"):
        got = grads.get(varmap.data()[name]).numpy()
        np.testing.assert_allclose(got, tensors[f"grad.{name}"].numpy(), atol=2e-6, rtol=1e-4)


def test_20_adamw_steps_give_torchs_losses():
    tensors, ref = reference()
    model, varmap = _trainable("hf_tied")
    a = ref["adamw"]
    params = ParamsAdamW(
        lr=a["lr"], beta1=a["betas"][0], beta2=a["betas"][1], eps=a["eps"],
        weight_decay=a["weight_decay"],
    )  # fmt: skip
    opt = AdamW(varmap.all_vars(), params)
    batches = tensors["train_batches"].to_dtype(DType.U32)
    losses = []
    for step in range(20):
        loss = _loss(model, batches.get(step % 4))
        opt.backward_step(loss)
        losses.append(loss.to_scalar())
    np.testing.assert_allclose(losses, ref["losses.hf_tied"], rtol=1e-4)
    assert losses[-1] < losses[0] - 0.5


def test_dropout_only_when_training():
    _, varmap = _trainable("hf_tied")
    cfg = gpt2.Config.from_file(f"{folder('hf_tied')}/config.json")
    cfg.resid_pdrop = cfg.embd_pdrop = cfg.attn_pdrop = 0.2
    model = gpt2.Model.load(VarBuilder.from_varmap(varmap), cfg)
    ids = input_ids()
    plain = model.forward(ids).numpy()
    np.testing.assert_array_equal(model.forward_t(ids, False).numpy(), plain)
    assert np.abs(model.forward_t(ids, True).numpy() - plain).max() > 1e-3
