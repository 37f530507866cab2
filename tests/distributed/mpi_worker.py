"""Run under mpiexec by test_mpi.py: ``python mpi_worker.py MODE OUT_DIR``.

Modes: ``sgd``/``adamw`` train a small MLP data-parallel for 20 steps and save this rank's
parameters; ``single-sgd``/``single-adamw`` train the same model in one process on the union of
the shards; ``raise`` fails on rank 1; ``exit`` leaves rank 1 with SystemExit(3) while rank 0
waits; ``mismatch`` builds a different model on rank 1.
"""

import os
import sys

import numpy as np

from wick import Device, DType, Tensor, distributed
from wick.data import DataLoader, TensorDataset
from wick.nn import VarBuilder, VarMap, linear
from wick.nn.loss import cross_entropy
from wick.nn.optim import SGD, AdamW, ParamsAdamW

STEPS, PER_RANK_BATCH = 20, 4


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.uint32) + (x[:, 2] > 1).astype(np.uint32)
    return TensorDataset(Tensor.new(x), Tensor.new(y))


def model(seed: int, hidden: int = 16):
    Device.Cpu.set_seed(seed)
    varmap = VarMap()
    vb = VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu)
    l1, l2 = linear(5, hidden, vb.pp("l1")), linear(hidden, 3, vb.pp("l2"))
    return varmap, lambda x: l2(l1(x).relu())


def optimizer(kind: str, varmap):
    if kind == "sgd":
        return SGD(varmap.all_vars(), 0.1)
    return AdamW(varmap.all_vars(), ParamsAdamW(lr=0.01))


def train(kind: str, out: str, world) -> None:
    # Each rank starts from other random weights: DistributedOptimizer broadcasts rank 0's.
    varmap, forward = model(seed=100 + world.rank)
    opt = distributed.DistributedOptimizer(optimizer(kind, varmap))
    loader = DataLoader(
        data(), PER_RANK_BATCH, shuffle=True, drop_last=True, seed=5, shard=(world.rank, world.size)
    )
    steps = 0
    while steps < STEPS:
        for x, y in loader:
            opt.backward_step(cross_entropy(forward(x), y))
            steps += 1
            if steps == STEPS:
                break
    np.savez(
        os.path.join(out, f"rank{world.rank}.npz"),
        **{k: v.numpy() for k, v in varmap.data().items()},
    )


def train_single(kind: str, out: str, size: int) -> None:
    varmap, forward = model(seed=100)
    np.savez(os.path.join(out, "start.npz"), **{k: v.numpy() for k, v in varmap.data().items()})
    opt = optimizer(kind, varmap)
    loader = DataLoader(data(), PER_RANK_BATCH * size, shuffle=True, drop_last=True, seed=5)
    steps = 0
    while steps < STEPS:
        for x, y in loader:
            opt.backward_step(cross_entropy(forward(x), y))
            steps += 1
            if steps == STEPS:
                break
    np.savez(os.path.join(out, "single.npz"), **{k: v.numpy() for k, v in varmap.data().items()})


def main() -> None:
    mode, out = sys.argv[1], sys.argv[2]
    if mode.startswith("single-"):
        train_single(mode.split("-")[1], out, int(sys.argv[3]))
        return
    world = distributed.init()
    if mode in ("sgd", "adamw"):
        train(mode, out, world)
    elif mode == "raise":
        if world.rank == 1:
            raise RuntimeError("rank 1 fails on purpose")
        world.barrier()  # would wait forever without the abort
    elif mode == "exit":
        if world.rank == 1:
            sys.exit(3)
        world.barrier()
    elif mode == "mismatch":
        varmap, _ = model(seed=1, hidden=16 if world.rank == 0 else 17)
        distributed.broadcast_vars(varmap)


if __name__ == "__main__":
    main()
