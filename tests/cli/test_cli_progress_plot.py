"""``wick train``: the progress bar on a terminal, the final table, and ``--plot``."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading

import pytest
from cli_support import env


def test_long_runs_show_a_progress_bar_on_a_terminal(tmp_path):
    master, slave = pty.openpty()
    cmd = [sys.executable, "-m", "wick.cli.main", "train", "--data", "iris", "--epochs", "40"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=slave, text=True
    )
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the terminal closed: the process is done
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    assert proc.returncode == 0
    terminal = b"".join(chunks).decode(errors="replace")
    assert re.search(r"\d+/40 \[", terminal), terminal  # tqdm's "12/40 [00:00<...]"
    assert "epoch/s" in terminal or "s/epoch" in terminal
    # The log lines stay on stdout, every tenth of the run, and the table follows.
    epochs = re.findall(
        r"^Epoch: (\d{3})/040 \| Train Loss: \d+\.\d\d \| Train Acc: "
        r"\d\.\d{4} \| Test Acc: \d\.\d{4}$",
        out,
        re.M,
    )
    assert epochs == [f"{e:03d}" for e in range(4, 41, 4)]
    assert re.search(r"^\s+examples\s+loss\s+accuracy$", out, re.M)


def test_without_a_terminal_there_is_no_progress_bar(wick):
    done = wick("train", "--data", "iris", "--epochs", "40").ok()
    assert done.stderr == ""


def test_plot_draws_the_loss_and_accuracy_curves(wick, tmp_path):
    pytest.importorskip("matplotlib")  # the optional extra 'wick[plot]'
    done = wick("train", "--data", "iris", "--epochs", "5", "--plot", "curves.png").ok()
    assert "plotted   curves.png" in done.stdout
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(wick, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"an older model")
    done = wick("train", "--plot", "curves.png", "--force", block=["matplotlib"])
    assert done.returncode == 2
    assert done.stderr == (
        "wick: error: --plot needs matplotlib, which is not installed; install it with "
        "pip install 'wick[plot]' (or pip install matplotlib)\n"
    )
    assert done.stdout == ""  # nothing trained, nothing written
    assert (tmp_path / "model.safetensors").read_bytes() == b"an older model"
    assert not (tmp_path / "curves.png").exists()


def test_plot_refuses_a_format_matplotlib_cannot_write_before_training(wick):
    pytest.importorskip("matplotlib")
    done = wick("train", "--plot", "curves.xyz")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("wick: error: --plot curves.xyz: matplotlib cannot write .xyz")
