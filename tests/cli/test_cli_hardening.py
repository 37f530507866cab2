"""Diverging training, continuous targets and --task regression, absurd options, hostile model
files, and the top-level catch: every failure one line on stderr, exit 2. In-process: fast."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from cli_support import call_wick
from safetensors.numpy import save_file

from wick.safetensors import load, read_metadata

GOOD = "a,b,label\n1.0,2.0,x\n1.5,2.5,y\n0.5,1.0,x\n2.0,3.0,y\n1.2,2.2,x\n1.9,2.8,y\n"


def one_error_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


# ----- training that diverges ------------------------------------------------------------------


def test_a_diverging_run_stops_and_keeps_the_last_finite_model(tmp_path):
    done = call_wick(tmp_path, "train", "--lr", "1e10")  # the toy set, two batches an epoch
    line = one_error_line(done)
    assert line == (
        "wick: error: the training loss became nan at epoch 2, batch 2 (--lr 1e+10 is probably "
        "too high, or the features need --standardize); saved model.safetensors from epoch 1, "
        "the last with finite losses"
    )
    assert "as before saving" not in done.stdout
    weights = load(tmp_path / "model.safetensors")
    assert all(np.isfinite(t.numpy()).all() for t in weights.values())
    training = json.loads(read_metadata(tmp_path / "model.safetensors")["wick.training"])
    assert training["epochs"] == 1 and training["stopped"].startswith("the training loss became")


def test_a_run_diverging_in_its_first_epoch_saves_nothing(tmp_path):
    call_wick(tmp_path, "train").ok()
    before = (tmp_path / "model.safetensors").read_bytes()
    line = one_error_line(call_wick(tmp_path, "train", "--lr", "1e10", "--batch-size", "1"))
    assert line.startswith("wick: error: the training loss became nan at epoch 1, batch 4")
    assert line.endswith("; nothing saved")
    assert (tmp_path / "model.safetensors").read_bytes() == before


# ----- continuous targets and --task regression -------------------------------------------------


def regression_csv(path, n=120, seed=0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ [1.5, -2.0, 0.5] + 10 + 0.05 * rng.normal(size=n)
    lines = ["a,b,c,price"] + [
        ",".join(f"{v:.5f}" for v in row) + f",{t:.4f}" for row, t in zip(x, y)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_a_continuous_target_is_refused_as_classes(tmp_path):
    regression_csv(tmp_path / "r.csv")
    line = one_error_line(call_wick(tmp_path, "train", "--data", "r.csv"))
    assert line == (
        "wick: error: the target 'price' in r.csv looks continuous (120 different numbers in 120 "
        "rows), not like classes: pass --task regression to predict the number, or --task "
        "classification to make each value a class"
    )
    assert not (tmp_path / "model.safetensors").exists()
    # Asked for explicitly, one class per value it is (a classifier of 120 classes).
    done = call_wick(
        tmp_path,
        "train",
        "--data",
        "r.csv",
        "--task",
        "classification",
        "--epochs",
        "1",
        "--test-fraction",
        "0",
    ).ok()
    assert "classes   120: " in done.stdout


def test_regression_trains_reports_r2_and_mae_and_predicts_numbers(tmp_path):
    regression_csv(tmp_path / "r.csv")
    done = call_wick(
        tmp_path, "train", "--data", "r.csv", "--task", "regression", "--epochs", "80"
    ).ok()
    assert "wick train: an MLP regressor for 'price' in r.csv" in done.stdout
    assert "data      120 rows; 96 for training, 24 held out for testing (random, seed 123)" in (
        done.stdout
    )
    assert "model     MLP 3-30-20-1 (ReLU)" in done.stdout
    test_r2 = done.number(r"^test\s+24\s+\S+\s+\S+\s+(\S+)$")
    assert test_r2 > 0.9
    meta = read_metadata(tmp_path / "model.safetensors")
    assert meta["wick.format"] == "wick-mlp-regressor/1" and "wick.classes" not in meta
    scored = call_wick(tmp_path, "eval", "--model", "model.safetensors", "--data", "r.csv").ok()
    r2 = float(scored.stdout.split("R2        ")[1].split()[0])
    assert r2 > 0.9
    call_wick(
        tmp_path, "predict", "--model", "model.safetensors", "--data", "r.csv", "--out", "p.csv"
    ).ok()
    rows = [r.split(",") for r in (tmp_path / "p.csv").read_text().splitlines()]
    assert rows[0] == ["a", "b", "c", "price", "predicted_price"]
    truth = np.array([float(r[3]) for r in rows[1:]])
    pred = np.array([float(r[4]) for r in rows[1:]])
    ss = ((truth - pred) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
    assert math.isclose(1 - ss, r2, abs_tol=2e-4)  # predict and eval agree


def test_regression_target_must_be_numbers(tmp_path):
    (tmp_path / "r.csv").write_text("a,y\n1,2.5\n2,3.5\n3,oops\n")
    line = one_error_line(call_wick(tmp_path, "train", "--data", "r.csv", "--task", "regression"))
    assert line == (
        "wick: error: r.csv, line 4: the target 'y' holds 'oops', which is not a finite number "
        "(--task regression predicts numbers)"
    )


# ----- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "argument --seed: must be in [0, 2**64), got -1"),
        (["--seed", str(2**64)], "argument --seed: must be in [0, 2**64)"),
        (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["--epochs", "-3"], "argument --epochs: must be at least 1, got -3"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--lr", "nan"], "argument --lr: must be a finite number above 0, got nan"),
        (["--lr", "inf"], "argument --lr: must be a finite number above 0, got inf"),
        (["--lr", "-0.1"], "argument --lr: must be a finite number above 0, got -0.1"),
        (["--lr", "fast"], "argument --lr: expected a number, got 'fast'"),
        (["--hidden", "0"], "argument --hidden: layer sizes must be in [1, 2,147,483,647]"),
        (["--hidden", "30,x"], "argument --hidden: expected sizes like 30,20, got '30,x'"),
        (["--data", "d.csv", "--test-fraction", "nan"], "argument --test-fraction: must be in"),
        (["--data", "d.csv", "--features", "a,,b"], "argument --features: expected column names"),
        (["--delimiter", "x"], "argument --delimiter: expected one of , ; | tab, got 'x'"),
    ],
)
def test_absurd_options_are_one_line_before_any_work(tmp_path, args, message):
    (tmp_path / "d.csv").write_text(GOOD)
    done = call_wick(tmp_path, "train", *args)
    line = one_error_line(done)
    assert line.startswith(f"wick train: error: {message}"), line
    assert done.stdout == "" and not (tmp_path / "model.safetensors").exists()


def test_an_impossible_model_is_refused_before_allocating(tmp_path):
    line = one_error_line(call_wick(tmp_path, "train", "--hidden", "200000,200000"))
    assert line.startswith(
        "wick: error: --hidden 200000,200000: the model would have 40,001,200,002 parameters "
        "(149.0 GiB of f32 weights; training needs about 298.0 GiB), more than this machine's "
        "memory ("
    )


# ----- hostile model files ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_model(tmp_path_factory):
    where = tmp_path_factory.mktemp("model")
    (where / "d.csv").write_text(GOOD)
    call_wick(where, "train", "--data", "d.csv", "--epochs", "1").ok()
    path = where / "model.safetensors"
    return {k: v.numpy() for k, v in load(path).items()}, read_metadata(path)


def _arch(meta: dict, **changes) -> str:
    arch = json.loads(meta["wick.architecture"])
    arch.update(changes)
    return json.dumps(arch)


HOSTILE = {
    # metadata claiming a 2-100000-100000-2 model (40 GB of f32) over the small tensors
    "huge": (
        lambda m: {"wick.architecture": _arch(m, sizes=[2, 100000, 100000, 2])},
        "the tensors do not match the model its metadata describes (l1.weight is F32 [30, 2], "
        "the metadata says F32 [100000, 2]",
    ),
    "integer features": (
        lambda m: {"wick.features": "[1, 2]"},
        "the wick metadata of this model is damaged (the feature names must be non-empty strings)",
    ),
    "1e999 size": (
        lambda m: {"wick.architecture": m["wick.architecture"].replace("30", "1e999", 1)},
        "the wick metadata of this model is damaged (layer sizes must be integers in",
    ),
    "float size": (
        lambda m: {"wick.architecture": _arch(m, sizes=[2, 30.5, 20, 2])},
        "the wick metadata of this model is damaged (layer sizes must be integers in",
    ),
    "classes disagree": (
        lambda m: {"wick.classes": '["x", "y", "z"]'},
        "the wick metadata of this model is damaged (3 class names for 2 outputs)",
    ),
    "zero std": (
        lambda m: {"wick.standardize": '{"mean": [0, 0], "std": [0, 1]}'},
        "the wick metadata of this model is damaged (the feature standardisation needs 2 finite",
    ),
    "not json": (
        lambda m: {"wick.features": "[a"},
        "the wick metadata of this model is damaged (wick.features is not JSON)",
    ),
    "no sizes": (
        lambda m: {"wick.architecture": "{}"},
        "the wick metadata of this model is damaged (layer sizes must be integers in",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_model_metadata_is_checked_before_building(tmp_path, good_model, case):
    tensors, meta = good_model
    change, message = HOSTILE[case]
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata={**meta, **change(meta)})
    (tmp_path / "d.csv").write_text(GOOD)
    for command in ("predict", "eval"):
        line = one_error_line(
            call_wick(tmp_path, command, "--model", "m.safetensors", "--data", "d.csv")
        )
        assert line.startswith(f"wick: error: m.safetensors: {message}"), line


def test_tensors_disagreeing_with_the_metadata_are_refused(tmp_path, good_model):
    tensors, meta = good_model
    tensors = dict(tensors, **{"out.bias": np.zeros(5, np.float32)})
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata=meta)
    (tmp_path / "d.csv").write_text(GOOD)
    line = one_error_line(
        call_wick(tmp_path, "eval", "--model", "m.safetensors", "--data", "d.csv")
    )
    assert line == (
        "wick: error: m.safetensors: the tensors do not match the model its metadata describes "
        "(out.bias is F32 [5], the metadata says F32 [2])"
    )


# ----- the top-level catch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc, line",
    [
        (ValueError("boom"), "wick: internal error: ValueError: boom (a bug in wick: please"),
        (PermissionError(13, "Permission denied", "x.csv"), "wick: error: x.csv: Permission"),
        (MemoryError(), "wick: error: out of memory (try a smaller model, --batch-size or file)"),
    ],
)
def test_no_raw_exception_escapes_a_command(tmp_path, monkeypatch, exc, line):
    import wick.cli.train as train

    def fail(args):
        raise exc

    monkeypatch.setattr(train, "run", fail)
    assert one_error_line(call_wick(tmp_path, "train")).startswith(line)


def test_a_wick_error_from_the_engine_is_one_line(tmp_path, monkeypatch):
    import wick.cli.info as info
    from wick import Error
    from wick.core.errors import Msg

    def fail(args):
        raise Msg("something\nspanning lines")

    monkeypatch.setattr(info, "run", fail)
    assert issubclass(Msg, Error)
    assert one_error_line(call_wick(tmp_path, "info")) == "wick: error: something spanning lines"
