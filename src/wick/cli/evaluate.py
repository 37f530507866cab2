"""``wick eval``: accuracy, per-class precision and recall and the confusion matrix of a
classifier; R^2, MAE and RMSE of a regressor."""

from __future__ import annotations

import numpy as np

from . import csvdata, model
from .errors import CliError
from .metrics import regression_report, report
from .predict import checked_outputs, device_or_error, feature_columns


def run(args) -> int:
    """The ``wick eval`` command."""
    device = device_or_error(args.device)
    net, spec = model.load(args.model, device)
    table = csvdata.read_table(args.data, args.delimiter, args.header)
    target = args.target or spec.target
    table.index(target)
    features = feature_columns(table, spec.features)
    if target in features:
        raise CliError(f"the target {target!r} is one of the model's features")
    x, text = table.read(features, [target])
    out = checked_outputs(net, spec, x, device, table)
    pred = out if spec.regression else out.argmax(1).astype(np.int64)
    print(f"model     {args.model}: {spec.describe()}, predicts {spec.target!r}")
    print(f"data      {table.name}: {len(x)} rows\n")
    if spec.regression:
        y = csvdata.numbers(table, target, text[target])
        print(regression_report(pred, y))
    else:
        y = csvdata.class_ids(table, target, text[target], spec.classes)
        print(report(pred, y, spec.classes))
    return 0
