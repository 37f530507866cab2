"""Step capture: a training step traced once per input signature, then replayed as one generated
Python function of backend calls (TinyJit's and ``mx.compile``'s idea, on NumPy and CuPy).

    from wick.jit import capture

    @capture
    def step(x, y):
        loss = cross_entropy(model(x), y)
        opt.backward_step(loss)
        return loss

The first call with given argument shapes and dtypes runs the step eagerly while recording
every primitive's forward, every backward and the optimizer update; the second call records
again and checks that both recordings agree (same calls, same constants), which catches
control flow and values that depend on the data; later calls run the recording: no Tensor
objects, no graph, no shape checks, no topological sort, intermediates freed at their last
use. Results equal eager execution bit for bit, since the same backend calls run in the same
order on the same arrays. New shapes or dtypes record again.

Raises at capture (never diverges silently) on what a replay cannot honour: a read of values
inside the step (``to_scalar``, ``numpy``, ``float``), a Var created or set inside it, random
numbers drawn inside it (dropout in training mode), gradients used other than by an
optimizer's ``step`` (clipping, all-reduce), tensors with a graph built outside the step, and
two recordings that differ. Python side effects inside the step (printing, appending to a
list, a learning-rate schedule's ``step()``) run only while recording: keep them outside.
Tensors the step reads that are not its arguments (a closure, a global) are constants of the
recording: pass the batch as an argument. Returned tensors carry no graph.
``WICK_JIT=0`` runs every captured step eagerly. Recording is not thread-safe with other
threads using wick at the same time (it swaps a few functions while it runs).
"""

from __future__ import annotations

import os

import numpy as np

from ..core import graph
from ..core.errors import Msg
from ..core.tensor import Tensor
from ..core.var import Var
from .record import Trace, record
from .replay import Program

__all__ = ["capture", "CapturedStep"]


def capture(fn):
    """Wraps a training step so that it is recorded once per input signature and replayed."""
    return CapturedStep(fn)


class CapturedStep:
    """A step function with recordings by argument signature (see the module docstring)."""

    def __init__(self, fn):
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", "step")
        self.__doc__ = getattr(fn, "__doc__", None)
        self._programs: dict = {}
        self.stats = {"traces": 0, "replays": 0}
        self._eager = os.environ.get("WICK_JIT", "1") == "0"

    def __call__(self, *args):
        if self._eager:
            return self.__wrapped__(*args)
        key = _signature(args)
        entry = self._programs.get(key)
        if entry.__class__ is Program:
            self.stats["replays"] += 1
            outs = entry.run(*[a._data for a in args if a.__class__ in _TENSOR_CLASSES])
            spec = entry.spec
            if spec.__class__ is int:
                return graph.wrap(outs[0], entry.devices[0])
            return _unflatten(spec, outs, entry.devices)
        trace, result = record(self.__wrapped__, args)
        self.stats["traces"] += 1
        if entry is None:
            self._programs[key] = trace
        else:
            problem = _difference(entry, trace)
            if problem:
                raise Msg(
                    f"capture: {self.__name__} recorded differently on two calls with the same "
                    f"shapes ({problem}): its control flow or a value it uses depends on the "
                    "data, or a tensor it reads changed; pass changing tensors as arguments, "
                    "or run it eagerly"
                )
            self._programs[key] = Program(trace)
        return result

    def clear(self) -> None:
        """Forgets every recording (the next call records again)."""
        self._programs.clear()


def _unflatten(spec, outs, devices):
    if spec is None:
        return None
    if spec.__class__ is int:
        return graph.wrap(outs[spec], devices[spec])
    kind, items = spec
    return kind(_unflatten(s, outs, devices) for s in items)


_TENSOR_CLASSES = {Tensor, Var}


def _signature(args) -> tuple:
    key = []
    for a in args:
        if a.__class__ in _TENSOR_CLASSES or isinstance(a, Tensor):
            _TENSOR_CLASSES.add(a.__class__)
            d = a._data
            key.append((d.shape, d.dtype, d.strides, a._device, a._is_var))
        else:
            try:
                hash(a)
            except TypeError:
                raise Msg(
                    f"capture: arguments are Tensors or hashable values; got {type(a).__name__}"
                ) from None
            key.append(("value", type(a), a))
    return tuple(key)


# ----- checking two recordings -------------------------------------------------------------------
def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__array_namespace__") or isinstance(a, np.ndarray):
        return False  # arrays in instructions are compared as constants, by identity here
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - any object without a usable ==
        return False


def _difference(first: Trace, second: Trace) -> str:
    """Why two recordings of one signature differ, or "" when they agree."""
    if len(first.code) != len(second.code):
        return f"{len(first.code)} against {len(second.code)} instructions"
    for i, (x, y) in enumerate(zip(first.code, second.code)):
        if not _same(x, y):
            name = getattr(x[1], "name", x[0])
            return f"instruction {i} ({name}) differs"
    if len(first.consts) != len(second.consts):
        return "a different number of constants"
    for (kind_a, a), (kind_b, b) in zip(first.consts, second.consts):
        if kind_a != kind_b:
            return "a constant changed kind"
        if kind_a == "inside":
            if a.shape != b.shape or a.dtype != b.dtype:
                return f"a constant made in the step changed shape ({list(a.shape)})"
            if not bool(np.asarray(_host(a) == _host(b)).all()) and not _nan_equal(a, b):
                return f"a tensor of shape {list(a.shape)} made in the step has other values"
        elif a is not b:
            return f"a tensor read from outside the step ({list(a.shape)}) is another one"
    if not _same(first.outputs, second.outputs) or not _same(first.spec, second.spec):
        return "the results differ"
    return ""


def _host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a


def _nan_equal(a, b) -> bool:
    a, b = _host(a), _host(b)
    return a.dtype.kind in "fc" and bool(np.array_equal(a, b, equal_nan=True))
