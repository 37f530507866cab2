"""The one error the command reports as a single line on stderr, with exit code 2."""

from __future__ import annotations


class CliError(Exception):
    """Bad input from the user: ``wick`` prints ``wick: error: <message>`` and exits with 2."""
