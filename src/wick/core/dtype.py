"""DType: Candle's element types and the one table that maps them to NumPy dtypes."""

from __future__ import annotations

import enum

import numpy as np

from .errors import UnsupportedDTypeForOp


class DType(enum.Enum):
    """An element type, named as in Candle (``DType.F32``)."""

    U8 = "u8"
    U32 = "u32"
    I16 = "i16"
    I32 = "i32"
    I64 = "i64"
    BF16 = "bf16"
    F16 = "f16"
    F32 = "f32"
    F64 = "f64"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"DType.{self.name}"

    def as_str(self) -> str:
        """The lower-case name Candle prints, e.g. ``"f32"``."""
        return self.value

    def size_in_bytes(self) -> int:
        """Bytes per element."""
        return 2 if self is DType.BF16 else self.np.itemsize  # BF16 without importing ml_dtypes

    def is_float(self) -> bool:
        """True for BF16, F16, F32 and F64."""
        return self in _FLOATS

    def is_int(self) -> bool:
        """True for the integer dtypes."""
        return self not in _FLOATS

    @property
    def np(self) -> np.dtype:
        """The NumPy dtype that stores this DType."""
        found = _TO_NP.get(self)
        return found if found is not None else _bfloat16()

    @staticmethod
    def from_str(name: str) -> DType:
        """Parses Candle's lower-case name (``"f32"``)."""
        try:
            return DType(name)
        except ValueError:
            raise UnsupportedDTypeForOp(name, "from_str") from None


_FLOATS = frozenset({DType.BF16, DType.F16, DType.F32, DType.F64})

_TO_NP = {
    DType.U8: np.dtype(np.uint8),
    DType.U32: np.dtype(np.uint32),
    DType.I16: np.dtype(np.int16),
    DType.I32: np.dtype(np.int32),
    DType.I64: np.dtype(np.int64),
    DType.F16: np.dtype(np.float16),
    DType.F32: np.dtype(np.float32),
    DType.F64: np.dtype(np.float64),
}


def _bfloat16() -> np.dtype:
    """ml_dtypes' bfloat16, imported on first use: its import takes most of a second."""
    import ml_dtypes

    found = np.dtype(ml_dtypes.bfloat16)
    _TO_NP[DType.BF16] = found
    dict.__setitem__(_FROM_NP, found, DType.BF16)
    return found


class _FromNumpy(dict):
    """NumPy dtype -> DType; knows bfloat16 by name, so an existing array imports nothing."""

    def __missing__(self, key):
        if getattr(key, "name", None) == "bfloat16":
            _bfloat16()
            return DType.BF16
        raise KeyError(key)

    def __contains__(self, key) -> bool:
        return dict.__contains__(self, key) or getattr(key, "name", None) == "bfloat16"


_FROM_NP = _FromNumpy({v: k for k, v in _TO_NP.items()})
_FROM_NP[np.dtype(np.bool_)] = DType.U8


def dtype_of_array(array) -> DType:
    """The DType of a backend array; raises for dtypes wick does not support."""
    try:
        return _FROM_NP[array.dtype]
    except KeyError:
        raise UnsupportedDTypeForOp(array.dtype, "Tensor.new") from None


def to_dtype(value) -> DType:
    """Accepts a DType, a lower-case name or a NumPy dtype."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        return DType.from_str(value)
    try:
        return _FROM_NP[np.dtype(value)]
    except (KeyError, TypeError, ValueError):  # ValueError: an object NumPy cannot read
        raise UnsupportedDTypeForOp(value, "to_dtype") from None


def dtype_of_python(value) -> DType:
    """The dtype Candle's literals would get: bool → U8, int → I64, float → F64."""
    if isinstance(value, (bool, np.bool_)):
        return DType.U8
    if isinstance(value, (int, np.integer)):
        return DType.I64
    return DType.F64
