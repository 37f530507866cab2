"""Tensor: an immutable n-dimensional array on a device, with Candle's methods.

The class is split by concern: creation and read-back live here, arithmetic in
``tensor_math.py``, shapes and indexing in ``tensor_shape.py``, convolutions in
``tensor_conv.py``. Every method is a thin call
into the op table (``ops/``) through ``graph.py``.
"""

from __future__ import annotations

import math

import numpy as np

from . import display, graph
from .backprop import backward as _backward
from .device import Device, as_device
from .dtype import DType, dtype_of_array, to_dtype
from .errors import (
    Msg,
    ShapeMismatch,
    UnexpectedNumberOfDims,
    UnexpectedType,
    UnsupportedDTypeForOp,
    UnsupportedOp,
)
from .ops import movement, unary
from .shape import (
    Shape,
    as_shape,
    check_alloc,
    fit_scalar,
    shape_with_hole,
    to_index,
    to_real,
    to_usize,
)
from .tensor_conv import ConvMethods
from .tensor_math import MathMethods
from .tensor_shape import ShapeMethods

_INT_RANGE_DTYPES = {DType.U8, DType.U32, DType.I16, DType.I32, DType.I64}


def _host_array(data, dtype: DType | None) -> np.ndarray:
    """Python data or an array-like as a NumPy array with wick's dtype rules (SPEC section 2)."""
    if isinstance(data, np.ndarray):
        array = np.array(data, copy=True)
    else:
        try:
            array = np.array(data)
        except ValueError as exc:
            raise Msg(f"Tensor.new: data is not a rectangular nested list ({exc})") from None
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        elif array.dtype.kind == "i":
            array = array.astype(np.int64, copy=False)
        elif array.dtype.kind == "f":
            array = array.astype(np.float64, copy=False)
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    if array.dtype.kind not in "uif" and array.dtype.name != "bfloat16":
        raise UnsupportedDTypeForOp(array.dtype, "Tensor.new")
    dtype_of_array(array)  # rejects unsupported NumPy dtypes (e.g. uint16, complex)
    if dtype is not None:
        array = unary.to_dtype_forward(np, array, dtype=dtype.np)
    return array


class Tensor(MathMethods, ShapeMethods, ConvMethods):
    """An immutable tensor (Candle's ``Tensor``). Create one with ``Tensor.new``.

    >>> Tensor.new([[1., 2.], [3., 4.]]).shape
    [2, 2]
    """

    __slots__ = ("_data", "_device", "_node", "_id", "_is_var", "__weakref__")

    def __init__(self, *args, **kwargs):
        raise UnsupportedOp("Tensor(...) is not a constructor: use Tensor.new(data, device)")

    # ----- creation -------------------------------------------------------------------------
    @classmethod
    def new(cls, data, device: Device = None, dtype=None) -> Tensor:
        """A tensor from nested lists, a scalar or a NumPy array (floats → F64, ints → I64)."""
        device = as_device(device)
        if isinstance(data, Tensor):
            data = data.numpy()
        array = _host_array(data, None if dtype is None else to_dtype(dtype))
        return graph.wrap(device.backend.from_host(array), device)

    @classmethod
    def from_vec(cls, data, shape, device: Device = None, dtype=None) -> Tensor:
        """A tensor of ``shape`` (one ``-1`` hole allowed) from a flat list or a 1-d NumPy array
        (which keeps its dtype)."""
        if not isinstance(data, np.ndarray) and not hasattr(data, "__iter__"):
            raise UnexpectedType("from_vec", "data", "a list of numbers", data)
        values = data if isinstance(data, np.ndarray) else list(data)
        array = _host_array(values, None if dtype is None else to_dtype(dtype))
        if array.ndim != 1:
            raise Msg(f"from_vec: expected a flat list, got shape {list(array.shape)}")
        dims = shape_with_hole(shape, array.size, "from_vec")
        if math.prod(dims) != array.size:
            raise ShapeMismatch(array.size, dims)
        device = as_device(device)
        return graph.wrap(device.backend.from_host(array.reshape(dims)), device)

    from_slice = from_vec

    @classmethod
    def from_iter(cls, iterable, device: Device = None, dtype=None) -> Tensor:
        """A rank-1 tensor from any iterable of numbers."""
        if not hasattr(iterable, "__iter__"):
            raise UnexpectedType("from_iter", "iterable", "an iterable of numbers", iterable)
        values = list(iterable)
        return cls.from_vec(values, (len(values),), device, dtype)

    @classmethod
    def from_numpy(cls, array: np.ndarray, device: Device = None) -> Tensor:
        """A tensor with a copy of ``array``'s values and its dtype."""
        return cls.new(np.asarray(array), device)

    @classmethod
    def zeros(cls, shape, dtype=DType.F32, device: Device = None) -> Tensor:
        """A tensor of zeros."""
        dims, dtype, device = _creation("zeros", shape, dtype, device)
        return graph.wrap(device.xp.zeros(dims, dtype=dtype.np), device)

    @classmethod
    def ones(cls, shape, dtype=DType.F32, device: Device = None) -> Tensor:
        """A tensor of ones."""
        dims, dtype, device = _creation("ones", shape, dtype, device)
        return graph.wrap(device.xp.ones(dims, dtype=dtype.np), device)

    @classmethod
    def full(cls, value, shape, device: Device = None, dtype=None) -> Tensor:
        """A tensor filled with ``value`` (dtype from the value as in ``Tensor.new``)."""
        value = to_real(value, "full", "value")
        dtype = to_dtype(dtype) if dtype is not None else Tensor.new(value).dtype
        dims, dtype, device = _creation("full", shape, dtype, device)
        value = fit_scalar(value, dtype, "full", "value")
        return graph.wrap(device.xp.full(dims, value, dtype=dtype.np), device)

    @classmethod
    def arange(cls, start, end, device: Device = None, dtype=None) -> Tensor:
        """``[start, end)`` by steps of 1 (ints → I64, floats → F64)."""
        return _arange("arange", start, end, 1, device, dtype)

    @classmethod
    def arange_step(cls, start, end, step, device: Device = None, dtype=None) -> Tensor:
        """``[start, end)`` by ``step``; a negative step counts down (Candle's rule)."""
        return _arange("arange_step", start, end, step, device, dtype)

    @classmethod
    def rand(cls, lo, up, shape, device: Device = None, dtype=DType.F32) -> Tensor:
        """Uniform samples in ``[lo, up)`` drawn from the device's generator."""
        lo, up = to_real(lo, "rand", "lo"), to_real(up, "rand", "up")
        dtype = to_dtype(dtype)
        _require_float(dtype, "rand")
        dims, _, device = _creation("rand", shape, DType.F64, device)  # sampled in f64
        device.backend.check_dtype(dtype, "rand")
        sample = device.rng.random(dims, dtype=np.float64)
        return graph.wrap((sample * (up - lo) + lo).astype(dtype.np), device)

    @classmethod
    def randn(cls, mean, std, shape, device: Device = None, dtype=DType.F32) -> Tensor:
        """Normal samples with ``mean`` and ``std`` drawn from the device's generator."""
        mean, std = to_real(mean, "randn", "mean"), to_real(std, "randn", "std")
        dtype = to_dtype(dtype)
        _require_float(dtype, "randn")
        dims, _, device = _creation("randn", shape, DType.F64, device)  # sampled in f64
        device.backend.check_dtype(dtype, "randn")
        sample = device.rng.standard_normal(dims, dtype=np.float64)
        return graph.wrap((sample * std + mean).astype(dtype.np), device)

    def rand_like(self, lo: float, up: float) -> Tensor:
        """Uniform samples with this tensor's shape, dtype and device."""
        return Tensor.rand(lo, up, self.shape, self._device, self.dtype)

    def randn_like(self, mean: float, std: float) -> Tensor:
        """Normal samples with this tensor's shape, dtype and device."""
        return Tensor.randn(mean, std, self.shape, self._device, self.dtype)

    def zeros_like(self) -> Tensor:
        return graph.wrap(self._device.xp.zeros_like(self._data, order="C"), self._device)

    def ones_like(self) -> Tensor:
        return graph.wrap(self._device.xp.ones_like(self._data, order="C"), self._device)

    def full_like(self, value) -> Tensor:
        value = fit_scalar(to_real(value, "full_like", "value"), self.dtype, "full_like", "value")
        return graph.wrap(self._device.xp.full_like(self._data, value, order="C"), self._device)

    @classmethod
    def empty(cls, shape, dtype=DType.F32, device: Device = None) -> Tensor:
        """A tensor of uninitialized values (Candle's ``unsafe fn empty``): write before reading."""
        dims, dtype, device = _creation("empty", shape, dtype, device)
        return graph.wrap(device.xp.empty(dims, dtype=dtype.np), device)

    def empty_like(self) -> Tensor:
        """An uninitialized tensor with this tensor's shape, dtype and device."""
        return Tensor.empty(self.shape, self.dtype, self._device)

    @classmethod
    def eye(cls, n: int, dtype=DType.F32, device: Device = None) -> Tensor:
        """The ``n`` x ``n`` identity."""
        n = to_usize(n, "eye", "n")
        _, dtype, device = _creation("eye", (n, n), dtype, device)
        return graph.wrap(device.xp.eye(n, dtype=dtype.np), device)

    @classmethod
    def tril2(cls, n: int, dtype=DType.F32, device: Device = None) -> Tensor:
        """Ones on and below the diagonal of an ``n`` x ``n`` matrix."""
        n = to_usize(n, "tril2", "n")
        _, dtype, device = _creation("tril2", (n, n), dtype, device)
        return graph.wrap(device.xp.tri(n, dtype=dtype.np), device)

    @classmethod
    def triu2(cls, n: int, dtype=DType.F32, device: Device = None) -> Tensor:
        """Ones on and above the diagonal of an ``n`` x ``n`` matrix."""
        n = to_usize(n, "triu2", "n")
        _, dtype, device = _creation("triu2", (n, n), dtype, device)
        return graph.wrap(device.xp.tri(n, dtype=dtype.np).T.copy(), device)

    # ----- properties -------------------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        return Shape(self._data.shape)

    @property
    def dtype(self) -> DType:
        return dtype_of_array(self._data)

    @property
    def device(self) -> Device:
        return self._device

    @property
    def op(self):
        """The graph node that produced this tensor, or None."""
        return self._node

    def id(self) -> int:
        """A unique id; gradients are stored by it."""
        return self._id

    def is_variable(self) -> bool:
        return self._is_var

    def track_op(self) -> bool:
        """True when ops on this tensor are recorded for backward."""
        return self._is_var or self._node is not None

    def dims(self) -> list:
        return list(self._data.shape)

    def dim(self, dim) -> int:
        """The size of one dim (``D.Minus1`` and negative ints allowed)."""
        return self._data.shape[to_index(dim, self._data.ndim, self._data.shape, "dim")]

    def rank(self) -> int:
        return self._data.ndim

    def elem_count(self) -> int:
        return int(self._data.size)

    def stride(self) -> list:
        """Strides in elements (0 for broadcast dims), as Candle's layout."""
        size = self._data.itemsize
        strides = [s // size for s in self._data.strides]
        if self._data.size == 0 and not any(strides):
            # NumPy zeroes every stride of a fresh empty array; Candle keeps row-major ones.
            return Shape(self._data.shape).stride_contiguous()
        return strides

    def is_contiguous(self) -> bool:
        """Row-major by Candle's rule (dims of size > 1 only; NumPy calls any empty array so)."""
        return _strides_match(self._data.shape, self.stride(), reversed_order=True)

    def is_fortran_contiguous(self) -> bool:
        return _strides_match(self._data.shape, self.stride(), reversed_order=False)

    def dims0(self):
        return self.shape.dims0()

    def dims1(self) -> int:
        return self.shape.dims1()

    def dims2(self):
        return self.shape.dims2()

    def dims3(self):
        return self.shape.dims3()

    def dims4(self):
        return self.shape.dims4()

    def dims5(self):
        return self.shape.dims5()

    # ----- read back --------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The values as a read-only NumPy array on the host (a view on the CPU)."""
        host = self._device.backend.to_host(self._data)
        view = host.view()
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        """The values for NumPy: a read-only view (tensors are immutable), or a copy."""
        host = self._device.backend.to_host(self._data)
        if dtype is not None and np.dtype(dtype) != host.dtype:
            return host.astype(dtype)
        if copy:
            return host.copy()
        view = host.view()
        view.flags.writeable = False
        return view

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @classmethod
    def from_dlpack(cls, obj, device: Device = None) -> Tensor:
        """A tensor sharing memory with a DLPack-capable array (NumPy, CuPy, PyTorch, ...)."""
        device = as_device(device)
        if not hasattr(obj, "__dlpack__"):
            raise UnexpectedType("from_dlpack", "obj", "an array with __dlpack__", obj)
        try:
            array = device.xp.from_dlpack(obj)
        except (TypeError, BufferError, RuntimeError, NotImplementedError) as exc:
            raise Msg(f"from_dlpack: {exc}") from None  # CuPy: NotImplementedError for bf16
        dtype_of_array(array)
        return graph.wrap(array, device)

    def to_scalar(self):
        """The value of a rank-0 tensor as a Python scalar."""
        if self._data.ndim != 0:
            raise UnexpectedNumberOfDims(0, self._data.ndim, self._data.shape)
        return self.numpy().item()

    to_vec0 = to_scalar

    def _to_vec(self, rank: int) -> list:
        if self._data.ndim != rank:
            raise UnexpectedNumberOfDims(rank, self._data.ndim, self._data.shape)
        host = self.numpy()
        if host.dtype.name in ("bfloat16", "float16"):
            host = host.astype(np.float32)
        return host.tolist()

    def to_vec1(self) -> list:
        """The values of a rank-1 tensor as a list."""
        return self._to_vec(1)

    def to_vec2(self) -> list:
        """The values of a rank-2 tensor as nested lists."""
        return self._to_vec(2)

    def to_vec3(self) -> list:
        """The values of a rank-3 tensor as nested lists."""
        return self._to_vec(3)

    def _one_value(self, kind: str):
        if self._data.size != 1:
            raise UnexpectedNumberOfDims(0, self._data.ndim, self._data.shape)
        value = self.numpy().reshape(()).item()
        return float(value) if kind == "float" else int(value)

    def __float__(self) -> float:
        return self._one_value("float")

    def __int__(self) -> int:
        return self._one_value("int")

    def __index__(self) -> int:
        if self.dtype not in _INT_RANGE_DTYPES:
            raise UnsupportedOp(f"__index__ needs an integer tensor, got {self.dtype}")
        return self._one_value("int")

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise UnexpectedNumberOfDims(1, 0, ())
        return self._data.shape[0]

    def __iter__(self):
        raise UnsupportedOp(
            "iterating over a Tensor is not supported: it would create one small tensor per "
            "element; use to_vec1()/to_vec2(), numpy(), or t.get(i) / t[i] for one row"
        )

    def __bool__(self) -> bool:
        raise UnsupportedOp(
            "the truth value of a Tensor is ambiguous: compare with `is None`, or reduce it "
            "first (e.g. t.sum_all().to_scalar() > 0)"
        )

    __hash__ = object.__hash__

    # ----- printing ---------------------------------------------------------------------------
    def _device_suffix(self) -> str:
        return "" if self._device.is_cpu() else f", {self._device}"

    def __str__(self) -> str:
        return display.format_tensor(self.numpy(), self.dtype.as_str(), self._device_suffix())

    def __repr__(self) -> str:
        return display.format_debug(self.numpy(), self.dtype.as_str(), self._device_suffix())

    def __format__(self, spec: str) -> str:
        try:
            return str(self) if not spec else format(str(self), spec)
        except (TypeError, ValueError) as exc:  # a numeric spec such as ".2f": str has none
            raise Msg(f"format: {exc} (a Tensor formats as its text, e.g. f'{{t:>40}}')") from None

    def __reduce__(self):
        return (_rebuild, (self.numpy().copy(), str(self._device)))

    # ----- conversions ------------------------------------------------------------------------
    def to_dtype(self, dtype) -> Tensor:
        """A copy converted to ``dtype``; float → int truncates toward zero and saturates, NaN → 0
        (Rust's ``as``, as Candle)."""
        dtype = to_dtype(dtype)
        if self._data.dtype == dtype.np:
            return self
        self._device.backend.check_dtype(dtype, "to_dtype")
        return graph.apply1(unary.TO_DTYPE, self, {"dtype": dtype.np})

    def to_device(self, device) -> Tensor:
        """A copy on ``device`` (the same tensor if it is already there)."""
        device = as_device(device)
        if device is self._device:
            return self
        out = graph.apply1(movement.TO_DEVICE, self, {"src": self._device, "dst": device})
        out._device = device
        return out

    def detach(self) -> Tensor:
        """The same values with no graph (storage shared)."""
        if self._node is None and not self._is_var:
            return self
        return graph.wrap(self._data, self._device)

    def copy(self) -> Tensor:
        """A copy with its own storage (recorded in the graph)."""
        return graph.apply1(unary.COPY, self)

    def apply(self, module) -> Tensor:
        """``module.forward(self)``, for chaining (Candle's ``apply``)."""
        if not callable(getattr(module, "forward", None)):
            raise UnexpectedType("apply", "module", "a Module (with forward)", module)
        return module.forward(self)

    def apply_t(self, module, train: bool) -> Tensor:
        """``module.forward_t(self, train)`` (Candle's ``apply_t``)."""
        if not callable(getattr(module, "forward_t", None)):
            raise UnexpectedType("apply_t", "module", "a ModuleT (with forward_t)", module)
        return module.forward_t(self, train)

    def normalize_axis(self, axis: int) -> int:
        """A possibly negative axis as a dim index (raises DimOutOfRange)."""
        return to_index(axis, self._data.ndim, self._data.shape, "normalize_axis")

    def backward(self):
        """Gradients of this tensor (summed if not a scalar) w.r.t. every Var it depends on."""
        return _backward(self)

    def save_safetensors(self, name: str, path) -> None:
        """Saves this tensor alone under ``name`` to a safetensors file."""
        from ..safetensors import save

        if not isinstance(name, str):
            raise UnexpectedType("save_safetensors", "name", "a str", name)

        save({name: self}, path)


def _strides_match(shape, strides, reversed_order: bool) -> bool:
    """Candle's ``Shape::is_contiguous``: every dim of size > 1 has the packed stride."""
    pairs = list(zip(shape, strides))
    acc = 1
    for dim, stride in reversed(pairs) if reversed_order else pairs:
        if dim > 1 and stride != acc:
            return False
        acc *= dim
    return True


def _creation(op: str, shape, dtype, device) -> tuple:
    """The validated ``(dims, dtype, device)`` of a creation op, refused before allocating when
    the tensor could not fit in the device's memory."""
    device, dtype = as_device(device), to_dtype(dtype)
    dims = as_shape(shape, op)
    device.backend.check_dtype(dtype, op)
    check_alloc(op, dims, dtype, device)
    return dims, dtype, device


def _arange(op: str, start, end, step, device, dtype) -> Tensor:
    start, end = to_real(start, op, "start"), to_real(end, op, "end")
    step = to_real(step, op, "step")
    if step == 0:
        raise Msg(f"{op}: step cannot be zero")
    device = as_device(device)
    dtype = to_dtype(dtype) if dtype is not None else Tensor.new(start + step + end).dtype
    return Tensor.new(_arange_values(op, start, end, step, device), device, dtype)


def _arange_values(op: str, start, end, step, device) -> np.ndarray:
    """The values of ``arange_step`` as a host array, by repeated addition as Candle does."""
    if start.__class__ is int and end.__class__ is int and step.__class__ is int:
        count = len(range(start, end, step))
        check_alloc(op, (count,), DType.I64, device)
        if count and all(-(2**63) <= v < 2**63 for v in (start, start + (count - 1) * step)):
            return np.arange(start, start + count * step, step, dtype=np.int64)[:count]
        return np.array([start + i * step for i in range(count)])
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise Msg(f"{op}: start {start}, end {end} and step {step} must be finite")
    span = (end - start) / step
    if not span <= 2**62:
        raise Msg(f"{op}: {start}..{end} by {step} has too many elements")
    estimate = max(0, math.ceil(span))
    count = int(estimate) + 2  # rounding in the repeated sum may add an element or two
    check_alloc(op, (count,), DType.F64, device)
    # add.accumulate is a sequential sum: bit for bit Python's (and Candle's) ``current += step``.
    values = np.full(count, float(step))
    values[0] = start
    np.add.accumulate(values, out=values)
    inside = values < end if step > 0 else values > end
    kept = int(np.argmin(inside)) if not inside.all() else count
    if kept == count:
        if values[-1] + step == values[-1]:
            raise Msg(f"{op}: step {step} is too small to advance from {values[-1]}")
        tail = []
        current = values[-1] + step
        while (current < end) if step > 0 else (current > end):
            tail.append(current)
            current += step
        return np.concatenate([values, np.array(tail, dtype=np.float64)])
    return values[:kept]


def _require_float(dtype: DType, op: str) -> None:
    if not dtype.is_float():
        raise UnsupportedDTypeForOp(dtype, op)


def _rebuild(array, device_name):
    return Tensor.new(array, as_device(device_name))


graph.bind_tensor_class(Tensor)
