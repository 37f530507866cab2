"""GPT-2 (OpenAI's, as Hugging Face's ``GPT2LMHeadModel``): Config and Model built from a VarBuilder.

Parameter names are Hugging Face's (``transformer.h.0.attn.c_attn.weight``); the original OpenAI
names (``h.0.attn.c_attn.weight``) load too. GPT-2's projections are ``Conv1D`` layers: their
weight is stored ``(in, out)``, the transpose of a ``Linear``'s.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields

from ..core import DType, Tensor, graph
from ..core.errors import CannotFindTensor, Msg
from ..core.ops import fused
from ..nn import Embedding, LayerNorm
from ..nn import ops as nn_ops
from ..nn.init import ONE, ZERO, Init
from ..nn.module import Module
from .cache import Cache
from .config_file import read_config

MODEL_TYPE = "gpt2"


@dataclass
class Config:
    """GPT-2's hyper-parameters, with Hugging Face's field names and defaults (GPT-2 124M)."""

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    tie_word_embeddings: bool = True
    bos_token_id: int = 50256
    eos_token_id: int = 50256

    def __post_init__(self):
        if self.n_head <= 0 or self.n_embd % self.n_head != 0:
            raise Msg(f"gpt2 config: n_embd {self.n_embd} is not divisible by n_head {self.n_head}")
        if self.activation_function not in _ACTIVATIONS:
            raise Msg(
                f"gpt2 config: unknown activation_function {self.activation_function!r} "
                f"(known: {', '.join(sorted(_ACTIVATIONS))})"
            )
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise Msg(f"gpt2 config: {name} {p} is not in [0, 1)")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @property
    def inner_dim(self) -> int:
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """The fields of a Hugging Face ``config.json`` dict (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if "n_ctx" in values and "n_positions" not in values:  # very old configs
            kwargs["n_positions"] = values["n_ctx"]
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path) -> Config:
        """Reads a Hugging Face ``config.json``."""
        values = read_config(path, "gpt2")
        model_type = values.get("model_type", MODEL_TYPE)
        if model_type != MODEL_TYPE:
            raise Msg(f"gpt2 config: {os.fspath(path)} has model_type {model_type!r}, not 'gpt2'")
        return cls.from_dict(values)

    def to_dict(self) -> dict:
        """A Hugging Face ``config.json`` dict that ``transformers`` loads as this config."""
        out = {"architectures": ["GPT2LMHeadModel"], "model_type": MODEL_TYPE}
        out.update(asdict(self))
        out["n_ctx"] = self.n_positions
        return out

    @classmethod
    def _preset(cls, context_length, n_embd, n_layer, n_head, overrides) -> Config:
        fields_ = {"n_positions": context_length, "n_embd": n_embd, "n_layer": n_layer}
        return cls(**{**fields_, "n_head": n_head, **overrides})

    # ----- the book's sizes (Raschka, ch. 4 and 5) and small ones for quick runs -----------------
    @classmethod
    def gpt2_124m(cls, context_length: int = 1024, **overrides) -> Config:
        """GPT-2 small: 12 layers, 12 heads, 768 wide (124M parameters, head tied)."""
        return cls._preset(context_length, 768, 12, 12, overrides)

    @classmethod
    def gpt2_355m(cls, context_length: int = 1024, **overrides) -> Config:
        """GPT-2 medium: 24 layers, 16 heads, 1024 wide."""
        return cls._preset(context_length, 1024, 24, 16, overrides)

    @classmethod
    def gpt2_774m(cls, context_length: int = 1024, **overrides) -> Config:
        """GPT-2 large: 36 layers, 20 heads, 1280 wide."""
        return cls._preset(context_length, 1280, 36, 20, overrides)

    @classmethod
    def gpt2_1558m(cls, context_length: int = 1024, **overrides) -> Config:
        """GPT-2 XL: 48 layers, 25 heads, 1600 wide."""
        return cls._preset(context_length, 1600, 48, 25, overrides)

    @classmethod
    def tiny(cls, context_length: int = 64, **overrides) -> Config:
        """2 layers, 2 heads, 64 wide, GPT-2's vocabulary: trains in seconds on a CPU."""
        return cls._preset(context_length, 64, 2, 2, overrides)

    @classmethod
    def small(cls, context_length: int = 128, **overrides) -> Config:
        """4 layers, 4 heads, 256 wide, GPT-2's vocabulary."""
        return cls._preset(context_length, 256, 4, 4, overrides)


PRESETS = {
    "tiny": Config.tiny,
    "small": Config.small,
    "124m": Config.gpt2_124m,
    "355m": Config.gpt2_355m,
    "774m": Config.gpt2_774m,
    "1558m": Config.gpt2_1558m,
}

_ACTIVATIONS = {
    "gelu_new": Tensor.gelu,
    "gelu_pytorch_tanh": Tensor.gelu,
    "gelu": Tensor.gelu_erf,
    "relu": Tensor.relu,
    "silu": Tensor.silu,
    "swish": Tensor.silu,
}


# ------------------------------------------------------------------------------------------------
# Attention


def attention(q, k, v, scale: float, dropout_p: float = 0.0) -> Tensor:
    """Causal attention over ``(B, H, T, D)`` (the fused ``sdpa``; the mask aligned to the end)."""
    return nn_ops.sdpa(q, k, v, scale=scale, is_causal=True, dropout_p=dropout_p)


# ------------------------------------------------------------------------------------------------
# Layers


class Conv1D(Module):
    """GPT-2's projection: ``x @ weight + bias`` with ``weight`` stored ``(in, out)``."""

    __slots__ = ("_weight", "_bias")

    def __init__(self, weight: Tensor, bias: Tensor):
        self._weight, self._bias = weight, bias

    def weight(self) -> Tensor:
        return self._weight

    def bias(self) -> Tensor:
        return self._bias

    def forward(self, x: Tensor) -> Tensor:
        # The fused linear takes (out, in): the transpose is a view, with its own backward.
        return graph.apply(fused.LINEAR, (x, self._weight.t(), self._bias))

    __call__ = forward

    def __repr__(self) -> str:
        n_in, n_out = self._weight.shape
        return f"Conv1D(in={n_in}, out={n_out})"


def conv1d(n_in: int, n_out: int, vb, std: float) -> Conv1D:
    """A Conv1D reading ``weight`` (in, out) and ``bias`` (out,); init N(0, std) and 0."""
    weight = vb.get_with_hints((n_in, n_out), "weight", Init.Randn(0.0, std))
    return Conv1D(weight, vb.get_with_hints((n_out,), "bias", ZERO))


def _layer_norm(size: int, eps: float, vb) -> LayerNorm:
    return LayerNorm(
        vb.get_with_hints(size, "weight", ONE), vb.get_with_hints(size, "bias", ZERO), eps
    )


class Attention(Module):
    """Multi-head causal self-attention with one fused q/k/v projection (``c_attn``)."""

    def __init__(self, cfg: Config, layer_idx: int, vb):
        std = cfg.initializer_range
        self.c_attn = conv1d(cfg.n_embd, 3 * cfg.n_embd, vb.pp("c_attn"), std)
        proj_std = std / math.sqrt(2 * cfg.n_layer)  # GPT-2's scaled residual projections
        self.c_proj = conv1d(cfg.n_embd, cfg.n_embd, vb.pp("c_proj"), proj_std)
        self.n_head, self.head_dim, self.layer_idx = cfg.n_head, cfg.head_dim, layer_idx
        scale = 1.0 / math.sqrt(cfg.head_dim) if cfg.scale_attn_weights else 1.0
        if cfg.scale_attn_by_inverse_layer_idx:
            scale /= layer_idx + 1
        self.scale = scale
        self.attn_pdrop, self.resid_pdrop = cfg.attn_pdrop, cfg.resid_pdrop

    def forward_t(self, x: Tensor, train: bool, cache: Cache | None = None) -> Tensor:
        b, t, c = x.dims3()
        qkv = self.c_attn(x).reshape((b, t, 3, self.n_head, self.head_dim))
        qkv = qkv.permute((2, 0, 3, 1, 4))  # (3, B, H, T, D)
        q, k, v = qkv.get(0), qkv.get(1), qkv.get(2)
        if cache is not None:
            k, v = cache._append(self.layer_idx, k, v)
        y = attention(q, k, v, self.scale, self.attn_pdrop if train else 0.0)
        y = self.c_proj(y.transpose(1, 2).reshape((b, t, c)))
        return nn_ops.dropout(y, self.resid_pdrop) if train else y


class Mlp(Module):
    """``c_proj(act(c_fc(x)))``: the block's feed-forward part."""

    def __init__(self, cfg: Config, vb):
        std = cfg.initializer_range
        self.c_fc = conv1d(cfg.n_embd, cfg.inner_dim, vb.pp("c_fc"), std)
        proj_std = std / math.sqrt(2 * cfg.n_layer)
        self.c_proj = conv1d(cfg.inner_dim, cfg.n_embd, vb.pp("c_proj"), proj_std)
        self.act = _ACTIVATIONS[cfg.activation_function]
        self.resid_pdrop = cfg.resid_pdrop

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        y = self.c_proj(self.act(self.c_fc(x)))
        return nn_ops.dropout(y, self.resid_pdrop) if train else y


class Block(Module):
    """Pre-norm transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, cfg: Config, layer_idx: int, vb):
        eps = cfg.layer_norm_epsilon
        self.ln_1 = _layer_norm(cfg.n_embd, eps, vb.pp("ln_1"))
        self.attn = Attention(cfg, layer_idx, vb.pp("attn"))
        self.ln_2 = _layer_norm(cfg.n_embd, eps, vb.pp("ln_2"))
        self.mlp = Mlp(cfg, vb.pp("mlp"))

    def forward_t(self, x: Tensor, train: bool, cache: Cache | None = None) -> Tensor:
        x = x + self.attn.forward_t(self.ln_1(x), train, cache)
        return x + self.mlp.forward_t(self.ln_2(x), train)


# ------------------------------------------------------------------------------------------------
# The model


def _prefix(vb) -> str:
    """Which name layout the source holds: Hugging Face's (``transformer.``) or OpenAI's (none)."""
    if vb.contains_tensor("transformer.wte.weight"):
        return "transformer"
    if vb.contains_tensor("wte.weight"):
        return ""
    return "transformer"  # a new model (VarMap): Hugging Face's names


class Model(Module):
    """GPT-2 with its language-model head: ``forward(ids)`` -> logits ``(B, T, vocab)``.

    >>> from wick.nn import VarBuilder
    >>> cfg = Config(vocab_size=10, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    >>> Model.load(VarBuilder.zeros(), cfg).forward(Tensor.new([[1, 2, 3]])).shape
    [1, 3, 10]
    """

    def __init__(self, cfg: Config, vb):
        self.config = cfg
        prefix = _prefix(vb)
        tvb = vb.pp(prefix) if prefix else vb
        std = cfg.initializer_range
        wte = tvb.pp("wte").get_with_hints(
            (cfg.vocab_size, cfg.n_embd), "weight", Init.Randn(0, std)
        )
        self.wte = Embedding(wte, cfg.n_embd)
        wpe = tvb.pp("wpe").get_with_hints(
            (cfg.n_positions, cfg.n_embd), "weight", Init.Randn(0, std)
        )
        self.wpe = wpe
        self.h = [Block(cfg, i, tvb.pp("h").pp(i)) for i in range(cfg.n_layer)]
        self.ln_f = _layer_norm(cfg.n_embd, cfg.layer_norm_epsilon, tvb.pp("ln_f"))
        self.lm_head = wte  # tied: one Var, so the head and the embedding share the gradient
        self.tied = True
        if not cfg.tie_word_embeddings:
            try:
                self.lm_head = vb.get_with_hints(
                    (cfg.vocab_size, cfg.n_embd), "lm_head.weight", Init.Randn(0, std)
                )
                self.tied = False
            except CannotFindTensor:
                pass  # a checkpoint without lm_head.weight: tied, as Hugging Face loads it
        self._prefix = prefix

    @classmethod
    def load(cls, vb, cfg: Config) -> Model:
        """Builds the model from ``vb`` (Candle's ``Model::load(vb, &cfg)``)."""
        return cls(cfg, vb)

    def new_cache(self) -> Cache:
        """An empty KV cache: ``forward(ids, cache)`` appends to it, positions continuing."""
        return Cache(self.config.n_layer, self.config.n_positions)

    def forward(self, input_ids: Tensor, cache: Cache | None = None, *, last_only=False) -> Tensor:
        """Logits ``(B, T, vocab)`` (``(B, 1, vocab)``, the last position's, if ``last_only``)."""
        return self.forward_t(input_ids, False, cache, last_only=last_only)

    __call__ = forward

    def forward_t(
        self, input_ids: Tensor, train: bool, cache: Cache | None = None, *, last_only=False
    ) -> Tensor:
        """``forward`` with dropout applied when ``train`` is true."""
        hidden = self.hidden_states(input_ids, train, cache)
        if last_only:
            hidden = hidden.narrow(1, hidden.dim(1) - 1, 1)
        return graph.apply2(fused.LINEAR, hidden, self.lm_head)

    def hidden_states(self, input_ids: Tensor, train: bool = False, cache=None) -> Tensor:
        """The final layer-normed hidden states ``(B, T, n_embd)``."""
        cfg = self.config
        if input_ids.rank() != 2 or input_ids.dtype.is_float():
            raise Msg(
                f"gpt2 forward: input_ids must be integer ids of shape (batch, seq_len), got "
                f"{input_ids.shape} {input_ids.dtype.as_str()}"
            )
        t = input_ids.dim(1)
        start = 0 if cache is None else len(cache)
        if start + t > cfg.n_positions:
            cached = f" after {start} cached positions" if start else ""
            raise Msg(
                f"gpt2 forward: an input of {t} tokens{cached} is longer than "
                f"n_positions {cfg.n_positions}"
            )
        if t == 0:
            raise Msg("gpt2 forward: input_ids has no tokens")
        x = self.wte(input_ids).broadcast_add(self.wpe.narrow(0, start, t))
        if train:
            x = nn_ops.dropout(x, cfg.embd_pdrop)
        for block in self.h:
            x = block.forward_t(x, train, cache)
        if cache is not None:
            cache._advance(t)
        return self.ln_f(x)

    def tensors(self) -> dict:
        """Every parameter by its Hugging Face name (``lm_head.weight`` only when untied)."""
        p = "transformer."
        out = {p + "wte.weight": self.wte.embeddings(), p + "wpe.weight": self.wpe}
        for i, block in enumerate(self.h):
            b = f"{p}h.{i}."
            for name, mod in (
                ("ln_1", block.ln_1),
                ("attn.c_attn", block.attn.c_attn),
                ("attn.c_proj", block.attn.c_proj),
                ("ln_2", block.ln_2),
                ("mlp.c_fc", block.mlp.c_fc),
                ("mlp.c_proj", block.mlp.c_proj),
            ):
                out[f"{b}{name}.weight"] = mod.weight()
                out[f"{b}{name}.bias"] = mod.bias()
        out[p + "ln_f.weight"], out[p + "ln_f.bias"] = self.ln_f.weight(), self.ln_f.bias()
        if not self.tied:
            out["lm_head.weight"] = self.lm_head
        return out

    def num_parameters(self) -> int:
        """The number of distinct parameters (the tied head counted once)."""
        return sum(t.elem_count() for t in self.tensors().values())

    @property
    def dtype(self) -> DType:
        return self.wpe.dtype

    @property
    def device(self):
        return self.wpe.device

    def __repr__(self) -> str:
        c = self.config
        return (
            f"gpt2.Model(vocab={c.vocab_size}, positions={c.n_positions}, n_embd={c.n_embd}, "
            f"n_layer={c.n_layer}, n_head={c.n_head}, tied={self.tied})"
        )
