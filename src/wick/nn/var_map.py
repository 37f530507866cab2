"""VarMap: the named trainable variables of a model (its state dict), saved as safetensors."""

from __future__ import annotations

import os

from .. import safetensors
from ..core import Device, DType, Tensor, Var
from ..core.errors import CannotFindTensor, Msg, UnexpectedShape
from .init import Init


class CheckpointMismatch(Msg):
    """A checkpoint does not fit the model: lists every missing, unexpected and mis-shaped name."""

    def __init__(self, path, missing, unexpected, mis_shaped):
        self.path = path
        self.missing, self.unexpected, self.mis_shaped = missing, unexpected, mis_shaped
        lines = [f"checkpoint {os.fspath(path)} does not match the model:"]
        if missing:
            lines.append("  missing: " + ", ".join(missing))
        if unexpected:
            lines.append("  unexpected: " + ", ".join(unexpected))
        for name, want, got in mis_shaped:
            lines.append(f"  shape mismatch for {name}: model {list(want)}, file {list(got)}")
        super().__init__("\n".join(lines))


class VarMap:
    """Named Vars, filled by ``VarBuilder.from_varmap`` as a model is built (Candle's VarMap).

    >>> vm = VarMap()
    >>> vm.get((2, 3), "w", Init.Const(0.5), DType.F32, Device.Cpu).shape
    [2, 3]
    """

    def __init__(self):
        self._data: dict = {}

    def all_vars(self) -> list:
        """Every Var, in creation order."""
        return list(self._data.values())

    def data(self) -> dict:
        """The name → Var mapping itself."""
        return self._data

    def get(self, shape, path: str, init: Init, dtype=DType.F32, device: Device = None) -> Tensor:
        """The variable ``path``, created with ``init`` on first use; the shape must match."""
        shape = tuple(shape) if not isinstance(shape, int) else (shape,)
        var = self._data.get(path)
        if var is not None:
            if tuple(var.shape) != shape:
                raise UnexpectedShape(f"shape mismatch on {path}", shape, var.shape)
            return var.as_tensor()
        var = init.var(shape, dtype, device)
        self._data[path] = var
        return var.as_tensor()

    def save(self, path, metadata: dict | None = None) -> None:
        """Writes every variable to a safetensors file (atomically)."""
        tensors = {name: var.as_detached_tensor() for name, var in self._data.items()}
        safetensors.save(tensors, path, metadata)

    def load(self, path) -> None:
        """Sets every variable from a safetensors file, converting dtypes.

        Strict: if any name is missing, unexpected or mis-shaped, nothing is changed and the
        error lists all of them. Names and shapes are checked from the header, before any
        tensor is read.
        """
        with safetensors.MmapedSafetensors(path) as files:
            names = files.tensors()
            missing = [n for n in self._data if n not in files]
            unexpected = [n for n in names if n not in self._data]
            mis_shaped = [
                (n, self._data[n].shape, files.shape_of(n))
                for n in names
                if n in self._data and tuple(files.shape_of(n)) != tuple(self._data[n].shape)
            ]
            if missing or unexpected or mis_shaped:
                raise CheckpointMismatch(path, missing, unexpected, mis_shaped)
            tensors = {name: files.load(name) for name in self._data}
        for name, var in self._data.items():
            var.set(tensors[name].to_dtype(var.dtype).to_device(var.device))

    def set_one(self, name: str, value: Tensor) -> None:
        """Copies ``value`` into the variable ``name``."""
        var = self._data.get(name)
        if var is None:
            raise CannotFindTensor(name)
        var.set(value)

    def set(self, values) -> None:
        """Copies each ``(name, value)`` (a dict or pairs) into its variable."""
        items = values.items() if isinstance(values, dict) else values
        for name, value in items:
            self.set_one(name, value)

    def insert(self, name: str, var: Var) -> None:
        """Adds an existing Var under ``name``."""
        self._data[name] = var

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def __repr__(self) -> str:
        return f"VarMap({len(self._data)} vars)"
