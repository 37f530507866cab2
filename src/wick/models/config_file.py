"""Reading a Hugging Face ``config.json``: one place for the errors every architecture gives."""

from __future__ import annotations

import json
import os

from ..core.errors import Msg


def read_config(path, arch: str) -> dict:
    """The JSON object in ``path``; a missing, unreadable or malformed file raises a wick.Error
    that names ``arch`` and the file."""
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            values = json.load(f)
    except OSError as exc:
        raise Msg(f"{arch} config: cannot read {where}: {exc.strerror}") from None
    except ValueError as exc:
        raise Msg(f"{arch} config: {where} is not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise Msg(f"{arch} config: {where} does not hold a JSON object")
    return values
