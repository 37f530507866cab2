"""``wick predict``: the class and the class probabilities (or the number) of every row of a CSV
file. Everything is read and checked first; the predictions are written last, in one go."""

from __future__ import annotations

import csv
import sys

import numpy as np

from ..core.device import as_device
from ..core.errors import Error
from . import csvdata, model, outputs
from .errors import CliError
from .metrics import accuracy, fmt, regression_scores


def device_or_error(name: str):
    try:
        return as_device(name)
    except Error as exc:
        raise CliError(f"--device {name}: {' '.join(str(exc).split())}") from None


def run(args) -> int:
    """The ``wick predict`` command."""
    device = device_or_error(args.device)
    data = csvdata.require(args.data)
    if args.out:
        inputs = [("--model", args.model), ("--data", data)]
        outputs.check(inputs, [("--out", args.out, "predictions")], args.force)
    net, spec = model.load(args.model, device)  # the header checked, then the tensors read
    table = csvdata.read_table(args.data, args.delimiter, args.header)
    features = feature_columns(table, spec.features)
    labelled = spec.target in table.columns
    x, text = table.read(features, [spec.target] if labelled else [])
    result = checked_outputs(net, spec, x, device, table)
    score = _score(spec, result, text[spec.target], table) if labelled else None
    header = table.columns + [f"predicted_{spec.target}"]
    if spec.regression:
        extra = ([format(float(v), ".7g")] for v in result)
    else:
        header += [f"p_{c}" for c in spec.classes]
        classes = spec.classes
        extra = (
            [classes[int(k)], *(f"{p:.6f}" for p in ps)] for k, ps in zip(result.argmax(1), result)
        )
    rows = (fields + more for (_, fields), more in zip(table.records(), extra))
    # Messages go to stdout when the predictions go to a file, to stderr when they fill stdout.
    say = print if args.out else (lambda line: print(line, file=sys.stderr))
    if args.out:
        csvdata.write_csv(args.out, header, rows)
        say(f"wrote {len(x)} predictions to {args.out}")
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    if score:
        say(score)
    return 0


def checked_outputs(net, spec, x, device, table):
    """``model.outputs``, or an error naming the first row whose output is not finite."""
    try:
        return model.outputs(net, spec.standardizer.apply(x), device, spec)
    except model.NotFinite as exc:
        raise CliError(
            f"{table.name}, line {table.line_of(exc.row)}: the model's output is not a finite "
            "number (features far outside the range it was trained on?)"
        ) from None


def _score(spec, result: np.ndarray, values: list, table) -> str | None:
    """How the predictions compare with the file's target column, over the rows whose value is
    usable (blank or unknown labels are fine in a file to predict: they are left out)."""
    if spec.regression:
        y = np.array([_number(v) for v in values])
        known = np.isfinite(y)
        if not known.any():
            return None
        s = regression_scores(result[known], y[known])
        text = f"R2 {fmt(s['r2'])}, MAE {fmt(s['mae'])} ({int(known.sum())} rows)"
    else:
        ids = csvdata.class_ids(table, spec.target, values, spec.classes, strict=False)
        known = ids >= 0
        if not known.any():
            return None
        pred = result.argmax(1)[known]
        correct = int((pred == ids[known]).sum())
        text = f"accuracy  {fmt(accuracy(pred, ids[known]))} ({correct}/{int(known.sum())})"
    text += f" against the column {spec.target!r} of {table.name}"
    left_out = len(values) - int(known.sum())
    if left_out:
        text += f"; {left_out} rows with a blank or unknown value left out"
    return text


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def feature_columns(table, features: list) -> list:
    missing = [f for f in features if f not in table.columns]
    if missing:
        raise CliError(
            f"{table.name} lacks the model's feature column(s) {', '.join(map(repr, missing))} "
            f"(the model needs: {', '.join(features)})"
        )
    return features
