"""``wick lm train``: pretrain a GPT-2 language model on a text, as chapter 5 of *Build a Large
Language Model (From Scratch)* does on "The Verdict"; the result is a Hugging Face folder.

The book's recipe is the default: 90/10 split by characters, context 256, stride = context,
batch 2, AdamW lr 4e-4 with weight decay 0.1, 10 epochs, seed 123, a greedy sample after each
epoch from "Every effort moves you".
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from .. import atomic
from .errors import CliError

BOOK = dict(
    context=256, epochs=10, batch=2, lr=4e-4, weight_decay=0.1, seed=123, val_fraction=0.1,
    init="book",
)  # fmt: skip
SAMPLE_PROMPT = "Every effort moves you"
KIND = "lm"
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
# Options a resumed run takes from its checkpoint (it may change --epochs, --out, --plot).
FIXED_ON_RESUME = (
    "text", "size", "context", "batch", "lr", "weight_decay", "seed", "val_fraction", "init",
)  # fmt: skip


def add_parser(sub) -> None:
    """Registers ``wick lm train`` under the ``wick`` command's subparsers."""
    lm = sub.add_parser(
        "lm",
        help="language models: wick lm train (GPT-2 on a text, the book's chapter 5)",
        description="Language models.",
    )
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="COMMAND", parser_class=type(lm))
    lm_sub.required = True
    p = lm_sub.add_parser(
        "train",
        help="pretrain a GPT-2 model on a text file (or the-verdict)",
        description="Pretrains GPT-2 on a text with the book's chapter 5 recipe and writes a "
        "Hugging Face folder (config.json, model.safetensors, tokenizer.json) that "
        "`wick generate` and transformers load.",
        epilog="example: wick lm train --text the-verdict --size 124m --out verdict-124m",
    )
    p.add_argument("--text", metavar="FILE", help="a UTF-8 text, or 'the-verdict' (required)")
    p.add_argument(
        "--size",
        metavar="SIZE",
        help="tiny, small, 124m, 355m, 774m, 1558m or a config.json (default tiny)",
    )
    p.add_argument("--context", type=int, metavar="N", help="context length (default 256)")
    p.add_argument("--epochs", type=int, metavar="N", help="default 10")
    p.add_argument("--batch", type=int, metavar="N", help="batch size (default 2)")
    p.add_argument("--lr", type=float, metavar="X", help="AdamW learning rate (default 4e-4)")
    p.add_argument("--weight-decay", type=float, metavar="X", help="default 0.1")
    p.add_argument("--seed", type=int, metavar="S", help="default 123")
    p.add_argument(
        "--val-fraction", type=float, metavar="F", help="characters held out (default 0.1)"
    )
    p.add_argument(
        "--init",
        choices=["book", "gpt2"],
        help="book (default): the book's GPTModel as PyTorch initialises it, embeddings N(0, 1), "
        "projections uniform +-1/sqrt(fan-in), a separate output head; gpt2: OpenAI's N(0, 0.02) "
        "with the head tied to the token embedding",
    )
    p.add_argument("--sample-prompt", default=SAMPLE_PROMPT, metavar="TEXT")
    p.add_argument(
        "--sample-tokens", type=int, default=50, metavar="N", help="0: no samples (default 50)"
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", required=True, metavar="DIR", help="the model folder to write")
    p.add_argument("--plot", metavar="PNG", help="draw the loss curves (needs matplotlib)")
    p.add_argument("--checkpoint", metavar="PATH", help="save a checkpoint after every epoch")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run bit for bit")


# ------------------------------------------------------------------------------------------------
# Settings


def _settings(args) -> tuple:
    """``(settings, checkpoint state or None)``: the book's defaults overridden by the command
    line, or the resumed checkpoint's (only --epochs may change)."""
    from . import checkpoint

    if args.resume is None:
        if args.text is None:
            raise CliError("--text FILE (or 'the-verdict') is required")
        s = {k: BOOK[k] if getattr(args, k) is None else getattr(args, k) for k in BOOK}
        s.update(text=args.text, size=args.size or "tiny")
        return s, None
    state = checkpoint.read_state(args.resume)
    if state.get("kind") != KIND:
        raise CliError(f"{args.resume} is a `wick train` checkpoint, not a `wick lm train` one")
    s = dict(state["settings"])
    s.setdefault("init", "gpt2")  # checkpoints written before --init existed
    for key in FIXED_ON_RESUME:
        given = getattr(args, key)
        if given is not None and given != s[key]:
            raise CliError(
                f"--{key.replace('_', '-')} {given} differs from the checkpoint's {s[key]}; "
                "a resumed run keeps its settings (only --epochs may change)"
            )
    if args.epochs is not None:
        s["epochs"] = args.epochs
    return s, state


def _validate(s: dict) -> None:
    for key in ("context", "epochs", "batch"):
        if s[key] < 1:
            raise CliError(f"--{key} must be at least 1, got {s[key]}")
    if not s["lr"] > 0 or not math.isfinite(s["lr"]):
        raise CliError(f"--lr must be a positive number, got {s['lr']}")
    if not 0.0 < s["val_fraction"] < 1.0:
        raise CliError(f"--val-fraction must be in (0, 1), got {s['val_fraction']}")


def _model_config(s: dict):
    from ..core.errors import Error
    from ..models import gpt2

    size = s["size"]
    if size in gpt2.PRESETS:
        # The book's GPTModel has a separate output head (163M parameters for 124M's shape).
        return gpt2.PRESETS[size](s["context"], tie_word_embeddings=s["init"] == "gpt2")
    if size.endswith(".json"):
        try:
            cfg = gpt2.Config.from_file(size)
        except Error as exc:
            raise CliError(str(exc)) from None
        if s["context"] > cfg.n_positions:
            raise CliError(
                f"--context {s['context']} exceeds {size}'s n_positions {cfg.n_positions}"
            )
        return cfg
    known = ", ".join(gpt2.PRESETS)
    raise CliError(f"unknown --size {size!r} (known: {known}, or a config.json file)")


def _read_text(name: str) -> str:
    if name == "the-verdict":
        from ..datasets import the_verdict

        return the_verdict()
    try:
        with open(name, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise CliError(f"no such text file: {name}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {name} as UTF-8 text: {exc}") from None


def _check_out(out: str, resuming: bool) -> None:
    """Refuses to write over a folder that holds a model unless this run is resumed into it."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise CliError(f"--out {out} exists and is not a folder")
    held = [f for f in FILES if os.path.exists(os.path.join(out, f))]
    if held and not resuming:
        raise CliError(
            f"--out {out} already holds {', '.join(held)}; not overwriting (choose another folder)"
        )


# ------------------------------------------------------------------------------------------------
# The run


class Run:
    """Data, model and optimizer of one run."""

    def __init__(self, s: dict, device):
        from ..core import Device, DType
        from ..core.errors import Error
        from ..data import DataLoader
        from ..models import gpt2
        from ..nn import AdamW, ParamsAdamW, VarBuilder, VarMap
        from ..text import TokenDataset, gpt2_tokenizer

        self.s, self.device = s, device
        self.cfg = _model_config(s)
        self.tokenizer = gpt2_tokenizer()
        if self.cfg.vocab_size < self.tokenizer.get_vocab_size():
            raise CliError(
                f"--size {s['size']}: vocab_size {self.cfg.vocab_size} is smaller than GPT-2's "
                f"tokenizer ({self.tokenizer.get_vocab_size()} ids)"
            )
        text = _read_text(s["text"])
        split = int((1.0 - s["val_fraction"]) * len(text))  # the book's 90/10 split by characters
        self.ids = {}
        sets = {}
        for name, part in (("training", text[:split]), ("validation", text[split:])):
            ids = self.tokenizer.encode(part).ids
            self.ids[name] = len(ids)
            try:
                sets[name] = TokenDataset(ids, s["context"], s["context"])
            except Error as exc:
                raise CliError(
                    f"the {name} text ({len(part)} characters of {s['text']}) is too short: "
                    f"{' '.join(str(exc).split())}"
                ) from None
        self.chars = len(text)
        Device.Cpu.set_seed(s["seed"])
        if not device.is_cpu():
            device.set_seed(s["seed"])
        # Under mpiexec, data-parallel: --batch is the global batch, each rank draws its share
        # of the same seeded order, gradients are averaged; losses are measured on all of it.
        from .. import distributed

        self.world = distributed.init()
        size, per_rank, shard = self.world.size, s["batch"], None
        if size > 1:
            if s["batch"] % size:
                raise CliError(
                    f"--batch {s['batch']} is not divisible by the {size} processes (it is the "
                    "global batch, split evenly over them)"
                )
            per_rank, shard = s["batch"] // size, (self.world.rank, size)
        self.train = DataLoader(
            sets["training"], per_rank, shuffle=True, drop_last=True, shard=shard
        )
        self.train_eval = self.train if size == 1 else DataLoader(sets["training"], s["batch"])
        self.val = DataLoader(sets["validation"], s["batch"])
        if len(self.train) == 0:
            n = len(sets["training"])
            raise CliError(
                f"--batch {s['batch']} is larger than the {n} training windows of "
                f"{s['context']} tokens (the last incomplete batch is dropped)"
            )
        self.varmap = VarMap()
        self.model = gpt2.Model.load(
            VarBuilder.from_varmap(self.varmap, DType.F32, device), self.cfg
        )
        if s["init"] == "book":
            _init_like_the_book(self.varmap)
        params = ParamsAdamW(lr=s["lr"], weight_decay=s["weight_decay"])
        self.optimizer = AdamW(self.varmap.all_vars(), params)
        if size > 1:
            self.optimizer = distributed.DistributedOptimizer(self.optimizer)
        self.epoch, self.history, self.tokens_seen = 0, [], 0

    def loss(self, x, y, train: bool):
        from ..nn.loss import cross_entropy

        x, y = x.to_device(self.device), y.to_device(self.device)
        logits = self.model.forward_t(x, train)
        return cross_entropy(logits.flatten_to(1), y.flatten_all())

    def evaluate(self, loader) -> float:
        """The mean batch loss over a whole loader, without dropout (the book's calc_loss_loader)."""
        losses = [self.loss(x, y, False).to_scalar() for x, y in loader]
        return sum(losses) / len(losses)

    def sample(self, prompt: str, n: int) -> str:
        from ..models import generate

        ids = self.tokenizer.encode(prompt).ids[-self.cfg.n_positions :]
        new = generate(self.model, ids, n)
        return self.tokenizer.decode(ids + new).replace("\n", " ")

    def state(self) -> dict:
        return {
            "kind": KIND,
            "settings": self.s,
            "epoch": self.epoch,
            "history": self.history,
            "tokens_seen": self.tokens_seen,
        }


def _init_like_the_book(varmap) -> None:
    """Redraws a fresh GPT-2 as PyTorch initialises the book's GPTModel: embeddings N(0, 1),
    every projection's weight and bias uniform in +-1/sqrt(fan-in) (nn.Linear's default), layer
    norms 1 and 0. With GPT-2's N(0, 0.02) embeddings instead, AdamW's lr 4e-4 moves them by ~2%
    a step and the book's run stalls near a loss of 5.7 (measured: 124M, epoch 7)."""
    from ..core import Tensor

    for name, var in varmap.data().items():
        layer, _, kind = name.rpartition(".")
        if layer.endswith(("wte", "wpe")):
            var.set(Tensor.randn(0.0, 1.0, var.shape, var.device, var.dtype))
        elif layer.endswith("lm_head"):  # nn.Linear(emb_dim, vocab_size, bias=False)
            bound = var.dim(1) ** -0.5
            var.set(Tensor.rand(-bound, bound, var.shape, var.device, var.dtype))
        elif ".ln_" not in name and kind in ("weight", "bias"):
            # GPT-2's Conv1D stores (in, out): fan-in is the weight's first dim.
            fan_in = varmap.data()[f"{layer}.weight"].dim(0)
            bound = fan_in**-0.5
            var.set(Tensor.rand(-bound, bound, var.shape, var.device, var.dtype))


class _NanLoss(Exception):
    pass


def _train_epoch(run: Run, bar, first_step=None) -> float:
    """One shuffled pass; raises _NanLoss (before the step) on a non-finite loss; calls
    ``first_step()`` after a fresh run's very first update."""
    for step, (x, y) in enumerate(run.train):
        loss = run.loss(x, y, True)
        value = loss.to_scalar()
        if not math.isfinite(value):
            raise _NanLoss(f"epoch {run.epoch + 1}, step {step + 1}: the loss is {value}")
        run.optimizer.backward_step(loss)
        run.tokens_seen += x.elem_count() * run.world.size
        if run.epoch == 0 and step == 0 and first_step is not None:
            first_step()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}", refresh=False)
    run.epoch += 1
    return value


def _save(run: Run, out: str) -> None:
    from ..core.errors import Error
    from ..models import save_pretrained

    try:
        save_pretrained(run.varmap, run.cfg, run.tokenizer, out, overwrite=True)
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    _write_json(os.path.join(out, "training.json"), run.state())


def _write_json(path: str, value) -> None:
    with atomic.open_atomic(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def _plot(history: list, path: str) -> None:
    """Train and validation loss per epoch (the book's figure 5.12), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [row["train_loss"] for row in history], label="training loss")
    ax.plot(epochs, [row["val_loss"] for row in history], linestyle="-.", label="validation loss")
    ax.set(xlabel="epoch", ylabel="loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        with atomic.open_atomic(path, "wb") as f:
            fig.savefig(f, format=os.path.splitext(path)[1].lstrip(".").lower() or "png")
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write the plot to {path}: {exc}") from None
    finally:
        plt.close(fig)


def run(args) -> int:
    """The ``wick lm train`` command."""
    from ..core import Device
    from ..core.errors import Error
    from . import checkpoint

    s, state = _settings(args)
    _validate(s)
    _check_out(args.out, resuming=state is not None)
    ckpt = args.checkpoint or args.resume
    if args.plot:
        from .plot import require_matplotlib

        require_matplotlib(args.plot)
    device = Device.Cpu
    if args.device == "cuda":
        try:
            device = Device.new_cuda(0)
        except Error as exc:
            raise CliError(str(exc)) from None
    try:
        r = Run(s, device)
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    if state is not None:
        if state["epoch"] > s["epochs"]:
            raise CliError(
                f"the checkpoint is at epoch {state['epoch']}, past --epochs {s['epochs']}"
            )
        checkpoint.restore(args.resume, r.varmap, r.optimizer)
        r.epoch, r.history, r.tokens_seen = state["epoch"], state["history"], state["tokens_seen"]
    cfg = r.cfg
    if not r.world.is_main():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - rank 0 alone logs
    print(f"wick lm train: GPT-2 ({s['size']}) on {s['text']}\n")
    print(
        f"text      {r.chars:,} characters; {r.ids['training']:,} training and "
        f"{r.ids['validation']:,} validation tokens ({1 - s['val_fraction']:.0%} / "
        f"{s['val_fraction']:.0%} by characters)"
    )
    print(
        f"model     {cfg.n_layer} layers, {cfg.n_head} heads, n_embd {cfg.n_embd}, context "
        f"{s['context']}, {r.model.num_parameters():,} parameters "
        f"({'head tied' if r.model.tied else 'separate head'}), {s['init']} init"
    )
    print(
        f"training  AdamW lr {s['lr']:g}, weight decay {s['weight_decay']:g}, batch {s['batch']},"
        f" {len(r.train)} steps per epoch, {s['epochs']} epochs, seed {s['seed']}, {device}"
    )
    if state is not None:
        print(f"resumed   {args.resume} at epoch {r.epoch}")
    if r.world.size > 1:
        print(
            f"parallel  {r.world.size} processes, {s['batch'] // r.world.size} windows each per step"
        )
    print(flush=True)
    started = time.perf_counter()
    from tqdm import tqdm

    saved_epoch = r.epoch if state is not None else None

    def first_step():
        # The book's first logged point (its "Step 000000"): the losses after one update.
        train, val = r.evaluate(r.train_eval), r.evaluate(r.val)
        line = f"Ep 1 (step 1, tokens seen {r.tokens_seen:,}): Train loss {train:.3f}, Val loss {val:.3f}"
        (bar.write if bar is not None else print)(line)
        sys.stdout.flush()

    while r.epoch < s["epochs"]:
        bar = tqdm(
            total=len(r.train), desc=f"epoch {r.epoch + 1}", unit="step", leave=False,
            file=sys.stderr, disable=None if r.world.is_main() else True,
        )  # fmt: skip
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # a NaN loss is reported below
                _train_epoch(r, bar, first_step if state is None else None)
        except _NanLoss as exc:
            bar.close()
            kept = (
                f"{args.out} keeps the model of epoch {saved_epoch}"
                if saved_epoch
                else "no model was saved"
            )
            raise CliError(f"training stopped, {exc}; {kept}") from None
        bar.close()
        row = {
            "epoch": r.epoch,
            "train_loss": r.evaluate(r.train_eval),
            "val_loss": r.evaluate(r.val),
            "tokens_seen": r.tokens_seen,
        }
        r.history.append(row)
        print(
            f"Ep {r.epoch} (tokens seen {r.tokens_seen:,}): Train loss {row['train_loss']:.3f}, "
            f"Val loss {row['val_loss']:.3f}",
            flush=True,
        )
        if not r.world.is_main():
            continue  # rank 0 alone samples and writes files
        if args.sample_tokens > 0:
            print(f"  sample: {r.sample(args.sample_prompt, args.sample_tokens)}", flush=True)
        _save(r, args.out)
        saved_epoch = r.epoch
        if ckpt:
            checkpoint.save(ckpt, r.varmap, r.optimizer, r.state(), {})
    seconds = time.perf_counter() - started
    if not r.history:
        raise CliError(f"nothing to train: the run is already at epoch {r.epoch}")
    if not r.world.is_main():
        return 0
    print(f"\ntrained   in {seconds:.1f} s")
    print(f"saved     {args.out}")
    if args.plot:
        _plot(r.history, args.plot)
        print(f"plotted   {args.plot}")
    print(
        f'\nnext      wick generate {args.out} "{args.sample_prompt}" --temperature 1.4 --top-k 25'
    )
    return 0
