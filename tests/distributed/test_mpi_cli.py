"""``mpiexec -n 2 wick train``: rank 0 alone logs and writes; the model equals one process
training on the same global batch."""

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

from wick import safetensors  # noqa: E402

TRAIN = [
    sys.executable,
    "-m",
    "wick.cli",
    "train",
    "--data",
    "iris",
    "--batch-size",
    "16",
    "--epochs",
    "20",
]


def run(command, cwd):
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_two_processes_train_the_model_one_process_trains(tmp_path):
    single = run(TRAIN + ["--out", "one.safetensors"], tmp_path)
    assert single.returncode == 0, single.stderr
    double = run([MPIEXEC, "-n", "2", *TRAIN, "--out", "two.safetensors"], tmp_path)
    assert double.returncode == 0, double.stderr
    assert double.stdout.count("saved     two.safetensors") == 1  # rank 0 alone
    assert "parallel  2 processes, 8 examples each per step" in double.stdout
    one, two = (
        safetensors.load(tmp_path / "one.safetensors"),
        safetensors.load(tmp_path / "two.safetensors"),
    )
    assert sorted(one) == sorted(two)
    for name in one:
        np.testing.assert_allclose(
            two[name].numpy(), one[name].numpy(), rtol=0, atol=1e-5, err_msg=name
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.safetensors", "two.safetensors"]


@pytest.mark.slow
def test_a_batch_the_processes_cannot_split_is_refused(tmp_path):
    job = run([MPIEXEC, "-n", "3", *TRAIN, "--out", "m.safetensors"], tmp_path)
    assert job.returncode == 2
    assert "--batch-size 16 is not divisible by the 3 processes" in job.stderr
    assert not (tmp_path / "m.safetensors").exists()


LM = [sys.executable, "-m", "wick.cli", "lm", "train", "--text", "the-verdict", "--size", "tiny"]
LM += ["--epochs", "1", "--batch", "4", "--sample-tokens", "0", "--init", "gpt2"]


def _val_loss(stdout: str) -> float:
    line = next(line for line in stdout.splitlines() if line.startswith("Ep 1 (tokens"))
    return float(line.rsplit("Val loss", 1)[1])


@pytest.mark.slow
def test_lm_train_runs_data_parallel(tmp_path):
    single = run(LM + ["--out", "one"], tmp_path)
    assert single.returncode == 0, single.stderr
    double = run([MPIEXEC, "-n", "2", *LM, "--out", "two"], tmp_path)
    assert double.returncode == 0, double.stderr
    assert "parallel  2 processes, 2 windows each per step" in double.stdout
    assert double.stdout.count("Ep 1 (tokens") == 1  # rank 0 alone logs
    # The same global batches; only the dropout masks differ between the two runs.
    assert abs(_val_loss(double.stdout) - _val_loss(single.stdout)) < 0.05
    assert (tmp_path / "two" / "model.safetensors").is_file()
    refused = run([MPIEXEC, "-n", "3", *LM, "--out", "three"], tmp_path)
    assert (
        refused.returncode == 2
        and "--batch 4 is not divisible by the 3 processes" in refused.stderr
    )
