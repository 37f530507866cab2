"""CSV files for the command: reading and checking them, class labels, splits, standardisation.

Every problem with a file becomes one ``CliError`` that names the file, the line and the column.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import secrets
from dataclasses import dataclass

import numpy as np

from .. import datasets
from .errors import CliError

# The tutorial's toy data (5 training and 2 test examples, two features, two classes).
TOY_TRAIN_X = [[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]]
TOY_TRAIN_Y = [0, 0, 0, 1, 1]
TOY_TEST_X = [[-0.8, 2.8], [2.6, -1.6]]
TOY_TEST_Y = [0, 1]


@dataclass
class Table:
    """A CSV file's header and rows, as strings, with each row's line number."""

    name: str
    path: str
    columns: list
    rows: list
    lines: list

    def index(self, column: str) -> int:
        """The position of ``column``; a clear error listing the columns when it is absent."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise CliError(
                f"{self.name} has no column {column!r} (its columns: {', '.join(self.columns)})"
            ) from None


@dataclass
class Labeled:
    """Examples: float64 features, int64 class ids, and the names that give them meaning."""

    x: np.ndarray
    y: np.ndarray
    features: list
    target: str
    classes: list
    source: str = ""

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, ids: np.ndarray) -> Labeled:
        return Labeled(
            self.x[ids], self.y[ids], self.features, self.target, self.classes, self.source
        )


def resolve(data: str) -> tuple:
    """``(path, shown name, default target)`` for a built-in dataset's name or a file path."""
    if data in datasets.BUILTIN and not os.path.exists(data):
        return datasets.path(data), f"{data} (built in)", datasets.default_target(data)
    return data, data, None


def read_table(data: str) -> Table:
    """Reads a CSV file with a header line; rejects missing, empty and ragged files."""
    path, name, _ = resolve(data)
    if not os.path.exists(path):
        raise CliError(f"no such file: {data}")
    if os.path.isdir(path):
        raise CliError(f"{data} is a folder, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header, rows, lines = None, [], []
            for record in reader:
                if not record or all(not field.strip() for field in record):
                    continue  # blank lines
                fields = [field.strip() for field in record]
                if header is None:
                    header = fields
                    _check_header(header, name)
                    continue
                if len(fields) != len(header):
                    raise CliError(
                        f"{name}, line {reader.line_num}: expected {len(header)} fields like the "
                        f"header, found {len(fields)}"
                    )
                rows.append(fields)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise CliError(f"{name} is not a UTF-8 text (CSV) file") from None
    except csv.Error as exc:
        raise CliError(f"{name} is not a valid CSV file: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None
    if header is None:
        raise CliError(f"{name} is empty")
    if not rows:
        raise CliError(f"{name} has a header line but no rows of data")
    return Table(name, path, header, rows, lines)


def _check_header(header: list, name: str) -> None:
    if any(not h for h in header):
        raise CliError(f"{name}, line 1: every column needs a name in the header line")
    if all(_is_number(h) for h in header):
        raise CliError(f"{name}, line 1: the first line must name the columns, found numbers")
    seen = set()
    for h in header:
        if h in seen:
            raise CliError(f"{name}, line 1: the column name {h!r} appears twice")
        seen.add(h)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def numeric_columns(table: Table, columns: list) -> np.ndarray:
    """The named columns as a float64 matrix; a non-numeric or missing value is an error."""
    idx = [table.index(c) for c in columns]
    out = np.empty((len(table.rows), len(idx)), dtype=np.float64)
    for r, row in enumerate(table.rows):
        for c, i in enumerate(idx):
            text = row[i]
            try:
                value = float(text)
            except ValueError:
                value = None
            if value is None or not math.isfinite(value):
                what = "is empty" if not text else f"holds {text!r}, which is not a finite number"
                raise CliError(
                    f"{table.name}, line {table.lines[r]}: column {columns[c]!r} {what} "
                    "(feature columns must be numeric)"
                )
            out[r, c] = value
    return out


def _int_or_none(text: str):
    try:
        return int(text)
    except ValueError:
        return None


def class_names(table: Table, target: str) -> list:
    """The classes of the target column, sorted (numerically when every value is an integer)."""
    i = table.index(target)
    values = [row[i] for row in table.rows]
    for r, v in enumerate(values):
        if not v:
            raise CliError(f"{table.name}, line {table.lines[r]}: the target {target!r} is empty")
    ints = [_int_or_none(v) for v in values]
    if all(n is not None for n in ints):
        names = [str(n) for n in sorted(set(ints))]
    else:
        names = sorted(set(values))
    if len(names) < 2:
        raise CliError(
            f"the target {target!r} in {table.name} has only one class ({names[0]!r}); "
            "a classifier needs at least two"
        )
    return names


def class_ids(table: Table, target: str, classes: list) -> np.ndarray:
    """The target column as class ids into ``classes``; an unknown class is an error."""
    i = table.index(target)
    lookup = {name: k for k, name in enumerate(classes)}
    ids = np.empty(len(table.rows), dtype=np.int64)
    for r, row in enumerate(table.rows):
        text = row[i]
        n = _int_or_none(text)
        k = lookup.get(str(n) if n is not None else text, lookup.get(text))
        if k is None:
            raise CliError(
                f"{table.name}, line {table.lines[r]}: class {text!r} of {target!r} is not one "
                f"of the model's classes ({', '.join(classes)})"
            )
        ids[r] = k
    return ids


def load_labeled(
    data: str, target: str | None, features: list | None = None, classes: list | None = None
) -> Labeled:
    """A CSV file as features and class ids: every column but the target is a feature unless
    ``features`` names them; ``classes`` fixes the class list (a test file, a saved model)."""
    table = read_table(data)
    if target is None:
        target = resolve(data)[2] or table.columns[-1]
    table.index(target)
    if features is None:
        features = [c for c in table.columns if c != target]
    elif target in features:
        raise CliError(f"the target {target!r} cannot also be a feature")
    if not features:
        raise CliError(f"{table.name} has no feature columns besides the target {target!r}")
    x = numeric_columns(table, features)
    if classes is None:
        classes = class_names(table, target)
    y = class_ids(table, target, classes)
    return Labeled(x, y, list(features), target, list(classes), table.name)


def toy_data() -> tuple:
    """The tutorial's toy training and test sets."""
    feats, classes = ["x1", "x2"], ["0", "1"]
    train = Labeled(np.array(TOY_TRAIN_X), np.array(TOY_TRAIN_Y), feats, "label", classes, "toy")
    test = Labeled(np.array(TOY_TEST_X), np.array(TOY_TEST_Y), feats, "label", classes, "toy")
    return train, test


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple:
    """``(train ids, test ids)``: about ``fraction`` of each class held out, chosen by ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for k in np.unique(y):
        ids = rng.permutation(np.flatnonzero(y == k))
        n_test = min(int(round(len(ids) * fraction)), len(ids) - 1)
        test.append(ids[:n_test])
        train.append(ids[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass
class Standardizer:
    """Per-feature ``(x - mean) / std`` with statistics from the training split only."""

    mean: list
    std: list

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        std = x.std(axis=0)
        std[std == 0] = 1.0  # a constant column stays constant instead of dividing by zero
        return cls([float(v) for v in x.mean(axis=0)], [float(v) for v in std])

    @classmethod
    def identity(cls, n: int) -> Standardizer:
        return cls([0.0] * n, [1.0] * n)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The standardised features as float32, the model's dtype."""
        return ((x - np.array(self.mean)) / np.array(self.std)).astype(np.float32)


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_writable(path: str, what: str) -> None:
    """Fails early, before any work, when ``path`` cannot be written (and writes nothing)."""
    if os.path.isdir(path):
        raise CliError(f"cannot write the {what} to {path}: it is a folder")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CliError(f"cannot write the {what} to {path}: {folder} is a file, not a folder")
    if not os.path.isdir(folder):
        raise CliError(f"cannot write the {what} to {path}: the folder {folder} does not exist")
    probe = os.path.join(folder, f".wick-probe-{secrets.token_hex(6)}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise CliError(f"cannot write the {what} to {path}: {exc.strerror or exc}") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise CliError(f"cannot write the {what} to {path}: permission denied")


def write_csv(path: str, header: list, rows: list) -> None:
    """Writes a CSV file atomically (a temporary file, then rename): never a half-written file."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".wick-tmp-{secrets.token_hex(6)}.csv")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
