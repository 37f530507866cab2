"""``wick generate MODEL "prompt"``: continue a prompt with a causal LM, streaming to stdout.

MODEL is a folder written by ``wick lm train`` or any Hugging Face GPT-2 folder
(config.json, model.safetensors, tokenizer.json).
"""

from __future__ import annotations

import sys

from .errors import CliError


def add_parser(sub) -> None:
    """Registers ``wick generate`` under the ``wick`` command's subparsers."""
    p = sub.add_parser(
        "generate",
        help="continue a prompt with a language model (streams to stdout)",
        description="Continues PROMPT with the model in MODEL (a `wick lm train` folder or a "
        "Hugging Face GPT-2 folder), printing the text as it is generated. Greedy by "
        "default; --temperature > 0 samples.",
        epilog='example: wick generate verdict-124m "Every effort moves you" --temperature 1.4 '
        "--top-k 25 --seed 123",
    )
    p.add_argument("model", metavar="MODEL", help="a model folder")
    p.add_argument("prompt", metavar="PROMPT", help="the text to continue")
    p.add_argument("--max-new-tokens", type=int, default=50, metavar="N", help="default 50")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T", help="0: greedy")
    p.add_argument("--top-k", type=int, metavar="K", help="sample among the K likeliest")
    p.add_argument("--top-p", type=float, metavar="P", help="nucleus sampling")
    p.add_argument("--seed", type=int, metavar="S", help="makes sampling reproducible")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")


def _tokenizer(loaded, folder: str):
    if loaded.tokenizer is not None:
        return loaded.tokenizer
    vocab = getattr(loaded.config, "vocab_size", None)
    if type(loaded.model).__module__.endswith("gpt2") and vocab == 50257:
        from ..text import gpt2_tokenizer

        return gpt2_tokenizer()  # GPT-2's own vocabulary: its BPE, shipped with wick[text]
    raise CliError(f"{folder} has no tokenizer.json")


class _Printer:
    """Decodes the ids so far and prints what is new (a character split across tokens waits)."""

    def __init__(self, tokenizer, prompt_ids: list):
        self.tokenizer, self.ids = tokenizer, list(prompt_ids)
        self.shown = len(tokenizer.decode(self.ids))

    def add(self, token: int) -> None:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for its next byte
            return
        sys.stdout.write(text[self.shown :])
        sys.stdout.flush()
        self.shown = len(text)


def run(args) -> int:
    """The ``wick generate`` command."""
    from ..core import Device
    from ..core.errors import Error
    from ..models import from_pretrained, stream

    if args.max_new_tokens < 0:
        raise CliError(f"--max-new-tokens must be >= 0, got {args.max_new_tokens}")
    try:
        device = Device.new_cuda(0) if args.device == "cuda" else Device.Cpu
        loaded = from_pretrained(args.model, device)
        tokenizer = _tokenizer(loaded, args.model)
        ids = tokenizer.encode(args.prompt).ids
        tokens = stream(
            loaded.model,
            ids,
            args.max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            eos_token_id=loaded.eos_token_id,
        )
        printer = _Printer(tokenizer, ids)
        first = next(tokens, None)  # bad arguments raise here, before anything is printed
        sys.stdout.write(args.prompt)
        if first is not None:
            printer.add(first)
            for token in tokens:
                printer.add(token)
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    sys.stdout.write("\n")
    return 0
