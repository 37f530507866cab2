"""The ``wick`` fixture: runs the command in the test's temporary folder."""

from __future__ import annotations

import pytest
from cli_support import run_wick


@pytest.fixture
def wick(tmp_path):
    """``wick("train", "--data", "iris")`` runs ``python -m wick.cli.main`` in ``tmp_path``."""

    def run(*args, block=(), timeout=120):
        return run_wick(tmp_path, *args, block=block, timeout=timeout)

    return run
