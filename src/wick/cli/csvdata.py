"""CSV files for the command: reading and checking them, class labels, splits, standardisation.

Every problem with a file becomes one ``CliError`` that names the file, the line and the column.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from .. import atomic, datasets
from . import csvread
from .csvread import Table
from .errors import CliError

CONTINUOUS_MIN = 20  # more different integer values than this (and than half the rows): a number

# The tutorial's toy data (5 training and 2 test examples, two features, two classes).
TOY_TRAIN_X = [[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]]
TOY_TRAIN_Y = [0, 0, 0, 1, 1]
TOY_TEST_X = [[-0.8, 2.8], [2.6, -1.6]]
TOY_TEST_Y = [0, 1]


@dataclass
class Labeled:
    """Examples: float64 features, int64 class ids (float64 numbers for a regression, whose
    ``classes`` is empty), and the names that give them meaning."""

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


def read_table(data: str, delimiter: str | None = None, header=None) -> Table:
    """The columns of a CSV file (or built-in dataset); rows are parsed by ``Table.read``."""
    path, name, _ = resolve(data)
    return csvread.read_table(path, name, delimiter, header)


def require(data: str) -> str:
    """The path of an input CSV (or built-in dataset), checked to be a readable file."""
    path, name, _ = resolve(data)
    csvread.check_file(path, name)
    return path


def _int_or_none(text: str):
    try:
        return int(text)
    except ValueError:
        return None


def _looks_continuous(distinct: list, n_rows: int) -> bool:
    """Numbers, more than half of them different, and fractions or more than 20 of them."""
    if len(distinct) <= max(2, n_rows / 2) or not all(csvread._is_number(v) for v in distinct):
        return False
    return len(distinct) > CONTINUOUS_MIN or any(_int_or_none(v) is None for v in distinct)


def factorize(values: list) -> tuple:
    """``(distinct values in order of appearance, int64 code of every value)``: dict passes at
    C speed, several times faster than sorting a million strings."""
    distinct = list(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(distinct)}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
    return distinct, codes


def class_names(table: Table, target: str, values: list, check_continuous: bool = True) -> list:
    """The classes of the target column, sorted (numerically when every value is an integer)."""
    distinct, codes = factorize(values)
    if "" in distinct:
        row = int(np.flatnonzero(codes == distinct.index(""))[0])
        raise CliError(f"{table.name}, line {table.line_of(row)}: the target {target!r} is empty")
    ints = {v: _int_or_none(v) for v in distinct}
    if all(n is not None for n in ints.values()):
        names = [str(n) for n in sorted(set(ints.values()))]
    else:
        names = sorted(distinct)
    if len(names) < 2:
        raise CliError(
            f"the target {target!r} in {table.name} has only one class ({names[0]!r}); "
            "a classifier needs at least two"
        )
    if check_continuous and _looks_continuous(distinct, len(values)):
        raise CliError(
            f"the target {target!r} in {table.name} looks continuous ({len(names)} different "
            f"numbers in {len(values)} rows), not like classes: pass --task regression to "
            "predict the number, or --task classification to make each value a class"
        )
    return names


def class_ids(
    table: Table, target: str, values: list, classes: list, strict: bool = True
) -> np.ndarray:
    """The target values as ids into ``classes``; an unknown or blank class is an error, or,
    with ``strict=False``, the id -1 (``wick predict`` scores the rows it knows)."""
    lookup = {name: k for k, name in enumerate(classes)}
    distinct, codes = factorize(values)
    ids_of = np.empty(len(distinct), dtype=np.int64)
    for j, v in enumerate(distinct):
        n = _int_or_none(v)
        ids_of[j] = lookup.get(str(n) if n is not None else v, lookup.get(v, -1))
    ids = ids_of[codes]
    if strict and (ids < 0).any():
        r = int(np.flatnonzero(ids < 0)[0])
        text = values[r]
        what = (
            f"the target {target!r} is empty"
            if not text
            else f"class {text!r} of {target!r} is not one of the model's classes "
            f"({', '.join(classes)})"
        )
        raise CliError(f"{table.name}, line {table.line_of(r)}: {what}")
    return ids


def numbers(table: Table, target: str, values: list) -> np.ndarray:
    """A regression target as float64; an empty or non-numeric value is an error."""
    try:
        y = np.array(values, dtype=np.float64)
        if np.isfinite(y).all():
            return y
    except ValueError:
        pass
    for r, v in enumerate(values):
        if not csvread._is_number(v):
            what = "is empty" if not v else f"holds {v!r}, which is not a finite number"
            raise CliError(
                f"{table.name}, line {table.line_of(r)}: the target {target!r} {what} "
                "(--task regression predicts numbers)"
            )
    raise AssertionError("unreachable")  # NumPy accepted what float() refuses


def load_labeled(
    data: str,
    target: str | None,
    features: list | None = None,
    classes: list | None = None,
    task: str | None = None,
    csv_options: dict | None = None,
) -> Labeled:
    """A CSV file as features and targets: every column but the target is a feature unless
    ``features`` names them; ``classes`` fixes the class list (a test file, a saved model).

    ``task``: "classification" (class ids), "regression" (float64 numbers), or None: a
    classification that refuses a target that looks continuous."""
    table = read_table(data, **(csv_options or {}))
    if target is None:
        target = resolve(data)[2] or table.columns[-1]
    table.index(target)
    if features is None:
        features = [c for c in table.columns if c != target]
    elif target in features:
        raise CliError(f"the target {target!r} cannot also be a feature")
    if not features:
        hint = " (a single column: if another character separates the fields, pass --delimiter)"
        raise CliError(
            f"{table.name} has no feature columns besides the target {target!r}"
            + (hint if len(table.columns) == 1 else "")
        )
    x, text = table.read(features, [target])
    values = text[target]
    if task == "regression":
        y = numbers(table, target, values)
        classes = []
    else:
        if classes is None:
            classes = class_names(table, target, values, check_continuous=task is None)
        y = class_ids(table, target, values, classes)
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


def random_split(n: int, fraction: float, seed: int) -> tuple:
    """``(train ids, test ids)`` for a regression: ``fraction`` of the rows held out by ``seed``."""
    ids = np.random.default_rng(seed).permutation(n)
    n_test = min(int(round(n * fraction)), n - 1)
    return np.sort(ids[n_test:]), np.sort(ids[:n_test])


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


def write_csv(path: str, header: list, rows: list) -> None:
    """Writes a CSV file atomically (``wick.atomic``): never a half-written file."""
    try:
        with atomic.open_atomic(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
