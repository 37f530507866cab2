"""VarBuilder: hands layers their parameters by dotted path, from a VarMap (training) or from
tensors / safetensors files (loading a checkpoint), as Candle's ``VarBuilder``."""

from __future__ import annotations

from ..core import Device, DType, Tensor
from ..core.device import as_device
from ..core.dtype import to_dtype
from ..core.errors import CannotFindTensor, UnexpectedShape
from .init import DEFAULT_KAIMING_NORMAL, Init
from .var_map import VarMap


class _VarMapSource:
    """Creates missing variables in a VarMap with the layer's init hint."""

    def __init__(self, varmap: VarMap):
        self.varmap = varmap

    def get(self, shape, path, init, dtype, device) -> Tensor:
        return self.varmap.get(shape, path, init, dtype, device)

    def contains(self, path) -> bool:
        return path in self.varmap


class _TensorSource:
    """Reads existing tensors (a dict or lazily from safetensors files); never creates."""

    def __init__(self, lookup, contains, shape_of=None):
        self._lookup, self._contains, self._shape_of = lookup, contains, shape_of

    def get(self, shape, path, init, dtype, device) -> Tensor:
        if not self._contains(path):
            raise CannotFindTensor(path)
        if self._shape_of is not None:  # from the header: a wrong shape reads no data
            found = tuple(self._shape_of(path))
            if found != tuple(shape):
                raise UnexpectedShape(f"shape mismatch for {path}", shape, found)
        t = self._lookup(path)
        if tuple(t.shape) != tuple(shape):
            raise UnexpectedShape(f"shape mismatch for {path}", shape, t.shape)
        return t.to_dtype(dtype).to_device(device)

    def contains(self, path) -> bool:
        return self._contains(path)


class _ZerosSource:
    def get(self, shape, path, init, dtype, device) -> Tensor:
        return Tensor.zeros(shape, dtype, device)

    def contains(self, path) -> bool:
        return True


class VarBuilder:
    """Parameters by dotted path (``vb.pp("l1").get((30, 2), "weight")`` reads ``l1.weight``).

    >>> from wick.nn import VarMap
    >>> vb = VarBuilder.from_varmap(VarMap(), DType.F32, Device.Cpu)
    >>> vb.pp("l1").get((30, 2), "weight").shape
    [30, 2]
    """

    def __init__(self, source, dtype=DType.F32, device: Device = None, path=(), rename=None):
        self._source = source
        self._dtype = to_dtype(dtype)
        self._device = as_device(device)
        self._path = tuple(path)
        self._rename = rename

    # ----- constructors -----------------------------------------------------------------------
    @classmethod
    def from_varmap(cls, varmap: VarMap, dtype=DType.F32, device: Device = None) -> VarBuilder:
        """A builder that creates trainable variables in ``varmap``."""
        return cls(_VarMapSource(varmap), dtype, device)

    @classmethod
    def from_tensors(cls, tensors: dict, dtype=DType.F32, device: Device = None) -> VarBuilder:
        """A builder reading from a name → Tensor dict."""
        return cls(_TensorSource(tensors.__getitem__, tensors.__contains__), dtype, device)

    @classmethod
    def from_mmaped_safetensors(cls, paths, dtype=DType.F32, device: Device = None) -> VarBuilder:
        """A builder reading tensors lazily from one or several safetensors files: each header
        is read and checked once, then each parameter's bytes are read when it is asked for."""
        from ..safetensors import MmapedSafetensors

        files = MmapedSafetensors(paths)
        return cls(_TensorSource(files.load, files.__contains__, files.shape_of), dtype, device)

    @classmethod
    def zeros(cls, dtype=DType.F32, device: Device = None) -> VarBuilder:
        """A builder whose every parameter is zeros (for shapes and tests)."""
        return cls(_ZerosSource(), dtype, device)

    # ----- prefixes ---------------------------------------------------------------------------
    def pp(self, name) -> VarBuilder:
        """A builder under the sub-path ``name`` (Candle's ``push_prefix``)."""
        return VarBuilder(
            self._source, self._dtype, self._device, self._path + (str(name),), self._rename
        )

    push_prefix = pp

    def root(self) -> VarBuilder:
        return VarBuilder(self._source, self._dtype, self._device, (), self._rename)

    def set_prefix(self, prefix: str) -> VarBuilder:
        path = tuple(prefix.split(".")) if prefix else ()
        return VarBuilder(self._source, self._dtype, self._device, path, self._rename)

    def set_dtype(self, dtype) -> VarBuilder:
        return VarBuilder(self._source, dtype, self._device, self._path, self._rename)

    def set_device(self, device) -> VarBuilder:
        return VarBuilder(self._source, self._dtype, device, self._path, self._rename)

    def rename_f(self, f) -> VarBuilder:
        """A builder that maps every full path through ``f`` before looking it up."""
        return VarBuilder(self._source, self._dtype, self._device, self._path, f)

    @property
    def prefix(self) -> str:
        return ".".join(self._path)

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def device(self) -> Device:
        return self._device

    def path(self, name: str) -> str:
        """The full dotted path of ``name`` under this prefix (renamed if ``rename_f`` was set)."""
        full = ".".join(self._path + (name,))
        return self._rename(full) if self._rename is not None else full

    # ----- getting parameters -----------------------------------------------------------------
    def get_with_hints(self, shape, name: str, init: Init, dtype=None) -> Tensor:
        """The parameter ``name`` of ``shape``; ``init`` fills it when the source creates it."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = self._dtype if dtype is None else to_dtype(dtype)
        return self._source.get(shape, self.path(name), init, dtype, self._device)

    def get(self, shape, name: str) -> Tensor:
        """The parameter ``name`` of ``shape`` (Kaiming-normal init when created)."""
        return self.get_with_hints(shape, name, DEFAULT_KAIMING_NORMAL)

    def get_with_hints_dtype(self, shape, name: str, init: Init, dtype) -> Tensor:
        return self.get_with_hints(shape, name, init, dtype)

    def contains_tensor(self, name: str) -> bool:
        return self._source.contains(self.path(name))

    def __repr__(self) -> str:
        return f"VarBuilder(prefix={self.prefix!r}, dtype={self._dtype}, device={self._device!r})"
