"""One training step (forward, cross-entropy, backward, optimizer update) of an MLP in float32:
wick, PyTorch eager (when installed) and a hand-written NumPy floor, side by side.

    python benchmarks/train_mlp.py [--steps 200] [--repeat 5]

All three start from the same weights and are checked to compute the same losses for the
first steps before anything is timed. Implementations are interleaved, warmed up, and the
median step time is reported; the ratios are printed last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from wick import DType, Tensor, Var  # noqa: E402
from wick.nn import SGD, AdamW, Linear, ParamsAdamW  # noqa: E402
from wick.nn.loss import cross_entropy  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: the column is skipped
    torch = None

WORKLOADS = [
    # name, layer sizes, batch, optimizer, training?
    ("tutorial MLP 2-30-20-2, batch 2, SGD", (2, 30, 20, 2), 2, "sgd", True),
    ("MLP 784-256-128-10, batch 128, SGD", (784, 256, 128, 10), 128, "sgd", True),
    ("MLP 784-256-128-10, batch 128, AdamW", (784, 256, 128, 10), 128, "adamw", True),
    ("MLP 784-1024-1024-10, batch 512, SGD", (784, 1024, 1024, 10), 512, "sgd", True),
    ("inference 784-256-128-10, batch 1024", (784, 256, 128, 10), 1024, None, False),
]
LR = 0.01
ADAMW = dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)


def initial_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        b = rng.uniform(-1 / np.sqrt(n_in), 1 / np.sqrt(n_in), n_out).astype(np.float32)
        layers.append((w, b))
    return layers


def data(sizes, batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return x, y


class WickMLP:
    def __init__(self, weights, x, y, optimizer):
        self.vars = []
        self.layers = []
        for w, b in weights:
            wv, bv = Var.new(w), Var.new(b)
            self.vars += [wv, bv]
            self.layers.append(Linear(wv, bv))
        self.x, self.y = Tensor.new(x), Tensor.new(y.astype(np.uint32), dtype=DType.U32)
        if optimizer == "adamw":
            self.opt = AdamW(self.vars, ParamsAdamW(**ADAMW))
        else:
            self.opt = SGD(self.vars, LR)

    def forward(self):
        h = self.x
        for layer in self.layers[:-1]:
            h = layer(h).relu()
        return self.layers[-1](h)

    def step(self):
        loss = cross_entropy(self.forward(), self.y)
        self.opt.backward_step(loss)
        return loss.to_scalar()

    def infer(self):
        return self.forward()


class TorchMLP:
    def __init__(self, weights, x, y, optimizer):
        self.layers = []
        for w, b in weights:
            layer = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.copy_(torch.from_numpy(b))
            self.layers.append(layer)
        self.params = [p for layer in self.layers for p in layer.parameters()]
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        if optimizer == "adamw":
            a = ADAMW
            self.opt = torch.optim.AdamW(
                self.params,
                lr=a["lr"],
                betas=(a["beta1"], a["beta2"]),
                eps=a["eps"],
                weight_decay=a["weight_decay"],
            )
        else:
            self.opt = torch.optim.SGD(self.params, lr=LR)

    def forward(self):
        h = self.x
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self.forward(), self.y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def infer(self):
        with torch.no_grad():
            return self.forward()


class NumpyMLP:
    """The floor: forward, backward and update by hand into preallocated buffers."""

    def __init__(self, weights, x, y, optimizer):
        self.w = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]
        self.x, self.y = x, y
        n = x.shape[0]
        self.rows = np.arange(n)
        self.h = [np.empty((n, w.shape[0]), np.float32) for w in self.w]
        self.gw = [np.empty_like(w) for w in self.w]
        self.gb = [np.empty_like(b) for b in self.b]
        self.adamw = optimizer == "adamw"
        if self.adamw:
            self.m = [np.zeros_like(p) for p in self.w + self.b]
            self.v = [np.zeros_like(p) for p in self.w + self.b]
            self.t = 0

    def forward(self):
        a = self.x
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            np.matmul(a, w.T, out=self.h[i])
            self.h[i] += b
            if i < len(self.w) - 1:
                np.maximum(self.h[i], 0, out=self.h[i])
            a = self.h[i]
        return a

    def step(self):
        z = self.forward()
        n = z.shape[0]
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        loss = -np.log(z[self.rows, self.y]).mean()
        z[self.rows, self.y] -= 1
        z /= n
        g = z
        for i in range(len(self.w) - 1, -1, -1):
            a = self.x if i == 0 else self.h[i - 1]
            np.matmul(g.T, a, out=self.gw[i])
            g.sum(axis=0, out=self.gb[i])
            if i:
                g = (g @ self.w[i]) * (a > 0)
        self.update()
        return float(loss)

    def update(self):
        params, grads = self.w + self.b, self.gw + self.gb
        if not self.adamw:
            for p, g in zip(params, grads):
                g *= np.float32(LR)
                p -= g
            return
        a = ADAMW
        self.t += 1
        scale_m = 1 / (1 - a["beta1"] ** self.t)
        scale_v = 1 / (1 - a["beta2"] ** self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= a["beta1"]
            m += (1 - a["beta1"]) * g
            v *= a["beta2"]
            v += (1 - a["beta2"]) * (g * g)
            p *= 1 - a["lr"] * a["weight_decay"]
            p -= a["lr"] * (m * scale_m) / (np.sqrt(v * scale_v) + a["eps"])

    def infer(self):
        return self.forward()


def check_same_losses(impls, name):
    losses = {k: [impl.step() for _ in range(3)] for k, impl in impls.items()}
    ref = losses["numpy"]
    for k, values in losses.items():
        if not np.allclose(values, ref, rtol=1e-4, atol=1e-5):
            raise SystemExit(f"{name}: {k} losses {values} differ from numpy's {ref}")


def time_steps(impls, training, steps, repeat):
    times = {k: [] for k in impls}
    names = list(impls)
    for r in range(repeat):
        # Interleaved, in a rotating order, with a pause between implementations: BLAS and
        # OpenMP worker threads keep spinning for a while after a run and would otherwise
        # slow down whichever implementation always comes next.
        for k in names[r % len(names) :] + names[: r % len(names)]:
            impl = impls[k]
            time.sleep(0.2)
            f = impl.step if training else impl.infer
            start = time.perf_counter()
            for _ in range(steps):
                f()
            times[k].append((time.perf_counter() - start) / steps)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100, help="steps per timed run")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (the median is kept)")
    parser.add_argument("--only", type=int, default=None, help="run one workload (0-based)")
    args = parser.parse_args()
    kinds = {"wick": WickMLP, "numpy": NumpyMLP}
    if torch is not None:
        kinds["torch"] = TorchMLP
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    else:
        print("PyTorch is not installed: its column is skipped")
    rows = []
    for i, (name, sizes, batch, optimizer, training) in enumerate(WORKLOADS):
        if args.only is not None and i != args.only:
            continue
        weights, (x, y) = initial_weights(sizes), data(sizes, batch)
        if training:
            check_same_losses({k: c(weights, x, y, optimizer) for k, c in kinds.items()}, name)
        impls = {k: c(weights, x, y, optimizer) for k, c in kinds.items()}
        # About a third of a second per timed run: many steps for the tiny model, few for the big.
        steps = max(
            5, args.steps * 20 if sizes[1] < 100 else args.steps // (10 if sizes[1] > 500 else 1)
        )
        time_steps(impls, training, max(2, steps // 5), 1)  # warm-up
        rows.append((name, time_steps(impls, training, steps, args.repeat)))
    print(
        f"\n{'workload':40s} {'wick ms':>9s} {'torch ms':>9s} {'numpy ms':>9s} "
        f"{'wick/torch':>10s} {'wick/numpy':>10s}"
    )
    for name, t in rows:
        torch_ms = f"{t['torch'] * 1e3:9.3f}" if "torch" in t else f"{'-':>9s}"
        vs_torch = f"{t['wick'] / t['torch']:10.2f}" if "torch" in t else f"{'-':>10s}"
        print(
            f"{name:40s} {t['wick'] * 1e3:9.3f} {torch_ms} {t['numpy'] * 1e3:9.3f} "
            f"{vs_torch} {t['wick'] / t['numpy']:10.2f}"
        )


if __name__ == "__main__":
    main()
