"""TokenDataset: next-token prediction windows over a list of token ids (the book's GPTDatasetV1)."""

from __future__ import annotations

import numpy as np

from ..core import Device, Tensor, graph
from ..core.errors import Msg
from ..data.dataset import TensorDataset


def _ids_array(ids) -> np.ndarray:
    if isinstance(ids, Tensor):
        ids = ids.numpy()
    array = np.asarray(ids)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "ui"):
        raise Msg(
            f"TokenDataset: ids must be a flat sequence of integers, got shape "
            f"{list(array.shape)} of {array.dtype}"
        )
    if array.size and (int(array.min()) < 0 or int(array.max()) >= 2**32):
        raise Msg("TokenDataset: ids must be in [0, 2**32) to be stored as U32")
    return np.ascontiguousarray(array, dtype=np.uint32)


class TokenDataset(TensorDataset):
    """Item ``i`` is ``(ids[s:s+L], ids[s+1:s+L+1])`` as U32 tensors, ``s = i * stride``.

    The windows start at every ``s`` in ``range(0, len(ids) - L, stride)``. They are strided views
    of one copy of the ids (no ``L``-fold copy); a DataLoader gathers each batch in one step.

    >>> ds = TokenDataset([40, 367, 2885, 1464, 1807, 3619], 4, 1)
    >>> len(ds), ds[0][0].to_vec1(), ds[0][1].to_vec1()
    (2, [40, 367, 2885, 1464], [367, 2885, 1464, 1807])
    """

    def __init__(self, ids, context_length: int, stride: int):
        if context_length < 1 or stride < 1:
            raise Msg(
                f"TokenDataset: context_length ({context_length}) and stride ({stride}) must "
                "be at least 1"
            )
        array = _ids_array(ids)
        if array.size <= context_length:
            raise Msg(
                f"TokenDataset: the text has {array.size} tokens, too few for one window of "
                f"context_length {context_length} (it needs at least {context_length + 1})"
            )
        windows = np.lib.stride_tricks.sliding_window_view
        inputs = windows(array[:-1], context_length)[::stride]
        targets = windows(array[1:], context_length)[::stride]
        self.ids = array
        self.context_length = context_length
        self.stride = stride
        super().__init__(graph.wrap(inputs, Device.Cpu), graph.wrap(targets, Device.Cpu))

    def __repr__(self) -> str:
        return (
            f"TokenDataset({len(self)} windows of {self.context_length} tokens, "
            f"stride {self.stride}, from {self.ids.size} ids)"
        )
