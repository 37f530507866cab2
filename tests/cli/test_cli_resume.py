"""``wick train --checkpoint`` / ``--resume``: an interrupted run continues bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cli_support import default_sigint, env

from wick.safetensors import load, read_metadata


def same_weights(a, b) -> bool:
    ta, tb = load(a), load(b)
    return sorted(ta) == sorted(tb) and all(
        ta[k].numpy().tobytes() == tb[k].numpy().tobytes() for k in ta
    )


def test_resumed_run_ends_with_the_uninterrupted_runs_weights(wick, tmp_path):
    wick("train", "--data", "iris", "--epochs", "6", "--out", "straight.safetensors").ok()
    wick(
        "train",
        "--data",
        "iris",
        "--epochs",
        "3",
        "--checkpoint",
        "ck.safetensors",
        "--out",
        "half.safetensors",
    ).ok()
    assert json.loads(read_metadata(tmp_path / "ck.safetensors")["wick.run"])["epoch"] == 3
    assert not same_weights(tmp_path / "straight.safetensors", tmp_path / "half.safetensors")
    done = wick(
        "train", "--resume", "ck.safetensors", "--epochs", "6", "--out", "resumed.safetensors"
    ).ok()
    assert "resumed   ck.safetensors at epoch 3" in done.stdout
    assert "Epoch: 004/006" in done.stdout and "Epoch: 003/006" not in done.stdout
    assert same_weights(tmp_path / "straight.safetensors", tmp_path / "resumed.safetensors")
    # The resumed run kept saving to its checkpoint.
    assert json.loads(read_metadata(tmp_path / "ck.safetensors")["wick.run"])["epoch"] == 6


def test_resume_with_sgd_on_the_toy_set_is_bit_for_bit_too(wick, tmp_path):
    wick("train", "--epochs", "4", "--out", "straight.safetensors").ok()
    wick("train", "--epochs", "1", "--checkpoint", "ck.safetensors", "--out", "x.safetensors").ok()
    wick("train", "--resume", "ck.safetensors", "--epochs", "4", "--out", "r.safetensors").ok()
    assert same_weights(tmp_path / "straight.safetensors", tmp_path / "r.safetensors")


@pytest.mark.slow  # waits for a real SIGINT to land mid-run: seconds of wall time
def test_a_run_stopped_with_ctrl_c_resumes_bit_for_bit(wick, tmp_path):
    ckpt = tmp_path / "ck.safetensors"
    cmd = [
        sys.executable,
        "-m",
        "wick.cli.main",
        "train",
        "--data",
        "iris",
        "--epochs",
        "100000",
        "--checkpoint",
        "ck.safetensors",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 60
    while not ckpt.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    epoch = json.loads(read_metadata(ckpt)["wick.run"])["epoch"]
    assert f"ck.safetensors holds epoch {epoch}. Continue with: wick train --resume" in err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "model.safetensors")  # the run did not finish
    target = str(epoch + 2)
    wick("train", "--resume", "ck.safetensors", "--epochs", target, "--out", "r.safetensors").ok()
    wick("train", "--data", "iris", "--epochs", target, "--out", "straight.safetensors").ok()
    assert same_weights(tmp_path / "straight.safetensors", tmp_path / "r.safetensors")


def test_resume_refuses_to_change_what_the_checkpoint_fixed(wick, tmp_path):
    wick("train", "--data", "iris", "--epochs", "2", "--checkpoint", "ck.safetensors").ok()
    done = wick("train", "--resume", "ck.safetensors", "--lr", "0.1", "--epochs", "4")
    assert done.returncode == 2
    assert done.stderr == "wick: error: --lr cannot change when resuming; the checkpoint has 0.01\n"
    done = wick("train", "--resume", "ck.safetensors", "--epochs", "1")
    assert done.stderr == "wick: error: the checkpoint is at epoch 2, past --epochs 1\n"


def test_resume_refuses_changed_data(wick, tmp_path):
    (tmp_path / "d.csv").write_text("a,y\n1,p\n2,p\n3,q\n4,q\n5,p\n6,q\n")
    wick("train", "--data", "d.csv", "--epochs", "1", "--checkpoint", "ck.safetensors").ok()
    (tmp_path / "d.csv").write_text("a,y\n1,p\n2,p\n3,q\n4,q\n5,p\n7,q\n")
    done = wick("train", "--resume", "ck.safetensors", "--epochs", "2")
    assert done.returncode == 2
    assert done.stderr == (
        "wick: error: the data files differ from those the checkpoint was trained on\n"
    )
