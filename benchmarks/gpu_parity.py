"""The same training runs on two devices, compared: final losses must agree to 1e-5 relative.

    python benchmarks/gpu_parity.py [--devices cpu,cuda:0]

Runs the tutorial's MLP (2-30-20-2 on its five points, SGD lr 0.5), the 784-256-128-10 MLP
(batch 128, SGD, 100 steps) and a small GPT-2 (AdamW, dropout off), each from the same host
weights and data on every device. Exits 1 if a pair of final losses differs by more than 1e-5.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from gpu_workloads import (
    WickGPT,
    WickMLP,
    gpt_config,
    gpt_tokens,
    gpt_weights,
    mlp_data,
    mlp_weights,
)

from wick.core.device import as_device

RTOL = 1e-5
# The tutorial's toy data (LLMs-from-scratch appendix A): two classes of 2-D points.
TUTORIAL_X = np.array(
    [[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]], dtype=np.float32
)
TUTORIAL_Y = np.array([0, 0, 0, 1, 1])


def run_mlp(device, sizes, x, y, steps, lr):
    model = WickMLP(mlp_weights(sizes), x, y, "sgd", device, lr=lr)
    losses = [model.step() for _ in range(steps)]
    return [loss.to_scalar() for loss in losses]  # one read at the end: no sync per step


def run_gpt(device, steps):
    cfg = gpt_config()
    inputs, targets = gpt_tokens(cfg, batch=4, seq=32)
    model = WickGPT(cfg, gpt_weights(cfg), inputs, targets, device)
    losses = [model.step() for _ in range(steps)]
    return [loss.to_scalar() for loss in losses]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="cpu,cuda:0")
    parser.add_argument("--gpt-steps", type=int, default=30)
    args = parser.parse_args(argv)
    devices = [as_device(name) for name in args.devices.split(",")]
    x, y = mlp_data((784, 256, 128, 10), 128)
    runs = {
        "tutorial MLP 2-30-20-2, 100 steps": lambda d: run_mlp(
            d, (2, 30, 20, 2), TUTORIAL_X, TUTORIAL_Y, 100, 0.5
        ),
        "MLP 784-256-128-10, batch 128, 100 steps": lambda d: run_mlp(
            d, (784, 256, 128, 10), x, y, 100, 0.01
        ),
        f"GPT-2 (2 layers, 64 wide), {args.gpt_steps} AdamW steps": lambda d: run_gpt(
            d, args.gpt_steps
        ),
    }
    failed = False
    for name, run in runs.items():
        finals = [run(d) for d in devices]
        first = finals[0]
        line = [f"{name}:"]
        for d, losses in zip(devices, finals):
            line.append(f"{d} first {losses[0]:.7f} final {losses[-1]:.9g}")
        worst = max(abs(f[-1] - first[-1]) / abs(first[-1]) for f in finals)
        ok = worst <= RTOL and first[-1] < first[0]
        failed |= not ok
        print("  ".join(line) + f"  rel diff {worst:.2e} {'OK' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
