"""Chat templates rendered as Hugging Face renders them (jinja2's sandbox, trim_blocks and
lstrip_blocks, raise_exception, tojson)."""

import pytest

pytest.importorskip("jinja2")

import wick  # noqa: E402
from wick.text.chat import ChatTemplateError, render_chat_template  # noqa: E402

TEMPLATE = (
    "{% for m in messages %}\n"
    "{% if m['role'] == 'tool' %}{{ raise_exception('no tools here') }}{% endif %}\n"
    "<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}\n"
    "{% endfor %}\n"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_whitespace_control_and_variables_follow_hugging_face():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = render_chat_template(TEMPLATE, messages, eos_token="</s>")
    assert text == "<|system|>Be brief.</s>\n<|user|>Hi</s>\n<|assistant|>"
    assert render_chat_template(TEMPLATE, messages[:1], add_generation_prompt=False) == (
        "<|system|>Be brief.\n"
    )
    assert render_chat_template("{{ messages | tojson }}", [{"role": "u", "content": "é"}]) == (
        '[{"role": "u", "content": "é"}]'
    )


def test_template_errors_and_bad_messages_are_wick_errors():
    with pytest.raises(ChatTemplateError, match="chat template: no tools here"):
        render_chat_template(TEMPLATE, [{"role": "tool", "content": "x"}])
    with pytest.raises(ChatTemplateError, match="message 0 must be a dict with 'role' and 'content'"):
        render_chat_template(TEMPLATE, [{"content": "x"}])
    with pytest.raises(ChatTemplateError, match="cannot be rendered"):
        render_chat_template("{% for %}", [])
    with pytest.raises(ChatTemplateError, match="cannot be rendered"):  # the sandbox holds
        render_chat_template("{{ messages.__class__.__mro__ }}", [])
    assert issubclass(ChatTemplateError, wick.Error)
