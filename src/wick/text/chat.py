"""Chat templates: the Jinja template a checkpoint ships (``tokenizer.chat_template`` in a GGUF
file, ``chat_template`` in ``tokenizer_config.json``) rendered as Hugging Face renders it."""

from __future__ import annotations

import functools
import json
from datetime import datetime

from ..core.errors import Msg


class ChatTemplateError(Msg):
    """A chat template that cannot be rendered, or messages it refuses."""


@functools.lru_cache(maxsize=8)
def _compiled(template: str):
    """The template compiled once (a chat renders the same template every turn)."""
    return _environment().from_string(template)


def _environment():
    try:
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as exc:
        raise ChatTemplateError("chat templates need jinja2: pip install 'wick[text]'") from exc

    def raise_exception(message):
        raise ChatTemplateError(f"chat template: {message}")

    def tojson(value, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            value,
            ensure_ascii=ensure_ascii,
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    # Hugging Face's settings: whitespace control as in its templates' authoring, no side effects.
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_chat_template(
    template: str,
    messages: list,
    *,
    add_generation_prompt: bool = True,
    bos_token: str = "",
    eos_token: str = "",
    **variables,
) -> str:
    """The text of ``messages`` (``[{"role": ..., "content": ...}]``) under ``template``.

    >>> render_chat_template("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}",
    ...                      [{"role": "user", "content": "hi"}])
    '<user>hi'
    """
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ChatTemplateError(
                f"chat template: message {i} must be a dict with 'role' and 'content', got {message!r}"
            )
    import jinja2

    try:
        return _compiled(template).render(
            messages=messages,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
            **variables,
        )
    except jinja2.TemplateError as exc:
        raise ChatTemplateError(f"chat template cannot be rendered: {exc}") from None
