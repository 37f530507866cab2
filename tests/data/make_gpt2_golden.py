"""Makes the GPT-2 golden files under tests/data/gpt2/ (needs torch and transformers).

Run from the repository root: ``python tests/data/make_gpt2_golden.py``. It writes three tiny
random ``GPT2LMHeadModel`` checkpoints and what transformers computes with them, so the tests
need no PyTorch:

- ``hf_tied/``: Hugging Face names (``transformer.h.0...``), head tied to ``wte``, 4 heads;
- ``openai/``: OpenAI's original names (``h.0...``, no prefix, with the ``attn.bias`` mask
  buffers), head tied, 2 heads;
- ``hf_untied/``: Hugging Face names with a separate ``lm_head.weight``, 2 heads, plain GELU;
- ``reference.safetensors`` + ``reference.json``: input ids, logits of each checkpoint, greedy
  generations, 20 AdamW steps' losses and the first step's gradients (dropout 0).

AdamW: ``torch.optim.AdamW(lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)``; wick's
``ParamsAdamW`` takes the same numbers (both decay every parameter, biases and norms included).
"""

from __future__ import annotations

import json
import os

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt2")
VOCAB, POSITIONS, EMBD, LAYERS = 96, 32, 32, 2
ADAMW = {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.1}
STEPS = 20


def config(n_head: int, tied: bool, activation: str = "gelu_new") -> GPT2Config:
    return GPT2Config(
        vocab_size=VOCAB,
        n_positions=POSITIONS,
        n_embd=EMBD,
        n_layer=LAYERS,
        n_head=n_head,
        activation_function=activation,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=tied,
        bos_token_id=VOCAB - 1,
        eos_token_id=VOCAB - 1,
        attn_implementation="eager",
    )


def make_model(seed: int, cfg: GPT2Config) -> GPT2LMHeadModel:
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # larger than the 0.02 init, so that the logits differ visibly
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def save_openai_layout(model: GPT2LMHeadModel, folder: str) -> None:
    """The original OpenAI names (as the ``gpt2`` hub repository's safetensors), mask buffers too."""
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for name, t in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied: OpenAI's checkpoint has no head
        tensors[name.removeprefix("transformer.")] = t.contiguous().clone()
    mask = torch.tril(torch.ones(POSITIONS, POSITIONS, dtype=torch.uint8)).view(
        1, 1, POSITIONS, POSITIONS
    )
    for i in range(LAYERS):
        tensors[f"h.{i}.attn.bias"] = mask.clone()
    save_file(tensors, os.path.join(folder, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(model.config.to_dict(), f, indent=2)


def greedy(model: GPT2LMHeadModel, prompt: list, n: int) -> list:
    out = model.generate(
        torch.tensor([prompt]),
        max_new_tokens=n,
        do_sample=False,
        eos_token_id=None,
        pad_token_id=0,
        attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
    )
    return out[0, len(prompt) :].tolist()


def train(model: GPT2LMHeadModel, batches: torch.Tensor) -> tuple:
    """20 AdamW steps (train mode; dropout is 0): the losses and the first step's gradients."""
    model.train()
    opt = torch.optim.AdamW(model.parameters(), **ADAMW)
    losses, first_grads = [], {}
    for step in range(STEPS):
        x = batches[step % len(batches)]
        logits = model(x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        if step == 0:
            for name in ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight"):
                first_grads[f"grad.{name}"] = model.get_parameter(name).grad.clone()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses, first_grads


def main() -> None:
    torch.manual_seed(0)
    models = {
        "hf_tied": make_model(1, config(4, True)),
        "openai": make_model(2, config(2, True)),
        "hf_untied": make_model(3, config(2, False, "gelu")),
    }
    models["hf_tied"].save_pretrained(os.path.join(HERE, "hf_tied"))
    models["hf_untied"].save_pretrained(os.path.join(HERE, "hf_untied"))
    save_openai_layout(models["openai"], os.path.join(HERE, "openai"))

    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, VOCAB, (2, 16), generator=g)
    batches = torch.randint(0, VOCAB, (4, 4, 17), generator=g)
    prompt = torch.randint(0, VOCAB, (5,), generator=g).tolist()
    tensors = {"input_ids": ids.to(torch.int64), "train_batches": batches.to(torch.int64)}
    ref = {"prompt": prompt, "adamw": {**ADAMW, "betas": list(ADAMW["betas"])}, "greedy": {}}
    with torch.no_grad():
        for name, model in models.items():
            tensors[f"logits.{name}"] = model(ids).logits.contiguous()
            ref["greedy"][name] = greedy(model, prompt, 24)
    losses, grads = train(models["hf_tied"], batches)
    ref["losses.hf_tied"] = losses
    tensors.update(grads)
    save_file(tensors, os.path.join(HERE, "reference.safetensors"))
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(ref, f, indent=2)
        f.write("\n")
    print("wrote", HERE, "losses", [round(v, 4) for v in losses[:3]], "...", round(losses[-1], 4))


if __name__ == "__main__":
    main()
