"""Per-op overhead of wick against raw NumPy on small tensors, side by side.

    python benchmarks/bench_ops.py [--repeat 7] [--number 20000]

Each row times the same computation through wick and as a bare NumPy call on the same arrays
(interleaved, best of ``--repeat`` runs of ``--number`` calls) and prints both times and the
difference: the Python overhead wick adds per op. The MLP row is one forward + backward of the
tutorial's 2-30-20-2 network on a batch of 2, with its NumPy floor written by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from wick import Device, DType, Tensor  # noqa: E402
from wick.nn import VarBuilder, VarMap, linear  # noqa: E402
from wick.nn.loss import cross_entropy  # noqa: E402


def small_ops():
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((32, 32)).astype(np.float32)
    b_np = rng.standard_normal((32, 32)).astype(np.float32)
    row_np = rng.standard_normal((1, 32)).astype(np.float32)
    a, b, row = Tensor.new(a_np), Tensor.new(b_np), Tensor.new(row_np)
    return [
        ("add 32x32", lambda: a.add(b), lambda: a_np + b_np),
        ("a + b operator", lambda: a + b, lambda: a_np + b_np),
        ("relu 32x32", lambda: a.relu(), lambda: np.maximum(a_np, 0)),
        ("sum_all 32x32", lambda: a.sum_all(), lambda: a_np.sum()),
        ("matmul 32x32", lambda: a.matmul(b), lambda: a_np @ b_np),
        ("broadcast add (32,32)+(1,32)", lambda: a + row, lambda: a_np + row_np),
        ("t * 2.0 (affine)", lambda: a * 2.0, lambda: a_np * np.float32(2.0)),
    ]


class _MLP:
    def __init__(self, vb):
        self.l1, self.l2, self.l3 = (
            linear(2, 30, vb.pp("l1")),
            linear(30, 20, vb.pp("l2")),
            linear(20, 2, vb.pp("out")),
        )

    def __call__(self, x):
        return self.l3(self.l2(self.l1(x).relu()).relu())


def mlp_case():
    Device.Cpu.set_seed(0)
    varmap = VarMap()
    model = _MLP(VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu))
    x = Tensor.new([[-1.2, 3.1], [2.3, -1.1]], dtype=DType.F32)
    y = Tensor.new([0, 1], dtype=DType.U32)

    def wick_step():
        return cross_entropy(model(x), y).backward()

    ws = [v.numpy().copy() for v in varmap.all_vars()]
    w1, b1, w2, b2, w3, b3 = ws
    xn, yn = x.numpy(), y.numpy().astype(np.intp)
    rows = np.arange(2)

    def numpy_step():
        h1 = xn @ w1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ w3.T + b3
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, yn]).mean()
        gz = p
        gz[rows, yn] -= 1
        gz /= 2
        gw3, gb3 = gz.T @ a2, gz.sum(0)
        g2 = (gz @ w3) * (h2 >= 0)
        gw2, gb2 = g2.T @ a1, g2.sum(0)
        g1 = (g2 @ w2) * (h1 >= 0)
        gw1, gb1 = g1.T @ xn, g1.sum(0)
        return loss, gw1, gb1, gw2, gb2, gw3, gb3

    # 3 linear + 2 relu + cross-entropy forward, the same backward: 12 primitive calls.
    return ("MLP 2-30-20-2 fwd+bwd, batch 2", wick_step, numpy_step, 12)


def best(f, number: int, repeat: int) -> float:
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    print(f"{'op':34s} {'wick µs':>9s} {'numpy µs':>9s} {'overhead µs':>12s} {'ratio':>6s}")
    cases = [(name, w, n, 1) for name, w, n in small_ops()] + [mlp_case()]
    for name, wick_f, numpy_f, ops in cases:
        number = args.number // (10 if ops > 1 else 1)
        t_w = t_n = float("inf")
        for _ in range(args.repeat):  # interleave so both see the same machine state
            t_w = min(t_w, best(wick_f, number, 1))
            t_n = min(t_n, best(numpy_f, number, 1))
        over = (t_w - t_n) * 1e6
        per_op = f" ({over / ops:.2f}/op)" if ops > 1 else ""
        print(f"{name:34s} {t_w * 1e6:9.2f} {t_n * 1e6:9.2f} {over:12.2f} {t_w / t_n:6.2f}{per_op}")


if __name__ == "__main__":
    main()
