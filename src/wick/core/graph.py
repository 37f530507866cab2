"""The dispatch path every op takes: run a primitive's forward, wrap the result, record a node.

A node is recorded only when an input is a Var or already carries a node (Candle's rule), so
inference allocates no graph. Non-differentiable primitives never record one.
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import DeviceMismatchBinaryOp, DTypeMismatchBinaryOp, ShapeMismatchBinaryOp
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
    if data.__class__ is not _ndarray:
        data = device.xp.asarray(data)  # NumPy ufuncs turn 0-d arrays into scalars
    t = object.__new__(_tensor_class)
    t._data = data
    t._device = device
    t._node = node
    t._id = _next_id()
    t._is_var = False
    return t


def apply1(prim, x, params=_NO_PARAMS):
    """Applies a one-input primitive (the hot path: no loops, no isinstance)."""
    data = prim.forward(x._device.xp, x._data, **params)
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
    data = prim.forward(a._device.xp, a._data, b._data, **params)
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
    data = prim.forward(device.xp, *[t._data for t in inputs], **params)
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


def check_same_device(op: str, a, b) -> None:
    if a._device is not b._device:
        raise DeviceMismatchBinaryOp(a._device.location(), b._device.location(), op)


def check_same_dtype(op: str, a, b) -> None:
    if a._data.dtype != b._data.dtype:
        raise DTypeMismatchBinaryOp(a.dtype, b.dtype, op)


def check_binary(op: str, a, b) -> None:
    """Strict binary-op check: equal shapes, same device, equal dtypes (Candle's order)."""
    if a._data.shape != b._data.shape:
        raise ShapeMismatchBinaryOp(a._data.shape, b._data.shape, op)
    if a._device is not b._device:
        raise DeviceMismatchBinaryOp(a._device.location(), b._device.location(), op)
    if a._data.dtype != b._data.dtype:
        raise DTypeMismatchBinaryOp(a.dtype, b.dtype, op)
