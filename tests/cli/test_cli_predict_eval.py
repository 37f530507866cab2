"""``wick predict`` and ``wick eval``: they need nothing but the model file and the data."""

from __future__ import annotations

import csv
import io

import pytest
from cli_support import run_wick

# Points of the tutorial's toy set (the model learns them perfectly) with one label flipped:
# the model predicts 0, 0, 0, 0, 1, 1 against the labels 0, 0, 0, 1, 1, 1.
EVAL_CSV = "x1,x2,label\n-1.2,3.1,0\n-0.9,2.9,0\n-0.5,2.6,0\n-0.8,2.8,1\n2.3,-1.1,1\n2.7,-1.5,1\n"


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory) -> bytes:
    """The model of ``wick train`` with no arguments (the tutorial's job)."""
    where = tmp_path_factory.mktemp("toy")
    run_wick(where, "train").ok()
    return (where / "model.safetensors").read_bytes()


@pytest.fixture
def folder(tmp_path, toy_model):
    (tmp_path / "model.safetensors").write_bytes(toy_model)
    (tmp_path / "eval.csv").write_text(EVAL_CSV)
    return tmp_path


def test_eval_prints_accuracy_precision_recall_and_the_confusion_matrix(wick, folder):
    done = wick("eval", "--model", "model.safetensors", "--data", "eval.csv").ok()
    assert done.stdout == (
        "model     model.safetensors: MLP 2-30-20-2 (ReLU), predicts 'label'\n"
        "data      eval.csv: 6 rows\n"
        "\n"
        "accuracy  0.8333 (5/6)\n"
        "\n"
        "class  precision  recall  support\n"
        "0         0.7500  1.0000        3\n"
        "1         1.0000  0.6667        3\n"
        "\n"
        "confusion matrix (rows: true class, columns: predicted class)\n"
        "   0  1\n"
        "0  3  0\n"
        "1  1  2\n"
    )


def test_eval_marks_an_undefined_precision(wick, folder):
    (folder / "zeros.csv").write_text("x1,x2,label\n-1.2,3.1,0\n-0.9,2.9,1\n")
    done = wick("eval", "--model", "model.safetensors", "--data", "zeros.csv").ok()
    assert "0         0.5000  1.0000        1\n1              -  0.0000        1\n" in done.stdout


def test_predict_writes_classes_and_probabilities(wick, folder):
    done = wick(
        "predict", "--model", "model.safetensors", "--data", "eval.csv", "--out", "predictions.csv"
    ).ok()
    assert done.stdout == (
        "wrote 6 predictions to predictions.csv\n"
        "accuracy  0.8333 (5/6) against the column 'label' of eval.csv\n"
    )
    rows = list(csv.reader(open(folder / "predictions.csv")))
    assert rows[0] == ["x1", "x2", "label", "predicted_label", "p_0", "p_1"]
    assert [r[:4] for r in rows[1:]] == [
        ["-1.2", "3.1", "0", "0"],
        ["-0.9", "2.9", "0", "0"],
        ["-0.5", "2.6", "0", "0"],
        ["-0.8", "2.8", "1", "0"],
        ["2.3", "-1.1", "1", "1"],
        ["2.7", "-1.5", "1", "1"],
    ]
    for r in rows[1:]:
        p0, p1 = float(r[4]), float(r[5])
        assert abs(p0 + p1 - 1) <= 2e-6 and (p0 > p1) == (r[3] == "0")


def test_predict_without_out_writes_csv_to_stdout_and_messages_to_stderr(wick, folder):
    (folder / "new.csv").write_text("x2,x1,note\n3.0,-1.0,first\n-1.2,2.5,second\n")
    done = wick("predict", "--model", "model.safetensors", "--data", "new.csv").ok()
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["x2", "x1", "note", "predicted_label", "p_0", "p_1"]
    assert [r[3] for r in rows[1:]] == ["0", "1"]  # columns found by name, in any order
    assert done.stderr == ""  # no target column, so no accuracy to report


def test_predict_and_eval_need_nothing_but_the_model_file(wick, folder, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "m.safetensors").write_bytes((folder / "model.safetensors").read_bytes())
    (elsewhere / "eval.csv").write_text(EVAL_CSV)
    done = run_wick(elsewhere, "eval", "--model", "m.safetensors", "--data", "eval.csv").ok()
    assert "accuracy  0.8333 (5/6)" in done.stdout
