"""Reading the JSON files of a checkpoint folder (``config.json``, the shard index, the tokenizer
config): one place for the errors they give."""

from __future__ import annotations

import json
import os

from ..core.errors import Msg


def read_json_object(path, op: str, what: str = "") -> dict:
    """The JSON object in ``path``; a missing, unreadable or malformed file raises a wick.Error
    naming ``op``, ``what`` the file is (``"the shard index "``) and the file."""
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as f:
            values = json.load(f)
    except OSError as exc:
        raise Msg(f"{op}: cannot read {what}{where}: {exc.strerror}") from None
    except ValueError as exc:
        raise Msg(f"{op}: {where} is not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise Msg(f"{op}: {where} does not hold a JSON object")
    return values


def read_config(path, arch: str) -> dict:
    """An architecture's ``config.json``, errors naming ``arch``."""
    return read_json_object(path, f"{arch} config")
