"""Chapter 5 of *Build a Large Language Model (From Scratch)*, "Pretraining on unlabeled data", in
wick: the book's GPTModel (chapter 4) trained on "The Verdict" with the book's recipe.

``python examples/llm/ch05.py`` runs the book's settings: GPT_CONFIG_124M at context 256, a
90/10 split by characters, batch 2, stride 256, AdamW lr 4e-4 with weight decay 0.1, 10 epochs,
evaluation every 5 steps on 5 batches, a greedy sample after each epoch, then generation with
temperature 1.4 and top-k 25 (about 20 minutes on a laptop CPU, as the book's). Flags make it
smaller (``--emb-dim 32 --layers 1 --heads 2 --context 32 --epochs 1`` takes seconds).
What the book prints that does not depend on random numbers is printed the same: the counts of
characters and tokens, the loaders' shapes, the temperature and top-k examples of section 5.3.
The losses follow the book's course (from about 10 to below 1 for training, about 6.4 for
validation); their digits differ, the weights being wick's own random draws.
"""

from __future__ import annotations

import argparse
import math
import time

from ch04 import GPT_CONFIG_124M, build, generate_text_simple

from wick import Device, DType, Tensor
from wick.data import DataLoader
from wick.datasets import the_verdict
from wick.nn import AdamW, ParamsAdamW
from wick.nn.loss import cross_entropy
from wick.nn.ops import softmax
from wick.text import TokenDataset, gpt2_tokenizer


def text_to_token_ids(text, tokenizer):
    return Tensor.new([tokenizer.encode(text).ids], dtype=DType.U32)  # (1, tokens)


def token_ids_to_text(token_ids, tokenizer):
    return tokenizer.decode(token_ids.to_vec2()[0])


def create_dataloader_v1(tokenizer, text, batch_size, max_length, stride, shuffle, drop_last):
    dataset = TokenDataset(tokenizer.encode(text).ids, max_length, stride)
    return DataLoader(dataset, batch_size, shuffle=shuffle, drop_last=drop_last)


def calc_loss_batch(input_batch, target_batch, model, train=False):
    logits = model.forward_t(input_batch, train)
    return cross_entropy(logits.flatten(0, 1), target_batch.flatten_all())


def calc_loss_loader(data_loader, model, num_batches=None):
    if len(data_loader) == 0:
        return float("nan")
    num_batches = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    total = 0.0
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i >= num_batches:
            break
        total += calc_loss_batch(input_batch, target_batch, model).to_scalar()
    return total / num_batches


def evaluate_model(model, train_loader, val_loader, eval_iter):
    # Evaluation runs without dropout and, wick recording no graph for plain tensors' ops
    # unless a Var is involved, nothing is kept for a backward pass that never comes.
    train_loss = calc_loss_loader(train_loader, model, num_batches=eval_iter)
    val_loss = calc_loss_loader(val_loader, model, num_batches=eval_iter)
    return train_loss, val_loss


def generate_and_print_sample(model, tokenizer, start_context, context_size):
    encoded = text_to_token_ids(start_context, tokenizer)
    token_ids = generate_text_simple(model, encoded, 50, context_size)
    print(token_ids_to_text(token_ids, tokenizer).replace("\n", " "))


def train_model_simple(model, train_loader, val_loader, optimizer, num_epochs, eval_freq,
                       eval_iter, start_context, tokenizer, context_size):  # fmt: skip
    """Section 5.2: the book's training loop."""
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1
    for epoch in range(num_epochs):
        for input_batch, target_batch in train_loader:
            loss = calc_loss_batch(input_batch, target_batch, model, train=True)
            optimizer.backward_step(loss)  # backward, then the AdamW step
            tokens_seen += input_batch.elem_count()
            global_step += 1
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                print(
                    f"Ep {epoch + 1} (Step {global_step:06d}): "
                    f"Train loss {train_loss:.3f}, Val loss {val_loss:.3f}"
                )
        generate_and_print_sample(model, tokenizer, start_context, context_size)
    return train_losses, val_losses, track_tokens_seen


def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    """Section 5.3.3: generate_text_simple with top-k filtering and temperature sampling."""
    for _ in range(max_new_tokens):
        start = max(0, idx.dim(1) - context_size)
        logits = model(idx.narrow(1, start, idx.dim(1) - start))
        logits = logits.get_on_dim(1, logits.dim(1) - 1)
        if top_k is not None:
            top_logits, _ = logits.sort_last_dim(False)
            min_val = top_logits.narrow(1, top_k - 1, 1)
            neg_inf = Tensor.full(float("-inf"), logits.shape).to_dtype(logits.dtype)
            logits = logits.broadcast_lt(min_val).where_cond(neg_inf, logits)
        if temperature > 0.0:
            probs = softmax(logits / temperature, -1).to_dtype(DType.F64).numpy()
            draws = [Device.Cpu.rng.choice(p.size, p=p / p.sum()) for p in probs]  # multinomial
            idx_next = Tensor.new([[int(d)] for d in draws], dtype=idx.dtype)
        else:
            idx_next = logits.argmax_keepdim(-1).to_dtype(idx.dtype)
        if eos_id is not None and idx_next.to_vec2()[0][0] == eos_id:
            break
        idx = Tensor.cat([idx, idx_next], 1)
    return idx


def decoding_examples():
    """Section 5.3.1 and 5.3.2 on the book's toy vocabulary: all deterministic values."""
    vocab = {"closer": 0, "every": 1, "effort": 2, "forward": 3, "inches": 4, "moves": 5,
             "pizza": 6, "toward": 7, "you": 8}  # fmt: skip
    inverse_vocab = {v: k for k, v in vocab.items()}
    next_token_logits = Tensor.new([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])
    next_token_logits = next_token_logits.to_dtype(DType.F32)
    probas = softmax(next_token_logits, 0)
    print(inverse_vocab[probas.argmax(0).to_scalar()])
    for t in (1, 0.1, 5):
        scaled = softmax(next_token_logits / t, 0)
        print(f"temperature {t}:", [round(p, 4) for p in scaled.to_vec1()])
    top_logits, top_pos = next_token_logits.sort_last_dim(False)
    print("Top logits:", top_logits.narrow(0, 0, 3))
    print("Top positions:", top_pos.narrow(0, 0, 3))
    neg_inf = Tensor.full(float("-inf"), next_token_logits.shape).to_dtype(DType.F32)
    new_logits = next_token_logits.lt(top_logits.get(2).to_scalar()).where_cond(
        neg_inf, next_token_logits
    )
    print(new_logits)
    print(softmax(new_logits, 0))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--emb-dim", type=int, default=GPT_CONFIG_124M["emb_dim"])
    p.add_argument("--layers", type=int, default=GPT_CONFIG_124M["n_layers"])
    p.add_argument("--heads", type=int, default=GPT_CONFIG_124M["n_heads"])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--eval-freq", type=int, default=5)
    p.add_argument("--eval-iter", type=int, default=5)
    args = p.parse_args(argv)
    cfg = {**GPT_CONFIG_124M, "context_length": args.context, "emb_dim": args.emb_dim,
           "n_layers": args.layers, "n_heads": args.heads}  # fmt: skip
    tokenizer = gpt2_tokenizer()

    print("## 5.1.1 Using GPT to generate text")
    model, varmap = build(cfg, seed=123)
    token_ids = generate_text_simple(
        model, text_to_token_ids("Every effort moves you", tokenizer), 10, cfg["context_length"]
    )
    print("Output text:\n", token_ids_to_text(token_ids, tokenizer))

    print("\n## 5.1.3 Calculating the training and validation set losses")
    text_data = the_verdict()
    print("Characters:", len(text_data))
    print("Tokens:", len(tokenizer.encode(text_data).ids))
    train_ratio = 0.90
    split_idx = int(train_ratio * len(text_data))
    train_data, val_data = text_data[:split_idx], text_data[split_idx:]
    Device.Cpu.set_seed(123)
    ctx = cfg["context_length"]
    train_loader = create_dataloader_v1(tokenizer, train_data, args.batch, ctx, ctx, True, True)
    val_loader = create_dataloader_v1(tokenizer, val_data, args.batch, ctx, ctx, False, False)
    print("Train loader:")
    train_tokens = 0
    for x, y in train_loader:
        print(x.shape, y.shape)
        train_tokens += x.elem_count()
    print("\nValidation loader:")
    val_tokens = 0
    for x, y in val_loader:
        print(x.shape, y.shape)
        val_tokens += x.elem_count()
    print("Training tokens:", train_tokens)
    print("Validation tokens:", val_tokens)
    print("All tokens:", train_tokens + val_tokens)
    print("Training loss:", calc_loss_loader(train_loader, model))
    print("Validation loss:", calc_loss_loader(val_loader, model))

    print("\n## 5.2 Training an LLM")
    optimizer = AdamW(varmap.all_vars(), ParamsAdamW(lr=args.lr, weight_decay=0.1))
    start = time.perf_counter()
    train_losses, val_losses, _ = train_model_simple(
        model, train_loader, val_loader, optimizer, args.epochs, args.eval_freq, args.eval_iter,
        "Every effort moves you", tokenizer, ctx,
    )  # fmt: skip
    minutes = (time.perf_counter() - start) / 60
    print(f"Training completed in {minutes:.2f} minutes.")

    print("\n## 5.3 Decoding strategies to control randomness")
    decoding_examples()
    Device.Cpu.set_seed(123)
    token_ids = generate(
        model, text_to_token_ids("Every effort moves you", tokenizer), 15, ctx,
        temperature=1.4, top_k=25,
    )  # fmt: skip
    print("Output text:\n", token_ids_to_text(token_ids, tokenizer))
    finite = [v for v in train_losses if math.isfinite(v)]
    return {"train_losses": finite, "val_losses": val_losses}


if __name__ == "__main__":
    main()
