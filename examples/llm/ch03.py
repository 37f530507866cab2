"""Chapter 3 of *Build a Large Language Model (From Scratch)*, "Coding attention mechanisms", in wick.

Run it with ``python examples/llm/ch03.py``. The book draws its weights from PyTorch's generator
(``torch.manual_seed(123)``); ``ch03_weights.safetensors``, written by ``make_ch03_weights.py``,
holds those same weights, loaded here by name as any PyTorch checkpoint is, so every number this
script prints is the book's, except dropout's pattern of zeros (wick's own seeded generator).
Tensors print in Candle's format (``Tensor[[6, 3], f32]``) where the book shows PyTorch's.
"""

import os

from wick import Device, DType, Tensor
from wick.nn import Dropout, Module, ModuleT, VarBuilder, linear, linear_b
from wick.nn.ops import sdpa, softmax
from wick.safetensors import load

WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ch03_weights.safetensors")


def section(title: str) -> None:
    print(f"\n## {title}")


class SelfAttentionV1(Module):
    """Section 3.4.2: the three projections as plain (d_in, d_out) matrices."""

    def __init__(self, d_in, d_out, vb):
        self.W_query = vb.get((d_in, d_out), "W_query")
        self.W_key = vb.get((d_in, d_out), "W_key")
        self.W_value = vb.get((d_in, d_out), "W_value")

    def forward(self, x):
        keys, queries, values = x @ self.W_key, x @ self.W_query, x @ self.W_value
        attn_scores = queries @ keys.t()
        attn_weights = softmax(attn_scores / keys.dim(-1) ** 0.5, -1)
        return attn_weights @ values


class SelfAttentionV2(Module):
    """The projections as linear layers (weights (d_out, d_in), PyTorch's and Candle's layout)."""

    def __init__(self, d_in, d_out, vb, qkv_bias=False):
        self.W_query = linear_b(d_in, d_out, qkv_bias, vb.pp("W_query"))
        self.W_key = linear_b(d_in, d_out, qkv_bias, vb.pp("W_key"))
        self.W_value = linear_b(d_in, d_out, qkv_bias, vb.pp("W_value"))

    def forward(self, x):
        keys, queries, values = self.W_key(x), self.W_query(x), self.W_value(x)
        attn_weights = softmax(queries @ keys.t() / keys.dim(-1) ** 0.5, -1)
        return attn_weights @ values


class CausalAttention(ModuleT):
    """Section 3.5.3, step by step: scores, the causal mask as -inf, softmax, dropout."""

    def __init__(self, d_in, d_out, context_length, dropout, vb, qkv_bias=False):
        self.W_query = linear_b(d_in, d_out, qkv_bias, vb.pp("W_query"))
        self.W_key = linear_b(d_in, d_out, qkv_bias, vb.pp("W_key"))
        self.W_value = linear_b(d_in, d_out, qkv_bias, vb.pp("W_value"))
        self.dropout = Dropout(dropout)
        self.mask = Tensor.triu2(context_length, DType.U8).sub(Tensor.eye(context_length, DType.U8))

    def forward_t(self, x, train):
        b, num_tokens, _ = x.dims3()
        keys, queries, values = self.W_key(x), self.W_query(x), self.W_value(x)
        attn_scores = queries @ keys.transpose(1, 2)
        future = self.mask.narrow(0, 0, num_tokens).narrow(1, 0, num_tokens)
        minus_inf = Tensor.full(float("-inf"), attn_scores.shape, x.device).to_dtype(x.dtype)
        attn_scores = future.broadcast_as(attn_scores.shape).where_cond(minus_inf, attn_scores)
        attn_weights = softmax(attn_scores / keys.dim(-1) ** 0.5, -1)
        attn_weights = self.dropout.forward_t(attn_weights, train)
        return attn_weights @ values


class MultiHeadAttentionWrapper(ModuleT):
    """Section 3.6.1: several causal heads side by side, concatenated."""

    def __init__(self, d_in, d_out, context_length, dropout, num_heads, vb, qkv_bias=False):
        self.heads = [
            CausalAttention(d_in, d_out, context_length, dropout, vb.pp(f"heads.{i}"), qkv_bias)
            for i in range(num_heads)
        ]

    def forward_t(self, x, train):
        return Tensor.cat([head.forward_t(x, train) for head in self.heads], -1)


class MultiHeadAttention(ModuleT):
    """Section 3.6.2: one projection split into heads; attention by the fused ``sdpa``."""

    def __init__(self, d_in, d_out, context_length, dropout, num_heads, vb, qkv_bias=False):
        if d_out % num_heads:
            raise ValueError(f"d_out ({d_out}) must be divisible by num_heads ({num_heads})")
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.context_length, self.dropout = context_length, dropout
        self.W_query = linear_b(d_in, d_out, qkv_bias, vb.pp("W_query"))
        self.W_key = linear_b(d_in, d_out, qkv_bias, vb.pp("W_key"))
        self.W_value = linear_b(d_in, d_out, qkv_bias, vb.pp("W_value"))
        self.out_proj = linear(d_out, d_out, vb.pp("out_proj"))

    def forward_t(self, x, train):
        b, num_tokens, _ = x.dims3()
        heads = (b, num_tokens, self.num_heads, self.head_dim)
        # (b, tokens, d_out) -> (b, heads, tokens, head_dim)
        queries = self.W_query(x).reshape(heads).transpose(1, 2)
        keys = self.W_key(x).reshape(heads).transpose(1, 2)
        values = self.W_value(x).reshape(heads).transpose(1, 2)
        # softmax(q k^T / sqrt(head_dim), causal) v, with dropout on the weights in training.
        context = sdpa(queries, keys, values, is_causal=True,
                       dropout_p=self.dropout if train else 0.0)  # fmt: skip
        context = context.transpose(1, 2).reshape((b, num_tokens, self.d_out))
        return self.out_proj(context)


def main():
    weights = VarBuilder.from_tensors(load(WEIGHTS), DType.F32)

    section("3.3.1 A simple self-attention mechanism without trainable weights")
    inputs = Tensor.new(
        [[0.43, 0.15, 0.89],  # Your     (x^1)
         [0.55, 0.87, 0.66],  # journey  (x^2)
         [0.57, 0.85, 0.64],  # starts   (x^3)
         [0.22, 0.58, 0.33],  # with     (x^4)
         [0.77, 0.25, 0.10],  # one      (x^5)
         [0.05, 0.80, 0.55]]  # step     (x^6)
    ).to_dtype(DType.F32)  # fmt: skip
    query = inputs.get(1)  # 2nd input token is the query
    attn_scores_2 = Tensor.stack([inputs.get(i).dot(query) for i in range(len(inputs))], 0)
    print(attn_scores_2)
    res = sum(float(inputs.get(0).get(i)) * float(query.get(i)) for i in range(3))
    print(f"{res:.4f}")
    print(inputs.get(0).dot(query))
    attn_weights_2_tmp = attn_scores_2 / attn_scores_2.sum_all()
    print("Attention weights:", attn_weights_2_tmp)
    print("Sum:", attn_weights_2_tmp.sum_all())

    def softmax_naive(x):
        return x.exp() / x.exp().sum_all()

    attn_weights_2_naive = softmax_naive(attn_scores_2)
    print("Attention weights:", attn_weights_2_naive)
    print("Sum:", attn_weights_2_naive.sum_all())
    attn_weights_2 = softmax(attn_scores_2, 0)
    print("Attention weights:", attn_weights_2)
    print("Sum:", attn_weights_2.sum_all())
    context_vec_2 = Tensor.zeros(query.shape, DType.F32)
    for i in range(len(inputs)):
        context_vec_2 = context_vec_2 + attn_weights_2.get(i) * inputs.get(i)
    print(context_vec_2)

    section("3.3.2 Computing attention weights for all input tokens")
    rows = [[float(inputs.get(i).dot(inputs.get(j))) for j in range(6)] for i in range(6)]
    print(Tensor.new(rows).to_dtype(DType.F32))
    attn_scores = inputs @ inputs.t()
    print(attn_scores)
    attn_weights = softmax(attn_scores, -1)
    print(attn_weights)
    print("Row 2 sum:", round(sum([0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581]), 4))
    print("All row sums:", attn_weights.sum(-1))
    all_context_vecs = attn_weights @ inputs
    print(all_context_vecs)
    print("Previous 2nd context vector:", context_vec_2)

    section("3.4.1 Computing the attention weights step by step")
    x_2 = inputs.get(1)
    d_in, d_out = inputs.dim(1), 2
    vb = weights.pp("sa_v1")
    W_query, W_key, W_value = (vb.get((d_in, d_out), n) for n in ("W_query", "W_key", "W_value"))
    query_2 = x_2.unsqueeze(0) @ W_query
    print(query_2.squeeze(0))
    keys = inputs @ W_key
    values = inputs @ W_value
    print("keys.shape:", keys.shape)
    print("values.shape:", values.shape)
    keys_2 = keys.get(1)
    attn_score_22 = query_2.squeeze(0).dot(keys_2)
    print(attn_score_22)
    attn_scores_2 = (query_2 @ keys.t()).squeeze(0)
    print(attn_scores_2)
    d_k = keys.dim(1)
    attn_weights_2 = softmax(attn_scores_2 / d_k**0.5, -1)
    print(attn_weights_2)
    context_vec_2 = attn_weights_2.unsqueeze(0) @ values
    print(context_vec_2.squeeze(0))

    section("3.4.2 Implementing a compact self-attention class")
    sa_v1 = SelfAttentionV1(d_in, d_out, weights.pp("sa_v1"))
    print(sa_v1(inputs))
    sa_v2 = SelfAttentionV2(d_in, d_out, weights.pp("sa_v2"))
    print(sa_v2(inputs))

    section("3.5.1 Applying a causal attention mask")
    queries = sa_v2.W_query(inputs)
    keys = sa_v2.W_key(inputs)
    attn_scores = queries @ keys.t()
    attn_weights = softmax(attn_scores / keys.dim(-1) ** 0.5, -1)
    print(attn_weights)
    context_length = attn_scores.dim(0)
    mask_simple = Tensor.tril2(context_length, DType.F32)
    print(mask_simple)
    masked_simple = attn_weights * mask_simple
    print(masked_simple)
    row_sums = masked_simple.sum_keepdim(-1)
    masked_simple_norm = masked_simple.broadcast_div(row_sums)
    print(masked_simple_norm)
    future = Tensor.triu2(context_length, DType.U8).sub(Tensor.eye(context_length, DType.U8))
    minus_inf = Tensor.full(float("-inf"), attn_scores.shape).to_dtype(DType.F32)
    masked = future.where_cond(minus_inf, attn_scores)
    print(masked)
    attn_weights = softmax(masked / keys.dim(-1) ** 0.5, -1)
    print(attn_weights)

    section("3.5.2 Masking additional attention weights with dropout")
    Device.Cpu.set_seed(123)
    dropout = Dropout(0.5)  # dropout rate of 50%
    example = Tensor.ones((6, 6), DType.F32)
    print(dropout.forward_t(example, True))  # kept entries are scaled by 1 / (1 - 0.5) = 2
    print(dropout.forward_t(attn_weights, True))

    section("3.5.3 Implementing a compact causal attention class")
    batch = Tensor.stack([inputs, inputs], 0)
    print(batch.shape)  # 2 inputs with 6 tokens each, and each token has embedding dimension 3
    context_length = batch.dim(1)
    ca = CausalAttention(d_in, d_out, context_length, 0.0, weights.pp("ca"))
    context_vecs = ca(batch)
    print(context_vecs)
    print("context_vecs.shape:", context_vecs.shape)

    section("3.6.1 Stacking multiple single-head attention layers")
    mha = MultiHeadAttentionWrapper(
        d_in, d_out, context_length, 0.0, num_heads=2, vb=weights.pp("mha_wrapper")
    )
    context_vecs = mha(batch)
    print(context_vecs)
    print("context_vecs.shape:", context_vecs.shape)

    section("3.6.2 Implementing multi-head attention with weight splits")
    mha = MultiHeadAttention(d_in, d_out, context_length, 0.0, num_heads=2, vb=weights.pp("mha"))
    context_vecs = mha(batch)
    print(context_vecs)
    print("context_vecs.shape:", context_vecs.shape)
    # (b, num_heads, num_tokens, head_dim) = (1, 2, 3, 4)
    a = Tensor.new(
        [[[[0.2745, 0.6584, 0.2775, 0.8573],
           [0.8993, 0.0390, 0.9268, 0.7388],
           [0.7179, 0.7058, 0.9156, 0.4340]],
          [[0.0772, 0.3565, 0.1479, 0.5331],
           [0.4066, 0.2318, 0.4545, 0.9737],
           [0.4606, 0.5159, 0.4220, 0.5786]]]]
    ).to_dtype(DType.F32)  # fmt: skip
    print(a @ a.transpose(2, 3))
    first_head = a.get(0).get(0)
    print("First head:\n", first_head @ first_head.t())
    second_head = a.get(0).get(1)
    print("\nSecond head:\n", second_head @ second_head.t())


if __name__ == "__main__":
    main()
