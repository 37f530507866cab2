"""CSV input: headers, delimiters, the fast NumPy path and the exact csv-module path agreeing,
empty test splits, and Ctrl-C at any moment (the one subprocess test here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from cli_support import ROOT, call_wick, env
from hypothesis import given, settings
from hypothesis import strategies as st

from wick.cli import csvread

GOOD = "a,b,label\n1.0,2.0,x\n1.5,2.5,y\n0.5,1.0,x\n2.0,3.0,y\n1.2,2.2,x\n1.9,2.8,y\n"


def error_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert len(done.stderr.splitlines()) == 1, done.stderr
    return done.stderr.strip()


def test_a_file_without_header_is_refused_or_read_with_no_header(tmp_path):
    (tmp_path / "nh.csv").write_text(GOOD.split("\n", 1)[1])
    assert error_line(call_wick(tmp_path, "train", "--data", "nh.csv")) == (
        "wick: error: nh.csv, line 1: the first line holds numbers (1.0, 2.0), so it looks like "
        "data, not a header naming the columns; add a header line, or pass --no-header (the "
        "columns are then col1, col2, ...) or --header if those are the names"
    )
    done = call_wick(tmp_path, "train", "--data", "nh.csv", "--no-header", "--epochs", "1").ok()
    assert "data      6 rows;" in done.stdout
    assert "features  2, standardised: col1, col2" in done.stdout
    call_wick(
        tmp_path,
        "predict",
        "--model",
        "model.safetensors",
        "--data",
        "nh.csv",
        "--no-header",
        "--out",
        "p.csv",
    ).ok()
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == (
        "col1,col2,col3,predicted_col3,p_x,p_y"
    )


def test_header_forces_numeric_names(tmp_path):
    (tmp_path / "years.csv").write_text("2019,2020,label\n1,2,x\n2,3,y\n1,1,x\n3,3,y\n")
    done = call_wick(tmp_path, "train", "--data", "years.csv", "--header", "--epochs", "1")
    assert "features  2, standardised: 2019, 2020" in done.ok().stdout


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_sniffed(tmp_path, delimiter):
    (tmp_path / "d.csv").write_text(GOOD.replace(",", delimiter))
    done = call_wick(tmp_path, "train", "--data", "d.csv", "--epochs", "1").ok()
    assert "features  2, standardised: a, b" in done.stdout
    assert "classes   2: x, y" in done.stdout


def test_delimiter_option_overrides_the_sniffing(tmp_path):
    # Semicolons inside every label: sniffing sees 3 ';'-fields per line, the file means ','.
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,p;q;r\n2,3,s;t;u\n1,1,p;q;r\n3,3,s;t;u\n")
    done = call_wick(tmp_path, "train", "--data", "d.csv", "--delimiter", ",", "--epochs", "1")
    assert "classes   2: p;q;r, s;t;u" in done.ok().stdout


def test_a_semicolon_file_read_as_commas_says_how_to_fix_it(tmp_path):
    (tmp_path / "d.csv").write_text(GOOD.replace(",", ";"))
    line = error_line(call_wick(tmp_path, "train", "--data", "d.csv", "--delimiter", ","))
    assert line.endswith(
        "has no feature columns besides the target 'a;b;label' (a single column: if another "
        "character separates the fields, pass --delimiter)"
    )


def test_an_empty_test_split_prints_no_nan_and_no_warning(tmp_path):
    (tmp_path / "d.csv").write_text(GOOD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning would fail the run
        done = call_wick(
            tmp_path, "train", "--data", "d.csv", "--test-fraction", "0.01", "--epochs", "2"
        ).ok()
    assert "all for training, none held out (--test-fraction 0.01 of 6 rows rounds to no row)" in (
        done.stdout
    )
    assert "nan" not in done.stdout and done.stderr == ""


def test_a_clean_file_never_takes_the_slow_path(tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text(GOOD)

    def slow(*args):
        raise AssertionError("the exact path ran")

    monkeypatch.setattr(csvread.Table, "_read_exact", slow)
    call_wick(tmp_path, "train", "--data", "d.csv", "--epochs", "1").ok()


def test_a_line_of_spaces_takes_the_exact_path_and_reads_the_same(tmp_path):
    (tmp_path / "clean.csv").write_text(GOOD)
    (tmp_path / "spaces.csv").write_text(GOOD.replace("\n1.5", "\n   \n1.5"))
    tables = [csvread.read_table(str(tmp_path / n), n) for n in ("clean.csv", "spaces.csv")]
    assert tables[1]._read_fast([0, 1], [2]) is None
    (x1, t1), (x2, t2) = (t.read(["a", "b"], ["label"]) for t in tables)
    assert np.array_equal(x1, x2) and t1 == t2


FIELD = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.integers(-(10**6), 10**6).map(str),
)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(FIELD, FIELD, st.sampled_from(["x", " y", "z z", '"q,r"'])),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_fast_and_exact_paths_agree(tmp_path_factory, rows, delimiter):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    d = delimiter
    lines = [f"a{d}b{d}label"] + [f"{a}{d}{b}{d}{c}" for a, b, c in rows]
    path.write_text("\n".join(lines) + "\n")
    table = csvread.read_table(str(path), "t.csv")
    fast = table._read_fast([0, 1], [2])
    exact = table._read_exact(["a", "b"], [0, 1], [2])
    assert fast is not None
    assert np.array_equal(fast[0], exact[0]) and fast[1] == exact[1]


def _importing_numpy(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "_multiarray_umath" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc/PID/maps")
@pytest.mark.parametrize("after", [0.0, 0.05, 0.3])
def test_ctrl_c_during_the_imports_and_after_is_one_line_and_exit_130(tmp_path, after):
    # The console script's code (pyproject: wick = "_wick_launcher:main"). The signal is sent
    # once the process is importing NumPy (``import wick`` has begun), then ``after`` later:
    # before that, Python itself is starting and answers Ctrl-C with its own traceback.
    code = "import sys; from _wick_launcher import main; sys.argv[0] = 'wick'; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "train", "--data", "iris", "--epochs", "100000"],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not _importing_numpy(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(after)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.strip().startswith("wick: interrupted")


def test_the_console_script_is_the_launcher():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        assert 'wick = "_wick_launcher:main"' in f.read()
