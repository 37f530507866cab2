"""Port of Candle's candle-core/tests/pool_tests.rs and bilinear_tests.rs, at the Tensor level.

Not applicable:
- the ``_gpu`` (CUDA) and ``_metal`` variants that ``test_device!`` generates for every case: each
  case runs here once on ``Device.Cpu``; ``avg_pool2d_pytorch`` returns early on Metal only, so
  its CPU assertions all apply.
- no case in these files uses f16 or bf16.

``bilinear_pytorch_large_64x64_to_128x128`` draws its input with ``Tensor::randn`` unseeded, as
Candle does; its assertions (shape, dtype, finiteness, range) do not depend on the draw.
"""

from __future__ import annotations

import math

from wick import DType, Tensor

from .conv_data import C2_T, CEQ_T, DEV, f32, new, rnd


def arange(end: float) -> Tensor:
    """``Tensor::arange(0f32, end, dev)``."""
    return Tensor.arange(0.0, end, DEV, dtype=DType.F32)


def max_diff(a: Tensor, b: Tensor) -> float:
    """``(&a - &b)?.abs()?.flatten_all()?.max(0)?.to_vec0::<f32>()``."""
    return a.sub(b).abs().flatten_all().max(0).to_vec0()


# --------------------------------------------------------------------------------------------
# pool_tests.rs


def test_avg_pool2d():
    # https://github.com/huggingface/candle/issues/364
    data = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    t = Tensor.from_vec(data, (1, 1, 4, 4), DEV, dtype=DType.F32)
    pool = t.avg_pool2d(2).squeeze(0).squeeze(0)
    assert pool.to_vec2() == f32([[0.5, 1.0], [1.0, 1.0]])

    data = [1.0, 2.0, 1.0, 3.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 1.0, 1.0, 1.0]
    t = Tensor.from_vec(data, (1, 1, 2, 8), DEV, dtype=DType.F32)
    pool = t.avg_pool2d(2).squeeze(0).squeeze(0)
    assert pool.to_vec2() == f32([[5.0 / 4.0, 6.0 / 4.0, 6.0 / 4.0, 1.0]])


def test_max_pool2d():
    data = [1.0, 2.0, 1.0, 3.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0, 1.0, 1.0, 1.0]
    t = Tensor.from_vec(data, (1, 1, 4, 4), DEV, dtype=DType.F32)

    pool = t.max_pool2d(2).squeeze(0).squeeze(0)
    assert pool.to_vec2() == f32([[2.0, 3.0], [5.0, 1.0]])

    t = t.reshape((1, 1, 2, 8))
    pool = t.max_pool2d(2).squeeze(0).squeeze(0)
    assert pool.to_vec2() == f32([[2.0, 3.0, 5.0, 1.0]])


def test_avg_pool2d_pytorch():
    # Candle's input is the first 32 values of conv2d's input (torch.manual_seed(4242)).
    t = new(C2_T[:32]).reshape((1, 2, 4, 4))
    pool = t.avg_pool2d(2).squeeze(0)
    assert rnd(pool, 4) == f32(
        [[[-1.1926, -0.0395], [0.2688, 0.1871]], [[0.1835, -0.1606], [0.6249, 0.3217]]]
    )
    pool = t.avg_pool2d(3).squeeze(0)
    assert rnd(pool, 4) == f32([[[0.085]], [[0.0078]]])

    t = t.reshape((1, 1, 4, 8))
    pool = t.avg_pool2d(2).squeeze(0).squeeze(0)
    assert rnd(pool, 4) == f32([[0.7745, 0.0276, -1.6983, 0.12], [0.3542, 0.1625, 0.4542, -0.0014]])


def test_upsample_nearest2d():
    t = arange(6.0).reshape((1, 1, 2, 3))
    upsampled = t.upsample_nearest2d(4, 6)[0][0]
    assert t[0][0].to_vec2() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert upsampled.to_vec2() == [
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
        [3.0, 3.0, 4.0, 4.0, 5.0, 5.0],
        [3.0, 3.0, 4.0, 4.0, 5.0, 5.0],
    ]


# --------------------------------------------------------------------------------------------
# bilinear_tests.rs: PyTorch exact comparisons


def test_bilinear_pytorch_2x_upscale():
    inp = arange(16.0).reshape((1, 1, 4, 4))
    output = inp.upsample_bilinear2d(8, 8, False)
    # PyTorch expected output (verified from PyTorch 2.10.0)
    # fmt: off
    expected = new([
        0.0000, 0.2500, 0.7500, 1.2500, 1.7500, 2.2500, 2.7500, 3.0000,
        1.0000, 1.2500, 1.7500, 2.2500, 2.7500, 3.2500, 3.7500, 4.0000,
        3.0000, 3.2500, 3.7500, 4.2500, 4.7500, 5.2500, 5.7500, 6.0000,
        5.0000, 5.2500, 5.7500, 6.2500, 6.7500, 7.2500, 7.7500, 8.0000,
        7.0000, 7.2500, 7.7500, 8.2500, 8.7500, 9.2500, 9.7500, 10.0000,
        9.0000, 9.2500, 9.7500, 10.2500, 10.7500, 11.2500, 11.7500, 12.0000,
        11.0000, 11.2500, 11.7500, 12.2500, 12.7500, 13.2500, 13.7500, 14.0000,
        12.0000, 12.2500, 12.7500, 13.2500, 13.7500, 14.2500, 14.7500, 15.0000,
    ]).reshape((1, 1, 8, 8))
    # fmt: on
    diff = max_diff(output, expected)
    assert diff < 1e-4, f"Max difference {diff} exceeds threshold 1e-4"


def test_bilinear_pytorch_downscale():
    inp = arange(64.0).reshape((1, 1, 8, 8))
    output = inp.upsample_bilinear2d(4, 4, False)
    expected = new(
        [
            4.5,
            6.5,
            8.5,
            10.5,
            20.5,
            22.5,
            24.5,
            26.5,
            36.5,
            38.5,
            40.5,
            42.5,
            52.5,
            54.5,
            56.5,
            58.5,
        ]
    ).reshape((1, 1, 4, 4))
    diff = max_diff(output, expected)
    assert diff < 1e-4, f"Max difference {diff} exceeds threshold 1e-4"


def test_bilinear_pytorch_multi_channel():
    # torch.manual_seed(42); torch.randn(1, 2, 4, 4): the first 32 values of conv's C == H == W input.
    inp = new(CEQ_T[:32]).reshape((1, 2, 4, 4))
    output = inp.upsample_bilinear2d(8, 8, False)
    assert output.dims() == [1, 2, 8, 8]
    for val in output.flatten_all().to_vec1():
        assert math.isfinite(val), "Output contains non-finite value"

    expected_rows = {
        0: [1.9269, 1.8170, 1.5972, 1.3406, 1.0474, 0.1492, -1.3540, -2.1055],
        1: [1.6423, 1.1918, 0.2909, -0.2440, -0.4129, -0.2632, 0.2053, 0.4396],
    }
    for channel, expected in expected_rows.items():
        row0 = output[0, channel, 0, :].to_vec1()
        for i, (out, exp) in enumerate(zip(row0, f32(expected))):
            diff = abs(out - exp)
            assert diff < 1e-3, f"Channel {channel}, row 0, index {i}: got {out}, expected {exp}"


def test_bilinear_pytorch_align_corners_true():
    inp = Tensor.from_vec([1.0, 2.0, 3.0, 4.0], (1, 1, 2, 2), DEV, dtype=DType.F32)
    output = inp.upsample_bilinear2d(4, 4, True)
    # fmt: off
    expected = new([
        1.0, 1.3333, 1.6667, 2.0, 1.6667, 2.0, 2.3333, 2.6667, 2.3333, 2.6667, 3.0, 3.3333,
        3.0, 3.3333, 3.6667, 4.0,
    ]).reshape((1, 1, 4, 4))
    # fmt: on
    diff = max_diff(output, expected)
    assert diff < 1e-3, f"Max difference {diff} exceeds threshold 1e-3"

    # Corners are exactly preserved with align_corners=True.
    output_vec = output.flatten_all().to_vec1()
    assert abs(output_vec[0] - 1.0) < 1e-5, "Top-left corner not preserved"
    assert abs(output_vec[3] - 2.0) < 1e-5, "Top-right corner not preserved"
    assert abs(output_vec[12] - 3.0) < 1e-5, "Bottom-left corner not preserved"
    assert abs(output_vec[15] - 4.0) < 1e-5, "Bottom-right corner not preserved"


def test_bilinear_pytorch_scale_factor():
    inp = arange(16.0).reshape((1, 1, 4, 4))
    output_scale = inp.upsample_bilinear2d_with_scale(2.0, 2.0, False)
    output_size = inp.upsample_bilinear2d(8, 8, False)
    # scale_factor=2.0 should produce identical results to size=(8, 8)
    diff = max_diff(output_scale, output_size)
    assert diff < 1e-6, f"scale_factor and size methods differ by {diff}"


def test_bilinear_pytorch_non_square_exact():
    inp = arange(24.0).reshape((1, 1, 4, 6))
    output = inp.upsample_bilinear2d(8, 12, False)
    # PyTorch expected output (verified from PyTorch 2.10.0)
    # fmt: off
    expected = new([
        0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.0,
        1.5, 1.75, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 5.75, 6.25, 6.5,
        4.5, 4.75, 5.25, 5.75, 6.25, 6.75, 7.25, 7.75, 8.25, 8.75, 9.25, 9.5,
        7.5, 7.75, 8.25, 8.75, 9.25, 9.75, 10.25, 10.75, 11.25, 11.75, 12.25, 12.5,
        10.5, 10.75, 11.25, 11.75, 12.25, 12.75, 13.25, 13.75, 14.25, 14.75, 15.25, 15.5,
        13.5, 13.75, 14.25, 14.75, 15.25, 15.75, 16.25, 16.75, 17.25, 17.75, 18.25, 18.5,
        16.5, 16.75, 17.25, 17.75, 18.25, 18.75, 19.25, 19.75, 20.25, 20.75, 21.25, 21.5,
        18.0, 18.25, 18.75, 19.25, 19.75, 20.25, 20.75, 21.25, 21.75, 22.25, 22.75, 23.0,
    ]).reshape((1, 1, 8, 12))
    # fmt: on
    diff = max_diff(output, expected)
    assert diff < 1e-4, f"Max difference {diff} exceeds threshold 1e-4"


def test_bilinear_pytorch_tiny_1x1_to_3x3():
    inp = new([5.0]).reshape((1, 1, 1, 1))
    output = inp.upsample_bilinear2d(3, 3, False)
    expected = new([5.0] * 9).reshape((1, 1, 3, 3))
    diff = max_diff(output, expected)
    assert diff < 1e-6, f"Max difference {diff} exceeds threshold 1e-6"


def test_bilinear_pytorch_tiny_1x2_to_3x6():
    inp = new([2.0, 8.0]).reshape((1, 1, 1, 2))
    output = inp.upsample_bilinear2d(3, 6, False)
    expected = new([2.0, 2.0, 4.0, 6.0, 8.0, 8.0] * 3).reshape((1, 1, 3, 6))
    diff = max_diff(output, expected)
    assert diff < 1e-6, f"Max difference {diff} exceeds threshold 1e-6"


def test_bilinear_pytorch_large_64x64_to_128x128():
    # Numerical stability on a large tensor: dimensions, dtype, finiteness and range only.
    inp = Tensor.randn(0.0, 1.0, (1, 1, 64, 64), DEV)
    output = inp.upsample_bilinear2d(128, 128, False)
    assert output.dims() == [1, 1, 128, 128]
    assert output.dtype == DType.F32
    output_vec = output.flatten_all().to_vec1()
    for val in output_vec:
        assert math.isfinite(val), "output contains non-finite value"
    min_val, max_val = min(output_vec), max(output_vec)
    assert min_val > -10.0 and max_val < 10.0, f"out of range: min={min_val}, max={max_val}"


# --------------------------------------------------------------------------------------------
# bilinear_tests.rs: dimensions and special behaviour


def test_bilinear_output_dimensions():
    # Non-square dimensions.
    t1 = arange(32.0).reshape((1, 1, 4, 8))
    assert t1.upsample_bilinear2d(6, 12, False).dims() == [1, 1, 6, 12], "Non-square upscale"
    # Batch processing.
    t2 = arange(192.0).reshape((4, 3, 4, 4))
    assert t2.upsample_bilinear2d(8, 8, False).dims() == [4, 3, 8, 8], "Batch processing"
    # Asymmetric scale factors.
    t3 = arange(16.0).reshape((1, 1, 4, 4))
    out3 = t3.upsample_bilinear2d_with_scale(2.0, 3.0, False)
    assert out3.dims() == [1, 1, 8, 12], "Asymmetric scale"
    # Fractional scale factors.
    t4 = arange(16.0).reshape((1, 1, 4, 4))
    out4 = t4.upsample_bilinear2d_with_scale(1.5, 1.5, False)
    assert out4.dims() == [1, 1, 6, 6], "Fractional scale"
    # Single pixel output.
    t5 = arange(16.0).reshape((1, 1, 4, 4))
    out5 = t5.upsample_bilinear2d(1, 1, False)
    assert out5.dims() == [1, 1, 1, 1], "Single pixel output"
    val = out5.flatten_all().to_vec1()[0]
    assert math.isfinite(val), "Single pixel value is not finite"
    # Large scale factor.
    t6 = arange(4.0).reshape((1, 1, 2, 2))
    out6 = t6.upsample_bilinear2d_with_scale(5.0, 5.0, False)
    assert out6.dims() == [1, 1, 10, 10], "Large scale factor"


def test_bilinear_identity():
    # Upsampling to the same size returns an identical tensor.
    t = arange(16.0).reshape((1, 1, 4, 4))
    output = t.upsample_bilinear2d(4, 4, False)
    assert max_diff(t, output) < 1e-6


def test_bilinear_align_corners_difference():
    t = arange(16.0).reshape((1, 1, 4, 4))
    output_false = t.upsample_bilinear2d(8, 8, False)
    output_true = t.upsample_bilinear2d(8, 8, True)
    # Results should be different between align_corners modes.
    assert output_false.sub(output_true).abs().sum_all().to_vec0() > 0.1
