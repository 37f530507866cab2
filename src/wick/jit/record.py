"""Recording a step: the op table's dispatch, the backward walk and optimizer updates, each
swapped for a recording twin while the step runs eagerly."""

from __future__ import annotations

import threading
import weakref

import numpy as np

from ..core import backprop, graph
from ..core import tensor as _tensor_module
from ..core import var as _var_module
from ..core.backends import ARRAY_TYPES
from ..core.device import _CUDA_DEVICES, Device
from ..core.errors import BackwardNotSupported, Error, Msg
from ..core.ops import NOT_DIFFERENTIABLE
from ..core.tensor import Tensor
from ..core.var import Var

# NumPy scalar types: a backward may return one for a 0-d gradient.
_SCALARS = frozenset(np.sctypeDict.values()) - {np.ndarray}
_LOCK = threading.RLock()
_ACTIVE = None  # the Trace being recorded, if any


class Trace:
    """The instructions of one recorded call; values are slots (``("v", n)``) or constants."""

    def __init__(self, start_id: int):
        self.start_id = start_id
        self.n_slots = 0
        self.slot_of: dict = {}  # id(array) -> slot, while the array lives
        self._refs: dict = {}
        self.consts: list = []  # (kind, array): "var", "outside", "inside" (made in the step)
        self.const_of: dict = {}
        self.saved_slot: dict = {}  # id(saved object of a forward) -> slot
        self.code: list = []
        self.n_inputs = 0
        self.spec = None
        self.outputs: list = []
        self.devices: list = []
        self.in_optimizer = False

    def slot(self, value, named: bool = True) -> int:
        """A new slot for ``value``; an array is found again by identity while it lives (the
        recording holds no values, so memory is freed as eagerly as without it)."""
        n = self.n_slots
        self.n_slots += 1
        if named and value.__class__ not in _SCALARS:
            key = id(value)
            self.slot_of[key] = n
            self._refs[n] = weakref.ref(value, lambda _, k=key, n=n: self._forget(k, n))
        # A NumPy scalar (a ufunc's 0-d result in some backward) cannot be weakly referenced
        # and is never looked up by identity: its slot is reached through its producer only.
        return n

    def _forget(self, key: int, n: int) -> None:
        if self.slot_of is not None and self.slot_of.get(key) == n:
            del self.slot_of[key]
        if self._refs is not None:
            self._refs.pop(n, None)

    def done(self) -> None:
        """Drops what only recording needs."""
        self.slot_of = self._refs = self.saved_slot = None

    def ref(self, t):
        """The operand naming tensor ``t``'s array: its slot, or a constant."""
        a = t._data
        n = self.slot_of.get(id(a))
        if n is not None:
            return ("v", n)
        n = self.const_of.get(id(a))
        if n is not None:
            return ("c", n)
        if t._node is not None:
            raise Msg(
                f"capture: the step uses a tensor of shape {list(a.shape)} whose graph was built "
                "before the step; compute it inside the step or detach() it"
            )
        base = getattr(a, "base", None)
        while base is not None:
            if id(base) in self.slot_of:
                raise Msg(
                    f"capture: a tensor of shape {list(a.shape)} views a value of the step "
                    "without going through the op table; it cannot be replayed"
                )
            base = getattr(base, "base", None)
        kind = "var" if t._is_var else ("inside" if t._id >= self.start_id else "outside")
        n = len(self.consts)
        self.consts.append((kind, a))
        self.const_of[id(a)] = n
        return ("c", n)

    # The three dispatch functions of core/graph.py, recording; same results as theirs.
    def apply(self, prim, inputs, params=graph._NO_PARAMS):
        inputs = tuple(inputs)
        operands = [self.ref(t) for t in inputs]
        device = inputs[0]._device
        xp = device.xp
        try:
            data = prim.forward(xp, *[t._data for t in inputs], **params)
        except Error:
            raise
        except Exception as exc:
            raise graph.forward_error(prim, inputs, params, exc) from exc
        saved = None
        if prim.saves:
            data, saved = data
        cast = None
        if data.dtype is not inputs[0]._data.dtype and prim.keeps_dtype:
            cast = inputs[0]._data.dtype
            data = data.astype(cast)
        to_array = data.__class__ is not np.ndarray and data.__class__ not in ARRAY_TYPES
        if to_array:
            data = xp.asarray(data)
        node = None
        if prim.backward is not NOT_DIFFERENTIABLE:
            for t in inputs:
                if t._is_var or t._node is not None:
                    node = graph.Node(prim, inputs, params, saved)
                    break
        out = graph.wrap(data, device, node)
        out_slot = self.slot(data)
        saved_slot = None
        if prim.saves:
            saved_slot = self.slot(saved, named=False)  # found through its node, which holds it
            self.saved_slot[id(saved)] = saved_slot
        self.code.append(("f", prim, xp, operands, params, out_slot, saved_slot, cast, to_array))
        return out

    def apply1(self, prim, x, params=graph._NO_PARAMS):
        return self.apply(prim, (x,), params)

    def apply2(self, prim, a, b, params=graph._NO_PARAMS):
        return self.apply(prim, (a, b), params)

    def backward(self, root):
        """core/backprop.py's backward, recording each node's backward and accumulation."""
        graph.check_tensor("backward", "self", root)
        seed = backprop._seed(root)
        n = len(self.consts)
        self.consts.append(("inside", seed))
        grads = {root._id: (("c", n), seed)}
        owned = set()
        store = TracedGrads(self)
        order, tracks = backprop._sorted_nodes(root)
        for t in order:
            entry = grads.pop(t._id, None)
            if entry is None:
                continue
            gtok, g = entry
            xp = t._device.xp
            if t._is_var:
                if g.dtype is not t._data.dtype or not g.flags.c_contiguous:
                    g = backprop._normalized(t, g)
                    s = self.slot(g)
                    self.code.append(("norm", xp, gtok, t._data.dtype, s))
                    gtok = ("v", s)
                store._grads[t._id] = graph.wrap(g, t._device)
                store._tokens[t._id] = gtok
                continue
            node = t._node
            prim = node.prim
            if prim.backward is NOT_DIFFERENTIABLE:
                raise BackwardNotSupported(prim.name)
            kwargs = node.params
            saved_tok = None
            if prim.takes_needs or prim.saves:
                kwargs = dict(kwargs)
                if prim.takes_needs:
                    kwargs["needs"] = tuple(tracks[x._id] for x in node.inputs)
                if prim.saves:
                    kwargs["saved"] = node.saved
                    saved_tok = ("v", self.saved_slot[id(node.saved)])
            out_tok = self.ref(t)
            in_toks = [self.ref(x) for x in node.inputs]
            input_grads = prim.backward(xp, g, t._data, *[x._data for x in node.inputs], **kwargs)
            res = self.slot(input_grads, named=False)
            static = {k: v for k, v in kwargs.items() if k != "saved"}
            self.code.append(("b", prim, xp, gtok, out_tok, in_toks, static, saved_tok, res))
            for i, (x, gx) in enumerate(zip(node.inputs, input_grads)):
                if gx is None or not tracks.get(x._id, False):
                    continue
                s = self.slot(gx)
                self.code.append(("item", res, i, s))
                xid = x._id
                prev = grads.get(xid)
                if prev is None:
                    grads[xid] = (("v", s), gx)
                elif xid in owned:
                    acc = prev[1]
                    acc += gx
                    self.code.append(("iadd", prev[0], ("v", s)))
                else:
                    acc = xp.array(prev[1], copy=True)
                    acc += gx
                    a = self.slot(acc)
                    self.code.append(("acc", xp, prev[0], ("v", s), a))
                    grads[xid] = (("v", a), acc)
                    owned.add(xid)
        return store


class TracedGrads(backprop.GradStore):
    """The GradStore of a recorded backward: only an optimizer's ``step`` may read it."""

    __slots__ = ("_trace", "_tokens")

    def __init__(self, trace):
        super().__init__()
        self._trace = trace
        self._tokens = {}

    def _allowed(self, what: str) -> None:
        if not self._trace.in_optimizer:
            raise Msg(
                f"capture: the gradients of a captured step can only go to an optimizer's "
                f"step (found GradStore.{what}); clipping or all-reducing them inside a "
                "captured step is not supported: run this step eagerly"
            )

    def get(self, t):
        self._allowed("get")
        return self._grads.get(t._id)

    def get_id(self, tid):
        self._allowed("get_id")
        return self._grads.get(tid)

    def insert(self, t, grad):
        self._allowed("insert")

    def remove(self, t):
        self._allowed("remove")

    def get_ids(self):
        self._allowed("get_ids")
        return list(self._grads)

    def __iter__(self):
        self._allowed("__iter__")
        return iter(self._grads.items())

    def __contains__(self, t):
        self._allowed("__contains__")
        return t._id in self._grads


def _refuse(what: str):
    def refused(*args, **kwargs):
        raise Msg(
            f"capture: {what} inside a captured step cannot be replayed; move it out of the "
            "step (return the tensor and read it after the call), or run the step eagerly"
        )

    return refused


def _optimizer_classes() -> list:
    from ..nn.optim import Optimizer

    found, todo = [], [Optimizer]
    while todo:
        cls = todo.pop()
        if "step" in cls.__dict__:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _recording_step(original):
    def step(opt, grads):
        trace = _ACTIVE
        if trace is None or trace.in_optimizer or not isinstance(grads, TracedGrads):
            return original(opt, grads)
        pairs = []
        for i, v in enumerate(opt.vars):
            tok = grads._tokens.get(v._id)
            if tok is not None:
                pairs.append((i, tok))
        trace.code.append(("opt", opt, original, pairs))
        trace.in_optimizer = True
        try:
            return original(opt, grads)
        finally:
            trace.in_optimizer = False

    return step


def _rng_states() -> list:
    states = []
    for device in (Device.Cpu, *_CUDA_DEVICES.values()):
        rng = device._rng
        state = getattr(getattr(rng, "bit_generator", None), "state", None)
        states.append((id(rng), repr(state)))
    return states


def record(fn, args):
    """Runs ``fn(*args)`` eagerly while recording it; returns ``(trace, result)``."""
    global _ACTIVE
    with _LOCK:
        trace = Trace(graph._next_id())
        for a in args:
            if isinstance(a, Tensor):
                if a._node is not None:
                    raise Msg(
                        f"capture: argument of shape {a.shape} carries a graph; pass detached "
                        "tensors (the step computes its own graph)"
                    )
                trace.slot(a._data)
                trace.n_inputs += 1
        patches = [
            (graph, "apply", trace.apply),
            (graph, "apply1", trace.apply1),
            (graph, "apply2", trace.apply2),
            (_tensor_module, "_backward", trace.backward),
            (backprop, "backward", trace.backward),
            (Tensor, "numpy", _refuse("reading a tensor's values (numpy, to_scalar, float)")),
            (Tensor, "__array__", _refuse("reading a tensor's values (__array__)")),
            (Tensor, "__dlpack__", _refuse("sharing a tensor's memory (__dlpack__)")),
            (_var_module, "_own", _refuse("creating a Var")),
            (Var, "set", _refuse("Var.set")),
        ]
        for cls in _optimizer_classes():
            patches.append((cls, "step", _recording_step(cls.__dict__["step"])))
        saved = [(obj, name, obj.__dict__[name]) for obj, name, _ in patches]
        rng_before = _rng_states()
        _ACTIVE = trace
        try:
            for obj, name, value in patches:
                setattr(obj, name, value)
            result = fn(*args)
        finally:
            for obj, name, value in reversed(saved):
                setattr(obj, name, value)
            _ACTIVE = None
        if _rng_states() != rng_before:
            raise Msg(
                "capture: the step drew random numbers (dropout in training mode, rand, randn); "
                "a replay would repeat the same draws: turn dropout off or run it eagerly"
            )
        trace.spec = _flatten(result, trace)
        trace.done()
        return trace, result


def _flatten(result, trace):
    if result is None:
        return None
    if isinstance(result, Tensor):
        trace.outputs.append(trace.ref(result))
        trace.devices.append(result._device)
        return len(trace.outputs) - 1
    if isinstance(result, (tuple, list)):
        return (type(result), [_flatten(r, trace) for r in result])
    raise Msg(
        f"capture: a captured step returns Tensors, tuples or lists of them, or None; got "
        f"{type(result).__name__}"
    )
