"""The Llama decoder family (Llama, Mistral, Qwen2, SmolLM): Config and Model built from a
VarBuilder, with Hugging Face's parameter names (``model.layers.0.self_attn.q_proj.weight``).

Each block: ``x + attn(rms_norm(x))``, then ``x + mlp(rms_norm(x))``; attention with grouped
key/value heads (GQA) and rotary positions in Hugging Face's rotate-half layout; the MLP is
SwiGLU, ``down(silu(gate(x)) * up(x))``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..core import Tensor, graph
from ..core.errors import Msg
from ..core.ops import fused
from ..nn import Embedding, linear_b, rms_norm
from ..nn import ops as nn_ops
from ..nn.init import Init
from ..nn.module import Module
from ..nn.rotary_emb import rope
from .cache import Cache
from .config_file import read_config

MODEL_TYPES = ("llama", "mistral", "qwen2")
ROPE_KINDS = ("default", "linear")


@dataclass
class Config:
    """Hyper-parameters with Hugging Face's ``LlamaConfig`` names and defaults."""

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    hidden_act: str = "silu"
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: dict | None = None
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    mlp_bias: bool = False
    initializer_range: float = 0.02
    bos_token_id: int | None = 1
    eos_token_id: int | list | None = 2
    model_type: str = "llama"

    def __post_init__(self):
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            if self.hidden_size % self.num_attention_heads:
                raise Msg(
                    f"llama config: hidden_size {self.hidden_size} is not divisible by "
                    f"num_attention_heads {self.num_attention_heads}"
                )
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_attention_heads % self.num_key_value_heads:
            raise Msg(
                f"llama config: num_attention_heads {self.num_attention_heads} is not a multiple "
                f"of num_key_value_heads {self.num_key_value_heads}"
            )
        if self.hidden_act != "silu":
            raise Msg(f"llama config: hidden_act {self.hidden_act!r} is not supported (silu is)")
        kind = (self.rope_scaling or {}).get("rope_type", (self.rope_scaling or {}).get("type"))
        if self.rope_scaling is not None and kind not in ROPE_KINDS:
            raise Msg(
                f"llama config: rope_scaling type {kind!r} is not implemented "
                f"(wick implements {', '.join(ROPE_KINDS)})"
            )

    @property
    def n_positions(self) -> int:
        """The context length (GPT-2's name, which generation reads)."""
        return self.max_position_embeddings

    @property
    def qkv_bias(self) -> bool:
        # Qwen2 has biases on q/k/v (not on o_proj) without saying so in its config.
        return self.attention_bias or self.model_type == "qwen2"

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """The fields of a Hugging Face ``config.json`` dict (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if kwargs.get("model_type", "llama") not in MODEL_TYPES:
            raise Msg(
                f"llama config: model_type {kwargs['model_type']!r} is not a Llama-family model"
            )
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path) -> Config:
        """Reads a Hugging Face ``config.json``."""
        return cls.from_dict(read_config(path, "llama"))

    def to_dict(self) -> dict:
        """A Hugging Face ``config.json`` dict."""
        arch = {
            "llama": "LlamaForCausalLM",
            "mistral": "MistralForCausalLM",
            "qwen2": "Qwen2ForCausalLM",
        }
        return {"architectures": [arch[self.model_type]], **asdict(self)}


class Rotary:
    """Rotary position tables (cos, sin) of shape ``(max_position_embeddings, head_dim / 2)``."""

    def __init__(self, cfg: Config, dtype, device):
        d = cfg.head_dim
        inv_freq = 1.0 / cfg.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
        positions = np.arange(cfg.max_position_embeddings, dtype=np.float64)
        scaling = cfg.rope_scaling or {}
        if scaling.get("rope_type", scaling.get("type")) == "linear":
            positions = positions / float(scaling["factor"])
        angles = np.outer(positions, inv_freq).astype(np.float32)
        self.cos = Tensor.new(np.cos(angles), device).to_dtype(dtype)
        self.sin = Tensor.new(np.sin(angles), device).to_dtype(dtype)

    def apply(self, x: Tensor, start: int) -> Tensor:
        """``x`` (B, H, T, D) rotated for positions ``start .. start + T``."""
        t = x.dim(2)
        return rope(x, self.cos.narrow(0, start, t), self.sin.narrow(0, start, t))


def _repeat_kv(x: Tensor, groups: int) -> Tensor:
    """(B, KVH, T, D) -> (B, KVH * groups, T, D): each key/value head serves ``groups`` queries."""
    if groups == 1:
        return x
    b, kvh, t, d = x.dims4()
    return x.unsqueeze(2).broadcast_as((b, kvh, groups, t, d)).reshape((b, kvh * groups, t, d))


class Attention(Module):
    """Causal self-attention with grouped key/value heads and rotary positions."""

    def __init__(self, cfg: Config, layer_idx: int, vb):
        h, kvh, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        bias = cfg.qkv_bias
        self.q_proj = linear_b(cfg.hidden_size, h * d, bias, vb.pp("q_proj"))
        self.k_proj = linear_b(cfg.hidden_size, kvh * d, bias, vb.pp("k_proj"))
        self.v_proj = linear_b(cfg.hidden_size, kvh * d, bias, vb.pp("v_proj"))
        self.o_proj = linear_b(h * d, cfg.hidden_size, cfg.attention_bias, vb.pp("o_proj"))
        self.n_head, self.n_kv_head, self.head_dim, self.layer_idx = h, kvh, d, layer_idx

    def forward(self, x: Tensor, rotary: Rotary, start: int, cache: Cache | None) -> Tensor:
        b, t, _ = x.dims3()
        q = self.q_proj(x).reshape((b, t, self.n_head, self.head_dim)).transpose(1, 2)
        k = self.k_proj(x).reshape((b, t, self.n_kv_head, self.head_dim)).transpose(1, 2)
        v = self.v_proj(x).reshape((b, t, self.n_kv_head, self.head_dim)).transpose(1, 2)
        q, k = rotary.apply(q.contiguous(), start), rotary.apply(k.contiguous(), start)
        if cache is not None:
            k, v = cache._append(self.layer_idx, k, v.contiguous())
        groups = self.n_head // self.n_kv_head
        y = nn_ops.sdpa(q, _repeat_kv(k, groups), _repeat_kv(v, groups), is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape((b, t, self.n_head * self.head_dim)))


class Mlp(Module):
    """SwiGLU: ``down_proj(silu(gate_proj(x)) * up_proj(x))``."""

    def __init__(self, cfg: Config, vb):
        n, m, bias = cfg.hidden_size, cfg.intermediate_size, cfg.mlp_bias
        self.gate_proj = linear_b(n, m, bias, vb.pp("gate_proj"))
        self.up_proj = linear_b(n, m, bias, vb.pp("up_proj"))
        self.down_proj = linear_b(m, n, bias, vb.pp("down_proj"))

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(self.gate_proj(x).silu() * self.up_proj(x))


class Block(Module):
    """Pre-norm decoder block."""

    def __init__(self, cfg: Config, layer_idx: int, vb):
        eps = cfg.rms_norm_eps
        self.input_layernorm = rms_norm(cfg.hidden_size, eps, vb.pp("input_layernorm"))
        self.self_attn = Attention(cfg, layer_idx, vb.pp("self_attn"))
        self.post_attention_layernorm = rms_norm(
            cfg.hidden_size, eps, vb.pp("post_attention_layernorm")
        )
        self.mlp = Mlp(cfg, vb.pp("mlp"))

    def forward(self, x: Tensor, rotary: Rotary, start: int, cache: Cache | None) -> Tensor:
        x = x + self.self_attn.forward(self.input_layernorm(x), rotary, start, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Model(Module):
    """A Llama-family causal LM: ``forward(ids, cache=None)`` -> logits ``(B, T, vocab)``.

    >>> from wick.nn import VarBuilder
    >>> cfg = Config(vocab_size=10, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
    ...              num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=8)
    >>> Model.load(VarBuilder.zeros(), cfg).forward(Tensor.new([[1, 2, 3]])).shape
    [1, 3, 10]
    """

    def __init__(self, cfg: Config, vb):
        self.config = cfg
        std = cfg.initializer_range
        mvb = vb.pp("model")
        embed = mvb.pp("embed_tokens").get_with_hints(
            (cfg.vocab_size, cfg.hidden_size), "weight", Init.Randn(0, std)
        )
        self.embed_tokens = Embedding(embed, cfg.hidden_size)
        self.layers = [Block(cfg, i, mvb.pp("layers").pp(i)) for i in range(cfg.num_hidden_layers)]
        self.norm = rms_norm(cfg.hidden_size, cfg.rms_norm_eps, mvb.pp("norm"))
        if cfg.tie_word_embeddings:
            self.lm_head = embed  # one Var: the head and the embedding share their gradient
        else:
            self.lm_head = vb.pp("lm_head").get_with_hints(
                (cfg.vocab_size, cfg.hidden_size), "weight", Init.Randn(0, std)
            )
        self.rotary = Rotary(cfg, embed.dtype, embed.device)

    @classmethod
    def load(cls, vb, cfg: Config) -> Model:
        """Builds the model from ``vb`` (Candle's ``Model::load(vb, &cfg)``)."""
        return cls(cfg, vb)

    @property
    def device(self):
        return self.lm_head.device

    def new_cache(self) -> Cache:
        """An empty KV cache: ``forward(ids, cache)`` appends to it, positions continuing."""
        return Cache(self.config.num_hidden_layers, self.config.max_position_embeddings)

    def forward(self, input_ids: Tensor, cache: Cache | None = None, *, last_only=False) -> Tensor:
        """Logits ``(B, T, vocab)`` (only the last position's if ``last_only``)."""
        cfg = self.config
        if input_ids.rank() != 2 or input_ids.dtype.is_float():
            raise Msg(
                f"llama forward: input_ids must be integer ids of shape (batch, seq_len), got "
                f"{input_ids.shape} {input_ids.dtype.as_str()}"
            )
        t = input_ids.dim(1)
        start = 0 if cache is None else len(cache)
        if t == 0:
            raise Msg("llama forward: input_ids has no tokens")
        if start + t > cfg.max_position_embeddings:
            raise Msg(
                f"llama forward: {start + t} positions exceed max_position_embeddings "
                f"{cfg.max_position_embeddings}"
            )
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer.forward(x, self.rotary, start, cache)
        if cache is not None:
            cache._advance(t)
        if last_only:
            x = x.narrow(1, t - 1, 1)
        return graph.apply2(fused.LINEAR, self.norm(x), self.lm_head)

    __call__ = forward

    def forward_t(self, input_ids: Tensor, train: bool, cache: Cache | None = None) -> Tensor:
        """``forward``: Llama models have no dropout."""
        return self.forward(input_ids, cache)


# ------------------------------------------------------------------------------------------------
# GGUF files (llama.cpp): their names and layout mapped onto Hugging Face's

_GGUF_BLOCK_NAMES = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.bias": "self_attn.v_proj.bias",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_GGUF_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def hf_name(gguf_name: str) -> str | None:
    """The Hugging Face name of a GGUF tensor (None for tensors the model does not use)."""
    if gguf_name in _GGUF_NAMES:
        return _GGUF_NAMES[gguf_name]
    parts = gguf_name.split(".", 2)
    if len(parts) == 3 and parts[0] == "blk" and parts[2] in _GGUF_BLOCK_NAMES:
        return f"model.layers.{parts[1]}.{_GGUF_BLOCK_NAMES[parts[2]]}"
    return None


def config_from_gguf(metadata: dict, tensor_names: list) -> Config:
    """The Config a GGUF file's ``<arch>.*`` metadata describes."""
    arch = metadata.get("general.architecture")
    if arch not in MODEL_TYPES:
        raise Msg(f"llama from GGUF: general.architecture {arch!r} is not a Llama-family model")

    def get(key, default=None):
        value = metadata.get(f"{arch}.{key}", default)
        if value is None:
            raise Msg(f"llama from GGUF: the file has no {arch}.{key}")
        return value

    heads = int(get("attention.head_count"))
    hidden = int(get("embedding_length"))
    vocab = metadata.get(f"{arch}.vocab_size") or len(metadata.get("tokenizer.ggml.tokens", []))
    rope_scaling = None
    if metadata.get(f"{arch}.rope.scaling.type") not in (None, "none"):
        kind = metadata[f"{arch}.rope.scaling.type"]
        rope_scaling = {
            "rope_type": kind,
            "factor": metadata.get(f"{arch}.rope.scaling.factor", 1.0),
        }
    return Config(
        vocab_size=int(vocab),
        hidden_size=hidden,
        intermediate_size=int(get("feed_forward_length")),
        num_hidden_layers=int(get("block_count")),
        num_attention_heads=heads,
        num_key_value_heads=int(get("attention.head_count_kv", heads)),
        head_dim=int(get("rope.dimension_count", hidden // heads)),
        max_position_embeddings=int(get("context_length")),
        rms_norm_eps=float(get("attention.layer_norm_rms_epsilon")),
        rope_theta=float(get("rope.freq_base", 10000.0)),
        rope_scaling=rope_scaling,
        tie_word_embeddings="output.weight" not in tensor_names,
        bos_token_id=metadata.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=metadata.get("tokenizer.ggml.eos_token_id"),
        model_type=arch,
    )


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undoes llama.cpp's reordering of Q/K rows (pairs interleaved for its rope kernel) back
    to Hugging Face's rotate-half order."""
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def hf_tensors_from_gguf(gguf_file, cfg: Config, dtype, device, progress=None) -> dict:
    """The model's tensors under Hugging Face names, dequantized one at a time (so the peak
    stays near one F32 copy of the model), Q and K back in Hugging Face's row order."""
    from ..core import DType

    out = {}
    names = [n for n in gguf_file.tensor_names() if hf_name(n) is not None]
    for name in names if progress is None else progress(names):
        target = hf_name(name)
        t = gguf_file.tensor(name, None, DType.F32)
        if cfg.model_type == "llama" and name.endswith(("attn_q.weight", "attn_k.weight")):
            heads = cfg.num_attention_heads if "attn_q" in name else cfg.num_key_value_heads
            t = Tensor.new(unpermute(t.numpy(), heads))
        out[target] = t.to_dtype(dtype).to_device(device)
    return out
