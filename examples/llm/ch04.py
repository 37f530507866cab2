"""Chapter 4 of *Build a Large Language Model (From Scratch)*, "Implementing a GPT model from
scratch to generate text", in wick.

Run it with ``python examples/llm/ch04.py``. It builds the book's ``GPTModel`` for
GPT_CONFIG_124M and prints what the book prints where the values do not depend on random
weights: token ids, shapes, 163,009,536 parameters (124,412,160 with the output head tied to the
token embedding), the model's size in MB. The weights are random, so the generated tokens differ
from the book's (as they differ from run to run of the book's own notebook without its seed).
``wick.models.gpt2`` is the same architecture with Hugging Face's parameter names.
"""

from __future__ import annotations

from ch03 import MultiHeadAttention

from wick import Device, DType, Tensor
from wick.nn import Dropout, Module, ModuleT, VarBuilder, VarMap, embedding, linear, linear_b
from wick.nn.init import ONE, ZERO
from wick.nn.ops import layer_norm, softmax
from wick.text import gpt2_tokenizer

GPT_CONFIG_124M = {
    "vocab_size": 50257,  # vocabulary size
    "context_length": 1024,  # context length
    "emb_dim": 768,  # embedding dimension
    "n_heads": 12,  # number of attention heads
    "n_layers": 12,  # number of layers
    "drop_rate": 0.1,  # dropout rate
    "qkv_bias": False,  # query-key-value bias
}


class LayerNorm(Module):
    """Section 4.2: normalise the last dim (biased variance), then ``* scale + shift``."""

    def __init__(self, emb_dim, vb, eps=1e-5):
        self.eps = eps
        self.scale = vb.get_with_hints(emb_dim, "scale", ONE)
        self.shift = vb.get_with_hints(emb_dim, "shift", ZERO)

    def forward(self, x):
        return layer_norm(x, self.scale, self.shift, self.eps)  # fused, with its own backward


class GELU(Module):
    """Section 4.3: GELU's tanh approximation (``Tensor.gelu``, fused)."""

    def forward(self, x):
        return x.gelu()


class FeedForward(Module):
    """Linear (emb -> 4 emb), GELU, Linear (4 emb -> emb); names as the book's ``layers.0/2``."""

    def __init__(self, cfg, vb):
        d = cfg["emb_dim"]
        self.layers = [
            linear(d, 4 * d, vb.pp("layers.0")),
            GELU(),
            linear(4 * d, d, vb.pp("layers.2")),
        ]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TransformerBlock(ModuleT):
    """Section 4.5: pre-norm attention and feed-forward, each with dropout and a shortcut."""

    def __init__(self, cfg, vb):
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"],
            d_out=cfg["emb_dim"],
            context_length=cfg["context_length"],
            dropout=cfg["drop_rate"],
            num_heads=cfg["n_heads"],
            vb=vb.pp("att"),
            qkv_bias=cfg["qkv_bias"],
        )
        self.ff = FeedForward(cfg, vb.pp("ff"))
        self.norm1 = LayerNorm(cfg["emb_dim"], vb.pp("norm1"))
        self.norm2 = LayerNorm(cfg["emb_dim"], vb.pp("norm2"))
        self.drop_shortcut = Dropout(cfg["drop_rate"])

    def forward_t(self, x, train):
        shortcut = x
        x = self.att.forward_t(self.norm1(x), train)
        x = self.drop_shortcut.forward_t(x, train) + shortcut
        shortcut = x
        x = self.ff(self.norm2(x))
        return self.drop_shortcut.forward_t(x, train) + shortcut


class GPTModel(ModuleT):
    """Section 4.6: token + position embeddings, the blocks, a final norm, the output head."""

    def __init__(self, cfg, vb):
        self.tok_emb = embedding(cfg["vocab_size"], cfg["emb_dim"], vb.pp("tok_emb"))
        self.pos_emb = embedding(cfg["context_length"], cfg["emb_dim"], vb.pp("pos_emb"))
        self.drop_emb = Dropout(cfg["drop_rate"])
        self.trf_blocks = [
            TransformerBlock(cfg, vb.pp(f"trf_blocks.{i}")) for i in range(cfg["n_layers"])
        ]
        self.final_norm = LayerNorm(cfg["emb_dim"], vb.pp("final_norm"))
        self.out_head = linear_b(cfg["emb_dim"], cfg["vocab_size"], False, vb.pp("out_head"))

    def forward_t(self, in_idx, train):
        _, seq_len = in_idx.dims2()
        tok_embeds = self.tok_emb(in_idx)
        pos_embeds = self.pos_emb.embeddings().narrow(0, 0, seq_len)  # rows 0..seq_len
        x = self.drop_emb.forward_t(tok_embeds + pos_embeds, train)
        for block in self.trf_blocks:
            x = block.forward_t(x, train)
        return self.out_head(self.final_norm(x))


def generate_text_simple(model, idx, max_new_tokens, context_size):
    """Section 4.7: greedy decoding, the context cropped to the last ``context_size`` ids."""
    for _ in range(max_new_tokens):
        idx_cond = idx.narrow(1, max(0, idx.dim(1) - context_size), min(idx.dim(1), context_size))
        logits = model(idx_cond)  # eval: no dropout
        logits = logits.get_on_dim(1, logits.dim(1) - 1)  # (batch, vocab): the last position
        probas = softmax(logits, -1)
        idx_next = probas.argmax_keepdim(-1).to_dtype(idx.dtype)  # (batch, 1)
        idx = Tensor.cat([idx, idx_next], 1)
    return idx


def init_like_pytorch(varmap):
    """PyTorch's default initialisation, the book's: each ``nn.Linear`` weight and bias uniform in
    +-1/sqrt(fan_in) (wick's ``linear`` draws Candle's Kaiming normal, about 2.4 times wider,
    which starts the losses higher than the book's); embeddings N(0, 1) as wick's already are."""
    data = varmap.data()
    for name, var in data.items():
        layer, _, kind = name.rpartition(".")
        weight = data.get(f"{layer}.weight")
        if kind not in ("weight", "bias") or "emb" in layer or weight is None or weight.rank() != 2:
            continue
        bound = 1.0 / weight.dim(1) ** 0.5
        var.set(Tensor.rand(-bound, bound, var.shape, var.device, var.dtype))


def build(cfg, seed=123, device=Device.Cpu):
    """A GPTModel on a fresh VarMap, its random weights drawn from ``seed`` (PyTorch's init)."""
    device.set_seed(seed)
    varmap = VarMap()
    model = GPTModel(cfg, VarBuilder.from_varmap(varmap, DType.F32, device))
    init_like_pytorch(varmap)
    return model, varmap


def main():
    tokenizer = gpt2_tokenizer()
    print("## 4.1 Coding an LLM architecture")
    batch = Tensor.stack(
        [Tensor.new(tokenizer.encode(t).ids, dtype=DType.U32) for t in ("Every effort moves you", "Every day holds a")],
        0,
    )  # fmt: skip
    print(batch)

    print("\n## 4.6 Coding the GPT model")
    model, varmap = build(GPT_CONFIG_124M)
    out = model(batch)
    print("Input batch:\n", batch, sep="")
    print("\nOutput shape:", out.shape)
    total_params = sum(v.elem_count() for v in varmap.all_vars())
    print(f"Total number of parameters: {total_params:,}")
    print("Token embedding layer shape:", model.tok_emb.embeddings().shape)
    print("Output layer shape:", model.out_head.weight().shape)
    tied = total_params - model.out_head.weight().elem_count()
    print(f"Number of trainable parameters considering weight tying: {tied:,}")
    total_size_mb = total_params * DType.F32.size_in_bytes() / (1024 * 1024)
    print(f"Total size of the model: {total_size_mb:.2f} MB")

    print("\n## 4.7 Generating text")
    start_context = "Hello, I am"
    encoded = tokenizer.encode(start_context).ids
    print("encoded:", encoded)
    encoded_tensor = Tensor.new([encoded], dtype=DType.U32)
    print("encoded_tensor.shape:", encoded_tensor.shape)
    out = generate_text_simple(model, encoded_tensor, 6, GPT_CONFIG_124M["context_length"])
    print("Output:", out.to_vec2())
    print("Output length:", len(out.to_vec2()[0]))
    print(tokenizer.decode(out.to_vec2()[0]))


if __name__ == "__main__":
    main()
