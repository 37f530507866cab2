"""``wick train --plot``: loss and accuracy curves, with matplotlib (an optional extra)."""

from __future__ import annotations

import os

from .. import atomic
from .errors import CliError

MISSING = (
    "--plot needs matplotlib, which is not installed; install it with "
    "pip install 'wick[plot]' (or pip install matplotlib)"
)


def require_matplotlib(path: str) -> None:
    """Fails before training starts when matplotlib is missing or cannot write ``path``'s format."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise CliError(MISSING) from None
    formats = Figure().canvas.get_supported_filetypes()
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext and ext not in formats:
        raise CliError(
            f"--plot {path}: matplotlib cannot write .{ext} files (it writes "
            f"{', '.join(sorted(formats))})"
        )


def _marked(fmt: str) -> dict:
    """Metadata that marks the file as wick's (outputs.py recognises it before replacing it)."""
    from .outputs import PLOT_MARK

    if fmt == "png":
        return {"Software": PLOT_MARK}
    if fmt in ("pdf", "svg", "svgz", "ps", "eps"):
        return {"Creator": PLOT_MARK}
    return {}  # formats without metadata: wick does not recognise them (--force replaces them)


def save_curves(history: list, path: str, target: str, task=None) -> None:
    """Two panels, loss and score (accuracy, or R2 for a regression) per epoch, for the training
    and test sets."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt

    key = getattr(task, "headline", "accuracy")
    score = "accuracy" if key == "accuracy" else "R2"
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(epochs, [row[f"{split}_loss"] for row in history], label=split)
            values = [row[f"{split}_{key}"] for row in history]
            ax_acc.plot(epochs, [float("nan") if v is None else v for v in values], label=split)
    loss = "cross-entropy loss" if key == "accuracy" else "mean squared error (standardised)"
    ax_loss.set(xlabel="epoch", ylabel=loss, title="loss")
    ax_acc.set(xlabel="epoch", ylabel=score, title=f"{score} ({target})")
    if key == "accuracy":
        ax_acc.set_ylim(0, 1.02)
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    # Atomic (wick.atomic): an existing plot is never left half-written.
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    try:
        with atomic.open_atomic(path, "wb") as f:
            fig.savefig(f, format=fmt, metadata=_marked(fmt))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write the plot to {path}: {exc}") from None
    finally:
        plt.close(fig)
