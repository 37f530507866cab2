"""The command's model: an MLP classifier whose safetensors file describes itself.

Parameter names follow the tutorial (``l1``, ``l2``, ..., ``out``), so a file trained with the
tutorial's sizes loads into the tutorial's ``NeuralNetwork`` unchanged; the metadata records the
architecture, feature names, standardisation statistics and class names.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from ..core import Device, DType, Tensor
from ..core.errors import Error
from ..nn import Module, VarBuilder, VarMap, linear
from ..nn.ops import softmax
from .csvdata import Standardizer
from .errors import CliError

FORMAT = "wick-mlp-classifier/1"
REGRESSOR = "wick-mlp-regressor/1"
MAX_LAYER = 2**31 - 1
PREDICT_ROWS = 65536  # rows per forward pass: bounded memory on any size of file


@dataclass
class ModelSpec:
    """Everything needed to rebuild the model and feed it raw CSV rows.

    A classifier has ``classes``; a regressor (``task == "regression"``) has none and one
    output, which ``target_scale`` turns back from standard units into the target's."""

    features: list
    target: str
    classes: list
    hidden: list
    standardizer: Standardizer
    training: dict = field(default_factory=dict)
    task: str = "classification"
    target_scale: Standardizer | None = None

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def sizes(self) -> list:
        return [len(self.features), *self.hidden, 1 if self.regression else len(self.classes)]

    def describe(self) -> str:
        """``MLP 4-30-20-3 (ReLU)``."""
        return "MLP " + "-".join(str(n) for n in self.sizes) + " (ReLU)"

    def to_metadata(self) -> dict:
        s = self.standardizer
        meta = {
            "wick.format": REGRESSOR if self.regression else FORMAT,
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
            "wick.standardize": json.dumps({"mean": s.mean, "std": s.std}),
            "wick.training": json.dumps(self.training),
        }
        if self.regression:
            t = self.target_scale
            meta["wick.target_standardize"] = json.dumps({"mean": t.mean, "std": t.std})
        else:
            meta["wick.classes"] = json.dumps(self.classes)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict, name: str) -> ModelSpec:
        """The spec a file's metadata claims, every field checked (types, sizes, agreement)."""
        kind = meta.get("wick.format")
        if kind not in (FORMAT, REGRESSOR):
            raise CliError(
                f"{name} is a safetensors file but not a wick model (its metadata has no "
                f"'wick.format: {FORMAT}'); `wick inspect {name}` shows what it holds"
            )
        try:
            return cls._parse(meta, kind == REGRESSOR)
        except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
            reason = exc.args[0] if isinstance(exc, _Damaged) else f"{type(exc).__name__}"
            raise CliError(
                f"{name}: the wick metadata of this model is damaged ({reason})"
            ) from None

    @classmethod
    def _parse(cls, meta: dict, regression: bool) -> ModelSpec:
        arch = _json(meta, "wick.architecture", dict)
        sizes = arch.get("sizes")
        if not (isinstance(sizes, list) and len(sizes) >= 2 and all(map(_is_size, sizes))):
            raise _Damaged(f"layer sizes must be integers in [1, {MAX_LAYER:,}]")
        features = _json(meta, "wick.features", list)
        if not features or not all(isinstance(f, str) and f for f in features):
            raise _Damaged("the feature names must be non-empty strings")
        if len(set(features)) != len(features) or len(features) != sizes[0]:
            raise _Damaged(f"{len(features)} feature names for {sizes[0]} inputs, or repeated")
        target = meta.get("wick.target")
        if not isinstance(target, str) or not target:
            raise _Damaged("no target name")
        stats = _json(meta, "wick.standardize", dict)
        standardizer = _standardizer(stats, sizes[0], "feature")
        training = json.loads(meta.get("wick.training", "{}"))
        if regression:
            classes = []
            scale = _standardizer(_json(meta, "wick.target_standardize", dict), 1, "target")
            if sizes[-1] != 1:
                raise _Damaged(f"a regressor has one output, not {sizes[-1]}")
        else:
            scale = None
            classes = _json(meta, "wick.classes", list)
            if not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
                raise _Damaged("the class names must be distinct strings")
            if not len(classes) == sizes[-1] >= 2:
                raise _Damaged(f"{len(classes)} class names for {sizes[-1]} outputs")
        task = "regression" if regression else "classification"
        return cls(
            features,
            target,
            classes,
            sizes[1:-1],
            standardizer,
            training if isinstance(training, dict) else {},
            task,
            scale,
        )


class _Damaged(ValueError):
    """What is wrong with a model's metadata (becomes the reason in the error)."""


def _is_size(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_LAYER


def _json(meta: dict, key: str, kind: type):
    try:
        value = json.loads(meta[key])
    except KeyError:
        raise _Damaged(f"no {key}") from None
    except ValueError:
        raise _Damaged(f"{key} is not JSON") from None
    if not isinstance(value, kind):
        raise _Damaged(f"{key} is not a JSON {kind.__name__}")
    return value


def _standardizer(stats: dict, n: int, what: str) -> Standardizer:
    mean, std = stats.get("mean"), stats.get("std")
    numbers = (mean or []) + (std or [])
    ok = (
        isinstance(mean, list)
        and isinstance(std, list)
        and len(mean) == len(std) == n
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)
        and all(math.isfinite(v) for v in numbers)
        and all(v > 0 for v in std)
    )
    if not ok:
        raise _Damaged(f"the {what} standardisation needs {n} finite means and positive stds")
    return Standardizer([float(v) for v in mean], [float(v) for v in std])


def parameter_count(sizes: list) -> int:
    """Weights and biases of the linear layers between ``sizes``."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def memory_bytes() -> int | None:
    """This machine's physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def check_size(sizes: list, copies: int, what: str) -> None:
    """Refuses, before allocating, a model whose ``copies`` f32 copies of the parameters (1 to
    predict; weights, gradients and optimizer state to train) exceed this machine's memory."""
    params = parameter_count(sizes)
    need, have = params * 4 * copies, memory_bytes()
    if have is not None and need > have:
        training = f"; training needs about {gib(need)}" if copies > 1 else ""
        raise CliError(
            f"{what}: the model would have {params:,} parameters ({gib(params * 4)} of f32 "
            f"weights{training}), more than this machine's memory ({gib(have)})"
        )


def check_tensors(spec: ModelSpec, tensors: dict, path: str) -> None:
    """The file's tensors (its header's entries) must be exactly the ones the metadata claims."""
    expected = {}
    sizes = spec.sizes
    for name, n_in, n_out in zip(layer_names(len(spec.hidden)), sizes[:-1], sizes[1:]):
        expected[f"{name}.weight"] = (n_out, n_in)
        expected[f"{name}.bias"] = (n_out,)
    problems = []
    for name, shape in expected.items():
        info = tensors.get(name)
        if info is None:
            problems.append(f"{name} missing")
        elif tuple(info.shape) != shape or info.dtype != "F32":
            got = f"{info.dtype} {list(info.shape)}"
            problems.append(f"{name} is {got}, the metadata says F32 {list(shape)}")
    problems += [f"{name} unexpected" for name in tensors if name not in expected]
    if problems:
        shown = "; ".join(problems[:3]) + ("; ..." if len(problems) > 3 else "")
        raise CliError(
            f"{path}: the tensors do not match the model its metadata describes ({shown})"
        )


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
        raise CliError(" ".join(str(exc).split())) from None


def load(path: str, device: Device) -> tuple:
    """``(model, spec)`` from a file ``wick train`` wrote; clear errors for any other file.

    The metadata's claims are checked against the header's tensors before anything is built,
    so a hostile file cannot make wick allocate what it merely claims."""
    from ..safetensors_header import read_header

    try:
        header = read_header(path)
    except Error as exc:
        raise CliError(_reason(exc, path)) from None
    spec = ModelSpec.from_metadata(header.metadata, path)
    check_tensors(spec, header.tensors, path)
    check_size(spec.sizes, 1, path)
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


class NotFinite(Exception):
    """The model's output for row ``row`` is not a finite number."""

    def __init__(self, row: int):
        self.row = row


def outputs(model: MLP, x: np.ndarray, device: Device, spec: ModelSpec) -> np.ndarray:
    """Class probabilities (float32, one row per example) of a classifier, or the predicted
    numbers (float64, in the target's units) of a regressor, for standardised features ``x``;
    in chunks of ``PREDICT_ROWS`` rows."""
    parts = []
    for start in range(0, len(x), PREDICT_ROWS):
        out = model(Tensor.new(x[start : start + PREDICT_ROWS], device))
        parts.append(out.numpy() if spec.regression else softmax(out, 1).numpy())
    if not parts:
        return np.empty((0,) if spec.regression else (0, len(spec.classes)), np.float32)
    out = np.concatenate(parts)
    bad = ~np.isfinite(out).reshape(len(out), -1).all(axis=1)
    if bad.any():
        raise NotFinite(int(np.flatnonzero(bad)[0]))
    if spec.regression:
        scale = spec.target_scale
        return out[:, 0].astype(np.float64) * scale.std[0] + scale.mean[0]
    return out


def predict(model: MLP, x: np.ndarray, device: Device, spec: ModelSpec) -> np.ndarray:
    """Class ids (argmax) of a classifier, or numbers of a regressor, for standardised ``x``."""
    out = outputs(model, x, device, spec)
    return out if spec.regression else out.argmax(1).astype(np.int64)
