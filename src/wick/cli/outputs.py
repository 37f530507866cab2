"""The output policy of every command (docs/cli.md, "Output files"), checked before any work.

* An output is never an input (``--out d.csv --data d.csv``), nor another output of the same run.
* An existing output is replaced only if wick wrote it, as the same kind of file (a model over
  a model, predictions over predictions, ...), or if it is empty, or with ``--force``.
* Outputs are written last, once the work succeeded, through the atomic writers (a temporary
  file, then rename): a failed or interrupted run leaves every existing file as it was.
"""

from __future__ import annotations

import csv
import os
import secrets
import stat

from .errors import CliError

MODEL_FORMATS = ("wick-mlp-classifier/1", "wick-mlp-regressor/1")
CHECKPOINT_KIND = "wick-train-checkpoint/1"
PLOT_MARK = "wick train --plot"  # written into the plot's metadata (PNG Software, PDF Creator)
KINDS = {
    "model": "a wick model",
    "checkpoint": "a wick training checkpoint",
    "predictions": "wick predictions",
    "plot": "a wick plot",
}


def _same(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        try:
            return os.path.samefile(a, b)  # also hard links and different spellings
        except OSError:
            pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_writable(path: str, what: str) -> None:
    """Fails early, before any work, when ``path`` cannot be written (and writes nothing)."""
    if os.path.isdir(path):
        raise CliError(f"cannot write the {what} to {path}: it is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CliError(f"cannot write the {what} to {path}: {folder} is a file, not a folder")
    if not os.path.isdir(folder):
        raise CliError(f"cannot write the {what} to {path}: the folder {folder} does not exist")
    if os.path.lexists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise CliError(f"cannot write the {what} to {path}: it is not a regular file")
    probe = os.path.join(folder, f".wick-probe-{secrets.token_hex(6)}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise CliError(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):  # read-only: the user protects it
        raise CliError(f"cannot write the {what} to {path}: permission denied")


def _safetensors_meta(path: str) -> dict:
    from ..core.errors import Error
    from ..safetensors_header import read_header

    try:
        return read_header(path).metadata
    except Error:
        return {}


def _csv_header(path: str) -> list:
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            line = f.readline(1 << 16)
    except OSError:
        return []
    for delim in (",", ";", "\t", "|"):
        fields = next(csv.reader([line], delimiter=delim), [])
        if len(fields) > 1:
            return [c.strip() for c in fields]
    return [line.strip()]


def _is_predictions(header: list) -> bool:
    # wick predict appends predicted_<target>, then p_<class> for each class (classifiers).
    for i, name in enumerate(header):
        if name.startswith("predicted_") and all(c.startswith("p_") for c in header[i + 1 :]):
            return True
    return False


def _has_mark(path: str) -> bool:
    mark = PLOT_MARK.encode()
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
            f.seek(max(0, os.fstat(f.fileno()).st_size - (1 << 16)))
            tail = f.read()
    except OSError:
        return False
    return mark in head or mark in tail


def written_by_wick(path: str, kind: str) -> bool:
    """Whether the existing file ``path`` is a ``kind`` file that wick wrote (or is empty)."""
    if os.path.getsize(path) == 0:
        return True  # nothing to lose
    if kind == "model":
        meta = _safetensors_meta(path)  # a checkpoint also carries its model's wick.format
        return meta.get("wick.format") in MODEL_FORMATS and "wick.checkpoint" not in meta
    if kind == "checkpoint":
        return _safetensors_meta(path).get("wick.checkpoint") == CHECKPOINT_KIND
    if kind == "predictions":
        return _is_predictions(_csv_header(path))
    if kind == "plot":
        return _has_mark(path)
    raise ValueError(kind)


def check(inputs: list, outputs: list, force: bool = False) -> None:
    """Refuses the run before any work if an output would destroy data.

    ``inputs``: ``(option, path)`` of the files read; ``outputs``: ``(option, path, kind)``.
    """
    for _, path, kind in outputs:
        check_writable(path, kind)
    for option, path, _ in outputs:
        for in_option, in_path in inputs:
            if in_path and os.path.exists(in_path) and _same(path, in_path):
                raise CliError(
                    f"{option} {path} is also the {in_option} file: wick never writes over "
                    "its inputs (choose another path)"
                )
    for i, (option, path, _) in enumerate(outputs):
        for other, other_path, _ in outputs[:i]:
            if _same(path, other_path):
                raise CliError(
                    f"{other} and {option} are the same file {path}: each output needs its own path"
                )
    if force:
        return
    for option, path, kind in outputs:
        if os.path.exists(path) and not written_by_wick(path, kind):
            raise CliError(
                f"{option} {path} exists and is not {KINDS[kind]}; wick replaces only files it "
                "wrote: pass --force to replace it, or choose another path"
            )
