"""Hugging Face model folders: ``from_pretrained`` (config.json + safetensors + tokenizer.json)
and ``save_pretrained`` (a folder ``transformers`` loads unchanged).

Architectures are looked up by ``config.json``'s ``model_type`` in ``ARCHITECTURES``: a module
with ``Config.from_dict``/``Config.to_dict`` and ``Model.load(vb, cfg)``. Adding one (llama,
bert) is one entry.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass, field

from .. import atomic, safetensors
from ..core import Device, DType
from ..core.errors import Msg
from ..nn import VarBuilder, VarMap
from .config_file import read_json_object

# model_type -> the module implementing it
ARCHITECTURES = {
    "bert": "wick.models.bert",
    "gpt2": "wick.models.gpt2",
    "llama": "wick.models.llama",
    "mistral": "wick.models.llama",
    "qwen2": "wick.models.llama",
}

WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"


def architecture(model_type: str):
    """The module implementing ``model_type`` (unknown -> a wick.Error naming it)."""
    name = ARCHITECTURES.get(model_type)
    if name is None:
        raise Msg(
            f"from_pretrained: unknown model_type {model_type!r} (wick knows: "
            f"{', '.join(sorted(ARCHITECTURES))})"
        )
    return importlib.import_module(name)


@dataclass
class Pretrained:
    """A loaded checkpoint: the model, its config, its tokenizer (or None) and its eos id."""

    model: object
    config: object
    tokenizer: object = None
    eos_token_id: int | None = None
    chat_template: str | None = None
    special_tokens: dict = field(default_factory=dict)

    def encode(self, text: str) -> list:
        """``text`` as token ids with the checkpoint's tokenizer."""
        if self.tokenizer is None:
            raise Msg("Pretrained.encode: this checkpoint has no tokenizer.json")
        return self.tokenizer.encode(text).ids

    def chat_ids(self, messages: list) -> list:
        """The chat template rendered for ``messages`` with the generation prompt, as ids."""
        if not self.chat_template:
            raise Msg(
                f"chat_ids: this {type(self.model).__module__.rsplit('.', 1)[-1]} checkpoint has "
                "no chat template (tokenizer_config.json has no chat_template); encode a plain "
                "prompt instead"
            )
        if self.tokenizer is None:
            raise Msg("chat_ids: this checkpoint has no tokenizer.json")
        from ..text.chat import render_chat_template

        text = render_chat_template(
            self.chat_template, messages, add_generation_prompt=True, **self.special_tokens
        )
        return self.tokenizer.encode(text, add_special_tokens=False).ids


def _read_json(path: str, what: str) -> dict:
    return read_json_object(path, "from_pretrained", what + " ")


def weight_files(folder: str) -> list:
    """The safetensors files of a folder: ``model.safetensors`` or the shards of its index."""
    single = os.path.join(folder, WEIGHTS)
    if os.path.isfile(single):
        return [single]
    index = os.path.join(folder, WEIGHTS_INDEX)
    if os.path.isfile(index):
        weight_map = _read_json(index, "the shard index").get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise Msg(f"from_pretrained: {index} has no weight_map")
        files = sorted(set(weight_map.values()))
        paths = [os.path.join(folder, f) for f in files]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise Msg(f"from_pretrained: shards missing from {folder}: {', '.join(missing)}")
        return paths
    hint = ""
    if os.path.isfile(os.path.join(folder, "pytorch_model.bin")):
        hint = " (it has pytorch_model.bin: wick reads safetensors only; convert it first)"
    raise Msg(f"from_pretrained: {folder} has no {WEIGHTS} nor {WEIGHTS_INDEX}{hint}")


def from_pretrained(path, device: Device = Device.Cpu, dtype=DType.F32) -> Pretrained:
    """Loads a Hugging Face model folder (config.json, safetensors weights, tokenizer.json)."""
    folder = os.fspath(path)
    if os.path.isfile(folder) and folder.endswith(".gguf"):
        from .from_gguf import load_gguf

        return load_gguf(folder, device, dtype)
    if not os.path.isdir(folder):
        raise Msg(f"from_pretrained: no such model folder {folder}")
    config_path = os.path.join(folder, "config.json")
    values = _read_json(config_path, "the model config")
    if "model_type" not in values:
        raise Msg(f"from_pretrained: {config_path} has no model_type")
    arch = architecture(values["model_type"])
    cfg = arch.Config.from_dict(values)
    vb = VarBuilder.from_mmaped_safetensors(weight_files(folder), dtype, device)
    model = arch.Model.load(vb, cfg)
    tokenizer, template, specials = _tokenizer(folder)
    eos = values.get("eos_token_id")
    if isinstance(eos, list):
        eos = eos[0] if eos else None
    return Pretrained(model, cfg, tokenizer, eos, template, specials)


def _tokenizer(folder: str) -> tuple:
    """``(tokenizer or None, chat template or None, special token strings)`` of a folder."""
    path = os.path.join(folder, "tokenizer.json")
    tokenizer = None
    if os.path.isfile(path):
        from ..text import tokenizer_from_file

        tokenizer = tokenizer_from_file(path)
    template, specials = None, {}
    cfg_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(cfg_path):
        tcfg = _read_json(cfg_path, "the tokenizer config")
        template = tcfg.get("chat_template")
        if isinstance(template, list):  # several named templates: the default one
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default")
        for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
            value = tcfg.get(key)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str):
                specials[key] = value
    return tokenizer, template, specials


# ------------------------------------------------------------------------------------------------
# Saving


def _tensors_of(model) -> dict:
    if isinstance(model, VarMap):
        return {n: v.as_detached_tensor() for n, v in model.data().items()}
    if hasattr(model, "tensors"):
        return {n: t.detach() for n, t in model.tensors().items()}
    raise Msg(f"save_pretrained: expected a model or a VarMap, got {type(model).__name__}")


def _write_text(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (``wick.atomic``)."""
    with atomic.open_atomic(path, "w", encoding="utf-8") as f:
        f.write(text)


def _tokenizer_config(cfg, tokenizer) -> dict:
    eos = getattr(cfg, "eos_token_id", None)
    token = tokenizer.id_to_token(eos) if eos is not None else None
    out = {"model_max_length": getattr(cfg, "n_positions", None)}
    if cfg.to_dict().get("model_type") == "gpt2":
        out["tokenizer_class"] = "GPT2Tokenizer"
        out["add_prefix_space"] = False
    if token is not None:
        out.update({"bos_token": token, "eos_token": token, "unk_token": token})
    return {k: v for k, v in out.items() if v is not None}


def save_pretrained(model, cfg, tokenizer, folder, *, overwrite: bool = False) -> list:
    """Writes a Hugging Face folder (config.json, model.safetensors, tokenizer files) that
    ``transformers`` loads unchanged; returns the paths written.

    Each file is written atomically. Files already in ``folder`` are replaced only with
    ``overwrite=True``; otherwise nothing is written and the error names them.
    """
    folder = os.fspath(folder)
    names = ["config.json", WEIGHTS]
    if tokenizer is not None:
        names += ["tokenizer.json", "tokenizer_config.json"]
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise Msg(f"save_pretrained: {folder} exists and is not a folder")
    existing = [n for n in names if os.path.exists(os.path.join(folder, n))]
    if os.path.isfile(os.path.join(folder, WEIGHTS_INDEX)):
        existing.append(WEIGHTS_INDEX)  # a sharded checkpoint would shadow ours
    if existing and not overwrite:
        raise Msg(
            f"save_pretrained: {folder} already holds {', '.join(existing)}; not overwriting "
            "(pass overwrite=True or choose another folder)"
        )
    tensors = _tensors_of(model)
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, n) for n in names]
    try:
        safetensors.save(tensors, paths[1], {"format": "pt"})
        _write_text(paths[0], json.dumps(cfg.to_dict(), indent=2) + "\n")
        if tokenizer is not None:
            _write_text(paths[2], tokenizer.to_str(pretty=True))
            _write_text(paths[3], json.dumps(_tokenizer_config(cfg, tokenizer), indent=2) + "\n")
    except OSError as exc:
        raise Msg(f"save_pretrained: cannot write to {folder}: {exc}") from None
    return paths
