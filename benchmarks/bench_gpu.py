"""Training steps on a GPU: wick (CuPy) beside PyTorch eager on the same device.

    python benchmarks/bench_gpu.py [--device cuda:0] [--steps 20] [--repeat 5]

Workloads: the 784-1024-1024-10 MLP at batch 512 and 4096 with SGD and AdamW, and a GPT-2
training step (4 layers, 256 wide, GPT-2's vocabulary, batch 8 x 128 tokens, AdamW). Both
frameworks start from the same weights; their first losses are checked to agree before timing.
Each timing runs ``--steps`` steps and then waits for the device; the median of ``--repeat``
such runs is reported. ``ratio`` is wick's throughput over PyTorch's (>= 0.8 is the target).
``--device cpu`` runs the same comparison on the CPU (to check the script without a GPU).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from gpu_workloads import (
    WickGPT,
    WickMLP,
    gpt_config,
    gpt_tokens,
    gpt_weights,
    mlp_data,
    mlp_weights,
    torch_gpt,
    torch_mlp,
)

from wick.core.device import as_device

MLP = (784, 1024, 1024, 10)


def workloads(small: bool):
    batches = (64, 256) if small else (512, 4096)
    for batch in batches:
        for opt in ("sgd", "adamw"):
            yield f"MLP 784-1024-1024-10, batch {batch}, {opt}", ("mlp", batch, opt)
    cfg = gpt_config(512, 64, 64, 2, 2) if small else gpt_config(50257, 128, 256, 4, 4)
    batch, seq = (2, 32) if small else (8, 128)
    yield (
        f"GPT-2 {cfg.n_layer}x{cfg.n_embd}, vocab {cfg.vocab_size}, {batch}x{seq} tokens, adamw",
        ("gpt", cfg, batch, seq),
    )


def build(spec, device, torch, torch_device):
    if spec[0] == "mlp":
        _, batch, opt = spec
        weights, (x, y) = mlp_weights(MLP), mlp_data(MLP, batch)
        return WickMLP(weights, x, y, opt, device).step, torch_mlp(
            torch, weights, x, y, opt, torch_device
        )
    _, cfg, batch, seq = spec
    weights, (inputs, targets) = gpt_weights(cfg), gpt_tokens(cfg, batch, seq)
    wick_step = WickGPT(cfg, weights, inputs, targets, device).step
    return wick_step, torch_gpt(torch, cfg, weights, inputs, targets, torch_device)


def timed(step, sync, steps, repeat):
    """Median seconds per step over ``repeat`` runs of ``steps`` steps (after a warm-up)."""
    for _ in range(3):
        step()
    sync()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        runs.append((time.perf_counter() - start) / steps)
    return statistics.median(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="small sizes (a quick CPU check)")
    args = parser.parse_args(argv)
    import torch

    device = as_device(args.device)
    if device.is_cuda():
        torch_device = torch.device(f"cuda:{device.ordinal}")
        name = device.backend.device_name(device.ordinal)
        versions = f"CuPy {device.xp.__version__}, PyTorch {torch.__version__}"

        def torch_sync():
            torch.cuda.synchronize(torch_device)
    else:
        torch_device, name = torch.device("cpu"), "CPU"
        versions = f"NumPy {device.xp.__version__}, PyTorch {torch.__version__}"

        def torch_sync():
            pass

    torch.backends.cuda.matmul.allow_tf32 = False  # wick's f32 matmuls are full f32
    print(f"# {name}; {versions}; median of {args.repeat} x {args.steps} steps")
    print(f"{'workload':64} {'wick ms':>9} {'torch ms':>9} {'ratio':>6}")
    rows = []
    for label, spec in workloads(args.small):
        wick_step, torch_step = build(spec, device, torch, torch_device)
        first_wick, first_torch = wick_step().to_scalar(), float(torch_step().item())
        if abs(first_wick - first_torch) > 1e-4 * abs(first_torch):
            print(f"{label}: first losses differ: wick {first_wick}, torch {first_torch}")
            return 1
        t_wick = timed(wick_step, device.synchronize, args.steps, args.repeat)
        t_torch = timed(torch_step, torch_sync, args.steps, args.repeat)
        rows.append((label, t_wick, t_torch))
        print(f"{label:64} {t_wick * 1e3:9.3f} {t_torch * 1e3:9.3f} {t_torch / t_wick:6.2f}")
    worst = min(t_torch / t_wick for _, t_wick, t_torch in rows)
    print(f"# worst ratio {worst:.2f} (target >= 0.8)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
