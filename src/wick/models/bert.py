"""BERT encoders (BERT, MiniLM, the sentence-transformers models): Config and BertModel built from
a VarBuilder, with Hugging Face's parameter names (``encoder.layer.0.attention.self.query.weight``,
with or without the ``bert.`` prefix of the task models), Candle's ``bert.rs`` in spirit.

Each layer is post-norm: ``x = LayerNorm(x + attn(x))``, then ``x = LayerNorm(x + ffn(x))``.
Sentence embeddings are ``normalize_l2(mean_pooling(hidden, attention_mask))``; ``embed`` does
the whole pipeline (tokenize, batch, pool, normalise) as sentence-transformers does.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from ..core import Device, DType, Tensor
from ..core.errors import InvalidIndex, Msg
from ..nn import Embedding, layer_norm, linear_b
from ..nn import ops as nn_ops
from ..nn.init import Init
from ..nn.module import Module
from .config_file import read_config

# Hugging Face's ACT2FN names -> the Tensor method computing them
ACTIVATIONS = {
    "gelu": "gelu_erf",
    "gelu_new": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "relu": "relu",
}
# torch.finfo(dtype).min: the additive mask value Hugging Face uses for padded keys
_FINFO_MIN = {
    DType.F64: -1.7976931348623157e308,
    DType.F32: -3.4028234663852886e38,
    DType.BF16: -3.3895313892515355e38,
    DType.F16: -65504.0,
}


@dataclass
class Config:
    """Hyper-parameters with Hugging Face's ``BertConfig`` names and defaults."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    position_embedding_type: str = "absolute"
    use_cache: bool = True
    classifier_dropout: float | None = None
    model_type: str = "bert"

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise Msg(
                f"bert config: hidden_size {self.hidden_size} is not divisible by "
                f"num_attention_heads {self.num_attention_heads}"
            )
        if self.hidden_act not in ACTIVATIONS:
            raise Msg(
                f"bert config: hidden_act {self.hidden_act!r} is not supported "
                f"(wick implements {', '.join(ACTIVATIONS)})"
            )
        if self.position_embedding_type != "absolute":
            raise Msg(
                f"bert config: position_embedding_type {self.position_embedding_type!r} is not "
                "implemented (wick implements absolute)"
            )

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        """The fields of a Hugging Face ``config.json`` dict (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if kwargs.get("model_type", "bert") != "bert":
            raise Msg(f"bert config: model_type {kwargs['model_type']!r} is not a BERT model")
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path) -> Config:
        """Reads a Hugging Face ``config.json``."""
        return cls.from_dict(read_config(path, "bert"))

    def to_dict(self) -> dict:
        """A Hugging Face ``config.json`` dict."""
        return {"architectures": ["BertModel"], **asdict(self)}


def _embedding(rows: int, cfg: Config, vb) -> Embedding:
    w = vb.get_with_hints((rows, cfg.hidden_size), "weight", Init.Randn(0.0, cfg.initializer_range))
    return Embedding(w, cfg.hidden_size)


def _lookup(table: Embedding, ids: Tensor, what: str) -> Tensor:
    try:
        return table(ids)
    except InvalidIndex as exc:
        rows = table.embeddings().dim(0)
        raise Msg(
            f"bert forward: {what} holds id {exc.index}, out of range for {rows} rows"
        ) from None


class BertEmbeddings(Module):
    """Word + position + token-type embeddings, then LayerNorm."""

    def __init__(self, cfg: Config, vb):
        self.word_embeddings = _embedding(cfg.vocab_size, cfg, vb.pp("word_embeddings"))
        self.position_embeddings = _embedding(
            cfg.max_position_embeddings, cfg, vb.pp("position_embeddings")
        )
        self.token_type_embeddings = _embedding(
            cfg.type_vocab_size, cfg, vb.pp("token_type_embeddings")
        )
        self.LayerNorm = layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        t = input_ids.dim(1)
        x = _lookup(self.word_embeddings, input_ids, "input_ids")
        x = x + _lookup(self.token_type_embeddings, token_type_ids, "token_type_ids")
        x = x.broadcast_add(self.position_embeddings.embeddings().narrow(0, 0, t))
        return self.LayerNorm(x)


class BertSelfAttention(Module):
    """Bidirectional multi-head attention over the unmasked keys."""

    def __init__(self, cfg: Config, vb):
        n = cfg.hidden_size
        self.query = linear_b(n, n, True, vb.pp("query"))
        self.key = linear_b(n, n, True, vb.pp("key"))
        self.value = linear_b(n, n, True, vb.pp("value"))
        self.n_head, self.head_dim = cfg.num_attention_heads, cfg.head_dim
        self.dropout = cfg.attention_probs_dropout_prob

    def _heads(self, x: Tensor, b: int, t: int) -> Tensor:
        return x.reshape((b, t, self.n_head, self.head_dim)).transpose(1, 2)

    def forward_t(self, x: Tensor, mask: Tensor, train: bool) -> Tensor:
        b, t, n = x.dims3()
        q = self._heads(self.query(x), b, t)
        k = self._heads(self.key(x), b, t)
        v = self._heads(self.value(x), b, t)
        y = nn_ops.sdpa(q, k, v, mask, dropout_p=self.dropout if train else 0.0)
        return y.transpose(1, 2).reshape((b, t, n))


class BertResidual(Module):
    """``LayerNorm(dense(x) + residual)``: the attention's and the layer's ``output``."""

    def __init__(self, in_dim: int, cfg: Config, vb):
        self.dense = linear_b(in_dim, cfg.hidden_size, True, vb.pp("dense"))
        self.LayerNorm = layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("LayerNorm"))
        self.dropout = cfg.hidden_dropout_prob

    def forward_t(self, x: Tensor, residual: Tensor, train: bool) -> Tensor:
        x = self.dense(x)
        if train:
            x = nn_ops.dropout(x, self.dropout)
        return self.LayerNorm(x + residual)


class BertLayer(Module):
    """One encoder layer: attention, then the feed-forward network, each post-norm."""

    def __init__(self, cfg: Config, vb):
        avb = vb.pp("attention")
        self.attention = BertSelfAttention(cfg, avb.pp("self"))
        self.attention_output = BertResidual(cfg.hidden_size, cfg, avb.pp("output"))
        self.intermediate = linear_b(
            cfg.hidden_size, cfg.intermediate_size, True, vb.pp("intermediate").pp("dense")
        )
        self.act = ACTIVATIONS[cfg.hidden_act]
        self.output = BertResidual(cfg.intermediate_size, cfg, vb.pp("output"))

    def forward_t(self, x: Tensor, mask: Tensor, train: bool) -> Tensor:
        x = self.attention_output.forward_t(self.attention.forward_t(x, mask, train), x, train)
        h = getattr(self.intermediate(x), self.act)()
        return self.output.forward_t(h, x, train)


def _weights_root(vb, cfg: Config):
    """``vb`` itself, or under ``bert.`` when the checkpoint is a task model's (BertForMaskedLM,
    sentence classifiers): Candle's fallback to the ``model_type`` prefix."""
    probe = "embeddings.word_embeddings.weight"
    prefixed = vb.pp(cfg.model_type)
    if not vb.contains_tensor(probe) and prefixed.contains_tensor(probe):
        return prefixed
    return vb


class BertModel(Module):
    """A BERT encoder: ``forward(input_ids, token_type_ids, attention_mask=None)`` -> the last
    hidden state ``(B, T, hidden)`` (the pooler is not loaded).

    >>> from wick.nn import VarBuilder
    >>> cfg = Config(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...              intermediate_size=16, max_position_embeddings=8)
    >>> ids = Tensor.new([[1, 2, 3]])
    >>> BertModel.load(VarBuilder.zeros(), cfg).forward(ids, ids.zeros_like()).shape
    [1, 3, 8]
    """

    def __init__(self, cfg: Config, vb):
        self.config = cfg
        root = _weights_root(vb, cfg)
        self.embeddings = BertEmbeddings(cfg, root.pp("embeddings"))
        layers = root.pp("encoder").pp("layer")
        self.layers = [BertLayer(cfg, layers.pp(i)) for i in range(cfg.num_hidden_layers)]
        self.embeddings_dropout = cfg.hidden_dropout_prob

    @classmethod
    def load(cls, vb, cfg: Config) -> BertModel:
        """Builds the model from ``vb`` (Candle's ``BertModel::load(vb, &cfg)``)."""
        return cls(cfg, vb)

    @property
    def dtype(self) -> DType:
        return self.embeddings.word_embeddings.embeddings().dtype

    @property
    def device(self) -> Device:
        return self.embeddings.word_embeddings.embeddings().device

    def forward(self, input_ids, token_type_ids=None, attention_mask=None) -> Tensor:
        """The last hidden state ``(B, T, hidden)``; ``token_type_ids`` default to zeros and
        ``attention_mask`` (1 for a token, 0 for padding) to all ones."""
        return self.forward_t(input_ids, token_type_ids, attention_mask, False)

    __call__ = forward

    def forward_t(self, input_ids, token_type_ids, attention_mask, train: bool) -> Tensor:
        """``forward``, with dropout (embeddings, attention, outputs) when ``train``."""
        input_ids, token_type_ids = self._check_ids(input_ids, token_type_ids)
        x = self.embeddings.forward(input_ids, token_type_ids)
        if train:
            x = nn_ops.dropout(x, self.embeddings_dropout)
        mask = None if attention_mask is None else self._additive_mask(attention_mask, input_ids)
        for layer in self.layers:
            x = layer.forward_t(x, mask, train)
        return x

    def _check_ids(self, input_ids, token_type_ids) -> tuple:
        cfg = self.config
        if not isinstance(input_ids, Tensor) or input_ids.rank() != 2 or input_ids.dtype.is_float():
            raise Msg(
                "bert forward: input_ids must be integer ids of shape (batch, seq_len), got "
                + _describe(input_ids)
            )
        b, t = input_ids.dims2()
        if t == 0:
            raise Msg("bert forward: input_ids has no tokens")
        if t > cfg.max_position_embeddings:
            raise Msg(
                f"bert forward: input_ids has {t} positions, more than max_position_embeddings "
                f"{cfg.max_position_embeddings} (truncate the input)"
            )
        if token_type_ids is None:
            return input_ids, input_ids.zeros_like()
        if not isinstance(token_type_ids, Tensor) or token_type_ids.dtype.is_float():
            raise Msg(
                f"bert forward: token_type_ids must be integer ids, got {_describe(token_type_ids)}"
            )
        if token_type_ids.shape != input_ids.shape:
            raise Msg(
                f"bert forward: token_type_ids {token_type_ids.shape} must have the shape of "
                f"input_ids {input_ids.shape}"
            )
        return input_ids, token_type_ids

    def _additive_mask(self, attention_mask, input_ids: Tensor) -> Tensor:
        """(B, T) of 1/0 -> (B, 1, 1, T) of 0 / dtype-min added to the attention scores."""
        if not isinstance(attention_mask, Tensor) or attention_mask.shape != input_ids.shape:
            raise Msg(
                f"bert forward: attention_mask {_describe(attention_mask)} must have the shape "
                f"of input_ids {input_ids.shape}"
            )
        dtype = self.dtype
        low = _FINFO_MIN.get(dtype, _FINFO_MIN[DType.F32])
        b, t = input_ids.dims2()
        # (1 - m) * low as one affine, m * -low + low; in f64 for f64, whose min f32 cannot hold
        work = DType.F64 if dtype == DType.F64 else DType.F32
        m = attention_mask.to_dtype(work).affine(-low, low).to_dtype(dtype)
        return m.reshape((b, 1, 1, t))

    def tensors(self) -> dict:
        """Every parameter by its Hugging Face name (``BertModel``'s, without a prefix)."""
        e = self.embeddings
        out = {
            "embeddings.word_embeddings.weight": e.word_embeddings.embeddings(),
            "embeddings.position_embeddings.weight": e.position_embeddings.embeddings(),
            "embeddings.token_type_embeddings.weight": e.token_type_embeddings.embeddings(),
            "embeddings.LayerNorm.weight": e.LayerNorm.weight(),
            "embeddings.LayerNorm.bias": e.LayerNorm.bias(),
        }
        for i, layer in enumerate(self.layers):
            p = f"encoder.layer.{i}."
            for name, mod in (
                ("attention.self.query", layer.attention.query),
                ("attention.self.key", layer.attention.key),
                ("attention.self.value", layer.attention.value),
                ("attention.output.dense", layer.attention_output.dense),
                ("attention.output.LayerNorm", layer.attention_output.LayerNorm),
                ("intermediate.dense", layer.intermediate),
                ("output.dense", layer.output.dense),
                ("output.LayerNorm", layer.output.LayerNorm),
            ):
                out[f"{p}{name}.weight"] = mod.weight()
                out[f"{p}{name}.bias"] = mod.bias()
        return out

    def __repr__(self) -> str:
        c = self.config
        return (
            f"bert.BertModel(vocab={c.vocab_size}, hidden={c.hidden_size}, "
            f"layers={c.num_hidden_layers}, heads={c.num_attention_heads}, "
            f"positions={c.max_position_embeddings}, act={c.hidden_act})"
        )


Model = BertModel  # the name from_pretrained looks up


def _describe(x) -> str:
    if isinstance(x, Tensor):
        return f"{x.shape} {x.dtype.as_str()}"
    return type(x).__name__


# ------------------------------------------------------------------------------------------------
# Sentence embeddings


def mean_pooling(hidden: Tensor, attention_mask=None) -> Tensor:
    """The mean of ``hidden`` (B, T, H) over the tokens where ``attention_mask`` (B, T) is 1.

    >>> h = Tensor.new([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> mean_pooling(h, Tensor.new([[1, 1, 0]])).to_vec2()
    [[2.0, 3.0]]
    """
    if hidden.rank() != 3:
        raise Msg(f"mean_pooling: hidden must be (batch, seq_len, hidden), got {hidden.shape}")
    if attention_mask is None:
        return hidden.mean(1)
    if not isinstance(attention_mask, Tensor) or attention_mask.shape != hidden.shape[:2]:
        raise Msg(
            f"mean_pooling: attention_mask {_describe(attention_mask)} must be (batch, seq_len) "
            f"of hidden {hidden.shape}"
        )
    m = attention_mask.to_dtype(hidden.dtype).unsqueeze(2)
    total = hidden.broadcast_mul(m).sum(1)
    count = m.sum(1).clamp(1e-9, float("inf"))  # sentence-transformers' clamp: no 0/0
    return total.broadcast_div(count)


def normalize_l2(x: Tensor) -> Tensor:
    """``x`` divided by its L2 norm over the last dim (a zero vector stays zero).

    >>> normalize_l2(Tensor.new([[3.0, 4.0]])).to_vec2()
    [[0.6, 0.8]]
    """
    norm = x.sqr().sum_keepdim(-1).sqrt().clamp(1e-12, float("inf"))  # torch's F.normalize eps
    return x.broadcast_div(norm)


def max_seq_length(folder, default: int | None = None) -> int | None:
    """The ``max_seq_length`` of a sentence-transformers folder (sentence_bert_config.json)."""
    path = os.path.join(os.fspath(folder), "sentence_bert_config.json")
    if not os.path.isfile(path):
        return default
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f).get("max_seq_length", default)
    except (OSError, ValueError, AttributeError) as exc:
        raise Msg(f"bert: cannot read {path}: {exc}") from None
    return default if value is None else int(value)


def tokenize(tokenizer, texts, max_length: int | None = None, device: Device = Device.Cpu):
    """``(input_ids, token_type_ids, attention_mask)`` U32 tensors of ``texts``, padded to the
    longest and truncated to ``max_length`` tokens (None: no truncation), as Hugging Face's
    ``tokenizer(texts, padding=True, truncation=True, max_length=...)``."""
    ids, types, mask = _pad(_encode(tokenizer, texts, max_length), _pad_id(tokenizer))
    return tuple(Tensor.new(a, device) for a in (ids, types, mask))


def _encode(tokenizer, texts, max_length):
    """Encodings of ``texts``, unpadded; the tokenizer's own settings are restored after."""
    if tokenizer is None:
        raise Msg("bert tokenize: no tokenizer (the checkpoint folder has no tokenizer.json)")
    if isinstance(texts, str):
        raise Msg("bert tokenize: texts must be a list of strings, got one string")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise Msg("bert tokenize: texts must be a non-empty list of strings")
    if max_length is not None:
        # tokenizers silently skips a truncation shorter than the special tokens
        specials = tokenizer.num_special_tokens_to_add(False)
        if int(max_length) < max(specials, 1):
            raise Msg(
                f"bert tokenize: max_length {max_length} leaves no room for the {specials} "
                "special tokens each text gets"
            )
    truncation, padding = tokenizer.truncation, tokenizer.padding
    try:
        tokenizer.no_padding()
        if max_length is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(int(max_length))
        return tokenizer.encode_batch(texts)
    except Exception as exc:  # tokenizers raises plain Exceptions
        raise Msg(f"bert tokenize: the tokenizer failed: {exc}") from None
    finally:
        if truncation is None:
            tokenizer.no_truncation()
        else:
            tokenizer.enable_truncation(**truncation)
        if padding is not None:
            tokenizer.enable_padding(**padding)


def _pad_id(tokenizer) -> int:
    padding = tokenizer.padding
    if padding is not None:
        return int(padding["pad_id"])
    pad = tokenizer.token_to_id("[PAD]")
    return 0 if pad is None else pad


def _pad(encodings, pad_id: int) -> tuple:
    t = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), t), pad_id, dtype=np.uint32)
    types = np.zeros((len(encodings), t), dtype=np.uint32)
    mask = np.zeros((len(encodings), t), dtype=np.uint32)
    for i, e in enumerate(encodings):
        n = len(e.ids)
        ids[i, :n], types[i, :n], mask[i, :n] = e.ids, e.type_ids, 1
    return ids, types, mask


def embed(
    model: BertModel,
    tokenizer,
    texts,
    *,
    max_length: int | None = None,
    batch_size: int = 32,
    normalize: bool = True,
) -> Tensor:
    """Sentence embeddings ``(len(texts), hidden)``: mean pooling over the tokens, L2-normalised
    (sentence-transformers' pipeline); ``max_length`` defaults to the model's positions.

    Texts are batched by length (less padding), the result is in the order of ``texts``."""
    if batch_size < 1:
        raise Msg(f"bert embed: batch_size must be at least 1, got {batch_size}")
    limit = model.config.max_position_embeddings if max_length is None else max_length
    encodings = _encode(tokenizer, texts, limit)
    pad_id = _pad_id(tokenizer)
    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    batches = []
    for start in range(0, len(order), batch_size):
        chunk = [encodings[i] for i in order[start : start + batch_size]]
        ids, types, mask = (Tensor.new(a, model.device) for a in _pad(chunk, pad_id))
        pooled = mean_pooling(model.forward(ids, types, mask), mask)
        batches.append(normalize_l2(pooled) if normalize else pooled)
    pooled = batches[0] if len(batches) == 1 else Tensor.cat(batches, 0)
    where = np.argsort(np.asarray(order)).astype(np.uint32)  # row of each text in ``pooled``
    return pooled.index_select(Tensor.new(where, model.device), 0)
