"""generate / stream / next_token: greedy, temperature, top-k, top-p, seed, eos, a full window."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gpt2_golden import folder

from wick import DType, Error, Tensor
from wick.models import from_pretrained, generate, next_token, stream


@pytest.fixture(scope="module")
def model():
    return from_pretrained(folder("hf_tied")).model


def test_next_token_greedy_and_filters():
    logits = np.array([0.0, 3.0, 1.0, 2.5], dtype=np.float32)
    assert next_token(logits) == 1
    rng = np.random.default_rng(0)
    # top_k=1 and a tiny top_p keep only the best token, whatever the temperature.
    assert {next_token(logits, 5.0, top_k=1, rng=rng) for _ in range(20)} == {1}
    assert {next_token(logits, 5.0, top_p=1e-3, rng=rng) for _ in range(20)} == {1}
    # top_k=2 keeps ids 1 and 3 only.
    assert {next_token(logits, 10.0, top_k=2, rng=rng) for _ in range(200)} == {1, 3}


def test_sampling_follows_the_softmax():
    # logits (0, ln 3) at temperature 1: probabilities 1/4 and 3/4.
    logits = np.array([0.0, math.log(3.0)])
    rng = np.random.default_rng(1)
    draws = [next_token(logits, 1.0, rng=rng) for _ in range(4000)]
    assert abs(np.mean(draws) - 0.75) < 0.03
    # top_p 0.7: the 0.75 token alone reaches it.
    assert {next_token(logits, 1.0, top_p=0.7, rng=rng) for _ in range(50)} == {1}


def test_seed_makes_sampling_reproducible(model):
    a = generate(model, [1, 2, 3], 12, temperature=1.5, top_k=20, seed=7)
    b = generate(model, [1, 2, 3], 12, temperature=1.5, top_k=20, seed=7)
    c = generate(model, [1, 2, 3], 12, temperature=1.5, top_k=20, seed=8)
    assert a == b and a != c and len(a) == 12


def test_stream_yields_what_generate_returns(model):
    it = stream(model, [4, 5], 10)
    first = next(it)
    assert [first, *it] == generate(model, [4, 5], 10)


def test_eos_is_included_then_generation_stops(model):
    greedy = generate(model, [1, 2, 3], 10)
    eos = greedy[3]
    out = generate(model, [1, 2, 3], 10, eos_token_id=eos)
    assert out == greedy[: greedy.index(eos) + 1]
    assert generate(model, [1, 2, 3], 0) == []


def _crop_greedy(model, ids: list, n: int) -> list:
    """The book's generate_text_simple: the full forward over the last n_positions ids."""
    window = model.config.n_positions
    out = []
    for _ in range(n):
        x = Tensor.new(np.asarray([ids[-window:]], dtype=np.uint32))
        token = int(np.argmax(model.forward(x).numpy()[0, -1]))
        ids, out = ids + [token], out + [token]
    return out


def test_generation_past_the_context_window_slides_it(model):
    prompt = list(range(20, 50))  # 30 of the 32 positions
    assert generate(model, prompt, 8) == _crop_greedy(model, prompt, 8)


def test_bad_arguments(model):
    with pytest.raises(Error, match="prompt has no tokens"):
        generate(model, [], 3)
    with pytest.raises(Error, match="temperature must be >= 0"):
        generate(model, [1], 3, temperature=-1.0)
    with pytest.raises(Error, match="top_k must be >= 1"):
        generate(model, [1], 3, top_k=0)
    with pytest.raises(Error, match=r"top_p must be in \(0, 1\]"):
        generate(model, [1], 3, top_p=1.5)


def test_cache_in_f64_and_batches(model):
    # Batch of 2 through the cache equals each row alone.
    ids = Tensor.new(np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.uint32))
    cache = model.new_cache()
    model.forward(ids.narrow(1, 0, 3), cache)
    both = model.forward(ids.narrow(1, 3, 1), cache).numpy()
    for row in range(2):
        alone = model.forward(ids.narrow(0, row, 1)).numpy()[0, -1]
        np.testing.assert_allclose(both[row, 0], alone, atol=1e-5)
    assert ids.dtype == DType.U32
