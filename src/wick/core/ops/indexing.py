"""Indexing primitives: index_select, gather, scatter, scatter_add, index_add, where_cond.

Index arrays may be U8, U32 or I64. Candle's sentinel: the index dtype's maximum value means
"skip" (zeros when reading, destination untouched when writing); any other index outside
``[0, size)`` raises InvalidIndex. The backward of ``scatter`` and ``scatter_add`` is the
mathematically right one, not Candle's: see the comments there.
"""

from __future__ import annotations

from .. import backends
from ..errors import InvalidIndex
from . import NOT_DIFFERENTIABLE, Primitive


def checked_ids(xp, ids, size: int, op: str):
    """Returns ``(ids as intp with sentinels set to 0, skip mask or None)``; raises on bad ids."""
    sentinel = xp.iinfo(ids.dtype).max
    skip = ids == sentinel
    backend = backends.of(xp)
    if backend.defers_checks and ids.size:
        return _ids_checked_later(xp, backend, ids, skip, size, op)
    any_skip = bool(skip.any()) if ids.size else False
    if ids.size:
        valid = xp.where(skip, 0, ids) if any_skip else ids
        lo, hi = int(valid.min()), int(valid.max())
        if hi >= size or lo < 0:
            # Report the first bad index in row-major order, the one Candle's loops hit first.
            flat = valid.reshape(-1)
            first = int(xp.argmax((flat >= size) | (flat < 0)))
            raise InvalidIndex(op, int(flat[first]), size)
        ids = valid
    return ids.astype(xp.intp, copy=False), (skip if any_skip else None)


def _ids_checked_later(xp, backend, ids, skip, size: int, op: str):
    """checked_ids with no host sync (GPU): bad ids are clamped to 0 and reported later."""
    valid = xp.where(skip, 0, ids)
    bad = valid < 0
    if size <= xp.iinfo(ids.dtype).max:
        bad |= valid >= size

    def error():
        flat = valid.reshape(-1)
        return InvalidIndex(op, int(flat[int(xp.argmax(bad.reshape(-1)))]), size)

    backend.check(bad.any(), error)
    safe = xp.where(bad, 0, valid).astype(xp.intp, copy=False)
    return safe, skip


def _expand_dims_except(skip, ndim: int, dim: int):
    shape = [1] * ndim
    shape[dim] = skip.shape[0]
    return skip.reshape(shape)


def index_select_forward(xp, x, ids, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "index-select")
    out = xp.take(x, safe, axis=dim)
    if skip is not None:
        out = xp.where(_expand_dims_except(skip, out.ndim, dim), 0, out).astype(x.dtype, copy=False)
    return out


def _forward_checked_ids(xp, ids, size: int, op: str):
    """checked_ids for a backward whose forward has already checked the same ids: on the CPU
    (bad ids raised there) only the sentinels are looked for; a GPU clamps again."""
    if backends.of(xp).defers_checks:
        return checked_ids(xp, ids, size, op)
    skip = ids == xp.iinfo(ids.dtype).max
    if ids.size and skip.any():
        return xp.where(skip, 0, ids).astype(xp.intp, copy=False), skip
    return ids.astype(xp.intp, copy=False), None


def index_select_backward(xp, g, out, x, ids, *, dim):
    safe, skip = _forward_checked_ids(xp, ids, x.shape[dim], "index-select")
    if skip is not None:
        g = xp.where(_expand_dims_except(skip, g.ndim, dim), 0, g)
    grad = xp.zeros(x.shape, dtype=g.dtype)
    moved = xp.moveaxis(grad, dim, 0)
    backends.of(xp).scatter_add(moved, safe, xp.moveaxis(g, dim, 0))
    return grad, None


def _full_index(xp, ids, dim: int):
    """An open-mesh index tuple addressing ``target[..., ids, ...]`` along ``dim``."""
    index = list(xp.ix_(*[xp.arange(n) for n in ids.shape]))
    index[dim] = ids
    return tuple(index)


def gather_forward(xp, x, ids, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "gather")
    out = x[_full_index(xp, safe, dim)]
    if skip is not None:
        out[skip] = 0
    return out


def gather_backward(xp, g, out, x, ids, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "gather")
    if skip is not None:
        g = xp.where(skip, 0, g)
    grad = xp.zeros(x.shape, dtype=g.dtype)
    backends.of(xp).scatter_add(grad, _full_index(xp, safe, dim), g)
    return grad, None


def _scatter_index(xp, ids, skip, dim):
    index = _full_index(xp, ids, dim)
    if skip is None:
        return index
    keep = ~skip
    return tuple(xp.broadcast_to(i, ids.shape)[keep] for i in index), keep


def scatter_add_forward(xp, x, ids, src, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "scatter-add")
    out = xp.array(x, copy=True)
    if skip is None:
        backends.of(xp).scatter_add(out, _full_index(xp, safe, dim), src)
    else:
        index, keep = _scatter_index(xp, safe, skip, dim)
        backends.of(xp).scatter_add(out, index, src[keep])
    return out


def scatter_add_backward(xp, g, out, x, ids, src, *, dim):
    # out = x + (src scattered and summed): d/dx is the identity everywhere. Candle masks the
    # scattered positions of x's gradient, which is wrong for an addition.
    safe, skip = checked_ids(xp, ids, x.shape[dim], "scatter-add")
    g_src = g[_full_index(xp, safe, dim)]
    if skip is not None:
        g_src = xp.where(skip, 0, g_src)
    return g, None, g_src


def scatter_forward(xp, x, ids, src, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "scatter")
    out = xp.array(x, copy=True)
    # Repeated indices: the source element last in row-major order wins (Candle's loop order).
    if skip is None:
        backends.of(xp).scatter_set(out, _full_index(xp, safe, dim), src)
    else:
        index, keep = _scatter_index(xp, safe, skip, dim)
        backends.of(xp).scatter_set(out, index, src[keep])
    return out


def scatter_backward(xp, g, out, x, ids, src, *, dim):
    # Overwritten positions of x do not reach the output, so their gradient is zero (Candle
    # passes it through); only the source element that was written last gets the gradient.
    safe, skip = checked_ids(xp, ids, x.shape[dim], "scatter")
    positions = xp.arange(src.size).reshape(src.shape)
    winner = xp.full(x.shape, -1, dtype=positions.dtype)
    if skip is None:
        index = _full_index(xp, safe, dim)
        backends.of(xp).scatter_set(winner, index, positions)
        written = winner[index] == positions
    else:
        index, keep = _scatter_index(xp, safe, skip, dim)
        backends.of(xp).scatter_set(winner, index, positions[keep])
        written = xp.zeros(src.shape, dtype=bool)
        written[keep] = winner[index] == positions[keep]
    g_x = xp.where(winner >= 0, 0, g).astype(g.dtype, copy=False)
    g_src = xp.where(written, g[_full_index(xp, safe, dim)], 0).astype(g.dtype, copy=False)
    return g_x, None, g_src


def index_add_forward(xp, x, ids, src, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "index-add")
    out = xp.array(x, copy=True)
    moved_src = xp.moveaxis(src, dim, 0)
    if skip is not None:
        safe, moved_src = safe[~skip], moved_src[~skip]
    backends.of(xp).scatter_add(xp.moveaxis(out, dim, 0), safe, moved_src)
    return out


def index_add_backward(xp, g, out, x, ids, src, *, dim):
    safe, skip = checked_ids(xp, ids, x.shape[dim], "index-add")
    g_src = xp.take(g, safe, axis=dim)
    if skip is not None:
        g_src = xp.where(_expand_dims_except(skip, g_src.ndim, dim), 0, g_src)
    return g, None, g_src


def where_cond_forward(xp, mask, on_true, on_false):
    return xp.where(mask != 0, on_true, on_false)


def where_cond_backward(xp, g, out, mask, on_true, on_false, *, needs=(True, True, True)):
    # A constant branch (a -inf fill, zeros) gets no gradient: one select instead of two.
    zero = xp.zeros((), dtype=g.dtype)
    selected = mask != 0
    g_true = xp.where(selected, g, zero) if needs[1] else None
    g_false = xp.where(selected, zero, g) if needs[2] else None
    return None, g_true, g_false


INDEX_SELECT = Primitive("index_select", index_select_forward, index_select_backward)
GATHER = Primitive("gather", gather_forward, gather_backward)
SCATTER_ADD = Primitive("scatter_add", scatter_add_forward, scatter_add_backward)
SCATTER = Primitive("scatter", scatter_forward, scatter_backward)
INDEX_ADD = Primitive("index_add", index_add_forward, index_add_backward)
WHERE_COND = Primitive(
    "where_cond", where_cond_forward, where_cond_backward, keeps_dtype=False, takes_needs=True
)


def sort_forward(xp, x, *, asc):
    """Argsort along the last dim, as U32 (Candle's ``arg_sort_last_dim``)."""
    key = x if asc else _descending_key(xp, x)
    return xp.argsort(key, axis=-1, kind="stable").astype(xp.uint32)


def _descending_key(xp, x):
    """A key whose ascending order is ``x``'s descending order, without overflow."""
    if x.dtype.kind in "fV":  # "V": ml_dtypes' bfloat16
        return -x
    return -x.astype(xp.int64)


ARG_SORT = Primitive("arg_sort_last_dim", sort_forward, NOT_DIFFERENTIABLE, keeps_dtype=False)
