"""Training steps of wick (eager and captured with ``wick.jit``) against PyTorch eager, a
hand-written NumPy floor (the MLPs) and jax.jit (when installed), each implementation in a
process of its own, in alternating rounds, with one thread and with each library's default.

    python benchmarks/bench_peers.py [--rounds 5] [--threads 1,default] [--only gpt-small]
                                     [--with-124m]

Every worker builds the same weights and reports its first losses, checked to agree before
anything is timed; then the parent asks each worker in turn (rotating the order, pausing
between them so that spinning BLAS threads settle) for one round of steps. Per implementation:
the median step time over rounds, minor page faults per step in steady state (the rounds after
warm-up) and the worker's peak RSS. Ratios come last. Dropout is off in the GPT steps (the
losses must agree, and a captured step cannot draw random numbers).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# workload: (description, steps per round)
WORKLOADS = {
    "mlp-tutorial": ("tutorial MLP 2-30-20-2, batch 2, SGD", 2000),
    "mlp-sgd": ("MLP 784-256-128-10, batch 128, SGD", 100),
    "mlp-adamw": ("MLP 784-256-128-10, batch 128, AdamW", 100),
    "mlp-wide": ("MLP 784-1024-1024-10, batch 512, SGD", 5),
    "gpt-small": ("GPT vocab 256, ctx 64, 2 layers, 4 heads, d 128, batch 8, AdamW", 10),
    "gpt-124m": ("GPT_CONFIG_124M, ctx 256, batch 2, AdamW", 2),
}
MLPS = {
    "mlp-tutorial": ((2, 30, 20, 2), 2, "sgd"),
    "mlp-sgd": ((784, 256, 128, 10), 128, "sgd"),
    "mlp-adamw": ((784, 256, 128, 10), 128, "adamw"),
    "mlp-wide": ((784, 1024, 1024, 10), 512, "sgd"),
}
IMPLS = ["wick", "wick-captured", "torch", "numpy", "jax"]


# ----- workers: one implementation of one workload per process ------------------------------
def _mlp_step(impl, workload):
    sys.path.insert(0, HERE)
    import train_mlp as tm

    sizes, batch, optimizer = MLPS[workload]
    weights, (x, y) = tm.initial_weights(sizes), tm.data(sizes, batch)
    if impl == "torch":
        return tm.TorchMLP(weights, x, y, optimizer).step
    if impl == "numpy":
        return tm.NumpyMLP(weights, x, y, optimizer).step
    model = tm.WickMLP(weights, x, y, optimizer)
    if impl == "wick":
        return model.step
    from wick.jit import capture
    from wick.nn.loss import cross_entropy

    @capture
    def step(x, y):
        loss = cross_entropy(model.forward_with(x), y)
        model.opt.backward_step(loss)
        return loss

    def forward_with(h):
        for layer in model.layers[:-1]:
            h = layer(h).relu()
        return model.layers[-1](h)

    model.forward_with = forward_with
    return lambda: step(model.x, model.y).to_scalar()


def _gpt_step(impl, workload):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(ROOT, "examples", "llm"))
    import ch04
    import numpy as np
    import train_gpt as tg

    if workload == "gpt-small":
        cfg, batch = {**tg.SMALL, "vocab_size": 256, "drop_rate": 0.0}, 8
    else:
        cfg, batch = {**tg.BOOK, "drop_rate": 0.0}, 2
    model, varmap = ch04.build(cfg, seed=123)
    x, y = tg.batch(cfg, batch)
    if impl == "torch":
        return tg.torch_step_fn(tg.torch_from_wick(cfg, varmap), x, y)
    if impl == "wick":
        return tg.wick_step_fn(model, varmap, x, y)
    from wick import Tensor
    from wick.jit import capture
    from wick.nn import AdamW, ParamsAdamW
    from wick.nn.loss import cross_entropy

    opt = AdamW(varmap.all_vars(), ParamsAdamW(**tg.ADAMW))
    xt, yt = Tensor.new(x.astype(np.uint32)), Tensor.new(y.astype(np.uint32))

    @capture
    def step(x, y):
        loss = cross_entropy(model.forward_t(x, True).flatten(0, 1), y.flatten_all())
        opt.backward_step(loss)
        return loss

    return lambda: step(xt, yt).to_scalar()


def worker(impl: str, workload: str, threads: str) -> None:
    if impl == "torch":
        import torch

        if threads == "1":
            torch.set_num_threads(1)
    build = _mlp_step if workload in MLPS else _gpt_step
    step = build(impl, workload)
    out = sys.stdout
    out.write(json.dumps({"losses": [step() for _ in range(3)]}) + "\n")
    out.flush()
    for line in sys.stdin:
        n = int(line)
        if n == 0:
            break
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        for _ in range(n):
            step()
        seconds = (time.perf_counter() - start) / n
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / n
        out.write(json.dumps({"seconds": seconds, "faults": faults}) + "\n")
        out.flush()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.write(json.dumps({"rss_mb": rss}) + "\n")
    out.flush()


# ----- the parent: spawn, check, alternate, report --------------------------------------------
def _env(threads: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if threads == "1":
            env[name] = "1"
        else:
            env.pop(name, None)
    return env


def available(impl: str, workload: str) -> str:
    """Why ``impl`` is skipped for ``workload``, or "" when it runs."""
    if impl == "numpy" and workload not in MLPS:
        return "no hand-written floor for the GPT"
    if impl == "torch" and importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed"
    if impl == "jax":
        if importlib.util.find_spec("jax") is None:
            return "jax is not installed (an optional peer)"
        return "no jax.jit implementation in this script yet"
    return ""


def run_workload(workload: str, threads: str, rounds: int) -> dict:
    steps = WORKLOADS[workload][1]
    procs = {}
    for impl in IMPLS:
        if available(impl, workload):
            continue
        procs[impl] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", impl, workload, threads],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(threads),
        )  # fmt: skip

    def ask(impl, n):
        p = procs[impl]
        p.stdin.write(f"{n}\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line:
            raise SystemExit(f"{impl} worker for {workload} died")
        return json.loads(line)

    losses = {}
    for impl, p in procs.items():
        line = p.stdout.readline()
        if not line:
            raise SystemExit(f"{impl} worker for {workload} died while building")
        losses[impl] = json.loads(line)["losses"]
    ref = losses["wick"]
    for impl, values in losses.items():
        if any(abs(a - b) > 1e-4 * max(1.0, abs(b)) for a, b in zip(values, ref)):
            raise SystemExit(f"{workload}: {impl} losses {values} differ from wick's {ref}")
    names = list(procs)
    for impl in names:  # warm-up round, not counted
        ask(impl, max(1, steps // 5))
    results = {impl: {"seconds": [], "faults": []} for impl in names}
    for r in range(rounds):
        for impl in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(0.2)
            got = ask(impl, steps)
            results[impl]["seconds"].append(got["seconds"])
            results[impl]["faults"].append(got["faults"])
    table = {}
    for impl in names:
        rss = ask(impl, 0)["rss_mb"]
        procs[impl].wait(timeout=60)
        table[impl] = {
            "ms": statistics.median(results[impl]["seconds"]) * 1e3,
            "spread": _spread(results[impl]["seconds"]),
            "faults": statistics.median(results[impl]["faults"]),
            "rss_mb": rss,
        }
    table["_losses"] = {k: v[0] for k, v in losses.items()}
    return table


def _spread(values) -> float:
    """(max - min) / median of the rounds: how noisy this figure is."""
    m = statistics.median(values)
    return (max(values) - min(values)) / m if m else 0.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", default="1,default", help="1, default, or both (comma-separated)")
    p.add_argument(
        "--only", default=None, help="comma-separated workloads: " + ", ".join(WORKLOADS)
    )
    p.add_argument("--with-124m", action="store_true", help="also the 124M GPT step (slow)")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    chosen = args.only.split(",") if args.only else [w for w in WORKLOADS if w != "gpt-124m"]
    if args.with_124m and "gpt-124m" not in chosen:
        chosen.append("gpt-124m")
    for impl in IMPLS:
        for w in chosen:
            why = available(impl, w)
            if why and impl != "numpy":
                print(f"skipped: {impl} ({why})")
                break
    rows = []
    for threads in args.threads.split(","):
        for w in chosen:
            table = run_workload(w, threads, args.rounds)
            rows.append((w, threads, table))
            print(f"\n{WORKLOADS[w][0]}, threads: {threads}")
            print(
                f"  {'impl':14s} {'ms/step':>9s} {'spread':>7s} {'faults/step':>12s} {'peak RSS MB':>12s}"
            )
            for impl, r in table.items():
                if impl.startswith("_"):
                    continue
                print(f"  {impl:14s} {r['ms']:9.3f} {r['spread']:6.0%} {r['faults']:12.0f} "
                      f"{r['rss_mb']:12.0f}")  # fmt: skip
            sys.stdout.flush()
    print("\nratios (time / peer's time; below 1.0 the first is faster):")
    pairs = [("wick", "torch"), ("wick-captured", "torch"), ("wick-captured", "numpy"),
             ("wick-captured", "wick"), ("wick-captured", "jax")]  # fmt: skip
    for w, threads, table in rows:
        parts = [f"{a}/{b} {table[a]['ms'] / table[b]['ms']:.2f}" for a, b in pairs
                 if a in table and b in table]  # fmt: skip
        print(f"  {w:13s} threads {threads:7s} " + "  ".join(parts))


if __name__ == "__main__":
    main()
