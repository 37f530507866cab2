"""Helpers for the CLI tests: run ``wick`` as a user would (a fresh process in a folder)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "src")
IRIS = os.path.join(SRC, "wick", "datasets", "iris.csv")

# Runs the command with some modules made unimportable (``sys.modules[name] = None``).
BLOCKING_LAUNCHER = (
    "import sys; blocked = sys.argv[1].split(','); sys.argv = ['wick'] + sys.argv[2:]\n"
    "for name in blocked: sys.modules[name] = None\n"
    "from wick.cli.main import main; sys.exit(main())"
)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> Result:
        assert self.returncode == 0, self.stderr
        return self

    def number(self, pattern: str) -> float:
        """The number captured by ``pattern`` in stdout (exactly one match)."""
        found = re.findall(pattern, self.stdout, re.M)
        assert len(found) == 1, (pattern, self.stdout)
        return float(found[0])


def env() -> dict:
    return dict(os.environ, PYTHONPATH=SRC, PYTHONUNBUFFERED="1")


def run_wick(cwd, *args, block=(), timeout=120) -> Result:
    """Runs ``python -m wick.cli.main ARGS`` in ``cwd``; ``block`` makes modules unimportable."""
    if block:
        cmd = [sys.executable, "-c", BLOCKING_LAUNCHER, ",".join(block), *args]
    else:
        cmd = [sys.executable, "-m", "wick.cli.main", *args]
    done = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr)


def call_wick(cwd, *args) -> Result:
    """Runs ``wick ARGS`` in this process (fast), in ``cwd``, capturing stdout and stderr."""
    from wick.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help, usage errors
                code = exc.code
    finally:
        os.chdir(old)
    return Result(code, out.getvalue(), err.getvalue())


def write(path, text: str) -> str:
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def iris_rows() -> tuple:
    """``(header line, data lines)`` of the shipped iris file."""
    with open(IRIS) as f:
        lines = f.read().splitlines()
    return lines[0], lines[1:]


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts: SIGINT handled by default even when
    this test run was started in the background, where shells ignore it (and the child would
    inherit the ignoring)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
