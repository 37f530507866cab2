"""``wick``: train a classifier, evaluate it, predict with it, inspect safetensors files.

``wick train`` with no arguments runs the tutorial's training on its built-in toy data;
``wick train --data iris`` trains on Fisher's iris, shipped with wick; ``--data FILE.csv`` on yours.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from . import options
from .errors import CliError

DESCRIPTION = """Train a classifier, evaluate it, predict with it, inspect safetensors files.

"wick train" with no arguments runs the tutorial's training on its built-in toy data;
"wick train --data iris" trains on Fisher's iris, shipped with wick; "--data FILE.csv" on yours."""

EXAMPLES = """examples:
  wick train                                   the tutorial's job on its toy data
  wick train --data iris                       Fisher's iris, built in
  wick train --data my.csv --target label --epochs 50 --out my.safetensors
  wick predict --model model.safetensors --data new.csv --out predictions.csv
  wick eval --model model.safetensors --data test.csv
  wick inspect model.safetensors
  wick info
  wick lm train --text the-verdict --size 124m --out verdict   GPT-2 on The Verdict (book ch. 5)
  wick generate verdict "Every effort moves you" --temperature 1.4 --top-k 25
  wick chat smollm2                            talk with SmolLM2-135M-Instruct (its GGUF file)
  wick generate smollm2 "What is the capital of France?" --chat
  wick embed minilm "A cat sits." "A dog runs." --similarity
  wick inspect model.gguf                      architecture, tensors, quant types, metadata
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit code 2), like every other error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _train_options(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data (without --data: the tutorial's toy set)")
    d.add_argument("--data", metavar="CSV", help="a CSV file with a header line, or 'iris'")
    d.add_argument(
        "--target",
        metavar="COLUMN",
        help="the column to predict (default: the last column; 'species' for iris)",
    )
    d.add_argument(
        "--features",
        metavar="A,B,...",
        type=options.columns,
        help="feature columns (default: every column but the target)",
    )
    d.add_argument(
        "--task",
        choices=["classification", "regression"],
        help="predict a class (default; a target that looks continuous is refused) or a "
        "number (mean squared error; R2 and MAE reported)",
    )
    d.add_argument("--test", metavar="CSV", help="a separate test file (instead of a split)")
    d.add_argument(
        "--test-fraction",
        type=options.fraction,
        metavar="F",
        help="fraction held out for testing, of each class (a regression: of the rows); "
        "default 0.2",
    )
    d.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardise features with training-split statistics (default: on for "
        "--data, off for the toy set)",
    )
    m = p.add_argument_group("model and training (defaults: the tutorial's / with --data)")
    m.add_argument(
        "--hidden",
        type=options.parse_hidden,
        metavar="30,20",
        help="hidden layer sizes (default 30,20)",
    )
    m.add_argument("--epochs", type=options.positive_int, metavar="N", help="default 3 / 100")
    m.add_argument("--batch-size", type=options.positive_int, metavar="N", help="default 2 / 16")
    m.add_argument(
        "--lr", type=options.positive_float, metavar="LR", help="learning rate (default 0.5 / 0.01)"
    )
    m.add_argument("--optimizer", choices=["sgd", "adamw"], help="default sgd / adamw")
    m.add_argument(
        "--drop-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="drop the last incomplete batch (default: on / off)",
    )
    m.add_argument(
        "--seed",
        type=options.seed,
        help="seeds the split, the weights and the shuffling (default 1196 / 123)",
    )
    m.add_argument("--device", choices=["cpu", "cuda"], help="default cpu")
    m.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="run each step eagerly instead of replaying its captured backend calls (wick.jit; "
        "the results are the same bit for bit)",
    )
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="PATH", help="the model file (default model.safetensors)")
    o.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save a checkpoint as epochs end (at most once a second, and the last), to "
        "continue with --resume",
    )
    o.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue an interrupted run bit for bit (--epochs may grow)",
    )
    o.add_argument(
        "--plot",
        metavar="PNG",
        help="draw the loss and accuracy curves (needs matplotlib: pip install 'wick[plot]')",
    )
    options.add_force(o)
    options.add_csv_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wick",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wick {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser(
        "train",
        help="train an MLP classifier (no arguments: the tutorial's job)",
        description="With no arguments, the tutorial's training on its toy data; "
        "with --data, an MLP classifier (or, with --task regression, regressor) for a CSV "
        "file (or the built-in iris). See docs/cli.md.",
    )
    _train_options(p)

    p = sub.add_parser(
        "predict",
        help="predict the classes (or numbers) of a CSV file's rows",
        description="Class and probabilities (a regressor: the number) for every row of a CSV "
        "file; the file needs the model's feature columns, not its target.",
    )
    p.add_argument("--model", required=True, metavar="PATH", help="a model from wick train")
    p.add_argument("--data", required=True, metavar="CSV", help="rows with the model's features")
    p.add_argument("--out", metavar="PATH", help="write the predictions here (default: stdout)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    options.add_force(p)
    options.add_csv_options(p)

    p = sub.add_parser(
        "eval",
        help="accuracy, precision, recall and confusion matrix (a regressor: R2, MAE, RMSE)",
        description="Scores a model on a labelled CSV file.",
    )
    p.add_argument("--model", required=True, metavar="PATH", help="a model from wick train")
    p.add_argument("--data", required=True, metavar="CSV", help="labelled rows")
    p.add_argument(
        "--target", metavar="COLUMN", help="default: the column the model was trained to predict"
    )
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    options.add_csv_options(p)

    p = sub.add_parser(
        "inspect",
        help="tensors, shapes, dtypes and metadata of a safetensors or GGUF file",
        description="Reads only the header (GGUF: the header and metadata, nothing "
        "dequantized): works on any size of file.",
    )
    p.add_argument("file", metavar="FILE", help="a .safetensors or .gguf file")
    p.add_argument("--all", action="store_true", help="GGUF: list every tensor")

    sub.add_parser(
        "info",
        help="versions, BLAS and devices",
        description="Versions, the BLAS NumPy uses, and the devices wick can use.",
    )
    from .chat import add_parser as add_chat
    from .embed import add_parser as add_embed
    from .generate import add_parser as add_generate
    from .lm import add_parser as add_lm

    add_lm(sub)
    add_generate(sub)
    add_chat(sub)
    add_embed(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``wick`` console script: every failure is one line on stderr."""
    try:
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except KeyboardInterrupt:
        print("\nwick: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `wick predict ... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports it
    except Exception as exc:  # noqa: BLE001 - the one place every failure becomes one line
        if _interrupted(exc):  # e.g. ImportError raised from a Ctrl-C inside an import
            print("\nwick: interrupted", file=sys.stderr)
            return 130
        _report(exc)
        return 2


def _interrupted(exc) -> bool:
    launcher = sys.modules.get("_wick_launcher")  # the console script records every SIGINT
    if launcher is not None:
        return launcher.interrupted(exc)
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _report(exc: Exception) -> None:
    from ..core.errors import Error

    if isinstance(exc, CliError):
        text = str(exc)
    elif isinstance(exc, Error):
        text = str(exc)
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or exc}"
    elif isinstance(exc, MemoryError):
        text = "out of memory (try a smaller model, --batch-size or file)"
    else:
        if os.environ.get("WICK_TRACEBACK"):
            import traceback

            traceback.print_exception(exc)
        text = (
            f"internal error: {type(exc).__name__}: {exc} (a bug in wick: please report it "
            "with the command; WICK_TRACEBACK=1 shows the traceback)"
        )
        print(f"wick: {' '.join(text.split())}", file=sys.stderr)
        return
    print(f"wick: error: {' '.join(text.split())}", file=sys.stderr)


def _dispatch(args) -> int:
    import numpy as np

    # NumPy's overflow warnings would be lines of noise on stderr: the commands check every
    # loss and output for finiteness themselves and stop with one clear line.
    with np.errstate(all="ignore"):
        return _run(args)


def _run(args) -> int:
    if args.command == "train":
        from .train import run
    elif args.command == "predict":
        from .predict import run
    elif args.command == "eval":
        from .evaluate import run
    elif args.command == "inspect":
        from .inspect import run
    elif args.command == "lm":
        from .lm import run
    elif args.command == "generate":
        from .generate import run
    elif args.command == "chat":
        from .chat import run
    elif args.command == "embed":
        from .embed import run
    else:
        from .info import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
