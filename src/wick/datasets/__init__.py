"""Small public-domain datasets shipped with wick (``wick train --data iris``)."""

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
