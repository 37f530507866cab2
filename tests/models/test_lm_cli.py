"""``wick lm train`` and ``wick generate``, run as a user would (a fresh process in a folder)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from gpt2_golden import folder

from wick import safetensors

SRC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src"
)
pytest.importorskip("tokenizers")

# A small run: the tiny preset (2 layers, 64 wide, GPT-2's vocabulary).
FAST = ["--size", "tiny", "--context", "64", "--batch", "4", "--lr", "5e-3", "--sample-tokens", "5"]


# Faster still for the resume and NaN runs: one 16-wide layer on the story's first 4,000 characters.
MINI = {"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 32}


def _mini(tmp_path) -> list:
    from wick.datasets import the_verdict

    (tmp_path / "mini.json").write_text(json.dumps(MINI))
    (tmp_path / "start.txt").write_text(the_verdict()[:4000])
    return ["--text", "start.txt", "--size", "mini.json", "--context", "32", "--batch", "4",
            "--lr", "5e-3", "--sample-tokens", "3"]  # fmt: skip


def wick(cwd, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "wick.cli.main", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _losses(stdout: str) -> list:
    return [
        (float(a), float(b))
        for a, b in re.findall(
            r"^Ep \d+ \(tokens seen [\d,]+\): Train loss (\d+\.\d+), Val loss (\d+\.\d+)",
            stdout,
            re.M,
        )
    ]


@pytest.mark.slow
def test_train_on_the_verdict_then_generate(tmp_path):
    done = wick(tmp_path, "lm", "train", "--text", "the-verdict", *FAST, "--epochs", "1",
                "--out", "m")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4,612 training and 534 validation tokens" in done.stdout
    losses = _losses(done.stdout)
    assert len(losses) == 1 and done.stdout.count("sample: Every effort moves you") == 1
    # The book's first point: after one update, near a uniform guess.
    first = re.search(
        r"^Ep 1 \(step 1, tokens seen 256\): Train loss (\d+\.\d+)", done.stdout, re.M
    )
    assert first and 9.0 < float(first.group(1)) < 11.5
    # Far below a uniform guess over GPT-2's 50,257 ids (ln 50257 = 10.82).
    assert losses[-1][0] < math.log(50257) - 3.0, done.stdout
    assert sorted(os.listdir(tmp_path / "m")) == [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
        "training.json",
    ]  # fmt: skip
    history = json.loads((tmp_path / "m" / "training.json").read_text())["history"]
    assert [round(r["train_loss"], 3) for r in history] == [a for a, _ in losses]

    gen = wick(tmp_path, "generate", "m", "Every effort moves you", "--max-new-tokens", "6")
    assert gen.returncode == 0, gen.stderr
    assert gen.stdout.startswith("Every effort moves you") and gen.stdout.endswith("\n")
    again = wick(tmp_path, "generate", "m", "Every effort moves you", "--max-new-tokens", "6")
    assert again.stdout == gen.stdout  # greedy: deterministic
    sampled = [
        wick(tmp_path, "generate", "m", "Every", "--temperature", "1.5", "--top-k", "50",
             "--top-p", "0.95", "--seed", "3").stdout
        for _ in range(2)
    ]  # fmt: skip
    assert sampled[0] == sampled[1] and sampled[0].startswith("Every")


@pytest.mark.slow
def test_resume_is_bit_for_bit(tmp_path):
    small = _mini(tmp_path)
    assert wick(tmp_path, "lm", "train", *small, "--epochs", "2", "--out", "full").returncode == 0
    first = wick(tmp_path, "lm", "train", *small, "--epochs", "1", "--out", "part",
                 "--checkpoint", "ck.safetensors")  # fmt: skip
    assert first.returncode == 0, first.stderr
    resumed = wick(tmp_path, "lm", "train", "--resume", "ck.safetensors", "--epochs", "2",
                   "--out", "part")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed   ck.safetensors at epoch 1" in resumed.stdout
    a = safetensors.load(tmp_path / "full" / "model.safetensors")
    b = safetensors.load(tmp_path / "part" / "model.safetensors")
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name].numpy(), b[name].numpy())
    changed = wick(tmp_path, "lm", "train", "--resume", "ck.safetensors", "--lr", "1e-2",
                   "--out", "part")  # fmt: skip
    assert (
        changed.returncode == 2
        and "--lr 0.01 differs from the checkpoint's 0.005" in changed.stderr
    )


@pytest.mark.slow
def test_nan_loss_stops_keeping_the_last_good_model(tmp_path, monkeypatch, capsys):
    from wick.cli import lm, main

    real_save = lm._save

    def save_then_diverge(run, out):
        real_save(run, out)
        run.optimizer.set_learning_rate(1e30)  # epoch 2 blows the weights up: a real NaN/inf

    monkeypatch.setattr(lm, "_save", save_then_diverge)
    monkeypatch.chdir(tmp_path)
    code = main.main(["lm", "train", *_mini(tmp_path), "--epochs", "3", "--out", "m"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert re.fullmatch(
        r"wick: error: training stopped, epoch 2, step \d+: the loss is (nan|inf); "
        r"m keeps the model of epoch 1",
        err,
    ), err
    saved = json.loads((tmp_path / "m" / "training.json").read_text())
    assert saved["epoch"] == 1
    weights = safetensors.load(tmp_path / "m" / "model.safetensors")
    assert all(np.isfinite(t.numpy()).all() for t in weights.values())


def _in_process(monkeypatch, capsys, cwd, *args):
    """``wick ARGS`` in this process: (exit code, stderr lines)."""
    from wick.cli import main

    monkeypatch.chdir(cwd)
    code = main.main(list(args))
    return code, capsys.readouterr().err.strip().splitlines()


def test_bad_input_one_line_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "short.txt").write_text("Too short.")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    cases = [
        (["lm", "train", "--text", "short.txt", "--out", "o"], "the training text (9 characters"),
        (["lm", "train", "--text", "the-verdict", "--size", "huge", "--out", "o"],
         "unknown --size 'huge' (known: tiny, small, 124m"),
        (["lm", "train", "--text", "nope.txt", "--out", "o"], "no such text file: nope.txt"),
        (["lm", "train", "--text", "the-verdict", "--out", "m"],
         "--out m already holds config.json; not overwriting"),
        (["lm", "train", "--out", "o"], "--text FILE (or 'the-verdict') is required"),
        (["generate", "nowhere", "hi"], "no such model folder nowhere"),
        (["generate", folder("hf_tied"), "hi"], "has no tokenizer.json"),
    ]  # fmt: skip
    for args, message in cases:
        code, lines = _in_process(monkeypatch, capsys, tmp_path, *args)
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, lines)
    assert (tmp_path / "m" / "config.json").read_text() == "{}"
    assert not (tmp_path / "o").exists()


def test_config_json_size_and_its_errors(tmp_path, monkeypatch, capsys):
    cfg = {"model_type": "gpt2", "n_embd": 30, "n_head": 4, "n_positions": 32}
    (tmp_path / "bad.json").write_text(json.dumps(cfg))
    run = lambda *a: _in_process(monkeypatch, capsys, tmp_path, "lm", "train", *a)
    code, err = run("--text", "the-verdict", "--size", "bad.json", "--out", "o")
    assert code == 2 and "n_embd 30 is not divisible by n_head 4" in err[0]
    cfg.update(n_embd=32, vocab_size=1000)
    (tmp_path / "small_vocab.json").write_text(json.dumps(cfg))
    code, err = run("--text", "the-verdict", "--size", "small_vocab.json", "--context", "16",
                    "--out", "o")  # fmt: skip
    assert code == 2 and "vocab_size 1000 is smaller than GPT-2's" in err[0]
    code, err = run("--text", "the-verdict", "--size", "small_vocab.json", "--context", "64",
                    "--out", "o")  # fmt: skip
    assert code == 2 and "--context 64 exceeds small_vocab.json's n_positions 32" in err[0]
    assert not (tmp_path / "o").exists()
