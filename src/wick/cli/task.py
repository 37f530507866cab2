"""What ``wick train --task`` changes: the loss, the targets, the scores and how they print.

A classification (the default) learns class ids with cross-entropy and reports accuracy; a
regression learns one number with mean squared error on the standardised target (so that the
learning rate means the same for any scale of target) and reports R^2 and MAE in the target's
own units.
"""

from __future__ import annotations

import numpy as np

from ..core import Tensor
from ..nn.loss import cross_entropy, mse
from .csvdata import Standardizer
from .metrics import accuracy, fmt, regression_scores


class Classification:
    """Cross-entropy on logits; scored by accuracy."""

    name = "classification"
    headline = "accuracy"  # the score of the epoch lines, the progress bar and the plot
    shown = "Acc"
    columns = ["loss", "accuracy"]

    def targets(self, y: np.ndarray, device) -> Tensor:
        """The training targets as a tensor: u32 class ids."""
        return Tensor.new(y.astype(np.uint32), device)

    def loss(self, out: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(out, target)

    def decode(self, out: Tensor) -> np.ndarray:
        """Class ids from the model's outputs."""
        return out.argmax(1).numpy().astype(np.int64)

    def scores(self, pred: np.ndarray, y: np.ndarray) -> dict:
        return {"accuracy": accuracy(pred, y)}

    def cells(self, scores: dict) -> list:
        return [fmt(scores["accuracy"])]

    def describe(self, spec) -> str:
        return f"an MLP classifier for {spec.target!r}"


class Regression:
    """Mean squared error on the standardised target; scored by R^2 and MAE."""

    name = "regression"
    headline = "r2"
    shown = "R2"
    columns = ["loss", "MAE", "R2"]

    def __init__(self, scale: Standardizer):
        self.scale = scale

    def targets(self, y: np.ndarray, device) -> Tensor:
        """The training targets as a tensor: standardised f32 numbers, shape (n, 1)."""
        z = (y - self.scale.mean[0]) / self.scale.std[0]
        return Tensor.new(z.astype(np.float32).reshape(-1, 1), device)

    def loss(self, out: Tensor, target: Tensor) -> Tensor:
        return mse(out, target)

    def decode(self, out: Tensor) -> np.ndarray:
        """Numbers in the target's units from the model's outputs."""
        return out.numpy()[:, 0].astype(np.float64) * self.scale.std[0] + self.scale.mean[0]

    def scores(self, pred: np.ndarray, y: np.ndarray) -> dict:
        s = regression_scores(pred, y)
        return {"r2": s["r2"], "mae": s["mae"]}

    def cells(self, scores: dict) -> list:
        return [fmt(scores["mae"]), fmt(scores["r2"])]

    def describe(self, spec) -> str:
        return f"an MLP regressor for {spec.target!r}"


def for_spec(spec) -> Classification | Regression:
    """The task of a model spec."""
    return Regression(spec.target_scale) if spec.regression else Classification()
