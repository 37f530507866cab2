"""Data-parallel training under a real ``mpiexec`` (mpi4py + MPICH), each job in a subprocess
with a timeout, so a hang fails the test instead of freezing the suite."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
if MPIEXEC is None:
    pytest.skip(
        "mpiexec is not installed (pip install 'wick[distributed]')", allow_module_level=True
    )

WORKER = os.path.join(os.path.dirname(__file__), "mpi_worker.py")
TIMEOUT = 60


def launch(n: int, *args, timeout: int = TIMEOUT):
    command = [MPIEXEC, "-n", str(n), sys.executable, WORKER, *map(str, args)]
    if n == 0:
        command = [sys.executable, WORKER, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def params(path) -> dict:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.slow
@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_ranks_stay_identical_and_equal_one_process_on_the_union(tmp_path, kind, size):
    job = launch(size, kind, tmp_path)
    assert job.returncode == 0, job.stderr
    single = launch(0, f"single-{kind}", tmp_path, size)
    assert single.returncode == 0, single.stderr
    ranks = [params(tmp_path / f"rank{r}.npz") for r in range(size)]
    reference = params(tmp_path / "single.npz")
    assert sorted(reference) == ["l1.bias", "l1.weight", "l2.bias", "l2.weight"]
    for name, value in reference.items():
        for r in range(1, size):
            assert np.array_equal(ranks[r][name], ranks[0][name]), (name, r)
        np.testing.assert_allclose(ranks[0][name], value, rtol=0, atol=1e-6, err_msg=name)
    # The ranks did learn: 20 steps moved the weights well away from the start.
    start = params(tmp_path / "start.npz")
    assert max(np.abs(ranks[0][k] - start[k]).max() for k in start) > 1e-2


@pytest.mark.slow
def test_a_raising_rank_ends_the_job_promptly():
    job = launch(2, "raise", "/tmp", timeout=30)
    assert job.returncode != 0
    assert "rank 1 fails on purpose" in job.stderr


@pytest.mark.slow
def test_a_failing_sys_exit_on_one_rank_ends_the_job_with_its_code():
    job = launch(2, "exit", "/tmp", timeout=30)
    assert job.returncode == 3


@pytest.mark.slow
def test_a_mismatched_model_is_named_at_broadcast():
    job = launch(2, "mismatch", "/tmp", timeout=30)
    assert job.returncode != 0
    assert (
        "broadcast_vars: the ranks' models differ: rank 0 has l1.bias [16] f32, "
        "rank 1 has l1.bias [17] f32"
    ) in job.stderr
