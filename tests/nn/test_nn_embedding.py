"""Embedding: Candle's ``candle-nn/src/embedding.rs`` behaviour (flatten the ids, index_select,
reshape to ``ids.shape + [hidden]``), the builder's name, shape and N(0, 1) initialisation, and
gradients.

Candle has no embedding test file and its ``embedding.rs`` carries no doc example (checked at
the mirror's HEAD and through its history), so the values below are hand-derived: each output
row is the table row its id names.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Tensor, Var
from wick.core.errors import InvalidIndex
from wick.nn import Embedding, Module, VarBuilder, VarMap, embedding
from wick.testing import gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
TABLE = [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0], [20.0, 21.0, 22.0], [30.0, 31.0, 32.0]]


@pytest.mark.parametrize("id_dtype", [DType.U8, DType.U32, DType.I64])
def test_embedding_forward_any_ids_shape(id_dtype):
    emb = Embedding.new(Tensor.new(TABLE, DEV, DType.F32), 3)
    assert isinstance(emb, Module)
    assert emb.hidden_size() == 3 and emb.embeddings().dims() == [4, 3]
    # 1-d ids: one row each.
    ids = Tensor.new([3, 0, 3], DEV, id_dtype)
    assert emb.forward(ids).to_vec2() == [TABLE[3], TABLE[0], TABLE[3]]
    # 2-d ids (batch, seq): shape (batch, seq, hidden).
    ids = Tensor.new([[1, 2], [0, 1]], DEV, id_dtype)
    assert emb(ids).to_vec3() == [[TABLE[1], TABLE[2]], [TABLE[0], TABLE[1]]]
    # 3-d ids.
    ids = Tensor.new([[[2]], [[1]]], DEV, id_dtype)
    assert emb(ids).dims() == [2, 1, 1, 3]
    assert emb(ids).squeeze(2).to_vec3() == [[TABLE[2]], [TABLE[1]]]
    # A scalar id gives one vector of shape (hidden,).
    assert emb(Tensor.new(2, DEV, id_dtype)).to_vec1() == TABLE[2]


def test_embedding_out_of_range_id_raises():
    emb = Embedding(Tensor.new(TABLE), 3)
    with pytest.raises(InvalidIndex):
        emb(Tensor.new([1, 4], dtype=DType.U32))


def test_embedding_builder_name_shape_and_init():
    vm = VarMap()
    emb = embedding(1000, 16, VarBuilder.from_varmap(vm, DType.F32, DEV).pp("wte"))
    assert list(vm.data()) == ["wte.weight"]
    assert emb.embeddings().dims() == [1000, 16] and emb.hidden_size() == 16
    # Randn(0, 1): 16000 samples, so mean within ~4 sigma of 0 and std close to 1.
    w = emb.embeddings().numpy().astype(np.float64)
    assert abs(w.mean()) < 4 / np.sqrt(w.size)
    assert abs(w.std() - 1.0) < 0.03
    # Loading a checkpoint: the layer uses the stored table as is.
    table = Tensor.new(TABLE, dtype=DType.F32)
    loaded = embedding(4, 3, VarBuilder.from_tensors({"weight": table}, DType.F32))
    assert loaded(Tensor.new([1], dtype=DType.U32)).to_vec2() == [TABLE[1]]


def test_embedding_gradient_scatters_into_the_used_rows():
    table = Var.new(TABLE)
    emb = Embedding(table, 3)
    ids = Tensor.new([[1, 3], [1, 0]], dtype=DType.U32)
    g = emb(ids).sum_all().backward().get(table)
    # Row 1 is used twice, rows 0 and 3 once, row 2 never.
    assert g.to_vec2() == [[1.0] * 3, [2.0] * 3, [0.0] * 3, [1.0] * 3]
    assert gradcheck(lambda t: Embedding(t, 3)(ids) * 1.5, [np.array(TABLE)])
