"""Tensor shape, movement and indexing methods, plus ``t[...]`` basic indexing."""

from __future__ import annotations

import operator

import numpy as np

from . import graph
from .dtype import DType
from .errors import (
    BroadcastIncompatibleShapes,
    DTypeMismatchBinaryOp,
    DuplicateDimIndex,
    InvalidIndex,
    Msg,
    NarrowInvalidArgs,
    OpRequiresAtLeastOneTensor,
    ShapeMismatch,
    ShapeMismatchBinaryOp,
    ShapeMismatchCat,
    UnexpectedNumberOfDims,
    UnexpectedType,
    UnsupportedDTypeForOp,
    UnsupportedOp,
)
from .ops import indexing, movement
from .shape import (
    as_shape,
    check_alloc,
    exact_int,
    shape_with_hole,
    to_index,
    to_index_plus_one,
    to_indexes,
    to_isize,
    to_usize,
)

_INDEX_DTYPES = frozenset(map(np.dtype, ("uint8", "uint32", "int64")))


def _check_ids(ids, op: str) -> None:
    try:
        if ids._data.dtype not in _INDEX_DTYPES:
            raise UnsupportedDTypeForOp(ids.dtype, op)
    except AttributeError:
        graph.check_tensor(op, "ids", ids)
        raise


def _tensor_list(tensors, op: str) -> list:
    """``tensors`` as a list, every item checked to be a Tensor."""
    if isinstance(tensors, ShapeMethods) or not hasattr(tensors, "__iter__"):
        raise UnexpectedType(op, "tensors", "a list of Tensors", tensors)
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        graph.check_tensor(op, f"tensors[{i}]", t)
    return tensors


def _flag(value, op: str, name: str) -> bool:
    """A bool argument (``asc``, ``xy_indexing``); an array or a string is not one."""
    if value is True or value is False or value.__class__ is np.bool_:
        return bool(value)
    if value.__class__ is int and value in (0, 1):
        return bool(value)
    raise UnexpectedType(op, name, "a bool", value)


class ShapeMethods:
    """Shape and indexing methods of Tensor (mixed into the class; see tensor.py)."""

    __slots__ = ()

    # ----- reshaping --------------------------------------------------------------------------
    def reshape(self, shape):
        """The same values in a new shape (one ``-1`` hole allowed)."""
        size = self._data.size
        dims = shape_with_hole(shape, size)
        n = 1
        for d in dims:
            n *= d
        if n != size:
            raise ShapeMismatch(size, dims)
        if dims == self._data.shape:
            return self
        return graph.apply1(movement.RESHAPE, self, {"shape": dims})

    def squeeze(self, dim):
        """Removes ``dim`` if its size is 1 (otherwise returns the tensor unchanged)."""
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, "squeeze")
        if shape[dim] != 1:
            return self
        return self.reshape(shape[:dim] + shape[dim + 1 :])

    def squeeze_dims(self, dims):
        """Removes several size-1 dims."""
        shape = self._data.shape
        dims = set(to_indexes(dims, len(shape), shape, "squeeze"))
        return self.reshape(tuple(d for i, d in enumerate(shape) if i not in dims or d != 1))

    def unsqueeze(self, dim):
        """Inserts a dim of size 1 at ``dim``."""
        shape = self._data.shape
        dim = to_index_plus_one(dim, len(shape), shape, "unsqueeze")
        return self.reshape(shape[:dim] + (1,) + shape[dim:])

    def flatten(self, start_dim, end_dim):
        """Merges dims ``start_dim..=end_dim`` into one."""
        shape = self._data.shape
        if not shape:
            return self.reshape((1,))
        start = to_index(start_dim, len(shape), shape, "flatten")
        end = to_index(end_dim, len(shape), shape, "flatten")
        if start >= end:
            return self
        merged = 1
        for d in shape[start : end + 1]:
            merged *= d
        return self.reshape(shape[:start] + (merged,) + shape[end + 1 :])

    def flatten_all(self):
        return self.reshape((self._data.size,))

    def flatten_to(self, end_dim):
        return self.flatten(0, end_dim)

    def flatten_from(self, start_dim):
        return self.flatten(start_dim, -1) if self._data.ndim else self.reshape((1,))

    # ----- transposition ----------------------------------------------------------------------
    def t(self):
        """Swaps the last two dims."""
        rank = self._data.ndim
        if rank < 2:
            raise UnexpectedNumberOfDims(2, rank, self._data.shape)
        return self.transpose(rank - 2, rank - 1)

    def transpose(self, dim1, dim2):
        shape = self._data.shape
        d1 = to_index(dim1, len(shape), shape, "transpose")
        d2 = to_index(dim2, len(shape), shape, "transpose")
        if d1 == d2:
            return self
        return graph.apply1(movement.TRANSPOSE, self, {"dim1": d1, "dim2": d2})

    def permute(self, dims):
        """Reorders the dims: ``dims[i]`` is the source of output dim ``i``."""
        shape = self._data.shape
        if not isinstance(dims, (tuple, list, range)):
            raise UnexpectedType("permute", "dims", "a tuple of dims", dims)
        dims = tuple(dims)
        if len(dims) != len(shape):
            raise UnexpectedNumberOfDims(len(shape), len(dims), shape)
        dims = tuple(to_index(d, len(shape), shape, "permute") for d in dims)
        if len(set(dims)) != len(dims):
            raise DuplicateDimIndex(shape, dims, "permute")
        return graph.apply1(movement.PERMUTE, self, {"dims": dims})

    # ----- broadcasting -----------------------------------------------------------------------
    def broadcast_as(self, shape):
        """A view with ``shape``, repeating size-1 and missing leading dims."""
        dst = as_shape(shape, "broadcast_as")
        src = self._data.shape
        if dst == src:
            return self
        lead = len(dst) - len(src)
        if lead < 0 or any(s != 1 and s != d for s, d in zip(src, dst[lead:])):
            raise BroadcastIncompatibleShapes(src, dst)
        return graph.apply1(movement.BROADCAST_AS, self, {"shape": dst})

    expand = broadcast_as

    def broadcast_left(self, left_shape):
        """Adds leading dims ``left_shape``."""
        return self.broadcast_as(as_shape(left_shape, "broadcast_left") + self._data.shape)

    def contiguous(self):
        """The same values in row-major storage (a copy only when needed)."""
        if self.is_contiguous():
            return self
        check_alloc("contiguous", self._data.shape, self.dtype, self._device)
        return graph.apply1(movement.CONTIGUOUS, self)

    def force_contiguous(self):
        """A row-major copy, always a fresh one (Candle's ``force_contiguous``)."""
        return graph.apply1(movement.CONTIGUOUS, self)

    # ----- slicing ----------------------------------------------------------------------------
    def narrow(self, dim, start: int, length: int):
        """The slice ``start..start+length`` along ``dim``."""
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, "narrow")
        size = shape[dim]
        if start.__class__ is not int or length.__class__ is not int:
            start, length = exact_int(start, "narrow", "start"), exact_int(length, "narrow", "len")
        if start < 0 or length < 0:  # Candle's usize arguments cannot be negative
            raise NarrowInvalidArgs(shape, dim, start, length, "negative start or len")
        if start > size:
            raise NarrowInvalidArgs(shape, dim, start, length, "start > dim_len")
        if start + length > size:
            raise NarrowInvalidArgs(shape, dim, start, length, "start + len > dim_len")
        if start == 0 and length == size:
            return self
        params = {"dim": dim, "start": start, "length": length}
        return graph.apply1(movement.NARROW, self, params)

    def chunk(self, chunks: int, dim) -> list:
        """Splits into ``chunks`` pieces along ``dim``, the first ones one larger (Candle)."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "chunk")
        size = self._data.shape[dim]
        chunks = exact_int(chunks, "chunk", "chunks")
        if chunks < 1:
            raise Msg(f"chunk: the number of chunks must be at least 1, got {chunks}")
        if size < chunks:
            return [self.narrow(dim, i, 1) for i in range(size)]
        base, extra = divmod(size, chunks)
        pieces, start = [], 0
        for i in range(chunks):
            length = base + 1 if i < extra else base
            pieces.append(self.narrow(dim, start, length))
            start += length
        return pieces

    def get(self, i: int):
        """Row ``i`` along the first dim."""
        if self._data.ndim == 0:
            return self
        return self.narrow(0, i, 1).reshape(self._data.shape[1:])

    def get_on_dim(self, dim, i: int):
        """Index ``i`` along ``dim``, removing that dim."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "get_on_dim")
        return self.narrow(dim, i, 1).squeeze(dim)

    def flip(self, dims):
        """Reverses the order along ``dims``."""
        dims = to_indexes(dims, self._data.ndim, self._data.shape, "flip")
        return graph.apply1(movement.FLIP, self, {"dims": dims})

    def roll(self, shift: int, dim):
        """Rotates by ``shift`` along ``dim`` (elements leaving one end enter at the other)."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "roll")
        size = self._data.shape[dim]
        shift = to_isize(shift, "roll", "shift")
        shift = shift % size if size else 0
        if shift == 0:
            return self
        return type(self).cat(
            [self.narrow(dim, size - shift, shift), self.narrow(dim, 0, size - shift)], dim
        )

    def unfold(self, dim, size: int, step: int):
        """All windows of ``size`` along ``dim`` every ``step``, as a new last dim."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "unfold")
        size, step = to_usize(size, "unfold", "size"), to_usize(step, "unfold", "step")
        if size > self._data.shape[dim] or step < 1:
            raise Msg(
                f"unfold: window {size} with step {step} does not fit dim {dim} of shape "
                f"{list(self._data.shape)}"
            )
        return graph.apply1(movement.UNFOLD, self, {"dim": dim, "size": size, "step": step})

    def pad_with_zeros(self, dim, left: int, right: int):
        """Adds ``left`` and ``right`` zeros along ``dim``."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "pad_with_zeros")
        left, right = _padding(self, dim, left, right, "pad_with_zeros")
        if left == 0 and right == 0:
            return self
        parts = []
        for n in (left, right):
            shape = list(self._data.shape)
            shape[dim] = n
            parts.append(graph.wrap(self._device.xp.zeros(shape, self._data.dtype), self._device))
        return type(self).cat([parts[0], self, parts[1]], dim)

    def pad_with_same(self, dim, left: int, right: int):
        """Pads along ``dim`` by repeating the first and last slices."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "pad_with_same")
        size = self._data.shape[dim]
        left, right = _padding(self, dim, left, right, "pad_with_same")
        if size == 0:
            raise Msg(f"pad_with_same: cannot pad an empty dim {dim}")
        if left == 0 and right == 0:
            return self
        parts = []
        if left:
            edge = self.narrow(dim, 0, 1)
            parts.append(edge.broadcast_as(_with_dim(edge._data.shape, dim, left)))
        parts.append(self)
        if right:
            edge = self.narrow(dim, size - 1, 1)
            parts.append(edge.broadcast_as(_with_dim(edge._data.shape, dim, right)))
        return type(self).cat(parts, dim)

    def repeat(self, shape):
        """Tiles the tensor ``shape[i]`` times along dim ``i``."""
        repeats = as_shape(shape, "repeat")
        src = (1,) * (len(repeats) - self._data.ndim) + self._data.shape
        out_dims = tuple(d * repeats[i] if i < len(repeats) else d for i, d in enumerate(src))
        check_alloc("repeat", out_dims, self.dtype, self._device)
        out = self
        if out._data.ndim < len(repeats):
            out = out.reshape((1,) * (len(repeats) - out._data.ndim) + out._data.shape)
        for i, r in enumerate(repeats):
            if r == 0:
                # Zero copies empties the dim (Candle: narrow to length 0).
                out = out.narrow(i, 0, 0)
            elif r > 1 and out._data.size == 0:
                # Nothing to copy: no list of r empty tensors (r may be huge).
                dims = _with_dim(out._data.shape, i, out._data.shape[i] * r)
                out = graph.wrap(self._device.xp.zeros(dims, self._data.dtype), self._device)
            elif r > 1:
                out = type(self).cat([out] * r, i)
        return out

    # ----- joining ----------------------------------------------------------------------------
    @classmethod
    def cat(cls, tensors, dim):
        """Concatenates along ``dim``; shapes must match elsewhere."""
        tensors = _tensor_list(tensors, "cat")
        if not tensors:
            raise OpRequiresAtLeastOneTensor("cat")
        shape = tensors[0]._data.shape
        return _cat(tensors, to_index(dim, len(shape), shape, "cat"), "cat")

    @classmethod
    def stack(cls, tensors, dim):
        """Stacks equal-shaped tensors along a new dim."""
        tensors = _tensor_list(tensors, "stack")
        if not tensors:
            raise OpRequiresAtLeastOneTensor("stack")
        shape = tensors[0]._data.shape
        dim = to_index_plus_one(dim, len(shape), shape, "stack")
        for n, t in enumerate(tensors[1:], start=2):
            if t._data.shape != shape:
                raise ShapeMismatchCat(dim, shape, n, t._data.shape, "stack")
        return _cat([t.unsqueeze(dim) for t in tensors], dim, "stack")

    @classmethod
    def meshgrid(cls, tensors, xy_indexing: bool) -> list:
        """Coordinate grids from 1-d tensors (``xy`` or ``ij`` indexing)."""
        tensors = _tensor_list(tensors, "meshgrid")
        xy_indexing = _flag(xy_indexing, "meshgrid", "xy_indexing")
        if len(tensors) < 2:
            raise Msg("meshgrid expects at least two tensors")
        ordered = tensors[::-1] if xy_indexing else tensors
        sizes = [t.dims1() for t in ordered]
        grids = []
        for i, t in enumerate(ordered):
            view = [1] * len(sizes)
            view[i] = sizes[i]
            grids.append(t.reshape(tuple(view)).broadcast_as(tuple(sizes)).contiguous())
        return grids[::-1] if xy_indexing else grids

    # ----- indexing ops -----------------------------------------------------------------------
    def index_select(self, ids, dim):
        """Rows of ``self`` along ``dim`` picked by the 1-d ``ids``."""
        dim = to_index(dim, self._data.ndim, self._data.shape, "index-select")
        _check_ids(ids, "index-select")
        if ids._data.ndim != 1:
            raise ShapeMismatchBinaryOp(self._data.shape, ids._data.shape, "index-select")
        graph.check_same_device("index-select", self, ids)
        return graph.apply2(indexing.INDEX_SELECT, self, ids, {"dim": dim})

    def embedding(self, ids):
        """Rows of this ``(vocab, hidden)`` matrix for the 1-d ``ids``."""
        _check_ids(ids, "embedding")
        if self._data.ndim != 2 or ids._data.ndim != 1:
            raise ShapeMismatchBinaryOp(self._data.shape, ids._data.shape, "embedding")
        return self.index_select(ids, 0)

    def gather(self, ids, dim):
        """``out[i][j] = self[i][ids[i][j]]`` for ``dim=1`` (PyTorch's gather)."""
        _check_ids(ids, "gather")
        shape, ishape = self._data.shape, ids._data.shape
        dim = to_index(dim, len(shape), shape, "gather")
        if len(ishape) != len(shape) or any(
            i != dim and a < b for i, (a, b) in enumerate(zip(shape, ishape))
        ):
            raise ShapeMismatchBinaryOp(shape, ishape, "gather")
        graph.check_same_device("gather", self, ids)
        return graph.apply2(indexing.GATHER, self, ids, {"dim": dim})

    def _scatter_like(self, prim, ids, src, dim, op: str):
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, op)
        _check_ids(ids, op)
        graph.check_tensor(op, "src", src)
        if ids._data.shape != src._data.shape:
            raise ShapeMismatchBinaryOp(ids._data.shape, src._data.shape, op)
        if len(shape) != src._data.ndim or any(
            i != dim and a < b for i, (a, b) in enumerate(zip(shape, src._data.shape))
        ):
            raise ShapeMismatchBinaryOp(shape, src._data.shape, op)
        graph.check_same_dtype(op, self, src)
        graph.check_same_device(op, self, src)
        return graph.apply(prim, (self, ids, src), {"dim": dim})

    def scatter_add(self, ids, src, dim):
        """A copy of ``self`` with ``src`` added at the positions ``ids`` along ``dim``."""
        return self._scatter_like(indexing.SCATTER_ADD, ids, src, dim, "scatter-add")

    def scatter(self, ids, src, dim):
        """A copy of ``self`` with ``src`` written at the positions ``ids`` along ``dim``."""
        return self._scatter_like(indexing.SCATTER, ids, src, dim, "scatter")

    def index_add(self, ids, src, dim):
        """A copy of ``self`` with the slices of ``src`` added at rows ``ids`` along ``dim``."""
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, "index-add")
        _check_ids(ids, "index-add")
        graph.check_tensor("index-add", "src", src)
        if ids._data.ndim != 1 or src._data.ndim != len(shape):
            raise ShapeMismatchBinaryOp(shape, src._data.shape, "index-add")
        expected = shape[:dim] + ids._data.shape + shape[dim + 1 :]
        if src._data.shape != expected:
            raise ShapeMismatchBinaryOp(expected, src._data.shape, "index-add")
        graph.check_same_dtype("index-add", self, src)
        graph.check_same_device("index-add", self, src)
        return graph.apply(indexing.INDEX_ADD, (self, ids, src), {"dim": dim})

    def where_cond(self, on_true, on_false):
        """``on_true`` where this mask is non-zero, else ``on_false`` (all the same shape)."""
        if self._data.dtype.kind in "fV":
            raise UnsupportedDTypeForOp(self.dtype, "where_cond")
        graph.check_tensor("where_cond", "on_true", on_true)
        graph.check_tensor("where_cond", "on_false", on_false)
        if self._data.shape != on_true._data.shape:
            raise ShapeMismatchBinaryOp(self._data.shape, on_true._data.shape, "where_cond")
        if on_true._data.shape != on_false._data.shape:
            raise ShapeMismatchBinaryOp(on_true._data.shape, on_false._data.shape, "where_cond")
        graph.check_same_dtype("where_cond", on_true, on_false)
        graph.check_same_device("where_cond", self, on_true)
        graph.check_same_device("where_cond", on_true, on_false)
        return graph.apply(indexing.WHERE_COND, (self, on_true, on_false))

    def slice_scatter(self, src, dim, start: int):
        """A copy of ``self`` with ``src`` written at ``start..`` along ``dim``."""
        shape = self._data.shape
        dim = to_index(dim, len(shape), shape, "slice-scatter")
        graph.check_tensor("slice-scatter", "src", src)
        start = to_usize(start, "slice-scatter", "start")
        expected = _with_dim(shape, dim, src._data.shape[dim] if src._data.ndim > dim else 0)
        if src._data.shape != expected or start + src._data.shape[dim] > shape[dim]:
            raise ShapeMismatchBinaryOp(shape, src._data.shape, "slice-scatter")
        graph.check_same_dtype("slice-scatter", self, src)
        graph.check_same_device("slice-scatter", self, src)
        return graph.apply2(movement.SLICE_SCATTER, self, src, {"dim": dim, "start": start})

    def slice_scatter0(self, src, start: int):
        return self.slice_scatter(src, 0, start)

    def slice_assign(self, ranges, src):
        """A copy of ``self`` with the block ``ranges`` (slices or ``(start, end)``) set to ``src``."""
        shape = self._data.shape
        graph.check_tensor("slice-assign", "src", src)
        if not isinstance(ranges, (tuple, list)):
            raise UnexpectedType("slice-assign", "ranges", "a list of slices or pairs", ranges)
        if len(ranges) != len(shape) or src._data.ndim != len(shape):
            raise Msg(
                f"slice-assign requires one range per dim and a source of the same rank, "
                f"got {len(ranges)} ranges for shape {list(shape)} and src {list(src._data.shape)}"
            )
        out = self
        for dim, r in enumerate(ranges):
            start, stop = _range_bounds(r, shape[dim], "slice-assign")
            if stop - start != src._data.shape[dim]:
                raise ShapeMismatchBinaryOp(shape, src._data.shape, "slice-assign")
        # One scatter per dim would copy repeatedly; a nested narrow/slice_scatter does it once.
        return _assign_block(out, src, ranges, 0)

    # ----- sorting ----------------------------------------------------------------------------
    def arg_sort_last_dim(self, asc: bool = True):
        """Indices (U32) that sort the last dim (stable)."""
        if self._data.ndim == 0:
            raise UnexpectedNumberOfDims(1, 0, ())
        asc = _flag(asc, "arg_sort_last_dim", "asc")
        return graph.apply1(indexing.ARG_SORT, self, {"asc": asc})

    def sort_last_dim(self, asc: bool = True):
        """``(sorted values, indices)`` along the last dim."""
        ids = self.arg_sort_last_dim(asc)
        return self.gather(ids, -1), ids

    # ----- Python indexing --------------------------------------------------------------------
    def __getitem__(self, index):
        """Basic indexing: ints, slices with step 1, ``...``, ``None``; a 1-d int tensor or list
        selects rows (index_select), as Candle's ``.i(...)``."""
        if not isinstance(index, tuple):
            index = (index,)
        n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
        if n_real > self._data.ndim:
            raise InvalidIndex("index", n_real, self._data.ndim)
        if any(i is Ellipsis for i in index):
            at = index.index(Ellipsis)
            fill = (slice(None),) * (self._data.ndim - n_real)
            index = index[:at] + fill + index[at + 1 :]
        out, dim = self, 0
        for item in index:
            if item is None:
                out = out.unsqueeze(dim)
                dim += 1
            elif isinstance(item, slice):
                size = out._data.shape[dim]
                start, stop, step = item.indices(size)
                if step != 1:
                    raise UnsupportedOp(f"index: slice step {step} is not supported, only 1")
                out = out.narrow(dim, start, max(stop - start, 0))
                dim += 1
            elif isinstance(item, (bool, np.bool_)):
                raise UnsupportedOp(f"index: a boolean index ({item}) is not supported (Candle)")
            elif isinstance(item, (list, ShapeMethods)) or (
                isinstance(item, np.ndarray) and item.ndim > 0
            ):
                ids = item if isinstance(item, ShapeMethods) else _ids_tensor(self, item)
                out = out.index_select(ids, dim)
                dim += 1
            elif hasattr(item, "__index__"):
                size = out._data.shape[dim]
                i = _int_index(item)
                if not -size <= i < size:
                    raise InvalidIndex("index", i, size)
                out = out.narrow(dim, i % size, 1).squeeze(dim)
            else:
                raise UnsupportedOp(f"index: unsupported index {item!r}")
        return out

    def i(self, index):
        """Candle's ``.i(...)``: the same as ``t[index]``."""
        return self[index]


def _cat(tensors: list, dim: int, op: str):
    """``cat`` of checked tensors along a normalised ``dim``; errors name ``op`` (cat or stack)."""
    first = tensors[0]
    shape = first._data.shape
    if len(tensors) == 1:
        return first
    for n, t in enumerate(tensors[1:], start=2):
        other = t._data.shape
        if len(other) != len(shape):
            raise UnexpectedNumberOfDims(len(shape), len(other), other, op)
        if any(a != b for i, (a, b) in enumerate(zip(shape, other)) if i != dim):
            raise ShapeMismatchCat(dim, shape, n, other, op)
        if t._data.dtype != first._data.dtype:
            raise DTypeMismatchBinaryOp(first.dtype, t.dtype, op)
        graph.check_same_device(op, first, t)
    return graph.apply(movement.CAT, tuple(tensors), {"dim": dim})


def _padding(x, dim: int, left, right, op: str) -> tuple:
    """Validated ``(left, right)`` pad sizes; refuses a result too large to allocate."""
    left, right = to_usize(left, op, "left"), to_usize(right, op, "right")
    out = _with_dim(x._data.shape, dim, x._data.shape[dim] + left + right)
    check_alloc(op, out, x.dtype, x._device)
    return left, right


def _with_dim(shape: tuple, dim: int, size: int) -> tuple:
    return shape[:dim] + (size,) + shape[dim + 1 :]


def _range_bounds(r, size: int, op: str):
    if isinstance(r, slice):
        try:
            start, stop, step = r.indices(size)
        except TypeError:
            raise UnexpectedType(op, "range", "a slice of ints or a (start, end) pair", r) from None
        if step != 1:
            raise UnsupportedOp(f"{op}: slice step {step} is not supported")
        return start, max(stop, start)
    if not isinstance(r, (tuple, list)) or len(r) != 2:
        raise UnexpectedType(op, "range", "a slice or a (start, end) pair", r)
    start, stop = exact_int(r[0], op, "start"), exact_int(r[1], op, "end")
    if not 0 <= start <= stop <= size:
        raise NarrowInvalidArgs((size,), 0, start, stop - start, "range out of bounds")
    return start, stop


def _assign_block(dst, src, ranges, dim):
    """``dst`` with the block given by ``ranges[dim:]`` replaced by ``src``."""
    start, stop = _range_bounds(ranges[dim], dst._data.shape[dim], "slice-assign")
    if dim == len(ranges) - 1:
        return dst.slice_scatter(src, dim, start)
    inner = _assign_block(dst.narrow(dim, start, stop - start), src, ranges, dim + 1)
    return dst.slice_scatter(inner, dim, start)


_KIND_NAMES = {"b": "bool", "f": "float", "c": "complex", "U": "str", "O": "object"}


def _int_index(item) -> int:
    try:
        return operator.index(item)
    except TypeError:
        raise UnsupportedOp(f"index: unsupported index {item!r}") from None


def _ids_tensor(like, values):
    """Integer positions (a list or a NumPy array) as an I64 tensor; bools and floats raise."""
    from .tensor import Tensor

    array = np.asarray(values) if len(values) else np.zeros(0, np.int64)
    has_bool = not isinstance(values, np.ndarray) and any(
        isinstance(v, (bool, np.bool_)) for v in values
    )
    if has_bool or array.dtype.kind not in "iu":
        kind = "bool" if has_bool else _KIND_NAMES.get(array.dtype.kind, array.dtype.name)
        raise UnsupportedOp(
            f"index: indices must be integers, got {kind} in {_short(values)}; Candle has no "
            "boolean or float indexing (use index_select with positions, or where_cond)"
        )
    return Tensor.new(array, like._device, DType.I64)


def _short(values) -> str:
    text = repr(values.tolist() if isinstance(values, np.ndarray) else values)
    return text if len(text) <= 60 else text[:57] + "..."
