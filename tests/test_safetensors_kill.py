"""kill -9 during a large ``VarMap.save``, again and again: the file on disk is always a whole
file (the previous or the new one, never a mix), and no temporary file outlives the next save
or load of that path."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors import numpy as st_numpy

import wick.safetensors as ws
from wick import Tensor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_TENSORS, SIZE = 16, 1_000_000  # 64 MB of F32: each save takes a while, kills land mid-write

# Saves a VarMap whose every value is ``k`` over and over until it is killed.
CHILD = """
import sys
import numpy as np
from wick import Var
from wick.nn import VarMap
path, k, n, size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
vm = VarMap()
for i in range(n):
    vm.insert(f"layer.{i}.weight", Var.new(np.full((size,), k, np.float32)))
print("ready", flush=True)
while True:
    vm.save(path)
"""


def _temps(folder) -> list:
    return [e for e in os.listdir(folder) if e != "model.safetensors"]  # any name, old or new


def _whole_value(path, with_wick: bool) -> float:
    """The one value every tensor of the file holds (a mixed file fails here), read by wick
    (whose load cleans up) or by the safetensors package (which does not)."""
    if with_wick:
        arrays = {n: t.numpy() for n, t in ws.load(path).items()}
    else:
        arrays = st_numpy.load_file(str(path))
    assert sorted(arrays) == sorted(f"layer.{i}.weight" for i in range(N_TENSORS))
    values = {float(v) for a in arrays.values() for v in np.unique(a)}
    assert len(values) == 1, values
    return values.pop()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_kill_9_during_save_never_loses_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    ws.save({f"layer.{i}.weight": Tensor.zeros((SIZE,)) for i in range(N_TENSORS)}, path)
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    rng = random.Random(0)
    seen, left_behind = {0.0}, 0
    for k in range(1, 21):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(k), str(N_TENSORS), str(SIZE)],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait()  # reaped: its pid is gone
        child.stdout.close()
        temps = _temps(tmp_path)
        # At most the killed writer's own: the one before it was removed by this child's first
        # save (odd k) or by the load below (even k).
        assert len(temps) <= 1, temps
        left_behind += len(temps)
        value = _whole_value(path, with_wick=k % 2 == 0)
        assert value in seen | {float(k)}
        seen.add(float(k))
        if k % 2 == 0:
            assert _temps(tmp_path) == []  # wick's load removed the dead writer's temp
    assert left_behind >= 1, "no kill landed during a write: the test proved nothing"
    ws.save({"x": Tensor.new([1.0])}, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]
