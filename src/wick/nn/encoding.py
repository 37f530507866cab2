"""Encoding utilities (candle-nn's ``encoding``): one-hot and one-cold encoding."""

from __future__ import annotations

import numpy as np

from ..core import DType, Tensor
from ..core.dtype import dtype_of_array, dtype_of_python, to_dtype
from ..core.errors import Msg, UnsupportedDTypeForOp

_INDEX_DTYPES = (DType.U8, DType.U32, DType.I64)


def _value_dtype(value) -> DType:
    """The dtype Candle's generic ``D`` would be: a NumPy scalar keeps its own, a Python one as
    ``Tensor.new`` infers it (float → F64, int → I64, bool → U8)."""
    if isinstance(value, np.generic):
        return dtype_of_array(np.asarray(value))
    return dtype_of_python(value)


def one_hot(indices: Tensor, depth: int, on_value, off_value, dtype=None) -> Tensor:
    """One-hot (or one-cold) encoding: a new last dim of size ``depth`` set to ``off_value``
    except at each index, set to ``on_value``; an index of -1 gives a row of ``off_value``.

    ``indices`` must be U8, U32 or I64. The output dtype is ``dtype`` if given, else that of
    ``on_value`` (a NumPy scalar keeps its dtype; Python floats give F64, ints I64).

    >>> ids = Tensor.new([[0, 2], [1, -1]])
    >>> one_hot(ids, 4, 1.0, 0.0, dtype=DType.F32).to_vec3()
    [[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]
    """
    if indices.dtype not in _INDEX_DTYPES:
        raise UnsupportedDTypeForOp(indices.dtype, "one_hot")
    if depth < 0:
        raise Msg(f"one_hot: depth must be non-negative, got {depth}")
    out_dtype = _value_dtype(on_value) if dtype is None else to_dtype(dtype)
    shape = tuple(indices.dims())
    flat = np.asarray(indices.numpy(), dtype=np.int64).reshape(-1)
    # Candle checks the indices in order and reports the first bad one.
    bad = np.flatnonzero((flat < -1) | (flat >= depth))
    if bad.size:
        value = int(flat[bad[0]])
        if value < -1:
            raise Msg(
                f"one_hot: invalid negative index value {value}, expected a positive index "
                f"value or -1 (indices shape {list(shape)})"
            )
        raise Msg(
            f"one_hot: index value {value} exceeds depth {depth} (indices shape {list(shape)})"
        )
    out = np.full((flat.size, depth), off_value, dtype=out_dtype.np)
    rows = np.flatnonzero(flat != -1)
    out[rows, flat[rows]] = on_value
    return Tensor.new(out.reshape(shape + (depth,)), indices.device)


__all__ = ["one_hot"]
