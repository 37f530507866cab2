"""Classification metrics and the plain-text tables the command prints."""

from __future__ import annotations

import numpy as np


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """The fraction of correct predictions (0.0 for no examples)."""
    return float((pred == y).sum() / len(y)) if len(y) else 0.0


def regression_scores(pred: np.ndarray, y: np.ndarray) -> dict:
    """``{"r2", "mae", "rmse"}`` of predicted numbers; None where undefined (no rows, or a
    constant target for R^2), never ``nan`` with a NumPy warning."""
    if len(y) == 0:
        return {"r2": None, "mae": None, "rmse": None}
    err = pred.astype(np.float64) - y
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((err**2).sum()) / total if total > 0 else None
    return {"r2": r2, "mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err**2).mean()))}


def regression_report(pred: np.ndarray, y: np.ndarray) -> str:
    """R^2, MAE and RMSE as text (``wick eval`` of a regressor)."""
    s = regression_scores(pred, y)
    return "\n".join(
        [
            f"R2        {fmt(s['r2'])}  (1 is perfect, 0 is as good as predicting the mean)",
            f"MAE       {fmt(s['mae'])}  (mean absolute error, in the target's units)",
            f"RMSE      {fmt(s['rmse'])}",
            f"rows      {len(y)}",
        ]
    )


def confusion(pred: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """``m[true, predicted]`` counts."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def precision_recall(m: np.ndarray) -> tuple:
    """Per-class precision and recall from a confusion matrix; ``nan`` where undefined."""
    tp = np.diag(m).astype(np.float64)
    predicted, actual = m.sum(axis=0), m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / predicted, tp / actual


def table(header: list, rows: list, align: str | None = None) -> str:
    """Columns padded to their widest cell; ``align`` is one of ``l``/``r`` per column."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    align = align or "l" + "r" * (len(header) - 1)
    lines = []
    for r in cells:
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def fmt(value: float) -> str:
    """Four decimals; ``-`` for an undefined value."""
    return "-" if value is None or not np.isfinite(value) else f"{value:.4f}"


def report(pred: np.ndarray, y: np.ndarray, classes: list) -> str:
    """Accuracy, per-class precision/recall/support and the confusion matrix, as text."""
    m = confusion(pred, y, len(classes))
    prec, rec = precision_recall(m)
    correct = int((pred == y).sum())
    lines = [f"accuracy  {fmt(accuracy(pred, y))} ({correct}/{len(y)})", ""]
    rows = [[c, fmt(p), fmt(r), int(s)] for c, p, r, s in zip(classes, prec, rec, m.sum(axis=1))]
    lines.append(table(["class", "precision", "recall", "support"], rows))
    lines += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(table([""] + list(classes), [[c, *map(int, m[i])] for i, c in enumerate(classes)]))
    return "\n".join(lines)
