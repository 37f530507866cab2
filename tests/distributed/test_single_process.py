"""wick.distributed in one process: every call a no-op that imports no MPI."""

import subprocess
import sys

from wick import Device, DType, Tensor, distributed
from wick.nn import VarBuilder, VarMap, linear
from wick.nn.optim import SGD


def test_one_process_imports_no_mpi_and_has_rank_zero():
    code = (
        "import sys, wick.distributed as d; w = d.init(); "
        "print(w.rank, w.size, w.local_rank, d.is_main(), 'mpi4py' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "PMI_SIZE": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["0", "1", "0", "True", "False"], out.stderr


def test_distributed_optimizer_in_one_process_is_the_optimizer():
    Device.Cpu.set_seed(1)
    varmap = VarMap()
    layer = linear(3, 2, VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu))
    before = {k: v.to_vec2() if v.rank() == 2 else v.to_vec1() for k, v in varmap.data().items()}
    opt = distributed.DistributedOptimizer(SGD(varmap.all_vars(), 0.5))
    x = Tensor.new([[1.0, 2.0, 3.0]]).to_dtype(DType.F32)
    grads = layer(x).sum_all().backward()
    weight = varmap.data()["weight"]
    expected = (weight - grads.get(weight) * 0.5).to_vec2()
    distributed.allreduce_grads(grads, varmap)  # a no-op with one process
    opt.step(grads)
    assert weight.to_vec2() == expected != before["weight"]
    assert opt.learning_rate() == 0.5
    opt.set_learning_rate(0.1)
    assert opt.optimizer.learning_rate() == 0.1
