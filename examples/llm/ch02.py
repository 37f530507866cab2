"""Chapter 2 of *Build a Large Language Model (From Scratch)*, "Working with text data", in wick.

Run it with ``python examples/llm/ch02.py`` (needs ``pip install 'wick[text]'``). It prints what
the book prints, except the embedding weights, which come from random initialisation (the book's
from ``torch.manual_seed(123)``, wick's from ``Device.Cpu.set_seed``). Tensors print in Candle's
format (``Tensor[[8, 4], u32]``) where the book shows PyTorch's (``torch.Size([8, 4])``).
"""

import re

from wick import Device, DType, Tensor
from wick.data import DataLoader
from wick.datasets import the_verdict
from wick.nn import VarBuilder, VarMap, embedding
from wick.text import TokenDataset, gpt2_tokenizer


def section(title: str) -> None:
    print(f"\n## {title}")


# The book's split: punctuation, double dashes and whitespace are tokens of their own.
SPLIT = r'([,.:;?_!"()\']|--|\s)'


class SimpleTokenizerV1:
    """A word-level tokenizer over a fixed vocabulary (section 2.3)."""

    def __init__(self, vocab):
        self.str_to_int = vocab
        self.int_to_str = {i: s for s, i in vocab.items()}

    def encode(self, text):
        pieces = [item.strip() for item in re.split(SPLIT, text) if item.strip()]
        return [self.str_to_int[s] for s in pieces]

    def decode(self, ids):
        text = " ".join(self.int_to_str[i] for i in ids)
        return re.sub(r'\s+([,.?!"()\'])', r"\1", text)  # no space before punctuation


class SimpleTokenizerV2(SimpleTokenizerV1):
    """Unknown words become ``<|unk|>`` (section 2.4)."""

    def encode(self, text):
        pieces = [item.strip() for item in re.split(SPLIT, text) if item.strip()]
        pieces = [p if p in self.str_to_int else "<|unk|>" for p in pieces]
        return [self.str_to_int[s] for s in pieces]

    def decode(self, ids):
        text = " ".join(self.int_to_str[i] for i in ids)
        return re.sub(r'\s+([,.:;?!"()\'])', r"\1", text)


def create_dataloader_v1(txt, batch_size=4, max_length=256, stride=128, shuffle=True,
                         drop_last=True, seed=None):  # fmt: skip
    """The book's ``create_dataloader_v1``: GPT-2 ids, sliding windows, a DataLoader."""
    ids = gpt2_tokenizer().encode(txt).ids
    dataset = TokenDataset(ids, max_length, stride)
    return DataLoader(dataset, batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)


def main():
    section("2.2 Tokenizing text")
    raw_text = the_verdict()
    print("Total number of character:", len(raw_text))
    print(raw_text[:99])

    text = "Hello, world. This, is a test."
    result = re.split(r"(\s)", text)
    print(result)
    result = re.split(r"([,.]|\s)", text)
    print(result)
    result = [item for item in result if item.strip()]
    print(result)
    text = "Hello, world. Is this-- a test?"
    result = [item.strip() for item in re.split(SPLIT, text) if item.strip()]
    print(result)
    preprocessed = [item.strip() for item in re.split(SPLIT, raw_text) if item.strip()]
    print(preprocessed[:30])
    print(len(preprocessed))

    section("2.3 Converting tokens into token IDs")
    all_words = sorted(set(preprocessed))
    print(len(all_words))
    vocab = {token: integer for integer, token in enumerate(all_words)}
    for i, item in enumerate(vocab.items()):
        print(item)
        if i >= 50:
            break
    tokenizer = SimpleTokenizerV1(vocab)
    text = """"It's the last he painted, you know,"
           Mrs. Gisburn said with pardonable pride."""
    ids = tokenizer.encode(text)
    print(ids)
    print(tokenizer.decode(ids))

    section("2.4 Adding special context tokens")
    all_tokens = sorted(set(preprocessed)) + ["<|endoftext|>", "<|unk|>"]
    vocab = {token: integer for integer, token in enumerate(all_tokens)}
    print(len(vocab.items()))
    for item in list(vocab.items())[-5:]:
        print(item)
    tokenizer = SimpleTokenizerV2(vocab)
    text = " <|endoftext|> ".join(
        ("Hello, do you like tea?", "In the sunlit terraces of the palace.")
    )
    print(text)
    print(tokenizer.encode(text))
    print(tokenizer.decode(tokenizer.encode(text)))

    section("2.5 Byte pair encoding")
    tokenizer = gpt2_tokenizer()
    text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."
    integers = tokenizer.encode(text).ids
    print(integers)
    # Hugging Face's tokenizers skip special tokens when decoding unless told not to.
    print(tokenizer.decode(integers, skip_special_tokens=False))

    section("2.6 Data sampling with a sliding window")
    enc_text = tokenizer.encode(raw_text).ids
    print(len(enc_text))
    enc_sample = enc_text[50:]
    context_size = 4
    x = enc_sample[:context_size]
    y = enc_sample[1 : context_size + 1]
    print(f"x: {x}")
    print(f"y:      {y}")
    for i in range(1, context_size + 1):
        print(enc_sample[:i], "---->", enc_sample[i])
    for i in range(1, context_size + 1):
        print(tokenizer.decode(enc_sample[:i]), "---->", tokenizer.decode([enc_sample[i]]))

    dataloader = create_dataloader_v1(raw_text, batch_size=1, max_length=4, stride=1, shuffle=False)
    data_iter = iter(dataloader)
    first_batch = next(data_iter)
    print([b.to_vec2() for b in first_batch])
    second_batch = next(data_iter)
    print([b.to_vec2() for b in second_batch])

    dataloader = create_dataloader_v1(raw_text, batch_size=8, max_length=4, stride=4, shuffle=False)
    inputs, targets = next(iter(dataloader))
    print("Inputs:\n", inputs)
    print("\nTargets:\n", targets)

    section("2.7 Creating token embeddings")
    Device.Cpu.set_seed(123)
    input_ids = Tensor.new([2, 3, 5, 1], dtype=DType.U32)
    vocab_size, output_dim = 6, 3
    varmap = VarMap()
    embedding_layer = embedding(vocab_size, output_dim, VarBuilder.from_varmap(varmap))
    print(embedding_layer.embeddings())  # random: the book's values come from torch's generator
    print(embedding_layer(Tensor.new([3], dtype=DType.U32)))  # row 3 of the weights
    print(embedding_layer(input_ids))  # rows 2, 3, 5 and 1

    section("2.8 Encoding word positions")
    vocab_size, output_dim = 50257, 256
    vb = VarBuilder.from_varmap(VarMap())
    token_embedding_layer = embedding(vocab_size, output_dim, vb.pp("tok"))
    max_length = 4
    dataloader = create_dataloader_v1(
        raw_text, batch_size=8, max_length=max_length, stride=max_length, shuffle=False
    )
    inputs, targets = next(iter(dataloader))
    print("Token IDs:\n", inputs)
    print("\nInputs shape:\n", inputs.shape)
    token_embeddings = token_embedding_layer(inputs)
    print(token_embeddings.shape)
    context_length = max_length
    pos_embedding_layer = embedding(context_length, output_dim, vb.pp("pos"))
    pos_embeddings = pos_embedding_layer(Tensor.arange(0, max_length, dtype=DType.U32))
    print(pos_embeddings.shape)
    input_embeddings = token_embeddings + pos_embeddings  # broadcast over the batch
    print(input_embeddings.shape)


if __name__ == "__main__":
    main()
