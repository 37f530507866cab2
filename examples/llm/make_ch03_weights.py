"""Writes ch03_weights.safetensors: the weights chapter 3 of the book draws from PyTorch's generator.

With them examples/llm/ch03.py prints the book's numbers. Needs torch (not wick's dependency);
run ``python examples/llm/make_ch03_weights.py`` to regenerate the committed file. Each group
repeats the book's seed and the order in which its classes create their parameters.
"""

import os
import tempfile

import torch
from safetensors.numpy import save_file

D_IN, D_OUT = 3, 2
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ch03_weights.safetensors")


def linears(prefix: str, n: int = 1) -> dict:
    """``n`` blocks of W_query, W_key, W_value = nn.Linear(3, 2, bias=False), created in order."""
    out = {}
    for i in range(n):
        head = f"{prefix}.heads.{i}" if n > 1 else prefix
        for name in ("W_query", "W_key", "W_value"):
            out[f"{head}.{name}.weight"] = torch.nn.Linear(D_IN, D_OUT, bias=False).weight
    return out


def main() -> None:
    tensors = {}
    torch.manual_seed(123)  # section 3.4.1 (and SelfAttention_v1, same seed, same order)
    for name in ("W_query", "W_key", "W_value"):
        tensors[f"sa_v1.{name}"] = torch.rand(D_IN, D_OUT)
    torch.manual_seed(789)  # SelfAttention_v2
    tensors.update(linears("sa_v2"))
    torch.manual_seed(123)  # CausalAttention (dropout and the mask buffer draw nothing)
    tensors.update(linears("ca"))
    torch.manual_seed(123)  # MultiHeadAttentionWrapper, two heads
    tensors.update(linears("mha_wrapper", 2))
    torch.manual_seed(123)  # MultiHeadAttention: the three projections, then out_proj
    tensors.update(linears("mha"))
    out_proj = torch.nn.Linear(D_OUT, D_OUT)
    tensors["mha.out_proj.weight"], tensors["mha.out_proj.bias"] = out_proj.weight, out_proj.bias
    arrays = {k: v.detach().numpy().copy() for k, v in tensors.items()}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(OUT), suffix=".tmp")
    os.close(fd)
    try:
        save_file(
            arrays, tmp, metadata={"source": "make_ch03_weights.py", "torch": torch.__version__}
        )
        os.chmod(tmp, 0o644)  # mkstemp creates files readable by the owner only
        os.replace(tmp, OUT)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"wrote {len(arrays)} tensors to {OUT}")


if __name__ == "__main__":
    main()
