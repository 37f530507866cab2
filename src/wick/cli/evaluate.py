"""``wick eval``: accuracy, per-class precision and recall, and the confusion matrix."""

from __future__ import annotations

from . import csvdata, model
from .metrics import report
from .predict import device_or_error, feature_columns


def run(args) -> int:
    """The ``wick eval`` command."""
    device = device_or_error(args.device)
    net, spec = model.load(args.model, device)
    table = csvdata.read_table(args.data)
    target = args.target or spec.target
    table.index(target)
    x = csvdata.numeric_columns(table, feature_columns(table, spec.features))
    y = csvdata.class_ids(table, target, spec.classes)
    pred = model.predict(net, spec.standardizer.apply(x), device)
    print(f"model     {args.model}: {spec.describe()}, predicts {spec.target!r}")
    print(f"data      {table.name}: {len(y)} rows\n")
    print(report(pred, y, spec.classes))
    return 0
