"""``wick train`` replays each captured step (wick.jit) and ends with the very weights, log and
losses of ``--no-compile``."""

import numpy as np
import pytest
from cli_support import call_wick

from wick import safetensors


def _log(result) -> list:
    return [
        line for line in result.stdout.splitlines() if line.startswith(("Epoch", "train ", "test "))
    ]


@pytest.mark.parametrize(
    "args",
    [
        (),  # the tutorial's job: SGD, batches of 2
        ("--data", "iris", "--epochs", "15", "--no-drop-last"),  # AdamW, a short last batch
        ("--data", "iris", "--epochs", "5", "--optimizer", "sgd", "--hidden", "8"),
    ],
)
def test_captured_steps_equal_eager_bit_for_bit(tmp_path, args):
    captured = call_wick(tmp_path, "train", *args, "--out", "a.safetensors").ok()
    eager = call_wick(tmp_path, "train", *args, "--out", "b.safetensors", "--no-compile").ok()
    assert _log(captured) == _log(eager) and _log(captured)
    a, b = (
        safetensors.load(tmp_path / "a.safetensors"),
        safetensors.load(tmp_path / "b.safetensors"),
    )
    assert sorted(a) == sorted(b)
    for name in a:
        assert np.array_equal(a[name].numpy(), b[name].numpy()), name


def test_the_step_is_replayed_not_retraced():
    from wick.cli import train

    cfg = train.Config(
        data="iris", epochs=4, batch_size=16, optimizer="adamw", standardize=True, drop_last=False
    )
    run = train.Run(cfg, "unused.safetensors")
    for _ in range(cfg.epochs):
        run.train_epoch()
    stats = run.step.stats
    # 120 rows in batches of 16: 7 full batches and one of 8 each epoch; two recordings a shape.
    assert stats["traces"] == 4 and stats["replays"] == 4 * 8 - 4
