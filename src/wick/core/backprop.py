"""Reverse-mode autodiff: order the graph, run each node's backward on raw arrays, keep only the
Vars' gradients (Candle's ``backprop.rs``)."""

from __future__ import annotations

from . import graph
from .errors import BackwardNotSupported, UnexpectedType
from .ops import NOT_DIFFERENTIABLE


def _sorted_nodes(root) -> tuple:
    """The tensors that lead to a Var, consumers first, and a map id → leads to a Var.

    Candle's walk: integer tensors and leaves that are not Vars carry no gradient. Ids grow
    with creation, so an op's output always has a larger id than its inputs: sorting by id
    is a topological order, with no recursion.
    """
    seen: dict = {}
    stack = [root]
    while stack:
        t = stack.pop()
        tid = t._id
        if tid in seen:
            continue
        seen[tid] = t
        if not t._is_var and t._node is not None and t._data.dtype.kind not in "ui":
            stack.extend(t._node.inputs)
    tracks: dict = {}
    order = []
    for tid in sorted(seen):
        t = seen[tid]
        if t._is_var:
            leads = True
        elif t._node is None or t._data.dtype.kind in "ui":
            leads = False
        else:
            leads = False
            for x in t._node.inputs:
                if tracks[x._id]:
                    leads = True
                    break
        tracks[t._id] = leads
        if leads:
            order.append(t)
    order.reverse()
    return order, tracks


def backward(root):
    """Gradients of ``root`` (summed first if not a scalar) w.r.t. the Vars it depends on."""
    # The seed is never written to: the root is processed first and nothing flows back into it.
    grads = {root._id: _seed(root)}
    owned = set()
    store = GradStore()
    order, tracks = _sorted_nodes(root)
    for t in order:
        g = grads.pop(t._id, None)
        if g is None:
            continue
        if t._is_var:
            if g.dtype is not t._data.dtype or not g.flags.c_contiguous:
                g = _normalized(t, g)
            store._grads[t._id] = graph.wrap(g, t._device)
            continue
        node = t._node
        prim = node.prim
        if prim.backward is NOT_DIFFERENTIABLE:
            raise BackwardNotSupported(prim.name)
        arrays = [x._data for x in node.inputs]
        kwargs = node.params
        if prim.takes_needs or prim.saves:
            kwargs = dict(kwargs)
            if prim.takes_needs:
                kwargs["needs"] = tuple(tracks[x._id] for x in node.inputs)
            if prim.saves:
                kwargs["saved"] = node.saved
        input_grads = prim.backward(t._device.xp, g, t._data, *arrays, **kwargs)
        for x, gx in zip(node.inputs, input_grads):
            if gx is None or not tracks.get(x._id, False):
                continue
            xid = x._id
            prev = grads.get(xid)
            if prev is None:
                grads[xid] = gx
            elif xid in owned:
                prev += gx
            else:
                acc = x._device.xp.array(prev, copy=True)  # a 0-d array, never a NumPy scalar
                acc += gx
                grads[xid] = acc
                owned.add(xid)
    return store


_SCALAR_SEEDS: dict = {}


def _seed(root):
    """Ones shaped like ``root``; for the common scalar loss, a cached read-only array."""
    data = root._data
    if data.ndim or not root._device.is_cpu():
        return root._device.xp.ones(data.shape, dtype=data.dtype)
    seed = _SCALAR_SEEDS.get(data.dtype)
    if seed is None:
        seed = root._device.xp.ones((), dtype=data.dtype)
        seed.flags.writeable = False
        _SCALAR_SEEDS[data.dtype] = seed
    return seed


def _normalized(var, g):
    """A gradient as a contiguous array of the variable's dtype."""
    return var._device.xp.array(g, dtype=var._data.dtype, order="C")


class GradStore:
    """Gradients by tensor (Candle's ``GradStore``): ``grads.get(w)`` is a Tensor or None."""

    __slots__ = ("_grads",)

    def __init__(self):
        self._grads = {}

    def get(self, t):
        """The gradient of ``t``, or None if ``t`` did not contribute."""
        try:
            return self._grads.get(t._id)
        except AttributeError:
            raise UnexpectedType("GradStore.get", "t", "a Tensor", t) from None

    def get_id(self, tid: int):
        return self._grads.get(tid)

    def insert(self, t, grad) -> None:
        if not hasattr(t, "_id") or not hasattr(grad, "_data"):
            bad = ("t", t) if not hasattr(t, "_id") else ("grad", grad)
            raise UnexpectedType("GradStore.insert", bad[0], "a Tensor", bad[1])
        self._grads[t._id] = grad

    def remove(self, t):
        """Removes and returns the gradient of ``t`` (None if absent)."""
        try:
            return self._grads.pop(t._id, None)
        except AttributeError:
            raise UnexpectedType("GradStore.remove", "t", "a Tensor", t) from None

    def get_ids(self) -> list:
        return list(self._grads)

    def __iter__(self):
        return iter(self._grads.items())

    def __len__(self) -> int:
        return len(self._grads)

    def __contains__(self, t) -> bool:
        return getattr(t, "_id", None) in self._grads

    def __repr__(self) -> str:
        return f"GradStore({len(self._grads)} gradients)"
