"""The output policy (docs/cli.md): never onto an input or another output, never over a file
wick did not write unless --force, outputs written last. In-process runs: fast."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from cli_support import call_wick
from safetensors.numpy import save_file

GOOD = "a,b,label\n1.0,2.0,x\n1.5,2.5,y\n0.5,1.0,x\n2.0,3.0,y\n1.2,2.2,x\n1.9,2.8,y\n"
FOREIGN = b"precious bytes wick did not write"


def snapshot(folder) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def refused(folder, *args) -> str:
    """Runs wick, expects a refusal before any work; returns the error line."""
    before = snapshot(folder)
    done = call_wick(folder, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""  # refused before any work: not even the header was printed
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wick: error: "), done.stderr
    assert snapshot(folder) == before  # nothing written, nothing replaced, no temporary file
    return lines[0][len("wick: error: ") :]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "d.csv").write_text(GOOD)
    return tmp_path


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "d.csv"], "--out d.csv is also the --data file"),
        (["--checkpoint", "d.csv"], "--checkpoint d.csv is also the --data file"),
        (["--plot", "d.csv"], "--plot d.csv is also the --data file"),
        (["--test", "t.csv", "--out", "t.csv"], "--out t.csv is also the --test file"),
        (["--out", "x.st", "--checkpoint", "x.st"], "--out and --checkpoint are the same file"),
        (["--out", "m.png", "--plot", "m.png"], "--out and --plot are the same file m.png"),
        (["--out", "./sub/../d.csv"], "--out ./sub/../d.csv is also the --data file"),
    ],
)
def test_train_never_writes_onto_an_input_or_another_output(folder, args, message):
    (folder / "t.csv").write_text(GOOD)
    (folder / "sub").mkdir()
    assert refused(folder, "train", "--data", "d.csv", "--epochs", "1", *args).startswith(message)


def test_links_to_an_input_are_the_input(folder):
    os.symlink("d.csv", folder / "soft.csv")
    os.link(folder / "d.csv", folder / "hard.csv")
    for name in ("soft.csv", "hard.csv"):
        line = refused(folder, "train", "--data", "d.csv", "--out", name)
        assert line.startswith(f"--out {name} is also the --data file")


def test_resume_checkpoint_is_not_also_the_model(folder):
    call_wick(folder, "train", "--data", "d.csv", "--epochs", "1", "--checkpoint", "ck.st").ok()
    line = refused(folder, "train", "--resume", "ck.st", "--epochs", "2", "--out", "ck.st")
    assert line.startswith("--out and --resume are the same file ck.st")


def test_a_bare_train_does_not_replace_a_foreign_model_file(folder):
    (folder / "model.safetensors").write_bytes(FOREIGN)
    line = refused(folder, "train")
    assert line == (
        "--out model.safetensors exists and is not a wick model; wick replaces only files it "
        "wrote: pass --force to replace it, or choose another path"
    )
    # A safetensors file of someone else (no wick metadata) is foreign too.
    save_file({"w": np.ones(2, np.float32)}, str(folder / "model.safetensors"))
    refused(folder, "train")
    call_wick(folder, "train", "--force").ok()
    call_wick(folder, "train").ok()  # now wick's own model: replaced without --force


def test_each_output_replaces_only_its_own_kind(folder):
    call_wick(folder, "train", "--out", "m.st").ok()
    line = refused(folder, "train", "--out", "other.st", "--checkpoint", "m.st")
    assert line.startswith("--checkpoint m.st exists and is not a wick training checkpoint")
    call_wick(folder, "train", "--out", "m2.st", "--checkpoint", "ck.st").ok()
    line = refused(folder, "train", "--out", "ck.st")
    assert line.startswith("--out ck.st exists and is not a wick model")
    (folder / "empty.st").write_bytes(b"")  # nothing to lose: an empty file may be replaced
    call_wick(folder, "train", "--out", "empty.st").ok()


def test_predict_replaces_only_earlier_predictions(folder):
    call_wick(folder, "train", "--data", "d.csv", "--epochs", "1").ok()
    (folder / "notes.csv").write_text("name,phone\nann,123\n")
    line = refused(
        folder, "predict", "--model", "model.safetensors", "--data", "d.csv", "--out", "notes.csv"
    )
    assert line.startswith("--out notes.csv exists and is not wick predictions")
    line = refused(
        folder, "predict", "--model", "model.safetensors", "--data", "d.csv", "--out", "d.csv"
    )
    assert line.startswith("--out d.csv is also the --data file")
    line = refused(
        folder,
        "predict",
        "--model",
        "model.safetensors",
        "--data",
        "d.csv",
        "--out",
        "model.safetensors",
    )
    assert line.startswith("--out model.safetensors is also the --model file")
    args = ("predict", "--model", "model.safetensors", "--data", "d.csv", "--out", "p.csv")
    call_wick(folder, *args).ok()
    first = (folder / "p.csv").read_bytes()
    call_wick(folder, *args).ok()  # its own earlier output: replaced
    assert (folder / "p.csv").read_bytes() == first
    call_wick(folder, *args[:-1], "notes.csv", "--force").ok()
    assert (folder / "notes.csv").read_text().startswith("a,b,label,predicted_label,p_x,p_y")


def test_predict_validates_everything_before_writing(folder):
    call_wick(folder, "train", "--data", "d.csv", "--epochs", "1").ok()
    (folder / "p.csv").write_text("a,b,label,predicted_label,p_x,p_y\n0,0,x,x,1,0\n")
    before = (folder / "p.csv").read_bytes()
    (folder / "bad.csv").write_text("a,b\n1,2\n3,oops\n")
    done = call_wick(
        folder, "predict", "--model", "model.safetensors", "--data", "bad.csv", "--out", "p.csv"
    )
    assert done.returncode == 2
    assert done.stderr == (
        "wick: error: bad.csv, line 3: column 'b' holds 'oops', which is not a finite number "
        "(feature columns must be numeric)\n"
    )
    assert (folder / "p.csv").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_predict_scores_only_the_rows_with_a_known_label(folder):
    call_wick(folder, "train", "--data", "d.csv", "--epochs", "1").ok()
    (folder / "new.csv").write_text("a,b,label\n1.0,2.0,x\n1.5,2.5,\n0.5,1.0,zebra\n")
    done = call_wick(
        folder, "predict", "--model", "model.safetensors", "--data", "new.csv", "--out", "p.csv"
    ).ok()
    assert done.stdout.splitlines()[0] == "wrote 3 predictions to p.csv"
    assert re.fullmatch(
        r"accuracy  [01]\.0000 \([01]/1\) against the column 'label' of new.csv; 2 rows with "
        r"a blank or unknown value left out",
        done.stdout.splitlines()[1],
    )
    rows = (folder / "p.csv").read_text().splitlines()
    assert [r.split(",")[2] for r in rows[1:]] == ["x", "", "zebra"]  # echoed as they were


def test_a_wick_plot_is_replaced_by_the_next_run_a_foreign_image_is_not(folder):
    pytest.importorskip("matplotlib")
    args = ("train", "--data", "d.csv", "--epochs", "2", "--plot", "curves.png")
    call_wick(folder, *args).ok()
    assert b"wick train --plot" in (folder / "curves.png").read_bytes()[:4096]
    call_wick(folder, *args).ok()
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n a holiday photo")
    line = refused(folder, *args[:-1], "photo.png")
    assert line.startswith("--plot photo.png exists and is not a wick plot")
