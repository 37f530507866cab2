"""Reading CSV files for the command: the delimiter sniffed, the header checked, the rows parsed.

Rows are parsed by NumPy's C parser (``np.loadtxt``) in one pass: a 30 MB file takes about a
second and memory proportional to the columns used. Any row it cannot take (a ragged row, a
non-number, a line of spaces) sends the file through Python's ``csv`` module, which either
accepts it as well or names the exact line and column; both paths give the same values.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from array import array
from dataclasses import dataclass

import numpy as np

from .errors import CliError

CANDIDATES = (",", ";", "\t", "|")  # ties go to the earlier one
SAMPLE_CHARS = 1 << 16
SAMPLE_LINES = 20
ENCODING = "utf-8-sig"  # a UTF-8 byte-order mark (Excel's) is not part of the first name
SHOWN = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


@dataclass
class Table:
    """A CSV file's columns and how to read its rows (which are parsed only when asked for)."""

    name: str
    path: str
    columns: list
    delimiter: str
    has_header: bool

    def index(self, column: str) -> int:
        """The position of ``column``; a clear error listing the columns when it is absent."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise CliError(
                f"{self.name} has no column {column!r} (its columns: {', '.join(self.columns)})"
            ) from None

    def _open(self):
        try:
            return open(self.path, newline="", encoding=ENCODING)
        except OSError as exc:
            raise CliError(f"cannot read {self.name}: {exc.strerror or exc}") from None

    def records(self):
        """``(line number, stripped fields)`` of every data row, streamed; ragged rows fail."""
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            skip_header = self.has_header
            try:
                for record in reader:
                    if not record or all(not field.strip() for field in record):
                        continue  # blank lines
                    if skip_header:
                        skip_header = False
                        continue
                    if len(record) != len(self.columns):
                        what = "the header" if self.has_header else "the first line"
                        raise CliError(
                            f"{self.name}, line {reader.line_num}: expected "
                            f"{len(self.columns)} fields like {what}, found {len(record)}"
                            + _delimiter_hint(self.delimiter, len(record))
                        )
                    yield reader.line_num, [field.strip() for field in record]
            except UnicodeDecodeError:
                raise CliError(f"{self.name} is not a UTF-8 text (CSV) file") from None
            except csv.Error as exc:
                raise CliError(f"{self.name} is not a valid CSV file: {exc}") from None

    def line_of(self, row: int) -> int:
        """The line number of data row ``row`` (0-based), for error messages."""
        for i, (line, _) in enumerate(self.records()):
            if i == row:
                return line
        raise IndexError(row)

    def read(self, numeric: list, text: list = ()) -> tuple:
        """``(float64 matrix of the numeric columns, {column: list of stripped str})`` for
        every row. A numeric field that is empty or not a finite number is an error naming
        the line and the column."""
        num_idx = [self.index(c) for c in numeric]
        text_idx = [self.index(c) for c in text]
        found = self._read_fast(num_idx, text_idx)
        if found is None:
            found = self._read_exact(numeric, num_idx, text_idx)
        x, strings = found
        if len(x) == 0:
            raise CliError(f"{self.name} has a header line but no rows of data")
        return x, {c: strings[i] for c, i in zip(text, text_idx)}

    def _loadtxt(self, **kwargs):
        with self._open() as f, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            if self.has_header:
                _skip_header(f, self.delimiter)
            return np.loadtxt(
                f, delimiter=self.delimiter, comments=None, quotechar='"', ndmin=1, **kwargs
            )

    def _read_fast(self, num_idx: list, text_idx: list):
        # Every column is parsed (a row of the wrong length fails); the unused ones into one
        # character each, the text ones as Python strings.
        kinds = ["U1"] * len(self.columns)
        for i in num_idx:
            kinds[i] = "f8"
        for i in text_idx:
            kinds[i] = "O"
        dtype = np.dtype([(f"c{i}", k) for i, k in enumerate(kinds)])
        try:
            rows = self._loadtxt(dtype=dtype)
        except (ValueError, csv.Error):  # UnicodeDecodeError is a ValueError: the exact path says
            return None
        x = np.empty((len(rows), len(num_idx)), dtype=np.float64)
        for j, i in enumerate(num_idx):
            x[:, j] = rows[f"c{i}"]
        if not np.isfinite(x).all():
            return None  # nan or inf in a feature: the exact path names the line
        strings = {i: _stripped(rows[f"c{i}"].tolist()) for i in text_idx}
        return x, strings

    def _read_exact(self, numeric: list, num_idx: list, text_idx: list) -> tuple:
        values = array("d")
        strings = {i: [] for i in text_idx}
        for line, fields in self.records():
            for c, i in enumerate(num_idx):
                field = fields[i]
                try:
                    value = float(field)
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    what = (
                        "is empty"
                        if not field
                        else f"holds {field!r}, which is not a finite number"
                    )
                    raise CliError(
                        f"{self.name}, line {line}: column {numeric[c]!r} {what} "
                        "(feature columns must be numeric)"
                    )
                values.append(value)
            for i in text_idx:
                strings[i].append(fields[i])
        x = np.frombuffer(values, dtype=np.float64).reshape(-1, len(num_idx)).copy()
        return x, strings


def _stripped(values: list) -> list:
    """The values without surrounding spaces; stripped once per distinct value, not per row."""
    distinct = dict.fromkeys(values)
    if all(v == v.strip() for v in distinct):
        return values
    clean = {v: v.strip() for v in distinct}
    return list(map(clean.__getitem__, values))


def _skip_header(f, delimiter: str) -> None:
    """Advances ``f`` past the blank lines and the (possibly multi-line) header record."""
    while True:
        pos = f.tell()
        line = f.readline()
        if not line:
            return
        if line.strip():
            f.seek(pos)
            break
    reader = csv.reader(iter(lambda: f.readline(), ""), delimiter=delimiter)
    next(reader, None)  # reads exactly the header's physical lines, through its readline calls


def _delimiter_hint(delimiter: str, found: int) -> str:
    if found == 1 and delimiter == ",":
        return " (if the file uses another separator, pass --delimiter)"
    return ""


def _sample(path: str, name: str) -> list:
    """The first few CSV-parseable lines of the file, as text."""
    try:
        with open(path, newline="", encoding=ENCODING) as f:
            text = f.read(SAMPLE_CHARS)
            more = bool(f.read(1))
    except UnicodeDecodeError:
        raise CliError(f"{name} is not a UTF-8 text (CSV) file") from None
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror or exc}") from None
    lines = text.splitlines(keepends=True)
    if more and lines:
        lines = lines[:-1]  # cut off mid-line
    lines = [line for line in lines if line.strip()]
    return lines[:SAMPLE_LINES]


def sniff(lines: list) -> str:
    """The delimiter among , ; tab | that splits the sample lines into the same number (> 1) of
    fields, the most fields winning; ``,`` when none does."""
    best, best_score = ",", (False, 0)
    for d in CANDIDATES:
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=d) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        score = (len(set(counts)) == 1 and counts[0] > 1, counts[0])
        if score > best_score:
            best, best_score = d, score
    return best


def check_file(path: str, name: str) -> None:
    """A CSV input must be an existing regular file (a FIFO would block the read)."""
    if not os.path.exists(path):
        raise CliError(f"no such file: {name}")
    if os.path.isdir(path):
        raise CliError(f"{name} is a folder, not a CSV file")
    if not os.path.isfile(path):
        raise CliError(f"{name} is not a regular file (a pipe or a device?); wick reads files")


def read_table(path: str, name: str, delimiter: str | None = None, header=None) -> Table:
    """The columns of a CSV file; ``header`` None: the first line must name them (refused when
    it holds numbers), True: it does, False: there is none (columns col1, col2, ...)."""
    check_file(path, name)
    lines = _sample(path, name)
    if not lines:
        raise CliError(f"{name} is empty")
    delimiter = delimiter or sniff(lines)
    try:
        first = next(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:
        raise CliError(f"{name} is not a valid CSV file: {exc}") from None
    first = [field.strip() for field in first]
    if header is False:
        columns = [f"col{i + 1}" for i in range(len(first))]
    else:
        _check_header(first, name, header is None)
        columns = first
    return Table(name, path, columns, delimiter, header is not False)


def _check_header(header: list, name: str, refuse_numbers: bool) -> None:
    numbers = [h for h in header if _is_number(h)]
    if refuse_numbers and numbers:
        shown = ", ".join(numbers[:3]) + (", ..." if len(numbers) > 3 else "")
        raise CliError(
            f"{name}, line 1: the first line holds numbers ({shown}), so it looks like data, "
            "not a header naming the columns; add a header line, or pass --no-header (the "
            "columns are then col1, col2, ...) or --header if those are the names"
        )
    if any(not h for h in header):
        raise CliError(f"{name}, line 1: every column needs a name in the header line")
    seen = set()
    for h in header:
        if h in seen:
            raise CliError(f"{name}, line 1: the column name {h!r} appears twice")
        seen.add(h)
