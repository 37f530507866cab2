"""The dispatch path every op takes: run a primitive's forward, wrap the result, record a node.

A node is recorded only when an input is a Var or already carries a node (Candle's rule), so
inference allocates no graph. Non-differentiable primitives never record one.
"""

from __future__ import annotations

import itertools

import numpy as np

from .backends import ARRAY_TYPES as _ARRAY_TYPES
from .errors import (
    DeviceMismatchBinaryOp,
    DTypeMismatchBinaryOp,
    Error,
    Msg,
    ShapeMismatchBinaryOp,
    UnexpectedType,
)
from .ops import NOT_DIFFERENTIABLE

_next_id = itertools.count(1).__next__
_NO_PARAMS: dict = {}
_tensor_class = None  # bound by tensor.py once Tensor exists
_ndarray = np.ndarray


class Node:
    """How a tensor was computed: the primitive, its input tensors and its parameters."""

    __slots__ = ("prim", "inputs", "params", "saved")

    def __init__(self, prim, inputs: tuple, params: dict, saved=None):
        self.prim = prim
        self.inputs = inputs
        self.params = params
        self.saved = saved


def bind_tensor_class(cls) -> None:
    global _tensor_class
    _tensor_class = cls


def wrap(data, device, node=None):
    """A new Tensor around a backend array."""
    if data.__class__ is not _ndarray and data.__class__ not in _ARRAY_TYPES:
        # NumPy ufuncs turn 0-d arrays into scalars; a CuPy array is kept as it is (asarray on
        # the source device's xp would fail or copy, e.g. in to_device).
        data = device.xp.asarray(data)
    t = object.__new__(_tensor_class)
    t._data = data
    t._device = device
    t._node = node
    t._id = _next_id()
    t._is_var = False
    return t


def apply1(prim, x, params=_NO_PARAMS):
    """Applies a one-input primitive (the hot path: no loops, no isinstance)."""
    try:
        data = prim.forward(x._device.xp, x._data, **params)
    except Error:
        raise
    except Exception as exc:  # a try costs nothing until it catches (Python 3.11)
        raise forward_error(prim, (x,), params, exc) from exc
    saved = None
    if prim.saves:
        data, saved = data
    if data.dtype is not x._data.dtype and prim.keeps_dtype:
        data = data.astype(x._data.dtype)
    if (x._is_var or x._node is not None) and prim.backward is not NOT_DIFFERENTIABLE:
        return wrap(data, x._device, Node(prim, (x,), params, saved))
    return wrap(data, x._device)


def apply2(prim, a, b, params=_NO_PARAMS):
    """Applies a two-input primitive; the caller has checked shapes, dtypes and devices."""
    try:
        data = prim.forward(a._device.xp, a._data, b._data, **params)
    except Error:
        raise
    except Exception as exc:
        raise forward_error(prim, (a, b), params, exc) from exc
    saved = None
    if prim.saves:
        data, saved = data
    if data.dtype is not a._data.dtype and prim.keeps_dtype:
        data = data.astype(a._data.dtype)
    if (
        a._is_var or a._node is not None or b._is_var or b._node is not None
    ) and prim.backward is not NOT_DIFFERENTIABLE:
        return wrap(data, a._device, Node(prim, (a, b), params, saved))
    return wrap(data, a._device)


def apply(prim, inputs: tuple, params=_NO_PARAMS):
    """Applies a primitive with any number of inputs, all on the first input's device."""
    device = inputs[0]._device
    try:
        data = prim.forward(device.xp, *[t._data for t in inputs], **params)
    except Error:
        raise
    except Exception as exc:
        raise forward_error(prim, inputs, params, exc) from exc
    saved = None
    if prim.saves:
        data, saved = data
    if data.dtype is not inputs[0]._data.dtype and prim.keeps_dtype:
        data = data.astype(inputs[0]._data.dtype)
    if prim.backward is not NOT_DIFFERENTIABLE:
        for t in inputs:
            if t._is_var or t._node is not None:
                return wrap(data, device, Node(prim, inputs, params, saved))
    return wrap(data, device)


def forward_error(prim, inputs, params, exc) -> Error:
    """The wick.Error for a backend failure inside ``prim``'s forward, naming the op and inputs.

    The shared checks run before the forward; this is the net for what they cannot foresee (an
    allocation the machine refuses, a NumPy limit), so no raw NumPy exception reaches the user.
    """
    args = ", ".join(f"{_tensor_class.dtype.fget(t).as_str()}{list(t._data.shape)}" for t in inputs)
    if isinstance(exc, MemoryError):
        return Msg(f"{prim.name}: out of memory computing the result for inputs {args}")
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    where = f" with {shown}" if shown else ""
    return Msg(f"{prim.name}: cannot compute the result for inputs {args}{where}: {exc}")


def check_tensor(op: str, name: str, value) -> None:
    """Raises UnexpectedType unless ``value`` is a Tensor (a list or an array is not)."""
    if not isinstance(value, _tensor_class):
        raise UnexpectedType(op, name, "a Tensor", value)


def _not_tensors(op: str, a, b) -> Error:
    """The error for a check that found no ``_data`` on an operand."""
    check_tensor(op, "lhs", a)
    check_tensor(op, "rhs", b)
    return Msg(f"{op}: operands are not tensors")  # pragma: no cover - both were tensors


def check_same_device(op: str, a, b) -> None:
    try:
        if a._device is not b._device:
            raise DeviceMismatchBinaryOp(a._device.location(), b._device.location(), op)
    except AttributeError:
        raise _not_tensors(op, a, b) from None


def check_same_dtype(op: str, a, b) -> None:
    try:
        if a._data.dtype != b._data.dtype:
            raise DTypeMismatchBinaryOp(a.dtype, b.dtype, op)
    except AttributeError:
        raise _not_tensors(op, a, b) from None


def check_binary(op: str, a, b) -> None:
    """Strict binary-op check: equal shapes, same device, equal dtypes (Candle's order)."""
    try:
        if a._data.shape != b._data.shape:
            raise ShapeMismatchBinaryOp(a._data.shape, b._data.shape, op)
    except AttributeError:
        raise _not_tensors(op, a, b) from None
    if a._device is not b._device:
        raise DeviceMismatchBinaryOp(a._device.location(), b._device.location(), op)
    if a._data.dtype != b._data.dtype:
        raise DTypeMismatchBinaryOp(a.dtype, b.dtype, op)
