"""TokenDataset (the book's GPTDatasetV1) with wick's DataLoader, and The Verdict's text."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from wick import DType, Error, Tensor
from wick.data import DataLoader
from wick.datasets import the_verdict
from wick.text import TokenDataset


@pytest.fixture(scope="module")
def verdict_ids():
    pytest.importorskip("tokenizers")
    from wick.text import gpt2_tokenizer

    return gpt2_tokenizer().encode(the_verdict()).ids


def test_the_verdict_is_the_books_file():
    text = the_verdict()
    assert len(text) == 20479
    # sha256 of ch02/01_main-chapter-code/the-verdict.txt in rasbt/LLMs-from-scratch.
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == "b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f"
    assert text[:99] == (
        "I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow "
        "enough--so it was no "
    )


def test_items_are_the_books_windows():
    ids = list(range(100, 111))  # 11 ids
    ds = TokenDataset(ids, 4, 3)
    starts = list(range(0, 11 - 4, 3))  # GPTDatasetV1: range(0, len(ids) - L, stride)
    assert len(ds) == len(starts) == 3
    for i, s in enumerate(starts):
        x, y = ds[i]
        assert x.dtype == DType.U32 and y.dtype == DType.U32
        assert x.to_vec1() == ids[s : s + 4]
        assert y.to_vec1() == ids[s + 1 : s + 5]
    assert ds[-1][0].to_vec1() == ids[6:10]
    # Accepted inputs: a list, a NumPy array, a Tensor; a window that just fits.
    assert len(TokenDataset(np.array(ids, dtype=np.int64), 10, 1)) == 1
    assert TokenDataset(Tensor.new(ids), 2, 4)[2][1].to_vec1() == ids[9:11]


def test_the_books_first_samples_and_batches(verdict_ids):
    ds = TokenDataset(verdict_ids, 4, 1)
    assert len(ds) == 5145 - 4
    x, y = ds[0]
    assert x.to_vec1() == [40, 367, 2885, 1464]
    assert y.to_vec1() == [367, 2885, 1464, 1807]
    first, second = list(DataLoader(ds, 1))[:2]
    assert second[0].to_vec2() == [[367, 2885, 1464, 1807]]
    assert second[1].to_vec2() == [[2885, 1464, 1807, 3619]]
    # Chapter 2: batch_size=8, max_length=4, stride=4.
    inputs, targets = next(iter(DataLoader(TokenDataset(verdict_ids, 4, 4), 8)))
    assert inputs.shape == (8, 4) and inputs.dtype == DType.U32
    assert inputs.to_vec2() == [
        [40, 367, 2885, 1464], [1807, 3619, 402, 271], [10899, 2138, 257, 7026],
        [15632, 438, 2016, 257], [922, 5891, 1576, 438], [568, 340, 373, 645],
        [1049, 5975, 284, 502], [284, 3285, 326, 11],
    ]  # fmt: skip
    assert targets.to_vec2()[7] == [3285, 326, 11, 287]


def test_shuffled_batches_are_whole_windows(verdict_ids):
    ds = TokenDataset(verdict_ids, 8, 8)
    loader = DataLoader(ds, 4, shuffle=True, drop_last=True, seed=3)
    starts = {tuple(verdict_ids[s : s + 8]): s for s in range(0, len(verdict_ids) - 8, 8)}
    seen = []
    for x, y in loader:
        xs, ys = x.numpy(), y.numpy()
        assert (xs[:, 1:] == ys[:, :-1]).all()  # targets are the inputs shifted by one
        seen += [tuple(int(i) for i in row) for row in xs]
    assert len(seen) == len(set(seen)) == 4 * (len(ds) // 4)  # no window twice
    assert set(seen) <= set(starts)
    order = [starts[w] for w in seen]
    assert order != sorted(order)  # shuffled


def test_windows_share_one_copy_of_the_ids():
    ds = TokenDataset(list(range(10_000)), 512, 1)
    inputs = ds.tensors[0]
    assert inputs.shape == (10_000 - 512, 512)
    assert np.shares_memory(inputs.numpy(), ds.ids)


def test_bad_input_raises_a_wick_error_naming_the_lengths():
    with pytest.raises(Error, match="3 tokens, too few for one window of context_length 3"):
        TokenDataset([1, 2, 3], 3, 1)
    with pytest.raises(Error, match="0 tokens"):
        TokenDataset([], 4, 1)
    with pytest.raises(Error, match=r"context_length \(0\) and stride \(1\)"):
        TokenDataset([1, 2, 3], 0, 1)
    with pytest.raises(Error, match="stride"):
        TokenDataset([1, 2, 3], 1, 0)
    with pytest.raises(Error, match=r"flat sequence of integers, got shape \[2, 2\]"):
        TokenDataset([[1, 2], [3, 4]], 1, 1)
    with pytest.raises(Error, match="flat sequence of integers"):
        TokenDataset([0.5, 1.5, 2.5], 1, 1)
    with pytest.raises(Error, match="U32"):
        TokenDataset([-1, 2, 3], 1, 1)
