"""Bad input: one clear line on stderr, exit code 2, no traceback, no output file touched."""

from __future__ import annotations

import numpy as np
import pytest
from cli_support import call_wick, run_wick
from safetensors.numpy import save_file

GOOD = "a,b,label\n1.0,2.0,x\n1.5,2.5,y\n0.5,1.0,x\n2.0,3.0,y\n1.2,2.2,x\n1.9,2.8,y\n"
PRECIOUS = b"an existing file that must survive"
# Earlier outputs of wick (which a run may replace, but a failed run must leave as they are).
OLD_PREDICTIONS = b"a,b,label,predicted_label,p_x,p_y\n1.0,2.0,x,x,0.9,0.1\n"


@pytest.fixture(scope="module")
def wick_model(tmp_path_factory) -> bytes:
    """A small model trained on GOOD, once for the whole file."""
    where = tmp_path_factory.mktemp("model")
    (where / "good.csv").write_text(GOOD)
    run_wick(where, "train", "--data", "good.csv", "--epochs", "1").ok()
    return (where / "model.safetensors").read_bytes()


@pytest.fixture
def folder(tmp_path, wick_model):
    """A folder with good and bad inputs, a wick model, and existing output files."""
    files = {
        "good.csv": GOOD,
        "empty.csv": "",
        "blank.csv": "\n\n",
        "header_only.csv": "a,b,label\n",
        "ragged.csv": "a,b,label\n1,2,x\n3,4\n5,6,y\n",
        "text_feature.csv": "a,b,label\n1,2,x\n3,four,y\n",
        "nan_feature.csv": "a,b,label\n1,2,x\n3,nan,y\n",
        "missing_value.csv": "a,b,label\n1,2,x\n3,,y\n",
        "one_class.csv": "a,b,label\n1,2,x\n3,4,x\n5,6,x\n",
        "new_class.csv": "a,b,label\n1,2,x\n3,4,z\n",
        "no_b.csv": "a,label\n1,x\n",
        "corrupt.safetensors": "this is not a safetensors file at all",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1.csv").write_bytes(b"a,b,label\n1,2,caf\xe9\n")
    save_file(
        {"weight": np.ones((2, 2), np.float32)},
        str(tmp_path / "foreign.safetensors"),
        metadata={"format": "pt"},
    )
    (tmp_path / "wick_model.safetensors").write_bytes(wick_model)
    (tmp_path / "truncated.safetensors").write_bytes(wick_model[: len(wick_model) // 2])
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "model.safetensors").write_bytes(wick_model)
    (tmp_path / "predictions.csv").write_bytes(OLD_PREDICTIONS)
    (tmp_path / "ck.safetensors").write_bytes(PRECIOUS)
    return tmp_path


CASES = [
    # (arguments, the error line after "wick: error: "; ending in "(": its start, the rest
    # being the safetensors package's own words)
    (["train", "--data", "missing.csv"], "no such file: missing.csv"),
    (["train", "--data", "empty.csv"], "empty.csv is empty"),
    (["train", "--data", "blank.csv"], "blank.csv is empty"),
    (
        ["train", "--data", "header_only.csv"],
        "header_only.csv has a header line but no rows of data",
    ),
    (
        ["train", "--data", "ragged.csv"],
        "ragged.csv, line 3: expected 3 fields like the header, found 2",
    ),
    (
        ["train", "--data", "text_feature.csv"],
        "text_feature.csv, line 3: column 'b' holds 'four', which is not a finite number "
        "(feature columns must be numeric)",
    ),
    (
        ["train", "--data", "nan_feature.csv"],
        "nan_feature.csv, line 3: column 'b' holds 'nan', which is not a finite number "
        "(feature columns must be numeric)",
    ),
    (
        ["train", "--data", "missing_value.csv"],
        "missing_value.csv, line 3: column 'b' is empty (feature columns must be numeric)",
    ),
    (["train", "--data", "latin1.csv"], "latin1.csv is not a UTF-8 text (CSV) file"),
    (
        ["train", "--data", "good.csv", "--target", "colour"],
        "good.csv has no column 'colour' (its columns: a, b, label)",
    ),
    (
        ["train", "--data", "one_class.csv"],
        "the target 'label' in one_class.csv has only one class ('x'); a classifier needs at least "
        "two",
    ),
    (
        ["train", "--data", "good.csv", "--test", "new_class.csv"],
        "new_class.csv, line 3: class 'z' of 'label' is not one of the model's classes (x, y)",
    ),
    (
        ["train", "--data", "good.csv", "--out", "nowhere/model.safetensors"],
        "cannot write the model to nowhere/model.safetensors: the folder {tmp}/nowhere does not "
        "exist",
    ),
    (
        ["train", "--data", "good.csv", "--out", "a_file/model.safetensors"],
        "cannot write the model to a_file/model.safetensors: {tmp}/a_file is a file, not a folder",
    ),
    (["train", "--data", "good.csv", "--out", "."], "cannot write the model to .: it is a folder"),
    (
        ["train", "--checkpoint", "nowhere/ck.safetensors"],
        "cannot write the checkpoint to nowhere/ck.safetensors: the folder {tmp}/nowhere does not "
        "exist",
    ),
    (["train", "--epochs", "0"], None),  # argparse's wording (test_cli_hardening checks it)
    (
        ["train", "--target", "label"],
        "--target needs --data (without it, wick train runs the tutorial's toy set)",
    ),
    (
        ["train", "--data", "good.csv", "--test", "good.csv", "--test-fraction", "0.3"],
        "--test and --test-fraction exclude each other: a test file or a split",
    ),
    (["train", "--data", "good.csv", "--test-fraction", "1"], None),
    (["train", "--resume", "good.csv"], "good.csv is not a readable checkpoint ("),
    (
        ["train", "--resume", "wick_model.safetensors"],
        "wick_model.safetensors is not a wick training checkpoint (write one with `wick train "
        "--checkpoint`)",
    ),
    (
        [
            "predict",
            "--model",
            "foreign.safetensors",
            "--data",
            "good.csv",
            "--out",
            "predictions.csv",
        ],
        "foreign.safetensors is a safetensors file but not a wick model (its metadata has no "
        "'wick.format: wick-mlp-classifier/1'); `wick inspect foreign.safetensors` shows what it "
        "holds",
    ),
    (
        [
            "predict",
            "--model",
            "corrupt.safetensors",
            "--data",
            "good.csv",
            "--out",
            "predictions.csv",
        ],
        "corrupt.safetensors is not a readable safetensors file (",
    ),
    (
        [
            "predict",
            "--model",
            "truncated.safetensors",
            "--data",
            "good.csv",
            "--out",
            "predictions.csv",
        ],
        "truncated.safetensors is not a readable safetensors file (",
    ),
    (
        ["predict", "--model", "missing.safetensors", "--data", "good.csv"],
        "no such file: missing.safetensors",
    ),
    (
        [
            "predict",
            "--model",
            "wick_model.safetensors",
            "--data",
            "no_b.csv",
            "--out",
            "predictions.csv",
        ],
        "no_b.csv lacks the model's feature column(s) 'b' (the model needs: a, b)",
    ),
    (
        [
            "predict",
            "--model",
            "wick_model.safetensors",
            "--data",
            "good.csv",
            "--out",
            "nowhere/p.csv",
        ],
        "cannot write the predictions to nowhere/p.csv: the folder {tmp}/nowhere does not exist",
    ),
    (
        ["eval", "--model", "corrupt.safetensors", "--data", "good.csv"],
        "corrupt.safetensors is not a readable safetensors file (",
    ),
    (["eval", "--model", "foreign.safetensors", "--data", "good.csv"], None),
    (
        ["eval", "--model", "wick_model.safetensors", "--data", "new_class.csv"],
        "new_class.csv, line 3: class 'z' of 'label' is not one of the model's classes (x, y)",
    ),
    (
        ["eval", "--model", "wick_model.safetensors", "--data", "good.csv", "--target", "colour"],
        "good.csv has no column 'colour' (its columns: a, b, label)",
    ),
    (["inspect", "missing.safetensors"], "no such file: missing.safetensors"),
    (["train", "--hidden", "30,x"], None),  # argparse's wording, in one line
    (["train", "--optimizer", "adam"], None),
    ([], None),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(c[0]) or "none" for c in CASES])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(folder, args, message):
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    done = call_wick(folder, *args)  # in-process: the same main() as the command, faster
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    if message is not None and message.endswith("("):
        assert lines[0].startswith("wick: error: " + message), lines[0]
    elif message is not None:
        assert lines[0] == "wick: error: " + message.format(tmp=folder)
    else:
        assert lines[0].startswith("wick") and ": error: " in lines[0]
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing overwritten, no stray temporary file


def test_device_cuda_without_a_gpu(wick, folder, wick_model):
    # CuPy made unimportable: the machine then has no usable GPU, whatever it holds.
    for args in (
        ["train", "--device", "cuda"],
        ["predict", "--model", "wick_model.safetensors", "--data", "good.csv", "--device", "cuda"],
    ):
        done = wick(*args, block=["cupy"])
        assert done.returncode == 2
        assert done.stderr == (
            "wick: error: --device cuda: cuda device requested but CuPy is "
            "not installed (pip install 'wick[cuda]')\n"
        )
        assert (folder / "model.safetensors").read_bytes() == wick_model


def test_a_failed_run_leaves_the_previous_predictions_intact(wick, folder):
    wick(
        "predict",
        "--model",
        "wick_model.safetensors",
        "--data",
        "good.csv",
        "--out",
        "predictions.csv",
    ).ok()
    good = (folder / "predictions.csv").read_bytes()
    assert good.startswith(b"a,b,label,predicted_label,p_x,p_y")
    done = wick(
        "predict",
        "--model",
        "wick_model.safetensors",
        "--data",
        "text_feature.csv",
        "--out",
        "predictions.csv",
    )
    assert done.returncode == 2
    assert (folder / "predictions.csv").read_bytes() == good
