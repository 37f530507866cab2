"""AdamW updates large parameters a cache-sized block at a time: the same bits as one pass."""

import numpy as np

from wick.nn import optim


def test_blocked_adamw_equals_the_whole_array_update_bit_for_bit(monkeypatch):
    rng = np.random.default_rng(0)
    n = 10_007  # blocks of 1,000 and a ragged tail
    p0, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    hyper = dict(lr=4e-4, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    results = []
    for block in (10**9, 1_000):
        monkeypatch.setattr(optim, "_BLOCK", block)
        p, m, v = p0.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
        scratch = np.empty(n, np.float32), np.empty(n, np.float32)
        for step in range(1, 4):
            scales = dict(scale_m=1 / (1 - 0.9**step), scale_v=1 / (1 - 0.999**step))
            optim.adamw_update(np, p, g, m, v, *scratch, **hyper, **scales)
        results.append((p, m, v))
    for whole, blocked in zip(*results):
        assert np.array_equal(whole, blocked)
    assert not np.array_equal(results[0][0], p0)


def test_adamw_keeps_only_block_sized_scratch_for_large_parameters(monkeypatch):
    from wick import Var

    start = np.random.default_rng(1).standard_normal(10_007).astype(np.float32)
    finals = []
    for block in (10**9, 1_000):
        monkeypatch.setattr(optim, "_BLOCK", block)
        v = Var.new(start)
        opt = optim.AdamW([v], optim.ParamsAdamW(lr=1e-2, weight_decay=0.1))
        for _ in range(3):
            opt.step((v * v).sum_all().backward())
        sizes = {a.size for a in opt._scratch.get(0)}
        assert sizes == ({10_007} if block > 10_007 else {1_000})
        finals.append(v.numpy().copy())
    assert np.array_equal(*finals) and not np.array_equal(finals[0], start)
