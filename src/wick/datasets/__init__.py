"""Small public-domain datasets shipped with wick: iris (``wick train --data iris``), The Verdict."""

from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (file, target column)
BUILTIN = {"iris": ("iris.csv", "species")}


def path(name: str) -> str:
    """The CSV file of the built-in dataset ``name`` (Fisher's iris: ``"iris"``)."""
    return os.path.join(_HERE, BUILTIN[name][0])


def default_target(name: str) -> str:
    """The column a built-in dataset is meant to predict."""
    return BUILTIN[name][1]


def the_verdict() -> str:
    """Edith Wharton's "The Verdict" (1908), as the book's repository ships it (20,479 characters).

    >>> len(the_verdict())
    20479
    """
    # newline="" keeps the file's characters exactly (it has no carriage returns to translate).
    with open(os.path.join(_HERE, "the_verdict.txt"), encoding="utf-8", newline="") as f:
        return f.read()
