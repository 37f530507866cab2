"""Instructions per training step of the tutorial's MLP (2-30-20-2, batch 2, SGD), counted by
valgrind's callgrind: a repeatable measure of per-op overhead, unlike wall time on a busy machine.

    python benchmarks/count_instructions.py [--steps 300]

Runs this file under callgrind twice per implementation (0 steps and ``--steps`` steps) and
reports the difference divided by the number of steps, for wick and the hand-written NumPy floor.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_steps(impl: str, steps: int) -> None:
    sys.modules["torch"] = None  # not timed here; importing it would only add GC work
    sys.path.insert(0, HERE)
    import train_mlp as tm

    name, sizes, batch, optimizer, _ = tm.WORKLOADS[0]
    weights, (x, y) = tm.initial_weights(sizes), tm.data(sizes, batch)
    model = {"wick": tm.WickMLP, "numpy": tm.NumpyMLP}[impl](weights, x, y, optimizer)
    model.step()  # warm caches and lazy allocations outside the counted difference
    # Objects from start-up move out of the collector's reach, so the cyclic GC's occasional
    # full passes do not swamp the few thousand instructions a step costs.
    gc.collect()
    gc.freeze()
    for _ in range(steps):
        model.step()


def count(impl: str, steps: int) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", impl, str(steps)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"),
    )  # fmt: skip
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise SystemExit(done.stderr[-2000:])
    return int(match.group(1))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        run_steps(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    per_step = {}
    for impl in ("wick", "numpy"):
        per_step[impl] = (count(impl, args.steps) - count(impl, 0)) / args.steps
        print(f"{impl:6s} {per_step[impl] / 1e3:10.1f} thousand instructions per step")
    print(f"wick/numpy {per_step['wick'] / per_step['numpy']:.2f}")


if __name__ == "__main__":
    main()
