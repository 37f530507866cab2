"""The workloads of gpu_parity.py and bench_gpu.py: an MLP and a small GPT-2, built from the same
host weights on any wick device, and their PyTorch twins for the side-by-side benchmark."""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from wick import DType, Tensor, Var  # noqa: E402
from wick.models import gpt2  # noqa: E402
from wick.nn import SGD, AdamW, Linear, ParamsAdamW, VarBuilder, VarMap  # noqa: E402
from wick.nn.loss import cross_entropy  # noqa: E402

LR = 0.01
ADAMW = dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)


def mlp_weights(sizes, seed=0):
    """He-initialised ``[(w (out, in), b (out,)), ...]`` in float32, the same on every device."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        b = rng.uniform(-1 / np.sqrt(n_in), 1 / np.sqrt(n_in), n_out).astype(np.float32)
        layers.append((w, b))
    return layers


def mlp_data(sizes, batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    return x, rng.integers(0, sizes[-1], batch).astype(np.int64)


def optimizer(vars, name, lr=LR):
    return AdamW(vars, ParamsAdamW(**ADAMW)) if name == "adamw" else SGD(vars, lr)


class WickMLP:
    """ReLU MLP on ``device``; ``step()`` is forward, cross-entropy, backward and update."""

    def __init__(self, weights, x, y, opt, device, lr=LR):
        self.vars, self.layers = [], []
        for w, b in weights:
            wv, bv = Var.new(w, device), Var.new(b, device)
            self.vars += [wv, bv]
            self.layers.append(Linear(wv, bv))
        self.x = Tensor.new(x, device)
        self.y = Tensor.new(y.astype(np.uint32), device, DType.U32)
        self.opt = optimizer(self.vars, opt, lr)

    def loss(self):
        h = self.x
        for layer in self.layers[:-1]:
            h = layer(h).relu()
        return cross_entropy(self.layers[-1](h), self.y)

    def step(self):
        """One training step; returns the loss (reading it is the caller's host sync)."""
        loss = self.loss()
        self.opt.backward_step(loss)
        return loss.detach()  # keeps no graph alive when the caller collects losses


def gpt_config(vocab=512, context=64, n_embd=64, n_layer=2, n_head=2):
    """A small GPT-2 with dropout off (so CPU and GPU runs compute the same function)."""
    return gpt2.Config(
        vocab_size=vocab,
        n_positions=context,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )


def gpt_weights(cfg, seed=0) -> dict:
    """Host float32 arrays for every parameter, by name (GPT-2's init, seeded on the CPU)."""
    from wick import Device

    Device.Cpu.set_seed(seed)
    varmap = VarMap()
    gpt2.Model.load(VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu), cfg)
    return {name: var.numpy().copy() for name, var in varmap.data().items()}


def gpt_tokens(cfg, batch, seq, seed=2):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, cfg.vocab_size, (batch, seq + 1))
    return ids[:, :-1].astype(np.uint32), ids[:, 1:].astype(np.uint32)


class WickGPT:
    """A GPT-2 language-model training step (AdamW) on ``device`` from host weights."""

    def __init__(self, cfg, weights, inputs, targets, device):
        varmap = VarMap()
        self.model = gpt2.Model.load(VarBuilder.from_varmap(varmap, DType.F32, device), cfg)
        for name, var in varmap.data().items():
            var.set(Tensor.new(weights[name], device))
        self.x = Tensor.new(inputs, device, DType.U32)
        self.y = Tensor.new(targets.reshape(-1), device, DType.U32)
        self.opt = AdamW(varmap.all_vars(), ParamsAdamW(**ADAMW))
        self.vocab = cfg.vocab_size

    def step(self):
        logits = self.model.forward_t(self.x, True)
        loss = cross_entropy(logits.reshape((-1, self.vocab)), self.y)
        self.opt.backward_step(loss)
        return loss.detach()


# ------------------------------------------------------------------------------------------------
# PyTorch twins (bench_gpu.py only)


def torch_mlp(torch, weights, x, y, opt, device):
    layers = []
    for w, b in weights:
        layer = torch.nn.Linear(w.shape[1], w.shape[0], device=device)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
        layers += [layer, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    optim = _torch_optimizer(torch, model.parameters(), opt)

    def step():
        optim.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        optim.step()
        return loss

    return step


def _torch_optimizer(torch, params, name):
    if name == "adamw":
        a = ADAMW
        return torch.optim.AdamW(
            params,
            lr=a["lr"],
            betas=(a["beta1"], a["beta2"]),
            eps=a["eps"],
            weight_decay=a["weight_decay"],
        )
    return torch.optim.SGD(params, lr=LR)


def torch_gpt(torch, cfg, weights, inputs, targets, device):
    """GPT-2 in plain PyTorch (eager, SDPA attention, tied head) with wick's weights."""
    F = torch.nn.functional
    p = {k: torch.nn.Parameter(torch.from_numpy(v).to(device)) for k, v in weights.items()}
    pre = "transformer." if any(k.startswith("transformer.") for k in p) else ""
    heads, eps = cfg.n_head, cfg.layer_norm_epsilon

    def ln(h, name):
        return F.layer_norm(h, h.shape[-1:], p[f"{name}.weight"], p[f"{name}.bias"], eps)

    def conv1d(h, name):  # GPT-2's Conv1D: weight (in, out)
        return torch.addmm(p[f"{name}.bias"], h.reshape(-1, h.shape[-1]), p[f"{name}.weight"])

    def forward(ids):
        b, t = ids.shape
        h = p[pre + "wte.weight"][ids] + p[pre + "wpe.weight"][:t]
        for i in range(cfg.n_layer):
            n = f"{pre}h.{i}"
            a = conv1d(ln(h, f"{n}.ln_1"), f"{n}.attn.c_attn").reshape(b, t, 3, heads, -1)
            q, k, v = a.permute(2, 0, 3, 1, 4)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            att = att.transpose(1, 2).reshape(b * t, -1)
            h = h + conv1d(att, f"{n}.attn.c_proj").reshape(b, t, -1)
            m = F.gelu(conv1d(ln(h, f"{n}.ln_2"), f"{n}.mlp.c_fc"), approximate="tanh")
            h = h + conv1d(m, f"{n}.mlp.c_proj").reshape(b, t, -1)
        return ln(h, pre + "ln_f") @ p[pre + "wte.weight"].T

    x = torch.from_numpy(inputs.astype(np.int64)).to(device)
    y = torch.from_numpy(targets.reshape(-1).astype(np.int64)).to(device)
    optim = _torch_optimizer(torch, list(p.values()), "adamw")

    def step():
        optim.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(x).reshape(-1, cfg.vocab_size), y)
        loss.backward()
        optim.step()
        return loss

    return step
