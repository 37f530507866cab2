"""The book's GPTModel in wick and in PyTorch eager, side by side, on one thread each:

- one training step (forward, cross-entropy, backward, AdamW) in float32 for
  (a) 2 layers, 4 heads, d_model 128, context 64, batch 8, vocab 50257 and
  (b) GPT_CONFIG_124M at context 256, batch 2 (the book's chapter 5 setting);
- generation tokens/s with the KV cache for 124M-shaped GPT-2 weights (wick.models.gpt2 and
  transformers' GPT2LMHeadModel.generate, greedy, the same weights).

    python benchmarks/train_gpt.py [--steps 5] [--tokens 64] [--skip-124m] [--profile]

PyTorch gets the same initial weights, loaded from wick's by the book's names, and both are
checked to compute the same loss (dropout off) before anything is timed. Timings are medians of
interleaved steps after a warm-up; the ratios (wick time / PyTorch time) come last.
"""

from __future__ import annotations

import os

# One thread each, set before NumPy and torch load their BLAS.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, os.path.join(ROOT, "examples", "llm"))

import ch04  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from wick import DType, Tensor  # noqa: E402
from wick.models import generate, gpt2, save_pretrained  # noqa: E402
from wick.nn import AdamW, ParamsAdamW, VarBuilder, VarMap  # noqa: E402
from wick.nn.loss import cross_entropy  # noqa: E402

ADAMW = dict(lr=4e-4, weight_decay=0.1)  # the book's; betas, eps: both libraries' defaults
SMALL = {**ch04.GPT_CONFIG_124M, "emb_dim": 128, "n_heads": 4, "n_layers": 2, "context_length": 64}
BOOK = {**ch04.GPT_CONFIG_124M, "context_length": 256}
WORKLOADS = [("(a) 2 layers, 4 heads, d 128, ctx 64, batch 8", SMALL, 8),
             ("(b) GPT_CONFIG_124M, ctx 256, batch 2", BOOK, 2)]  # fmt: skip


# ----- the book's GPTModel in PyTorch (chapter 4, as the book writes it) ---------------------------
class TorchMHA(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), 1))

    def forward(self, x):
        b, t, _ = x.shape
        q = self.W_query(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.W_key(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.W_value(x).view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        scores = q @ k.transpose(2, 3)
        scores.masked_fill_(self.mask.bool()[:t, :t], -torch.inf)
        weights = self.dropout(torch.softmax(scores / k.shape[-1] ** 0.5, dim=-1))
        context = (weights @ v).transpose(1, 2).contiguous().view(b, t, self.d_out)
        return self.out_proj(context)


class TorchLayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class TorchGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh((2.0 / torch.pi) ** 0.5 * (x + 0.044715 * x**3)))


class TorchBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["emb_dim"]
        self.att = TorchMHA(d, d, cfg["context_length"], cfg["drop_rate"], cfg["n_heads"],
                            cfg["qkv_bias"])  # fmt: skip
        self.ff = nn.Module()
        self.ff.layers = nn.Sequential(nn.Linear(d, 4 * d), TorchGELU(), nn.Linear(4 * d, d))
        self.norm1, self.norm2 = TorchLayerNorm(d), TorchLayerNorm(d)
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        x = x + self.drop_shortcut(self.att(self.norm1(x)))
        return x + self.drop_shortcut(self.ff.layers(self.norm2(x)))


class TorchGPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TorchBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = TorchLayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(t))
        x = self.trf_blocks(self.drop_emb(x))
        return self.out_head(self.final_norm(x))


def torch_from_wick(cfg, varmap) -> TorchGPT:
    model = TorchGPT(cfg)
    state = {n: torch.from_numpy(v.numpy().copy())
             for n, v in varmap.data().items()}  # fmt: skip
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(m.endswith(".mask") for m in missing), (missing, unexpected)
    return model


# ----- timing ---------------------------------------------------------------------------------
def batch(cfg, b, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, cfg["vocab_size"], (b, cfg["context_length"] + 1))
    return ids[:, :-1], ids[:, 1:]


def wick_step_fn(model, varmap, x, y):
    opt = AdamW(varmap.all_vars(), ParamsAdamW(**ADAMW))
    xt, yt = Tensor.new(x.astype(np.uint32)), Tensor.new(y.astype(np.uint32))

    def step():
        loss = cross_entropy(model.forward_t(xt, True).flatten(0, 1), yt.flatten_all())
        opt.backward_step(loss)
        return loss.to_scalar()

    return step


def torch_step_fn(model, x, y):
    opt = torch.optim.AdamW(model.parameters(), **ADAMW)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()

    def step():
        loss = nn.functional.cross_entropy(model(xt).flatten(0, 1), yt.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def timed(fns: dict, steps: int) -> dict:
    """Median seconds per call of each function, interleaved, after one warm-up call each."""
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(steps):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def check_same_loss(cfg, model, varmap, x, y) -> float:
    """|wick - torch| of the loss without dropout, on the same weights."""
    tm = torch_from_wick(cfg, varmap).eval()
    with torch.no_grad():
        theirs = nn.functional.cross_entropy(tm(torch.from_numpy(x)).flatten(0, 1),
                                             torch.from_numpy(y).flatten()).item()  # fmt: skip
    ours = cross_entropy(model(Tensor.new(x.astype(np.uint32))).flatten(0, 1),
                         Tensor.new(y.astype(np.uint32)).flatten_all()).to_scalar()  # fmt: skip
    return abs(ours - theirs)


def train_rows(steps: int, skip_124m: bool, profile: bool) -> list:
    rows = []
    for name, cfg, b in WORKLOADS:
        if skip_124m and cfg is BOOK:
            continue
        model, varmap = ch04.build(cfg, seed=123)
        x, y = batch(cfg, b)
        diff = check_same_loss(cfg, model, varmap, x, y)
        assert diff < 1e-3, f"{name}: wick and torch losses differ by {diff}"
        tmodel = torch_from_wick(cfg, varmap)
        t = timed({"wick": wick_step_fn(model, varmap, x, y), "torch": torch_step_fn(tmodel, x, y)},
                  steps)  # fmt: skip
        rows.append((f"train step {name}", t["wick"], t["torch"], f"loss diff {diff:.1e}"))
        print(f"{rows[-1][0]:58s} wick {t['wick'] * 1e3:9.1f} ms   torch {t['torch'] * 1e3:9.1f} ms",
              flush=True)  # fmt: skip
        if profile:
            print_profile(wick_step_fn(model, varmap, x, y))
        del model, varmap, tmodel
    return rows


def print_profile(step) -> None:
    prof = cProfile.Profile()
    prof.enable()
    step()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    print("  profile of one wick step (tottime, the 12 largest):")
    for ln in lines[3:17]:
        print("   ", ln[:130])


def generation_row(n_tokens: int, prompt_len: int = 16) -> tuple:
    """Greedy tokens/s with the KV cache: wick.models.gpt2 vs transformers, same weights."""
    from transformers import GPT2LMHeadModel

    cfg = gpt2.Config.gpt2_124m()
    varmap = VarMap()
    model = gpt2.Model.load(VarBuilder.from_varmap(varmap, DType.F32), cfg)
    prompt = list(np.random.default_rng(1).integers(0, cfg.vocab_size, prompt_len))
    with tempfile.TemporaryDirectory() as folder:
        save_pretrained(varmap, cfg, None, folder)
        hf = GPT2LMHeadModel.from_pretrained(folder).eval()

    def wick_gen():
        return generate(model, prompt, n_tokens)

    def hf_gen():
        with torch.no_grad():
            out = hf.generate(torch.tensor([prompt]), max_new_tokens=n_tokens, do_sample=False,
                              min_new_tokens=n_tokens, pad_token_id=0,
                              attention_mask=torch.ones(1, prompt_len, dtype=torch.long))  # fmt: skip
        return out[0, prompt_len:].tolist()

    same = wick_gen() == hf_gen()
    t = timed({"wick": wick_gen, "torch": hf_gen}, 3)
    label = f"generate {n_tokens} tokens, 124M, prompt {prompt_len} (KV cache)"
    print(f"{label:58s} wick {n_tokens / t['wick']:7.1f} tok/s transformers "
          f"{n_tokens / t['torch']:7.1f} tok/s  same ids: {same}", flush=True)  # fmt: skip
    return label, t["wick"], t["torch"], f"same greedy ids: {same}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=5, help="timed steps per workload (median)")
    p.add_argument("--tokens", type=int, default=64, help="tokens generated")
    p.add_argument("--skip-124m", action="store_true", help="workload (a) only, no generation")
    p.add_argument("--profile", action="store_true", help="where one wick step spends its time")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"threads: torch {torch.get_num_threads()}, OPENBLAS_NUM_THREADS "
          f"{os.environ['OPENBLAS_NUM_THREADS']}; numpy {np.__version__}, torch "
          f"{torch.__version__}\n")  # fmt: skip
    rows = train_rows(args.steps, args.skip_124m, args.profile)
    if not args.skip_124m:
        rows.append(generation_row(args.tokens))
    print("\nratios (wick time / PyTorch time; below 1.0 wick is faster):")
    for label, w, t, note in rows:
        print(f"  {label:58s} {w / t:5.2f}x   ({note})")


if __name__ == "__main__":
    main()
