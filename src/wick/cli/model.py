"""The command's model: an MLP classifier whose safetensors file describes itself.

Parameter names follow the tutorial (``l1``, ``l2``, ..., ``out``), so a file trained with the
tutorial's sizes loads into the tutorial's ``NeuralNetwork`` unchanged; the metadata records the
architecture, feature names, standardisation statistics and class names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .. import __version__, safetensors
from ..core import Device, DType, Tensor
from ..core.errors import Error
from ..nn import Module, VarBuilder, VarMap, linear
from ..nn.ops import softmax
from .csvdata import Standardizer
from .errors import CliError

FORMAT = "wick-mlp-classifier/1"


@dataclass
class ModelSpec:
    """Everything needed to rebuild the model and feed it raw CSV rows."""

    features: list
    target: str
    classes: list
    hidden: list
    standardizer: Standardizer
    training: dict = field(default_factory=dict)

    @property
    def sizes(self) -> list:
        return [len(self.features), *self.hidden, len(self.classes)]

    def describe(self) -> str:
        """``MLP 4-30-20-3 (ReLU)``."""
        return "MLP " + "-".join(str(n) for n in self.sizes) + " (ReLU)"

    def to_metadata(self) -> dict:
        s = self.standardizer
        return {
            "wick.format": FORMAT,
            "wick.version": __version__,
            "wick.architecture": json.dumps(
                {
                    "kind": "mlp",
                    "sizes": self.sizes,
                    "activation": "relu",
                    "dtype": "f32",
                    "layers": layer_names(len(self.hidden)),
                }
            ),
            "wick.features": json.dumps(self.features),
            "wick.target": self.target,
            "wick.classes": json.dumps(self.classes),
            "wick.standardize": json.dumps({"mean": s.mean, "std": s.std}),
            "wick.training": json.dumps(self.training),
        }

    @classmethod
    def from_metadata(cls, meta: dict, name: str) -> ModelSpec:
        if meta.get("wick.format") != FORMAT:
            raise CliError(
                f"{name} is a safetensors file but not a wick model (its metadata has no "
                f"'wick.format: {FORMAT}'); `wick inspect {name}` shows what it holds"
            )
        try:
            arch = json.loads(meta["wick.architecture"])
            features = json.loads(meta["wick.features"])
            classes = json.loads(meta["wick.classes"])
            stats = json.loads(meta["wick.standardize"])
            training = json.loads(meta.get("wick.training", "{}"))
            sizes = [int(n) for n in arch["sizes"]]
            spec = cls(
                features,
                meta["wick.target"],
                classes,
                sizes[1:-1],
                Standardizer([float(v) for v in stats["mean"]], [float(v) for v in stats["std"]]),
                training,
            )
            ok = (
                sizes[0]
                == len(features)
                == len(spec.standardizer.mean)
                == len(spec.standardizer.std)
                and sizes[-1] == len(classes) >= 2
                and all(n > 0 for n in sizes)
            )
        except (KeyError, TypeError, ValueError, IndexError):
            ok = False
        if not ok:
            raise CliError(f"{name}: the wick metadata of this model is damaged")
        return spec


def layer_names(n_hidden: int) -> list:
    """``l1 .. lN`` for the hidden layers, then ``out`` (the tutorial's names)."""
    return [f"l{i + 1}" for i in range(n_hidden)] + ["out"]


class MLP(Module):
    """Linear layers with ReLU between them; returns logits (the tutorial's NeuralNetwork)."""

    def __init__(self, sizes: list, vb: VarBuilder):
        names = layer_names(len(sizes) - 2)
        self.layers = [linear(sizes[i], sizes[i + 1], vb.pp(name)) for i, name in enumerate(names)]

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers[:-1]:
            x = layer(x).relu()
        return self.layers[-1](x)


def build(spec: ModelSpec, device: Device) -> tuple:
    """``(model, varmap)``: a freshly initialised model (draws from the device's generator)."""
    varmap = VarMap()
    model = MLP(spec.sizes, VarBuilder.from_varmap(varmap, DType.F32, device))
    return model, varmap


def save(varmap: VarMap, spec: ModelSpec, path: str) -> None:
    """Writes the weights and the self-describing metadata (atomically)."""
    try:
        varmap.save(path, spec.to_metadata())
    except Error as exc:
        raise CliError(str(exc)) from None


def load(path: str, device: Device) -> tuple:
    """``(model, spec)`` from a file ``wick train`` wrote; clear errors for any other file."""
    try:
        meta = safetensors.read_metadata(path)
    except Error as exc:
        raise CliError(_reason(exc, path)) from None
    spec = ModelSpec.from_metadata(meta, path)
    model, varmap = build(spec, device)
    try:
        varmap.load(path)
    except Error as exc:
        raise CliError(_reason(exc, path)) from None
    return model, spec


def _reason(exc: Exception, path: str) -> str:
    text = " ".join(str(getattr(exc, "msg", exc)).split())
    if text == "no such file":
        return f"no such file: {path}"
    if "does not match the model" in text:
        return f"{path}: the tensors do not match the model its metadata describes ({text})"
    return f"{path} is not a readable safetensors file ({text})"


def predict_proba(model: MLP, x: np.ndarray, device: Device) -> np.ndarray:
    """Class probabilities (float32) for standardised features ``x``, in one forward pass."""
    logits = model(Tensor.new(x, device))
    return softmax(logits, 1).numpy()


def predict(model: MLP, x: np.ndarray, device: Device) -> np.ndarray:
    """Class ids (argmax of the logits) for standardised features ``x``."""
    return model(Tensor.new(x, device)).argmax(1).numpy().astype(np.int64)
