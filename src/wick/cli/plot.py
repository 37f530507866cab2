"""``wick train --plot``: loss and accuracy curves, with matplotlib (an optional extra)."""

from __future__ import annotations

import os
import secrets

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


def save_curves(history: list, path: str, target: str) -> None:
    """Two panels, loss and accuracy per epoch, for the training and test sets."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, no display needed
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        if f"{split}_loss" in history[0]:
            ax_loss.plot(epochs, [row[f"{split}_loss"] for row in history], label=split)
            ax_acc.plot(epochs, [row[f"{split}_accuracy"] for row in history], label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"accuracy ({target})", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    # A temporary file, then rename: an existing plot is never left half-written.
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".wick-tmp-{secrets.token_hex(6)}-{name}")
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    try:
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, path)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot write the plot to {path}: {exc}") from None
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
