"""Var: a tensor whose gradient is tracked; the only tensor that can change in place."""

from __future__ import annotations

from . import graph
from .device import Device, as_device
from .dtype import DType
from .errors import DTypeMismatchBinaryOp, ShapeMismatchBinaryOp
from .tensor import Tensor


def _own(t: Tensor) -> Var:
    """A Var with its own contiguous, writable copy of ``t``'s values."""
    v = object.__new__(Var)
    v._data = t._device.xp.array(t._data, copy=True, order="C")
    v._device = t._device
    v._node = None
    v._id = graph._next_id()
    v._is_var = True
    return v


class Var(Tensor):
    """A trainable tensor (Candle's ``Var``): usable wherever a Tensor is, tracked by autograd.

    >>> w = Var.new([2.0])
    >>> (w * w).backward().get(w).to_vec1()
    [4.0]
    """

    __slots__ = ()

    @classmethod
    def new(cls, data, device: Device = None, dtype=None) -> Var:
        return _own(Tensor.new(data, device, dtype))

    @classmethod
    def from_tensor(cls, t: Tensor) -> Var:
        """A Var holding a copy of ``t`` (``t`` itself if it already is a Var).

        A Var's ``as_tensor()`` gives back that Var (same storage and id), as Candle's
        ``is_variable`` branch: a layer built from a VarMap then updates the map's variable.
        """
        if isinstance(t, Var):
            return t
        graph.check_tensor("Var.from_tensor", "t", t)
        if t._is_var:
            v = object.__new__(Var)
            v._data, v._device, v._node, v._id, v._is_var = t._data, t._device, None, t._id, True
            return v
        return _own(t)

    @classmethod
    def from_vec(cls, data, shape, device: Device = None, dtype=None) -> Var:
        return _own(Tensor.from_vec(data, shape, device, dtype))

    from_slice = from_vec

    @classmethod
    def zeros(cls, shape, dtype=DType.F32, device: Device = None) -> Var:
        return _own(Tensor.zeros(shape, dtype, device))

    @classmethod
    def ones(cls, shape, dtype=DType.F32, device: Device = None) -> Var:
        return _own(Tensor.ones(shape, dtype, device))

    @classmethod
    def rand(cls, lo, up, shape, device: Device = None, dtype=DType.F32) -> Var:
        return _own(Tensor.rand(lo, up, shape, as_device(device), dtype))

    @classmethod
    def randn(cls, mean, std, shape, device: Device = None, dtype=DType.F32) -> Var:
        return _own(Tensor.randn(mean, std, shape, as_device(device), dtype))

    def as_tensor(self) -> Tensor:
        """This variable as a plain Tensor: same storage, same id, still tracked."""
        t = graph.wrap(self._data, self._device)
        t._id = self._id
        t._is_var = True
        return t

    def as_detached_tensor(self) -> Tensor:
        """The current values as an untracked Tensor sharing storage."""
        return graph.wrap(self._data, self._device)

    def into_inner(self) -> Tensor:
        return self.as_tensor()

    def set(self, src: Tensor) -> None:
        """Copies ``src``'s values into this variable in place (shape and dtype must match)."""
        graph.check_tensor("set", "src", src)
        if src._data.shape != self._data.shape:
            raise ShapeMismatchBinaryOp(self._data.shape, src._data.shape, "set")
        if src._data.dtype != self._data.dtype:
            raise DTypeMismatchBinaryOp(self.dtype, src.dtype, "set")
        graph.check_same_device("set", self, src)
        # copyto buffers overlapping memory, so a source derived from this Var is safe.
        self._device.xp.copyto(self._data, src._data)
