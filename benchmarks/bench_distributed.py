"""Data-parallel training on MPI, measured side by side in one run.

    python benchmarks/bench_distributed.py            # launches the mpiexec jobs itself

Rows: the 784-1024-1024-10 MLP training step (SGD, float32) on one global batch of 512, in one
process with 2 BLAS threads and in 2 processes with 1 thread each (256 examples a rank); then
the cost of averaging gradients: ``allreduce_grads`` for the MLP's 1.9 M parameters and for
GPT-2 124M's 124.4 M, against one bare ``MPI.Allreduce`` of the same bytes. Ratios last.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

GLOBAL_BATCH, STEPS, WARMUP = 512, 30, 5
GPT2_124M_PARAMS = 124_439_808  # with the head tied to the token embedding


def mlp_step_ms(world) -> float:
    from wick import Device, DType, Tensor, distributed
    from wick.nn import VarBuilder, VarMap, linear
    from wick.nn.loss import cross_entropy
    from wick.nn.optim import SGD

    Device.Cpu.set_seed(0)
    varmap = VarMap()
    vb = VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu)
    layers = [
        linear(784, 1024, vb.pp("l1")),
        linear(1024, 1024, vb.pp("l2")),
        linear(1024, 10, vb.pp("l3")),
    ]
    opt = distributed.DistributedOptimizer(SGD(varmap.all_vars(), 0.01))
    batch = GLOBAL_BATCH // world.size
    rng = np.random.default_rng(world.rank)
    x = Tensor.new(rng.standard_normal((batch, 784)).astype(np.float32))
    y = Tensor.new(rng.integers(0, 10, batch).astype(np.uint32))
    times = []
    for step in range(WARMUP + STEPS):
        world.barrier()
        start = time.perf_counter()
        h = layers[1](layers[0](x).relu()).relu()
        opt.backward_step(cross_entropy(layers[2](h), y))
        times.append(time.perf_counter() - start)
    return float(np.median(times[WARMUP:]) * 1e3)


def allreduce_ms(world, params: int, reps: int) -> tuple:
    """(allreduce_grads ms, bare MPI.Allreduce ms) for ``params`` float32 gradients."""
    from mpi4py import MPI

    from wick import Tensor, Var, distributed
    from wick.core.backprop import GradStore

    # GPT-2-like pieces: a few big matrices and many small vectors.
    sizes, left = [], params
    while left > 0:
        n = min(left, 2_359_296)  # 768 x 3072, the MLP weight of one GPT-2 block
        sizes.append(n)
        left -= n
    vars_ = [Var.new(np.zeros(n, np.float32)) for n in sizes]
    grads = GradStore()
    for v in vars_:
        grads.insert(v, Tensor.new(np.ones(v.elem_count(), np.float32)))
    flat = np.ones(params, np.float32)
    ours, bare = [], []
    for _ in range(reps):
        world.barrier()
        start = time.perf_counter()
        distributed.allreduce_grads(grads, vars_)
        ours.append(time.perf_counter() - start)
        world.barrier()
        start = time.perf_counter()
        world.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        bare.append(time.perf_counter() - start)
    return float(np.median(ours) * 1e3), float(np.median(bare) * 1e3)


def worker() -> None:
    from wick import distributed

    world = distributed.init()
    result = {"size": world.size, "mlp_ms": mlp_step_ms(world)}
    if world.size > 1:
        result["mlp_allreduce"] = allreduce_ms(world, 1_863_690, reps=20)
        result["gpt2_allreduce"] = allreduce_ms(world, GPT2_124M_PARAMS, reps=3)
    if world.is_main():
        print(json.dumps(result), flush=True)


def launch(processes: int, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
    command = [mpiexec, "-n", str(processes), sys.executable, __file__, "--worker"]
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"mpiexec -n {processes} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    one = launch(1, 2)
    two = launch(2, 1)
    mlp_bytes = 1_863_690 * 4
    gpt_bytes = GPT2_124M_PARAMS * 4
    print(
        f"784-1024-1024-10 MLP, SGD, float32, global batch {GLOBAL_BATCH}, median of {STEPS} steps"
    )
    print(f"  1 process x 2 BLAS threads : {one['mlp_ms']:8.2f} ms/step")
    print(f"  2 processes x 1 thread     : {two['mlp_ms']:8.2f} ms/step (allreduce included)")
    ours, bare = two["mlp_allreduce"]
    print(
        f"allreduce_grads, MLP gradients ({mlp_bytes / 1e6:.1f} MB): {ours:8.2f} ms, bare Allreduce {bare:.2f} ms"
    )
    ours_g, bare_g = two["gpt2_allreduce"]
    print(
        f"allreduce_grads, GPT-2 124M gradients ({gpt_bytes / 1e6:.0f} MB): {ours_g:8.1f} ms, bare Allreduce {bare_g:.1f} ms"
    )
    print("ratios")
    print(f"  step time, 2 processes / 1 process : {two['mlp_ms'] / one['mlp_ms']:.2f}")
    print(f"  allreduce share of the 2-process MLP step : {ours / two['mlp_ms']:.2f}")
    print(
        f"  allreduce_grads / bare Allreduce : MLP {ours / bare:.2f}, GPT-2 124M {ours_g / bare_g:.2f}"
    )


if __name__ == "__main__":
    worker() if "--worker" in sys.argv else main()
