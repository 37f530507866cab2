"""wick.gguf: dequantization of every supported block type, checked on hand-built blocks whose
values follow from llama.cpp's block layouts (ggml-common.h), metadata as Python values, shapes
in row-major order, and hostile files."""

import os

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")

import wick  # noqa: E402
from wick import DType  # noqa: E402
from wick.gguf import GgufError, load, open_gguf  # noqa: E402

Q = gguf.GGMLQuantizationType
F16_HALF = np.float16(0.5).tobytes()
F16_ONE = np.float16(1.0).tobytes()
F16_ZERO = np.float16(0.0).tobytes()


def write(path, tensors, metadata=None):
    """A GGUF file with raw blocks: ``tensors`` maps name -> (bytes or array, shape, type)."""
    w = gguf.GGUFWriter(str(path), "llama")
    for key, value in (metadata or {}).items():
        w.add_key_value(key, value[0], value[1])
    for name, (data, shape, kind) in tensors.items():
        if isinstance(data, bytes):
            data = np.frombuffer(data, dtype=np.uint8)
        w.add_tensor(name, data, raw_shape=shape, raw_dtype=kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def one(tmp_path, block: bytes, kind, n: int) -> list:
    path = write(tmp_path / "t.gguf", {"t": (block, None, kind)})
    return load(path)[0]["t"].to_vec1()


def test_q8_0_is_scale_times_int8(tmp_path):
    qs = np.arange(-16, 16, dtype=np.int8)
    assert one(tmp_path, F16_HALF + qs.tobytes(), Q.Q8_0, 32) == list(np.arange(-16, 16) * 0.5)


def test_q4_0_low_nibbles_first_then_high_minus_8(tmp_path):
    qs = bytes((j | ((15 - j) << 4)) for j in range(16))  # low nibble j, high nibble 15 - j
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert one(tmp_path, F16_HALF + qs, Q.Q4_0, 32) == expected


def test_q4_1_adds_the_minimum(tmp_path):
    qs = bytes((j | (3 << 4)) for j in range(16))
    expected = [j * 0.5 + 1.0 for j in range(16)] + [3 * 0.5 + 1.0] * 16
    assert one(tmp_path, F16_HALF + F16_ONE + qs, Q.Q4_1, 32) == expected


def test_q5_0_and_q5_1_take_the_fifth_bit_from_qh(tmp_path):
    qh = (1 | (1 << 16)).to_bytes(4, "little")  # element 0 and element 16 get the high bit
    qs = bytes(16)
    expected0 = [(16 - 16) * 0.5] + [-16 * 0.5] * 15 + [0.0] + [-16 * 0.5] * 15
    assert one(tmp_path, F16_HALF + qh + qs, Q.Q5_0, 32) == expected0
    expected1 = [16 * 0.5 + 1.0] + [1.0] * 15 + [16 * 0.5 + 1.0] + [1.0] * 15
    assert one(tmp_path, F16_HALF + F16_ONE + qh + qs, Q.Q5_1, 32) == expected1


def test_q6_k_scales_one_per_sixteen(tmp_path):
    # ql = qh = 0: every q is 0 - 32; scales[j] = j + 1 and d = 1/32 give -(j + 1) for block j.
    scales = np.arange(1, 17, dtype=np.int8).tobytes()
    block = bytes(128) + bytes(64) + scales + np.float16(1 / 32).tobytes()
    assert one(tmp_path, block, Q.Q6_K, 256) == [-(i // 16 + 1.0) for i in range(256)]


def q4k_scales(sc: list, m: list) -> bytes:
    """Packs eight 6-bit scales and mins as llama.cpp's get_scale_min_k4 reads them."""
    b = bytearray(12)
    for j in range(4):
        b[j] = sc[j] | ((sc[j + 4] >> 4) << 6)
        b[j + 4] = m[j] | ((m[j + 4] >> 4) << 6)
        b[j + 8] = (sc[j + 4] & 15) | ((m[j + 4] & 15) << 4)
    return bytes(b)


def test_q4_k_and_q5_k_scales_and_mins_per_thirty_two(tmp_path):
    sc = [1, 2, 3, 4, 17, 33, 40, 63]
    m = [5, 6, 7, 8, 20, 30, 50, 62]
    # q = 0 everywhere: y = -dmin * m[j]; with dmin = 1.
    zero_q = F16_ZERO + F16_ONE + q4k_scales(sc, m) + bytes(128)
    assert one(tmp_path, zero_q, Q.Q4_K, 256) == [-float(m[i // 32]) for i in range(256)]
    # q = 1 everywhere (both nibbles), d = 1, dmin = 0: y = sc[j].
    ones = F16_ONE + F16_ZERO + q4k_scales(sc, m) + bytes([0x11]) * 128
    assert one(tmp_path, ones, Q.Q4_K, 256) == [float(sc[i // 32]) for i in range(256)]
    q5 = F16_ZERO + F16_ONE + q4k_scales(sc, m) + bytes(32) + bytes(128)
    assert one(tmp_path, q5, Q.Q5_K, 256) == [-float(m[i // 32]) for i in range(256)]


def test_q2_k_and_q3_k(tmp_path):
    # Q2_K: q = 0, so y = -dmin * (scales[j] >> 4) for each block of 16.
    scales = bytes(((j % 16) << 4) | 3 for j in range(16))
    block = scales + bytes(64) + F16_ONE + F16_ONE
    assert one(tmp_path, block, Q.Q2_K, 256) == [-float(i // 16) for i in range(256)]
    # Q3_K: hmask = 0 subtracts 4 from q = 0; every 6-bit scale 33 (low nibbles 1, high bits 10)
    # gives d * (33 - 32) * -4.
    block = bytes(32) + bytes(64) + bytes([0x11]) * 8 + bytes([0xAA]) * 4 + F16_HALF
    assert one(tmp_path, block, Q.Q3_K, 256) == [-2.0] * 256


def test_shapes_are_row_major_and_float_types_convert(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = write(
        tmp_path / "m.gguf",
        {
            "a": (x, None, None),
            "b": (x.astype(np.float16), None, None),
        },
        {"general.name": ("tiny", gguf.GGUFValueType.STRING),
         "tiny.block_count": (2, gguf.GGUFValueType.UINT32),
         "tiny.eps": (0.5, gguf.GGUFValueType.FLOAT32),
         "tiny.flags": ([1, 2, 3], gguf.GGUFValueType.ARRAY)},
    )  # fmt: skip
    f = open_gguf(path)
    assert f.tensor_names() == ["a", "b"]
    assert f.info("a") == ((3, 4), "F32") and f.info("b") == ((3, 4), "F16")
    tensors, meta = load(path, dtype=DType.F16)
    assert tensors["a"].dtype == DType.F16 and tensors["b"].shape == (3, 4)
    assert tensors["b"].to_dtype(DType.F32).to_vec2() == x.tolist()
    assert meta["general.name"] == "tiny" and meta["tiny.block_count"] == 2
    assert meta["tiny.eps"] == 0.5 and meta["tiny.flags"] == [1, 2, 3]
    with pytest.raises(GgufError, match="no tensor named c"):
        f.tensor("c")


def test_hostile_files_raise_gguf_errors(tmp_path):
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"not a gguf file at all")
    with pytest.raises(GgufError, match="not a readable GGUF file"):
        open_gguf(not_gguf)
    with pytest.raises(GgufError, match="not a regular file"):
        open_gguf(tmp_path)
    fifo = tmp_path / "fifo.gguf"
    os.mkfifo(fifo)
    with pytest.raises(GgufError, match="not a regular file"):
        open_gguf(fifo)  # would block forever if opened
    with pytest.raises(GgufError, match="cannot open"):
        open_gguf(tmp_path / "missing.gguf")
    good = write(tmp_path / "g.gguf", {"t": (np.ones(64, np.float32), None, None)})
    data = good.read_bytes()
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(data[: len(data) - 100])
    with pytest.raises(wick.Error):
        load(truncated)
    assert issubclass(GgufError, OSError)


@pytest.mark.parametrize(
    "kind", ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "BF16"]
)
def test_random_blocks_equal_the_gguf_reference_exactly(tmp_path, kind):
    qtype = Q[kind]
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(int(qtype))
    raw = rng.integers(0, 256, (3, 2 * size), dtype=np.uint8)  # 3 rows of 2 blocks
    if kind not in ("BF16",):
        # Keep the f16 scales finite so that the comparison covers values, not NaN patterns.
        scale_at = {
            "Q2_K": (80, 82),
            "Q3_K": (108,),
            "Q4_K": (0, 2),
            "Q5_K": (0, 2),
            "Q6_K": (208,),
        }
        for b in range(2):
            for off in scale_at.get(kind, (0,) if kind in ("Q4_0", "Q5_0", "Q8_0") else (0, 2)):
                raw[:, b * size + off : b * size + off + 2] = np.frombuffer(
                    np.float16(0.25).tobytes(), np.uint8
                )
    path = write(tmp_path / "r.gguf", {"r": (raw, None, qtype)})
    ours = load(path)[0]["r"].numpy()
    expected = gguf.quants.dequantize(raw, qtype).astype(np.float32)
    assert ours.shape == (3, 2 * block)
    np.testing.assert_array_equal(ours, expected)


def test_an_unsupported_type_is_named_with_the_file(tmp_path):
    block, size = gguf.GGML_QUANT_SIZES[Q.IQ2_XXS]
    path = write(tmp_path / "iq.gguf", {"w": (np.zeros(size, np.uint8), None, Q.IQ2_XXS)})
    with pytest.raises(
        GgufError, match=r"iq\.gguf: tensor w has type IQ2_XXS, which wick cannot dequantize"
    ):
        load(path)
