"""``wick predict``: the class and the class probabilities of every row of a CSV file."""

from __future__ import annotations

import csv
import sys

from ..core.device import as_device
from ..core.errors import Error
from . import csvdata, model
from .errors import CliError
from .metrics import accuracy, fmt


def device_or_error(name: str):
    try:
        return as_device(name)
    except Error as exc:
        raise CliError(f"--device {name}: {' '.join(str(exc).split())}") from None


def run(args) -> int:
    """The ``wick predict`` command."""
    if args.out:
        csvdata.check_writable(args.out, "predictions")
    device = device_or_error(args.device)
    net, spec = model.load(args.model, device)
    table = csvdata.read_table(args.data)
    x = csvdata.numeric_columns(table, feature_columns(table, spec.features))
    probs = model.predict_proba(net, spec.standardizer.apply(x), device)
    pred = model.predict(net, spec.standardizer.apply(x), device)
    header = table.columns + [f"predicted_{spec.target}"] + [f"p_{c}" for c in spec.classes]
    rows = [
        row + [spec.classes[k]] + [f"{p:.6f}" for p in ps]
        for row, k, ps in zip(table.rows, pred, probs)
    ]
    # Messages go to stdout when the predictions go to a file, to stderr when they fill stdout.
    say = print if args.out else (lambda text: print(text, file=sys.stderr))
    if args.out:
        csvdata.write_csv(args.out, header, rows)
        say(f"wrote {len(rows)} predictions to {args.out}")
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    if spec.target in table.columns:
        y = csvdata.class_ids(table, spec.target, spec.classes)
        acc = accuracy(pred, y)
        say(
            f"accuracy  {fmt(acc)} ({int((pred == y).sum())}/{len(y)}) against the column "
            f"{spec.target!r} of {table.name}"
        )
    return 0


def feature_columns(table, features: list) -> list:
    missing = [f for f in features if f not in table.columns]
    if missing:
        raise CliError(
            f"{table.name} lacks the model's feature column(s) {', '.join(map(repr, missing))} "
            f"(the model needs: {', '.join(features)})"
        )
    return features
