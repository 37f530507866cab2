"""The ``wick`` fixture: runs the command in the test's temporary folder."""

from __future__ import annotations

import pytest
from cli_support import call_wick, run_wick


@pytest.fixture
def wick(tmp_path):
    """``wick("train", "--data", "iris")`` runs ``python -m wick.cli.main`` in ``tmp_path``."""

    def run(*args, block=(), timeout=120):
        return run_wick(tmp_path, *args, block=block, timeout=timeout)

    return run


@pytest.fixture
def wick_in(tmp_path):
    """``wick_in("train", ...)`` runs the command in this process (fast), in ``tmp_path``."""

    def run(*args):
        return call_wick(tmp_path, *args)

    return run
