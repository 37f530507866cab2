"""Data-parallel training on MPI (mpi4py): one program launched N times, each process on a shard
of every batch, gradients averaged so that every process takes the same step.

Launched by ``mpiexec -n N python train.py`` or Slurm's ``srun``. In a single process (no
launcher, or ``-n 1``) every function here is a no-op that imports nothing, so the same script
runs unchanged on a laptop.

>>> world = init()
>>> (world.rank, world.size)
(0, 1)
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from .core import Tensor, graph
from .core.errors import Error

# Gradients travel in buckets of about this many bytes: few MPI calls for big models (each call
# costs tens of microseconds), without one giant buffer for huge ones.
BUCKET_BYTES = 32 * 1024 * 1024

# Launchers announce the job size in the environment; reading it avoids importing MPI at all
# in a single process. MPICH's Hydra and Slurm's PMI set PMI_SIZE, Open MPI its own.
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "SLURM_STEP_NUM_TASKS")
_LOCAL_RANK_VARIABLES = ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID")


class DistributedError(Error, RuntimeError):
    """A failure of data-parallel training: a missing MPI, or ranks that disagree."""


@dataclass(frozen=True)
class World:
    """The processes of this job: this one's ``rank`` among ``size``, and its rank on its node."""

    rank: int
    size: int
    local_rank: int
    comm: object = None  # mpi4py's COMM_WORLD when size > 1

    def is_main(self) -> bool:
        """True on rank 0, the process that logs and writes files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Waits until every rank gets here."""
        if self.comm is not None:
            self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        """Ends every process of the job with ``code`` (MPI_Abort); never returns."""
        if self.comm is None:
            sys.exit(code)
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.25)  # lets the launcher forward this rank's last words before the kill
        self.comm.Abort(code)


_WORLD: World | None = None


def _launched_size() -> int:
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def init() -> World:
    """The job's World (created once). Under ``mpiexec``/``srun`` with N > 1 it starts MPI and
    makes an uncaught exception on any rank end the whole job (by default MPI leaves the
    other ranks waiting forever)."""
    global _WORLD
    if _WORLD is not None:
        return _WORLD
    if _launched_size() <= 1:
        _WORLD = World(0, 1, 0)
        return _WORLD
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise DistributedError(
            "distributed training needs mpi4py: pip install 'wick[distributed]'"
        ) from exc
    comm = MPI.COMM_WORLD
    local = next((os.environ[v] for v in _LOCAL_RANK_VARIABLES if v in os.environ), None)
    if local is None or not local.isdigit():
        local = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_rank()
    _WORLD = World(comm.Get_rank(), comm.Get_size(), int(local), comm)
    if _WORLD.size > 1:
        _install_abort_on_error(_WORLD)
    return _WORLD


def _install_abort_on_error(world: World) -> None:
    """An uncaught exception or a failing ``sys.exit`` on one rank ends the job: without this,
    the rank would finalize MPI and the others would wait for it in their next collective."""
    previous_hook, previous_exit = sys.excepthook, sys.exit

    def abort_job(kind, value, tb):
        sys.stderr.write(f"[rank {world.rank}] ")
        previous_hook(kind, value, tb)
        world.abort(1)

    def exit_job(code=None):
        if code is None or code == 0:
            previous_exit(code)
        if not isinstance(code, int):
            sys.stderr.write(f"{code}\n")
            code = 1
        world.abort(code)

    sys.excepthook = abort_job
    sys.exit = exit_job


def is_main() -> bool:
    """True on rank 0 (and in a single process)."""
    return init().rank == 0


def _named(vars) -> list:
    """``[(name, var)]`` from a VarMap, a dict of name to Var, or a list of Vars."""
    data = getattr(vars, "data", None)
    if callable(data):
        vars = data()
    if isinstance(vars, dict):
        return sorted(vars.items())
    return [(f"var #{i}", v) for i, v in enumerate(vars)]


def _signature(named: list) -> list:
    return [(name, tuple(v.shape), v.dtype.as_str()) for name, v in named]


def _first_difference(signatures: list) -> str:
    reference = signatures[0]
    for rank, theirs in enumerate(signatures[1:], start=1):
        if theirs == reference:
            continue
        for mine, other in zip(reference, theirs):
            if mine != other:
                return (
                    f"rank 0 has {mine[0]} {list(mine[1])} {mine[2]}, "
                    f"rank {rank} has {other[0]} {list(other[1])} {other[2]}"
                )
        longer, count = (
            (reference, len(theirs)) if len(reference) > len(theirs) else (theirs, len(reference))
        )
        return (
            f"rank 0 has {len(reference)} tensors, rank {rank} has {len(theirs)} "
            f"(first unmatched: {longer[count][0]})"
        )
    return ""


def _buckets(arrays: list) -> list:
    """Groups array indices by wire dtype into runs of about BUCKET_BYTES."""
    groups: dict = {}
    for i, a in enumerate(arrays):
        groups.setdefault(_wire_dtype(a.dtype), []).append(i)
    buckets = []
    for dtype, members in groups.items():
        current, size = [], 0
        for i in members:
            current.append(i)
            size += arrays[i].size * dtype.itemsize
            if size >= BUCKET_BYTES:
                buckets.append((dtype, current))
                current, size = [], 0
        if current:
            buckets.append((dtype, current))
    return buckets


def _wire_dtype(dtype) -> np.dtype:
    # MPI has no 16-bit float types: half precision travels (and is averaged) as float32.
    if dtype.itemsize == 2 and dtype.kind not in "ui":
        return np.dtype(np.float32)
    return np.dtype(dtype)


def _host(t: Tensor) -> np.ndarray:
    return t._device.backend.to_host(t._data)


def broadcast_vars(vars, root: int = 0) -> None:
    """Copies the values of ``vars`` (a VarMap, a dict of Vars or a list) from rank ``root`` to
    every rank, in place. Raises DistributedError, naming the tensor and the ranks, when the
    ranks' models differ in a name, shape or dtype."""
    world = init()
    if world.size == 1:
        return
    named = _named(vars)
    signatures = world.comm.allgather(_signature(named))
    difference = _first_difference(signatures)
    if difference:
        raise DistributedError(f"broadcast_vars: the ranks' models differ: {difference}")
    values = [_host(v) for _, v in named]
    for slot, (dtype, members) in enumerate(_buckets(values)):
        flat = _pack(values, members, dtype, slot)
        world.comm.Bcast(flat, root=root)
        for i, part in _unpack(flat, values, members):
            var = named[i][1]
            var._data[...] = var._device.xp.asarray(part.astype(var._data.dtype, copy=False))


# One reusable buffer per bucket position: packing then writes into pages already mapped
# instead of faulting in tens of megabytes every step. Results never alias them (see below).
_BUFFERS: dict = {}


def _pack(arrays: list, members: list, dtype, slot: int) -> np.ndarray:
    n_total = sum(arrays[i].size for i in members)
    flat = _BUFFERS.get(slot)
    if flat is None or flat.dtype != dtype or flat.size != n_total:
        flat = _BUFFERS[slot] = np.empty(n_total, dtype=dtype)
    offset = 0
    for i in members:
        n = arrays[i].size
        flat[offset : offset + n] = arrays[i].reshape(-1)
        offset += n
    return flat


def _unpack(flat: np.ndarray, arrays: list, members: list):
    offset = 0
    for i in members:
        n = arrays[i].size
        yield i, flat[offset : offset + n].reshape(arrays[i].shape)
        offset += n


def allreduce_grads(grads, vars) -> None:
    """Replaces each gradient in ``grads`` (a GradStore) by its average over the ranks, for the
    ``vars`` given (every rank passes the same ones, in the same order). A variable without a
    gradient on some rank counts as zero there; one without a gradient on every rank stays
    without one, so optimizers skip it as in a single process."""
    world = init()
    if world.size == 1:
        return
    from mpi4py import MPI

    named = _named(vars)
    present = np.array([grads.get(v) is not None for _, v in named], dtype=np.int32)
    world.comm.Allreduce(MPI.IN_PLACE, present, op=MPI.SUM)
    kept = [v for (_, v), n in zip(named, present) if n > 0]
    values = []
    for v in kept:
        g = grads.get(v)
        values.append(_host(g) if g is not None else np.zeros(v.shape, dtype=_host(v).dtype))
    scale = 1.0 / world.size
    for slot, (dtype, members) in enumerate(_buckets(values)):
        flat = _pack(values, members, dtype, slot)
        world.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        for i, part in _unpack(flat, values, members):
            # The average lands in a new array of the gradient's dtype (one pass), so the
            # bucket can be reused and no gradient aliases another (add's backward hands the
            # same array to both inputs).
            mean = np.multiply(part, dtype.type(scale), dtype=values[i].dtype)
            var = kept[i]
            grads.insert(var, graph.wrap(var._device.xp.asarray(mean), var._device))


class DistributedOptimizer:
    """Wraps any wick optimizer for data-parallel training: gradients are averaged over the
    ranks before each step, and the variables start equal (broadcast from rank 0 when this
    wrapper is made), so the training loop does not change. State is saved by rank 0 only."""

    def __init__(self, optimizer, root: int = 0):
        self.optimizer = optimizer
        self.world = init()
        broadcast_vars(optimizer.vars, root)

    @property
    def vars(self) -> list:
        return self.optimizer.vars

    def step(self, grads) -> None:
        """Averages ``grads`` over the ranks, then steps the wrapped optimizer."""
        allreduce_grads(grads, self.optimizer.vars)
        self.optimizer.step(grads)

    def backward_step(self, loss: Tensor) -> None:
        """``loss.backward()``, the average over the ranks, then the step."""
        self.step(loss.backward())

    def learning_rate(self) -> float:
        return self.optimizer.learning_rate()

    def set_learning_rate(self, lr: float) -> None:
        self.optimizer.set_learning_rate(lr)

    def save(self, path) -> None:
        """Writes the optimizer state from rank 0 (every rank holds the same state)."""
        if self.world.is_main():
            self.optimizer.save(path)
        self.world.barrier()

    def load(self, path) -> None:
        """Every rank reads the state rank 0 saved."""
        self.optimizer.load(path)

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


__all__ = [
    "BUCKET_BYTES",
    "DistributedError",
    "DistributedOptimizer",
    "World",
    "allreduce_grads",
    "broadcast_vars",
    "init",
    "is_main",
]
