"""Exact-string tests for wick.core.display, ported from Candle's display tests and tutorial.

Cases marked "Candle" copy an expected string from candle-core/tests/display_tests.rs; cases
marked "tutorial" copy one from the Candle tutorial; every other expected string was derived by
hand from display.rs, with the derivation in a comment.
"""

import ml_dtypes
import numpy as np
import pytest

from wick.core import display
from wick.core.display import format_debug, format_tensor


@pytest.fixture(autouse=True)
def _default_options():
    display.set_print_options_default()
    yield
    display.set_print_options_default()


def f32(values):
    return np.array(values, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Candle's display_tests.rs


def test_candle_display_scalar():
    # Candle: u32 scalar, then -1234 f32 scaled by affine (`v * mul + 0` in f32).
    assert format_tensor(np.array(1234, np.uint32), "u32") == "[1234]\nTensor[[], u32]"
    t = np.float32(-1234.0)
    assert format_tensor(np.array(t * np.float32(1 / 10.0)), "f32") == (
        "[-123.4000]\nTensor[[], f32]"
    )
    assert format_tensor(np.array(t * np.float32(1 / 1e8)), "f32") == (
        "[-1.2340e-5]\nTensor[[], f32]"
    )
    assert format_tensor(np.array(t * np.float32(1e8)), "f32") == "[-1.2340e11]\nTensor[[], f32]"
    # Candle's `t * 0.` is affine(0, 0): -1234 * 0 + 0 is +0, so no sign.
    assert format_tensor(np.array(t * np.float32(0) + np.float32(0)), "f32") == (
        "[0.]\nTensor[[], f32]"
    )


def test_candle_display_vector():
    assert format_tensor(np.array([], np.uint32), "u32") == "[]\nTensor[[0], u32]"
    t = np.array([0.1234567, 1.0, -1.2, 4.1, np.nan])
    assert format_tensor(t, "f64") == (
        "[ 0.1235,  1.0000, -1.2000,  4.1000,     NaN]\nTensor[[5], f64]"
    )
    expected = """\
[42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42.,
 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42.,
 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42., 42.,
 42., 42.]
Tensor[[50], f32]"""
    assert format_tensor(np.full(50, 42.0, np.float32), "f32") == expected
    assert format_tensor(np.full(11000, 42.0, np.float32), "f32") == (
        "[42., 42., 42., ..., 42., 42., 42.]\nTensor[[11000], f32]"
    )


def test_candle_display_multi_dim():
    t = np.full((200, 100), 42.0, np.float32)
    expected = """\
[[42., 42., 42., ..., 42., 42., 42.],
 [42., 42., 42., ..., 42., 42., 42.],
 [42., 42., 42., ..., 42., 42., 42.],
 ...
 [42., 42., 42., ..., 42., 42., 42.],
 [42., 42., 42., ..., 42., 42., 42.],
 [42., 42., 42., ..., 42., 42., 42.]]
Tensor[[200, 100], f32]"""
    assert format_tensor(t, "f32") == expected
    expected = """\
[[[[[42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    ...
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.]]]],
 [[[[42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    ...
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.],
    [42., 42., 42., ..., 42., 42., 42.]]]]]
Tensor[[2, 1, 1, 100, 100], f32]"""
    assert format_tensor(t.reshape(2, 1, 1, 100, 100), "f32") == expected


# ---------------------------------------------------------------------------------------------
# The tutorial's printed tensors


def test_tutorial_int_mode_f64():
    t = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert format_tensor(t, "f64") == "[[1., 2., 3.],\n [4., 5., 6.]]\nTensor[[2, 3], f64]"
    assert format_tensor(t.reshape(3, 2), "f64") == (
        "[[1., 2.],\n [3., 4.],\n [5., 6.]]\nTensor[[3, 2], f64]"
    )
    assert format_tensor(t.T, "f64") == "[[1., 4.],\n [2., 5.],\n [3., 6.]]\nTensor[[3, 2], f64]"
    assert format_tensor(t @ t.T, "f64") == "[[14., 32.],\n [32., 77.]]\nTensor[[2, 2], f64]"


def test_tutorial_gradients():
    assert format_tensor(np.array([-0.0898]), "f64") == "[-0.0898]\nTensor[[1], f64]"
    assert format_tensor(np.array([-0.0817]), "f64") == "[-0.0817]\nTensor[[1], f64]"


def test_tutorial_summarised_weights():
    # Only the displayed corners matter: the hidden middle (1e6) must not affect the format.
    corners = [
        [-0.2709, 0.1136, -0.2754, 0.2414, -0.0017, 0.2840],
        [-0.0263, 0.0686, 0.5760, 0.3354, 0.1075, 0.0547],
        [-0.2206, 0.0207, -0.2632, -0.0896, 0.2400, -0.1271],
        [-0.1658, -0.1832, -0.2016, 0.0093, -0.0543, 0.3168],
        [-0.1934, -0.1501, 0.1322, -0.2806, -0.2028, -0.0779],
        [0.3975, 0.0921, -0.0050, 0.1652, 0.1653, 0.1574],
    ]
    w = np.full((30, 50), 1e6, np.float32)
    w[np.ix_([0, 1, 2, 27, 28, 29], [0, 1, 2, 47, 48, 49])] = corners
    expected = """\
[[-0.2709,  0.1136, -0.2754, ...,  0.2414, -0.0017,  0.2840],
 [-0.0263,  0.0686,  0.5760, ...,  0.3354,  0.1075,  0.0547],
 [-0.2206,  0.0207, -0.2632, ..., -0.0896,  0.2400, -0.1271],
 ...
 [-0.1658, -0.1832, -0.2016, ...,  0.0093, -0.0543,  0.3168],
 [-0.1934, -0.1501,  0.1322, ..., -0.2806, -0.2028, -0.0779],
 [ 0.3975,  0.0921, -0.0050, ...,  0.1652,  0.1653,  0.1574]]
Tensor[[30, 50], f32]"""
    assert format_tensor(w, "f32") == expected


def test_tutorial_small_f32_and_u32():
    assert format_tensor(f32([[0.4167, 1.0375, 0.6351]]), "f32") == (
        "[[0.4167, 1.0375, 0.6351]]\nTensor[[1, 3], f32]"
    )
    assert format_tensor(f32([[-0.9, 2.9], [-0.5, 2.6]]), "f32") == (
        "[[-0.9000,  2.9000],\n [-0.5000,  2.6000]]\nTensor[[2, 2], f32]"
    )
    assert format_tensor(f32([[2.3, -1.1], [-1.2, 3.1]]), "f32") == (
        "[[ 2.3000, -1.1000],\n [-1.2000,  3.1000]]\nTensor[[2, 2], f32]"
    )
    assert format_tensor(np.array([0, 0], np.uint32), "u32") == "[0, 0]\nTensor[[2], u32]"
    assert format_tensor(np.array([1, 0], np.uint32), "u32") == "[1, 0]\nTensor[[2], u32]"
    assert format_tensor(np.array([0, 0, 0, 1, 1], np.uint32), "u32") == (
        "[0, 0, 0, 1, 1]\nTensor[[5], u32]"
    )
    assert format_tensor(np.array(5, np.uint8), "u8") == "[5]\nTensor[[], u8]"


def test_tutorial_sci_mode_large():
    logits = f32(
        [
            [47.010, -37.848],
            [42.802, -34.469],
            [37.059, -29.854],
            [-6.4291, -0.39145],
            [-8.2538, 0.036420],
        ]
    )
    expected = """\
[[  4.7010e1,  -3.7848e1],
 [  4.2802e1,  -3.4469e1],
 [  3.7059e1,  -2.9854e1],
 [ -6.4291e0, -3.9145e-1],
 [ -8.2538e0,  3.6420e-2]]
Tensor[[5, 2], f32]"""
    assert format_tensor(logits, "f32") == expected


def test_tutorial_sci_mode_tiny():
    probs = f32(
        [
            [1.0, 1.4011e-37],
            [1.0, 2.7653e-34],
            [1.0, 8.7143e-30],
            [2.3815e-3, 9.9762e-1],
            [2.5089e-4, 9.9975e-1],
        ]
    )
    expected = """\
[[  1.0000e0, 1.4011e-37],
 [  1.0000e0, 2.7653e-34],
 [  1.0000e0, 8.7143e-30],
 [ 2.3815e-3,  9.9762e-1],
 [ 2.5089e-4,  9.9975e-1]]
Tensor[[5, 2], f32]"""
    assert format_tensor(probs, "f32") == expected


# ---------------------------------------------------------------------------------------------
# Derived from display.rs


def test_sci_mode_thresholds():
    # ratio 1000 is not > 1000, 1e-4 is not < f32(1e-4), 1e8 is not > 1e8: fixed mode, and the
    # integral values put it in int mode (width = len("100000000.")).
    assert format_tensor(f32([1.0, 1000.0]), "f32") == "[   1., 1000.]\nTensor[[2], f32]"
    assert format_tensor(f32([1.0, 1001.0]), "f32") == "[1.0000e0, 1.0010e3]\nTensor[[2], f32]"
    assert format_tensor(f32([1e-4]), "f32") == "[0.0001]\nTensor[[1], f32]"
    assert format_tensor(f32([9e-5]), "f32") == "[9.0000e-5]\nTensor[[1], f32]"
    assert format_tensor(np.array([1e8]), "f64") == "[100000000.]\nTensor[[1], f64]"
    assert format_tensor(np.array([2e8]), "f64") == "[2.0000e8]\nTensor[[1], f64]"


def test_nan_inf_and_negative_zero():
    # Only the finite 1. decides int mode; non-finite values pad to the full width (4, "-inf").
    t = np.array([1.0, np.nan, np.inf, -np.inf])
    assert format_tensor(t, "f64") == "[  1.,  NaN,  inf, -inf]\nTensor[[4], f64]"
    # All non-finite or zero: no values qualify, so int mode; NaN pads to max width 3.
    assert format_tensor(np.array([np.nan, 0.0]), "f64") == "[NaN,  0.]\nTensor[[2], f64]"
    # Rust prints the sign of negative zero ("-0" with {:.0}, "-0.0000" with {:.4}).
    assert format_tensor(np.array([-0.0, 1.0]), "f64") == "[-0.,  1.]\nTensor[[2], f64]"
    assert format_tensor(f32([-0.0, 1.5]), "f32") == "[-0.0000,  1.5000]\nTensor[[2], f32]"
    # In sci mode NaN/inf ignore precision and are padded like numbers.
    assert (
        format_tensor(np.array([1e-9, np.inf]), "f64") == "[1.0000e-9,       inf]\nTensor[[2], f64]"
    )


def test_integer_dtypes():
    # IntFormatter right-aligns every value to the longest one.
    assert format_tensor(np.array([[1, 255], [0, 7]], np.uint8), "u8") == (
        "[[  1, 255],\n [  0,   7]]\nTensor[[2, 2], u8]"
    )
    assert format_tensor(np.array([4294967295, 0], np.uint32), "u32") == (
        "[4294967295,          0]\nTensor[[2], u32]"
    )
    assert format_tensor(np.array([-32768, 5], np.int16), "i16") == (
        "[-32768,      5]\nTensor[[2], i16]"
    )
    assert format_tensor(np.array([-1, 10, 100], np.int32), "i32") == (
        "[ -1,  10, 100]\nTensor[[3], i32]"
    )
    assert format_tensor(np.array([-(2**63), 0], np.int64), "i64") == (
        "[-9223372036854775808,                    0]\nTensor[[2], i64]"
    )


def test_half_dtypes_fixed_and_int_mode():
    # bf16/f16 Display forwards width and precision to the exact f32 value.
    assert format_tensor(np.array([0.5, -1.25], ml_dtypes.bfloat16), "bf16") == (
        "[ 0.5000, -1.2500]\nTensor[[2], bf16]"
    )
    # bf16(0.1) = 0.10009765625 rounds to 0.1001 at 4 digits.
    assert format_tensor(np.array([0.1], ml_dtypes.bfloat16), "bf16") == (
        "[0.1001]\nTensor[[1], bf16]"
    )
    assert format_tensor(np.array([[1, 2], [3, 4]], np.float16), "f16") == (
        "[[1., 2.],\n [3., 4.]]\nTensor[[2, 2], f16]"
    )
    # f16(0.1) = 0.0999755859375.
    assert format_tensor(np.array([0.1, 2.0], np.float16), "f16") == (
        "[0.1000, 2.0000]\nTensor[[2], f16]"
    )


def test_half_dtypes_sci_mode_ignore_width_and_precision():
    # half's LowerExp formats `{:e}` of the f32 value afresh, so in sci mode bf16/f16 print
    # shortest f32 digits with no padding: bf16(1e-5) = 1.0013580322265625e-5,
    # bf16(pi) = 3.140625.
    t = np.array([1e-5, 1.0, np.pi], ml_dtypes.bfloat16)
    assert format_tensor(t, "bf16") == "[1.001358e-5, 1e0, 3.140625e0]\nTensor[[3], bf16]"
    # f16 ratio 2000/1 > 1000; f16(2000) and f16(1) are exact.
    t = np.array([1.0, 2000.0], np.float16)
    assert format_tensor(t, "f16") == "[1e0, 2e3]\nTensor[[2], f16]"


def test_f64_and_f32_precision():
    # 4 digits, round half to even on the exact binary value (0.125 -> 0.12 at 2 digits).
    assert format_tensor(np.array([0.12345, -2.5]), "f64") == "[ 0.1235, -2.5000]\nTensor[[2], f64]"
    display.set_precision(2)
    assert format_tensor(np.array([0.125, 0.375]), "f64") == "[0.12, 0.38]\nTensor[[2], f64]"


def test_summarised_rank1():
    # Widths come from the summarised values 0, 1, 2, 998, 999, 1000 only: 4.
    assert format_tensor(np.arange(1001), "i64") == (
        "[   0,    1,    2, ...,  998,  999, 1000]\nTensor[[1001], i64]"
    )
    # Exactly threshold elements is not summarised.
    text = format_tensor(np.zeros(1000, np.uint8), "u8")
    assert "..." not in text and text.count("\n") == 1000 // 26 + 1


def test_summarised_rank2_short_rows():
    # 4000 > 1000 elements, so rows are summarised; each row has 2 <= 6 items and is printed whole.
    expected = """\
[[   0,    1],
 [   2,    3],
 [   4,    5],
 ...
 [3994, 3995],
 [3996, 3997],
 [3998, 3999]]
Tensor[[2000, 2], i64]"""
    assert format_tensor(np.arange(4000).reshape(2000, 2), "i64") == expected


def test_summarised_rank3():
    # Blocks are separated by ",\n" plus the indent; inner "..." lines use the inner indent.
    t = np.arange(1280).reshape(8, 8, 20)
    text = format_tensor(t, "i64")
    lines = text.split("\n")
    assert lines[0] == "[[[   0,    1,    2, ...,   17,   18,   19],"
    assert lines[3] == "  ..."
    assert lines[6] == "  [ 140,  141,  142, ...,  157,  158,  159]],"
    assert lines[7] == " [[ 160,  161,  162, ...,  177,  178,  179],"
    assert lines[21] == " ..."
    assert lines[-2] == "  [1260, 1261, 1262, ..., 1277, 1278, 1279]]]"
    assert lines[-1] == "Tensor[[8, 8, 20], i64]"
    assert len(lines) == 6 * 7 + 1 + 1


def test_line_wrapping_in_rank2():
    # max_w 6 -> 80 // 8 = 10 per line; wrapped lines inside a row are indented by 2.
    line = ", ".join(["1.5000"] * 10)
    row = f"[{line},\n  {line},\n  {line}]"
    expected = f"[{row},\n {row}]\nTensor[[2, 30], f64]"
    assert format_tensor(np.full((2, 30), 1.5), "f64") == expected


def test_rank0_and_empty():
    assert format_tensor(np.array(5, np.uint8), "u8") == "[5]\nTensor[[], u8]"
    assert format_tensor(np.array(2.5), "f64") == "[2.5000]\nTensor[[], f64]"
    assert format_tensor(np.zeros((0, 3)), "f32") == "[]\nTensor[[0, 3], f32]"
    assert format_tensor(np.zeros((2, 0)), "f32") == "[[],\n []]\nTensor[[2, 0], f32]"


def test_device_suffix():
    assert format_tensor(np.array([1, 2], np.uint32), "u32", ", cuda:0") == (
        "[1, 2]\nTensor[[2], u32, cuda:0]"
    )


# ---------------------------------------------------------------------------------------------
# Print options


def test_print_options_presets():
    assert display.print_options() == display.PrinterOptions(4, 1000, 3, 80, None)
    display.set_print_options_short()
    assert display.print_options() == display.PrinterOptions(2, 1000, 2, 80, None)
    # Short: 2 digits and 2 edge items.
    assert format_tensor(np.array([0.12345, 1.5]), "f64") == "[0.12, 1.50]\nTensor[[2], f64]"
    assert (
        format_tensor(np.full(2000, 0.5), "f64")
        == "[0.50, 0.50, ..., 0.50, 0.50]\nTensor[[2000], f64]"
    )
    display.set_print_options_full()
    assert display.print_options().threshold == 2**64 - 1
    text = format_tensor(np.full(11000, 42.0, np.float32), "f32")
    assert "..." not in text and text.count("42.") == 11000
    display.set_print_options_default()
    assert display.print_options() == display.PrinterOptions()


def test_set_print_options_replaces_all_fields():
    display.set_print_options_short()
    display.set_print_options(precision=6)
    assert display.print_options() == display.PrinterOptions(6, 1000, 3, 80, None)
    assert format_tensor(np.array([1 / 3]), "f64") == "[0.333333]\nTensor[[1], f64]"


def test_sci_mode_option():
    display.set_sci_mode(True)
    # Forced on: integral values still print in sci mode.
    assert format_tensor(f32([1.0, 2.0]), "f32") == "[1.0000e0, 2.0000e0]\nTensor[[2], f32]"
    display.set_sci_mode(False)
    # Forced off: 1e9 prints in fixed notation with 4 digits.
    assert format_tensor(np.array([1e9, 1.5]), "f64") == (
        "[1000000000.0000,          1.5000]\nTensor[[2], f64]"
    )


def test_line_width_threshold_edge_items_options():
    display.set_line_width(10)
    # max_w 2 -> 10 // 4 = 2 per line.
    assert format_tensor(np.array([10, 20, 30]), "i64") == "[10, 20,\n 30]\nTensor[[3], i64]"
    display.set_line_width(0)
    # At least one element per line.
    assert format_tensor(np.array([1, 2]), "i64") == "[1,\n 2]\nTensor[[2], i64]"
    display.set_print_options(threshold=3, edge_items=1)
    assert format_tensor(np.array([1, 2, 3, 4]), "i64") == "[1, ..., 4]\nTensor[[4], i64]"
    display.set_edge_items(0)
    assert format_tensor(np.arange(8).reshape(2, 4), "i64") == "[...\n ]\nTensor[[2, 4], i64]"


# ---------------------------------------------------------------------------------------------
# Debug form


def test_debug_form():
    assert format_debug(np.array(5, np.uint8), "u8") == "Tensor[5; u8]"
    assert format_debug(np.array([1.0, 2.0, 3.0]), "f64") == "Tensor[1, 2, 3; f64]"
    assert format_debug(np.array([0.1, -2.5, np.nan, -np.inf]), "f64") == (
        "Tensor[0.1, -2.5, NaN, -inf; f64]"
    )
    assert format_debug(np.arange(9, dtype=np.uint32), "u32") == (
        "Tensor[0, 1, 2, 3, 4, 5, 6, 7, 8; u32]"
    )
    # Ten or more elements, or rank >= 2, show the dims instead.
    assert format_debug(np.arange(10, dtype=np.uint32), "u32") == "Tensor[dims 10; u32]"
    assert format_debug(np.zeros((2, 3)), "f64") == "Tensor[dims 2, 3; f64]"
    assert format_debug(np.zeros((1,)), "f32", ", cuda:0") == "Tensor[0; f32, cuda:0]"
    assert format_debug(np.array([], np.uint32), "u32") == "Tensor[; u32]"


def test_debug_shortest_digits_per_dtype():
    # Rust's `{}` prints the shortest digits that round-trip in the element type; bf16/f16 go
    # through f32, so bf16(0.1) = 0.10009765625 needs nine digits.
    assert format_debug(f32([0.1, 1e-7]), "f32") == "Tensor[0.1, 0.0000001; f32]"
    assert format_debug(np.array([0.1], ml_dtypes.bfloat16), "bf16") == "Tensor[0.100097656; bf16]"
    assert format_debug(np.array([0.1], np.float16), "f16") == "Tensor[0.099975586; f16]"
    assert format_debug(np.array([1e20]), "f64") == "Tensor[100000000000000000000; f64]"
    assert format_debug(np.array([-0.0, 3], np.float32), "f32") == "Tensor[-0, 3; f32]"
    assert format_debug(np.array([-7], np.int16), "i16") == "Tensor[-7; i16]"
