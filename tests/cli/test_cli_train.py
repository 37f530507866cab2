"""``wick train``: the tutorial's job by default, CSV files and iris with options."""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
from cli_support import iris_rows, write

from wick import Device, DType, Tensor
from wick.data import DataLoader, TensorDataset
from wick.nn import VarBuilder, VarMap
from wick.nn.loss import cross_entropy
from wick.nn.optim import SGD
from wick.safetensors import load, read_metadata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from tutorial import NeuralNetwork  # noqa: E402 - the tutorial's own network, one definition

LOG_LINE = r"^Epoch: 00(\d)/003 \| Batch 00(\d)/002 \| Train Loss: (\d+\.\d\d)$"


def tutorial_losses(seed: int) -> list:
    """The tutorial's training loop, in-process, seeded: the six logged losses as printed."""
    device = Device.Cpu
    device.set_seed(seed)
    x = Tensor.new([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]], device)
    y = Tensor.new([0, 0, 0, 1, 1], device).to_dtype(DType.U32)
    loader = DataLoader(TensorDataset(x.to_dtype(DType.F32), y), 2, shuffle=True, drop_last=True)
    varmap = VarMap()
    model = NeuralNetwork(2, 2, VarBuilder.from_varmap(varmap, DType.F32, device))
    optimizer = SGD(varmap.all_vars(), 0.5)
    losses = []
    for _ in range(3):
        for features, labels in loader:
            loss = cross_entropy(model(features), labels)
            optimizer.backward_step(loss)
            losses.append(f"{loss.to_vec0():.2f}")
    return losses


def test_train_without_arguments_runs_the_tutorials_job(wick, tmp_path):
    done = wick("train").ok()
    lines = re.findall(LOG_LINE, done.stdout, re.M)
    assert [(e, b) for e, b, _ in lines] == [(e, b) for e in "123" for b in "12"]
    # The default seed's run reads like the tutorial's (3.64 0.00 3.33 0.00 0.00 0.00).
    assert [loss for _, _, loss in lines] == ["3.54", "0.00", "3.69", "0.00", "0.00", "0.00"]
    assert "model     MLP 2-30-20-2 (ReLU), 752 parameters" in done.stdout
    assert (
        "training  SGD lr 0.5, batch size 2, shuffled, drop_last, 3 epochs, seed 1196, cpu\n"
        in done.stdout
    )
    assert re.search(r"^train\s+5\s+\d\.\d{4}\s+1\.0000$", done.stdout, re.M)
    assert re.search(r"^test\s+2\s+\d\.\d{4}\s+1\.0000$", done.stdout, re.M)
    assert "saved     model.safetensors" in done.stdout
    assert (
        "reloaded  model.safetensors: train accuracy 1.0000, test accuracy 1.0000, as before saving"
    ) in done.stdout
    assert done.stderr == ""
    assert sorted(load(tmp_path / "model.safetensors")) == [
        "l1.bias",
        "l1.weight",
        "l2.bias",
        "l2.weight",
        "out.bias",
        "out.weight",
    ]


def test_default_run_logs_exactly_the_losses_of_the_tutorials_program(wick):
    for seed in (1196, 7):  # 1196: the default for the toy set
        args = ("train",) if seed == 1196 else ("train", "--seed", str(seed))
        logged = [loss for _, _, loss in re.findall(LOG_LINE, wick(*args).ok().stdout, re.M)]
        assert logged == tutorial_losses(seed)


def test_default_model_loads_into_the_tutorials_network(wick, tmp_path):
    wick("train").ok()
    varmap = VarMap()
    model = NeuralNetwork(2, 2, VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu))
    varmap.load(tmp_path / "model.safetensors")
    x_test = Tensor.new([[-0.8, 2.8], [2.6, -1.6]]).to_dtype(DType.F32)
    assert model(x_test).argmax(1).to_vec1() == [0, 1]


def test_iris_with_default_options_reaches_093_held_out(wick, tmp_path):
    done = wick("train", "--data", "iris").ok()
    assert (
        "data      150 rows; 120 for training, 30 held out for testing (stratified, seed 123)"
        in done.stdout
    )
    assert "AdamW lr 0.01, batch size 16, shuffled, 100 epochs" in done.stdout
    assert done.number(r"^test\s+30\s+\S+\s+(\S+)$") >= 0.93
    meta = read_metadata(tmp_path / "model.safetensors")
    assert json.loads(meta["wick.classes"]) == ["setosa", "versicolor", "virginica"]
    assert json.loads(meta["wick.features"]) == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]
    assert json.loads(meta["wick.architecture"])["sizes"] == [4, 30, 20, 3]
    assert meta["wick.target"] == "species"


def test_predict_on_the_training_file_reproduces_trains_accuracy(wick, tmp_path):
    header, rows = iris_rows()
    write(tmp_path / "flowers.csv", "\n".join([header] + rows[::2]) + "\n")  # 75 rows
    train = wick("train", "--data", "flowers.csv", "--test-fraction", "0", "--epochs", "5").ok()
    reported = re.search(r"^train\s+75\s+\S+\s+(\d\.\d{4})$", train.stdout, re.M).group(1)
    assert float(reported) < 1.0  # five epochs: some mistakes, so the comparison means something
    done = wick(
        "predict",
        "--model",
        "model.safetensors",
        "--data",
        "flowers.csv",
        "--out",
        "predictions.csv",
    ).ok()
    assert re.search(rf"^accuracy  {reported} \(\d+/75\)", done.stdout, re.M), done.stdout


def test_separate_test_file_and_eval_reproduce_the_reported_test_accuracy(wick, tmp_path):
    header, rows = iris_rows()
    write(tmp_path / "train.csv", "\n".join([header] + rows[0::3] + rows[1::3]) + "\n")
    write(tmp_path / "test.csv", "\n".join([header] + rows[2::3]) + "\n")
    done = wick(
        "train",
        "--data",
        "train.csv",
        "--test",
        "test.csv",
        "--epochs",
        "4",
        "--out",
        "m.safetensors",
    ).ok()
    assert "data      100 rows; all for training, 50 rows of test.csv for testing" in done.stdout
    reported = re.search(r"^test\s+50\s+\S+\s+(\d\.\d{4})$", done.stdout, re.M).group(1)
    scored = wick("eval", "--model", "m.safetensors", "--data", "test.csv").ok()
    assert re.search(rf"^accuracy  {reported} \(\d+/50\)$", scored.stdout, re.M)
    # Standardisation statistics come from the training file only.
    x = np.array([[float(v) for v in r.split(",")[:4]] for r in rows[0::3] + rows[1::3]])
    stats = json.loads(read_metadata(tmp_path / "m.safetensors")["wick.standardize"])
    assert stats["mean"] == x.mean(axis=0).tolist()
    assert stats["std"] == x.std(axis=0).tolist()


def test_training_options_reach_the_model_and_its_metadata(wick, tmp_path):
    done = wick(
        "train",
        "--data",
        "iris",
        "--hidden",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "10",
        "--lr",
        "0.05",
        "--optimizer",
        "sgd",
        "--seed",
        "5",
        "--no-standardize",
        "--test-fraction",
        "0.4",
        "--device",
        "cpu",
        "--out",
        "small.safetensors",
    ).ok()
    assert "model     MLP 4-8-3 (ReLU), 67 parameters" in done.stdout
    assert "SGD lr 0.05, batch size 10, shuffled, 2 epochs, seed 5, cpu" in done.stdout
    assert "data      150 rows; 90 for training, 60 held out" in done.stdout
    assert "features  4, used as they are: sepal_length," in done.stdout
    meta = read_metadata(tmp_path / "small.safetensors")
    training = json.loads(meta["wick.training"])
    assert (
        training["epochs"],
        training["optimizer"],
        training["lr"],
        training["batch_size"],
        training["seed"],
    ) == (2, "sgd", 0.05, 10, 5)
    assert json.loads(meta["wick.standardize"]) == {"mean": [0.0] * 4, "std": [1.0] * 4}
    assert {k: v.shape for k, v in load(tmp_path / "small.safetensors").items()} == {
        "l1.weight": (8, 4),
        "l1.bias": (8,),
        "out.weight": (3, 8),
        "out.bias": (3,),
    }


def test_integer_targets_become_classes_and_keep_their_names(wick, tmp_path):
    rows = [f"{i % 7},{(i * 3) % 5},{7 if i % 7 > 3 else 3}" for i in range(40)]
    write(tmp_path / "ints.csv", "a,b,kind\n" + "\n".join(rows) + "\n")
    done = wick("train", "--data", "ints.csv", "--epochs", "30", "--batch-size", "8").ok()
    assert "classes   2: 3, 7" in done.stdout
    assert "wick train: an MLP classifier for 'kind' in ints.csv" in done.stdout
    meta = read_metadata(tmp_path / "model.safetensors")
    assert json.loads(meta["wick.classes"]) == ["3", "7"]
    write(tmp_path / "new.csv", "b,a\n0,6\n0,0\n")
    wick("predict", "--model", "model.safetensors", "--data", "new.csv", "--out", "p.csv").ok()
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "b,a,predicted_kind,p_3,p_7"
    assert [line.split(",")[2] for line in lines[1:]] == ["7", "3"]


def test_features_option_selects_columns(wick, tmp_path):
    done = wick(
        "train", "--data", "iris", "--features", "petal_length,petal_width", "--epochs", "3"
    ).ok()
    assert "features  2, standardised: petal_length, petal_width" in done.stdout
    assert json.loads(read_metadata(tmp_path / "model.safetensors")["wick.features"]) == [
        "petal_length",
        "petal_width",
    ]


def test_python_dash_m_wick_cli_runs_the_command(tmp_path):
    import subprocess
    import sys

    from cli_support import env

    done = subprocess.run(
        [sys.executable, "-m", "wick.cli", "--version"],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stdout.startswith("wick ")
