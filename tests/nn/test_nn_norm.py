"""Normalisation layers: Candle's ``candle-nn/tests/layer_norm.rs``, ``batch_norm.rs`` and
``group_norm.rs`` and the ``layer_norm.rs`` doc example, then PyTorch golden values (LayerNorm,
BatchNorm over three training steps and in eval, GroupNorm, with gradients), builders (names,
shapes, initialisation) and errors.

Not ported: nothing; every case of the three Candle files is below.
"""

from __future__ import annotations

import numpy as np
import pytest

from wick import Device, DType, Msg, Tensor, Var
from wick.nn import (
    BatchNorm,
    BatchNormConfig,
    GroupNorm,
    LayerNorm,
    LayerNormConfig,
    ModuleT,
    RmsNorm,
    VarBuilder,
    VarMap,
    batch_norm,
    group_norm,
    layer_norm,
    layer_norm_no_bias,
    ops,
    rms_norm,
)
from wick.testing import assert_close, gradcheck

DEV = Device.Cpu
pytestmark = pytest.mark.usefixtures("on_each_device")  # DEV: each device
F32, F64, F16, BF16 = DType.F32, DType.F64, DType.F16, DType.BF16


def round4(t: Tensor) -> list:
    """Candle's ``to_vec*_round(&t, 4)``: f32 ``round(v * 1e4) / 1e4``, half away from zero."""
    scale = np.float32(10_000)
    v = t.numpy().astype(np.float32) * scale
    whole = np.trunc(v)
    rounded = np.where(np.abs(v - whole) >= np.float32(0.5), whole + np.sign(v), whole)
    return (rounded.astype(np.float32) / scale).astype(np.float32).tolist()


def f32(values) -> list:
    """Candle's f32 literals, as the f32 values they denote."""
    return np.asarray(values, dtype=np.float32).tolist()


def t32(values) -> Tensor:
    return Tensor.new(values, DEV, dtype=F32)


# ------------------------------------------------------------------------------------------------
# candle-nn/src/layer_norm.rs (doc example) and candle-nn/tests/layer_norm.rs


def test_candle_doc_layer_norm():
    layer = LayerNorm.new(t32([1.0, 1.0, 1.0]), t32([0.0, 0.0, 0.0]), 1e-5)
    xs = t32([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [9.0, 8.0, 7.0]]])
    assert round4(layer.forward(xs)) == f32(
        [[[-1.2247, 0.0, 1.2247], [-1.2247, 0.0, 1.2247], [1.2247, 0.0, -1.2247]]]
    )


def test_candle_layer_norm():
    w, b = t32([3.0]), t32([0.5])
    ln2 = LayerNorm.new(Tensor.cat([w, w], 0), Tensor.cat([b, b], 0), 1e-8)
    ln3 = LayerNorm.new(Tensor.cat([w, w, w], 0), Tensor.cat([b, b, b], 0), 1e-8)
    ln = LayerNorm.new(w, b, 1e-8)
    assert ln.eps() == 1e-8
    assert ln.remove_mean()

    two = t32([[[2.0]]])
    assert ln.forward(two).flatten_all().to_vec1() == f32([0.5])

    inp = t32([[[4.0, 0.0]]])
    assert ln2.forward(inp).to_vec3() == f32([[[3.5, -2.5]]])

    inp = t32([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [9.0, 8.0, 7.0]]])
    res = ln3.forward(inp)
    assert round4(res) == f32(
        [[[-3.1742, 0.5, 4.1742], [-3.1742, 0.5, 4.1742], [4.1742, 0.5, -3.1742]]]
    )
    mean = res.sum_keepdim(2) / 3.0
    # The average value should be `b`.
    assert round4(mean) == f32([[[0.5], [0.5], [0.5]]])
    std = res.broadcast_sub(mean).sqr().sum_keepdim(2).sqrt() / 3.0
    # The standard deviation should be sqrt(`w`).
    assert round4(std) == f32([[[1.7321], [1.7321], [1.7321]]])

    # rms_norm sets remove_mean to false.
    rms = LayerNorm.rms_norm(t32([1.0]), 1e-5)
    assert rms.eps() == 1e-5
    assert not rms.remove_mean()


# ------------------------------------------------------------------------------------------------
# candle-nn/tests/batch_norm.rs
#
# Candle's values come from PyTorch:
#   torch.manual_seed(19551105)
#   m = torch.nn.BatchNorm2d(5, affine=False)
#   input = torch.randn(2, 5, 3, 4)
#   output = m(input)  # then input, output, m.running_mean, m.running_var printed

BN_INPUT = [
    -0.7493, -1.0410, 1.6977, -0.6579, 1.7982, -0.0087, 0.2812, -0.1190, 0.2908, -0.5975,
    -0.0278, -0.2138, -1.3130, -1.6048, -2.2028, 0.9452, 0.4002, 0.0831, 1.0004, 0.1860,
    0.5004, 0.5539, 0.9991, -0.2540, -0.0703, -0.3752, -0.1096, -0.2374, 1.0258, -2.2208,
    -0.0257, 0.6073, -1.1627, -0.0964, -1.9718, 1.6577, 0.1931, -0.3692, -0.8011, 0.9059,
    0.4797, 0.6521, -0.0165, -0.6683, -0.4148, 2.0649, -0.8276, 1.7947, -0.2061, 0.5812,
    -1.3598, 1.6192, 1.0466, -0.4423, 0.4202, 0.1749, 0.6969, 0.2616, -0.0369, -1.4951,
    -0.0814, -0.1877, 0.0267, 0.6150, 0.2402, -1.1440, -2.0068, 0.6032, -2.6639, 0.8260,
    0.1085, -0.1693, 1.2805, 0.7654, -0.4930, 0.3770, 1.1309, 0.2303, 0.2949, -0.2634, -0.5225,
    0.4269, 0.6341, 1.5736, 0.9827, -1.2499, 0.3509, -1.6243, -0.8123, 0.7634, -0.3047, 0.0143,
    -0.4032, 0.0537, 0.7022, 0.8405, -1.2221, -1.6847, -0.0714, -0.1608, 0.5579, -1.5858,
    0.4617, -0.6480, 0.1332, 0.0419, -0.9784, 0.4173, 1.2313, -1.9046, -0.1656, 0.1259, 0.0763,
    1.4252, -0.9115, -0.1093, -0.3100, -0.6734, -1.4357, 0.9205,
]  # fmt: skip
BN_OUTPUT = [
    -0.6391, -0.9414, 1.8965, -0.5444, 2.0007, 0.1283, 0.4287, 0.014, 0.4387, -0.4818,
    0.1085, -0.0842, -1.6809, -2.0057, -2.6714, 0.8328, 0.2262, -0.1268, 0.8943, -0.0123,
    0.3377, 0.3973, 0.8928, -0.5021, 0.0861, -0.2324, 0.0451, -0.0884, 1.2311, -2.1603,
    0.1327, 0.7939, -1.055, 0.0589, -1.9002, 1.8912, 0.2918, -0.3253, -0.7993, 1.0741,
    0.6063, 0.7955, 0.0617, -0.6536, -0.3754, 2.3461, -0.8284, 2.0495, -0.201, 0.6476,
    -1.4446, 1.7665, 1.1493, -0.4556, 0.4741, 0.2097, 0.7723, 0.3031, -0.0186, -1.5905,
    0.053, -0.0572, 0.165, 0.7746, 0.3862, -1.0481, -1.9422, 0.7624, -2.6231, 0.9933,
    0.2498, -0.0381, 1.2061, 0.6327, -0.7681, 0.2004, 1.0396, 0.037, 0.109, -0.5125,
    -0.8009, 0.2559, 0.4865, 1.5324, 1.1861, -1.1461, 0.5261, -1.5372, -0.689, 0.957,
    -0.1587, 0.1745, -0.2616, 0.2156, 0.8931, 1.0375, -1.2614, -1.7691, 0.0015, -0.0966,
    0.6921, -1.6605, 0.5866, -0.6313, 0.226, 0.1258, -0.9939, 0.5378, 1.3484, -2.0319,
    -0.1574, 0.1568, 0.1034, 1.5574, -0.9614, -0.0967, -0.313, -0.7047, -1.5264, 1.0134,
]  # fmt: skip


def test_candle_batch_norm():
    running_mean = Tensor.zeros(5, F32, DEV)
    running_var = Tensor.ones(5, F32, DEV)
    bn = BatchNorm.new_no_bias(5, running_mean.copy(), running_var.copy(), 1e-8)
    inp = t32(BN_INPUT).reshape((2, 5, 3, 4))
    output = bn.forward_train(inp)
    assert output.dims() == [2, 5, 3, 4]
    output = output.flatten_all()
    assert round4(output) == f32(BN_OUTPUT)
    bn2 = BatchNorm.new(
        5,
        running_mean,
        running_var,
        t32([0.5]).broadcast_as(5),
        t32([-1.5]).broadcast_as(5),
        1e-8,
    )
    output2 = bn2.forward_train(inp)
    assert output2.dims() == [2, 5, 3, 4]
    output2 = output2.flatten_all()
    diff2 = ((output2 - output * 0.5) + 1.5).sqr()
    assert round4(diff2.sum_keepdim(0)) == f32([0.0])

    assert round4(bn.running_mean()) == f32([-0.0133, 0.0197, -0.0153, -0.0073, -0.0020])
    assert round4(bn.running_var()) == f32([0.9972, 0.9842, 0.9956, 0.9866, 0.9898])


def test_candle_train_batch_norm():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, F32, DEV)
    bn = batch_norm(1, BatchNormConfig(), vb)
    original_mean = bn.running_mean().detach().copy()
    var_map_mean = vm.data()["running_mean"]
    assert round4(bn.running_mean()) == round4(var_map_mean.as_tensor())
    # Train on something guaranteed to differ from the running mean.
    mean_plus_one = original_mean.add(original_mean.ones_like()).reshape((1, 1))
    # A batch of one: Candle's unbiased running variance divides by n - 1 = 0 (a NaN variance).
    with np.errstate(invalid="ignore"):
        bn.forward_train(mean_plus_one)
    assert round4(bn.running_mean()) != round4(original_mean)
    assert round4(bn.running_mean()) == round4(var_map_mean.as_tensor())


# ------------------------------------------------------------------------------------------------
# candle-nn/tests/group_norm.rs (values from torch.nn.functional.group_norm)

GN_INPUT = [
    [
        [-0.3034, 0.2726, -0.9659],
        [-1.1845, -1.3236, 0.0172],
        [1.9507, 1.2554, -0.8625],
        [1.0682, 0.3604, 0.3985],
        [-0.4957, -0.4461, -0.9721],
        [1.5157, -0.1546, -0.5596],
    ],
    [
        [-1.6698, -0.4040, -0.7927],
        [0.3736, -0.0975, -0.1351],
        [-0.9461, 0.5461, -0.6334],
        [-1.0919, -0.1158, 0.1213],
        [-0.9535, 0.1281, 0.4372],
        [-0.2845, 0.3488, 0.5641],
    ],
]


def test_candle_group_norm():
    w = Tensor.from_vec([1.0] * 6, 6, DEV, F32)
    b = Tensor.from_vec([0.0] * 6, 6, DEV, F32)
    gn2 = GroupNorm.new(w, b, 6, 2, 1e-5)
    gn3 = GroupNorm.new(w, b, 6, 3, 1e-5)
    inp = t32(GN_INPUT)
    assert round4(gn2.forward(inp)) == f32(
        [
            [
                [-0.1653, 0.3748, -0.7866],
                [-0.9916, -1.1220, 0.1353],
                [1.9485, 1.2965, -0.6896],
                [1.2769, 0.3628, 0.4120],
                [-0.7427, -0.6786, -1.3578],
                [1.8547, -0.3022, -0.8252],
            ],
            [
                [-1.9342, 0.0211, -0.5793],
                [1.2223, 0.4945, 0.4365],
                [-0.8163, 1.4887, -0.3333],
                [-1.7960, -0.0392, 0.3875],
                [-1.5469, 0.3998, 0.9561],
                [-0.3428, 0.7970, 1.1845],
            ],
        ]
    )
    assert round4(gn3.forward(inp)) == f32(
        [
            [
                [0.4560, 1.4014, -0.6313],
                [-0.9901, -1.2184, 0.9822],
                [1.4254, 0.6360, -1.7682],
                [0.4235, -0.3800, -0.3367],
                [-0.3890, -0.3268, -0.9862],
                [2.1325, 0.0386, -0.4691],
            ],
            [
                [-1.8797, 0.0777, -0.5234],
                [1.2802, 0.5517, 0.4935],
                [-1.0102, 1.5327, -0.4773],
                [-1.2587, 0.4047, 0.8088],
                [-1.9074, 0.1691, 0.7625],
                [-0.6230, 0.5928, 1.0061],
            ],
        ]
    )


# ------------------------------------------------------------------------------------------------
# PyTorch golden values (float64), generated with PyTorch 2.13 CPU by:
#
# import torch
#
# def show(name, t):
#     vals = ", ".join(f"{v:.8f}" for v in t.detach().flatten().tolist())
#     print(f"{name} = [{vals}]")
#
# def series(n, a, b, scale=1.0):
#     return torch.sin(torch.arange(n, dtype=torch.float64) * a + b) * scale
#
# # BatchNorm2d: three training steps, then eval
# m = torch.nn.BatchNorm2d(3, eps=1e-5, momentum=0.1).double()
# with torch.no_grad():
#     m.weight.copy_(torch.tensor([0.5, 1.0, -2.0]))
#     m.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
# m.train()
# for k in range(3):
#     x = (series(24, 0.37 * (k + 1), k, k + 1.0) + k).reshape(2, 3, 2, 2).requires_grad_()
#     y = m(x)
#     show(f"BN_Y{k}", y); show(f"BN_MEAN{k}", m.running_mean); show(f"BN_VAR{k}", m.running_var)
# r = torch.cos(torch.arange(24, dtype=torch.float64)).reshape(2, 3, 2, 2)
# (y * r).sum().backward()
# show("BN_GX2", x.grad); show("BN_GW2", m.weight.grad); show("BN_GB2", m.bias.grad)
# m.eval()
# x = series(24, 0.9, 0.5, 1.5).reshape(2, 3, 2, 2)
# show("BN_EVAL", m(x))
#
# # GroupNorm: 2 groups of 2 channels, 4-d input, with gradients
# g = torch.nn.GroupNorm(2, 4, eps=1e-5).double()
# with torch.no_grad():
#     g.weight.copy_(torch.tensor([0.5, -1.0, 2.0, 1.5]))
#     g.bias.copy_(torch.tensor([0.1, 0.2, -0.3, 0.0]))
# x = series(48, 0.53, 0.1, 2.0).reshape(2, 4, 2, 3).requires_grad_()
# y = g(x)
# r = torch.cos(torch.arange(48, dtype=torch.float64) * 0.8).reshape(2, 4, 2, 3)
# (y * r).sum().backward()
# show("GN_Y", y); show("GN_GX", x.grad); show("GN_GW", g.weight.grad); show("GN_GB", g.bias.grad)
#
# # LayerNorm module: the values are the LN_* of tests/nn/test_nn_norm_ops.py, by
# x = series(24, 0.7, 0.3, 2.0).reshape(2, 3, 4)
# ln = torch.nn.LayerNorm(4, eps=1e-5).double()
# with torch.no_grad():
#     ln.weight.copy_(torch.tensor([0.5, -1.0, 2.0, 1.5]))
#     ln.bias.copy_(torch.tensor([0.1, 0.2, -0.3, 0.0]))
# show("LN_Y", ln(x))

BN_Y = [
    [
        0.23646505, 0.48496622, 0.69983392, 0.85198682, 0.92543858, 0.84735921, 0.47573101,
        -0.13914789, 0.61921038, 1.70529284, 2.71653900, 3.51608143, -0.42539598, -0.44746113,
        -0.37696008, -0.22343481, -2.12307377, -1.30615328, -0.49131381, 0.21115995, -1.50078931,
        -1.78941721, -1.67988880, -1.18702824,
    ],
    [
        0.71597508, 0.81577568, 0.55885429, 0.07959695, -1.22643500, -1.59783428, -1.24942794,
        -0.36345440, -1.28794969, -2.35226474, -2.00361404, -0.42436385, -0.17039871, -0.50985326,
        -0.51264251, -0.17730750, 0.15020004, 0.94639571, 1.13160473, 0.60895113, 0.60208204,
        2.38434400, 3.10202748, 2.37973890,
    ],
    [
        1.03430843, 0.34205370, -0.37787151, -0.32586284, -0.40564633, 0.87420602, 0.45435320,
        -1.19888394, 3.28343341, 2.08445381, -0.73324721, -2.04011402, 0.61551086, -0.20412639,
        -0.44480447, 0.16079223, 0.61056882, 0.78831577, -0.63824613, -2.08466744, 2.77513280,
        0.15548128, -1.94042630, -1.18471367,
    ],
]  # fmt: skip
BN_MEAN = [
    [-0.01985820, 0.04970740, 0.02887230],
    [0.07236018, 0.14788994, 0.12954965],
    [0.18253039, 0.41841852, 0.35328196],
]
BN_VAR = [
    [0.96050075, 0.92244869, 0.95245115],
    [1.10320119, 1.07156119, 1.09847912],
    [1.40625541, 1.36425491, 1.56392962],
]
BN_GX2 = [
    0.00968832, 0.04570499, -0.04260480, -0.20525557, -0.50675869, 0.24123538, 0.52191991,
    0.09272705, -0.02493919, 0.56011667, 0.26689791, -0.59121094, 0.06354107, 0.26599797,
    0.11791713, -0.25498911, -0.47325948, -0.07409373, 0.15084389, 0.04738567, -0.55971726,
    0.07941547, 0.31221351, -0.04277617,
]  # fmt: skip
BN_GW2 = [3.44783105, -2.88659713, -1.45865481]
BN_GB2 = [1.26251302, 1.76028961, -3.56371717]
BN_EVAL = [
    0.32625253, 0.64628857, 0.49466166, -0.01387999, -1.60908349, -1.78970642, -1.03837229,
    0.07632420, -1.50552105, -0.89675070, 1.04527058, 2.85085981, -0.58033259, -0.20352400,
    0.34474285, 0.64955052, 0.37011431, -0.67625895, -1.63331001, -1.77676169, 1.68656601,
    -0.38978900, -1.51655158, -0.84101027,
]  # fmt: skip

GN_Y = [
    0.17212660, 0.52026022, 0.75338150, 0.80752526, 0.66783522, 0.37264035, 0.39412411, 1.07966175,
    1.52323040, 1.60312110, 1.29741295, 0.68998797, 0.20239591, 1.55021946, 2.39084372, 2.49361329,
    1.83032965, 0.58298846, -0.45461813, -1.44638074, -2.04092084, -2.07510505, -1.53955369,
    -0.58121449, 0.27832228, 0.60206102, 0.78797683, 0.78505704, 0.59410279, 0.26750924, 0.61022194,
    1.24303223, 1.58977821, 1.55531767, 1.14910611, 0.48260223, 0.61984787, 1.85411086, 2.49632724,
    2.37028191, 1.51055994, 0.15305687, -0.77231073, -1.67324477, -2.11580588, -1.97856157,
    -1.29916973, -0.26404588,
]  # fmt: skip
GN_GX = [
    0.45466664, 0.28943484, -0.00719369, -0.26804318, -0.33784828, -0.16662308, 0.06454073,
    -0.36854767, -0.48684994, -0.20647067, 0.30470143, 0.72823288, -1.50644140, -1.19028392,
    -0.28188682, 0.60829467, 0.93302240, 0.54221630, -0.14643375, -0.52029540, -0.44116029,
    0.09901611, 0.77579256, 1.12815955, 0.41460953, 0.18519490, -0.11508231, -0.31179140,
    -0.28549013, -0.04421004, -0.17353578, -0.50475013, -0.44584865, -0.02536714, 0.50092109,
    0.80535005, -1.52095883, -0.90362335, 0.05186295, 0.71954963, 0.70352684, 0.07558204,
    -0.48061714, -0.65935094, -0.33152056, 0.34661784, 0.95050334, 1.04842819,
]  # fmt: skip
GN_GW = [-3.89911263, -4.39154843, 4.12642693, 4.17046247]
GN_GB = [-1.94125946, 2.63011796, 2.40152476, -2.20985601]

LN_Y = [
    -0.68142571, -0.34126639, 1.94023972, -0.14780225, 0.91531521, 0.21015042, -2.15670300,
    -1.03819275, -0.66331846, 0.44781594, 1.21525938, 1.52523477, 0.80954633, -0.20439143,
    -1.55767283, -1.79197152, -0.55483764, 0.72537380, 0.72881408, 1.98096307, 0.69032894,
    -0.44018243, -1.08309477, -2.14393939,
]  # fmt: skip

GOLD = dict(rtol=0.0, atol=1e-7)


def series(n, a, b, scale=1.0):
    return np.sin(np.arange(n, dtype=np.float64) * a + b) * scale


def _bn_from_varmap(dtype=F64):
    vm = VarMap()
    bn = batch_norm(3, BatchNormConfig(eps=1e-5, momentum=0.1), VarBuilder.from_varmap(vm, dtype))
    vm.set_one("weight", Tensor.new([0.5, 1.0, -2.0], dtype=dtype))
    vm.set_one("bias", Tensor.new([0.1, -0.2, 0.3], dtype=dtype))
    return bn, vm


def test_batch_norm_three_training_steps_then_eval_match_pytorch():
    bn, vm = _bn_from_varmap()
    assert isinstance(bn, ModuleT)
    for k in range(3):
        x = Tensor.new((series(24, 0.37 * (k + 1), k, k + 1.0) + k).reshape(2, 3, 2, 2))
        y = bn.forward_t(x, True)
        assert_close(y, np.reshape(BN_Y[k], (2, 3, 2, 2)), **GOLD)
        assert_close(bn.running_mean(), BN_MEAN[k], **GOLD)
        assert_close(bn.running_var(), BN_VAR[k], **GOLD)
        # The VarMap holds the very same running statistics (they save with the model).
        assert_close(vm.data()["running_mean"], BN_MEAN[k], **GOLD)
        assert_close(vm.data()["running_var"], BN_VAR[k], **GOLD)
    x = Tensor.new(series(24, 0.9, 0.5, 1.5).reshape(2, 3, 2, 2))
    assert_close(bn.forward_t(x, False), np.reshape(BN_EVAL, (2, 3, 2, 2)), **GOLD)
    assert_close(bn(x), np.reshape(BN_EVAL, (2, 3, 2, 2)), **GOLD)  # ModuleT: train=False
    # Eval leaves the running statistics alone.
    assert_close(bn.running_var(), BN_VAR[2], **GOLD)


def test_batch_norm_training_gradients_match_pytorch():
    bn, vm = _bn_from_varmap()
    for k in range(2):
        bn.forward_train(
            Tensor.new((series(24, 0.37 * (k + 1), k, k + 1.0) + k).reshape(2, 3, 2, 2))
        )
    x = Var.new((series(24, 0.37 * 3, 2, 3.0) + 2).reshape(2, 3, 2, 2))
    r = Tensor.new(np.cos(np.arange(24, dtype=np.float64)).reshape(2, 3, 2, 2))
    y = bn.forward_t(x, True)
    grads = (y * r).sum_all().backward()
    assert_close(grads.get(x), np.reshape(BN_GX2, (2, 3, 2, 2)), **GOLD)
    assert_close(grads.get(vm.data()["weight"]), BN_GW2, **GOLD)
    assert_close(grads.get(vm.data()["bias"]), BN_GB2, **GOLD)
    # The running statistics are buffers: no gradient reaches them.
    assert grads.get(vm.data()["running_mean"]) is None
    assert grads.get(vm.data()["running_var"]) is None


def test_batch_norm_train_gradcheck():
    w, b = np.array([0.5, 1.0, -2.0]), np.array([0.1, -0.2, 0.3])

    def f(x, w, b):
        bn = BatchNorm.new(3, Tensor.zeros(3, F64), Tensor.ones(3, F64), w, b, 1e-5)
        return bn.forward_t(x, True)

    assert gradcheck(f, [series(24, 0.41, 0.2, 1.3).reshape(2, 3, 4), w, b])


def test_group_norm_matches_pytorch():
    vm = VarMap()
    gn = group_norm(2, 4, 1e-5, VarBuilder.from_varmap(vm, F64))
    vm.set_one("weight", Tensor.new([0.5, -1.0, 2.0, 1.5]))
    vm.set_one("bias", Tensor.new([0.1, 0.2, -0.3, 0.0]))
    x = Var.new(series(48, 0.53, 0.1, 2.0).reshape(2, 4, 2, 3))
    y = gn(x)
    r = Tensor.new(np.cos(np.arange(48, dtype=np.float64) * 0.8).reshape(2, 4, 2, 3))
    grads = (y * r).sum_all().backward()
    assert_close(y, np.reshape(GN_Y, (2, 4, 2, 3)), **GOLD)
    assert_close(grads.get(x), np.reshape(GN_GX, (2, 4, 2, 3)), **GOLD)
    assert_close(grads.get(vm.data()["weight"]), GN_GW, **GOLD)
    assert_close(grads.get(vm.data()["bias"]), GN_GB, **GOLD)


def test_layer_norm_module_matches_pytorch():
    vm = VarMap()
    ln = layer_norm(4, 1e-5, VarBuilder.from_varmap(vm, F64))
    vm.set_one("weight", Tensor.new([0.5, -1.0, 2.0, 1.5]))
    vm.set_one("bias", Tensor.new([0.1, 0.2, -0.3, 0.0]))
    x = Tensor.new(series(24, 0.7, 0.3, 2.0).reshape(2, 3, 4))
    assert_close(ln(x), np.reshape(LN_Y, (2, 3, 4)), **GOLD)


# ------------------------------------------------------------------------------------------------
# Builders: Candle's names, shapes and initialisation


def test_layer_norm_builders():
    vm = VarMap()
    vb = VarBuilder.from_varmap(vm, F32, DEV)
    ln = layer_norm(3, LayerNormConfig(), vb.pp("ln"))
    assert sorted(vm.data()) == ["ln.bias", "ln.weight"]
    assert ln.weight().to_vec1() == [1.0, 1.0, 1.0] and ln.bias().to_vec1() == [0.0, 0.0, 0.0]
    assert ln.eps() == 1e-5 and ln.remove_mean()
    assert layer_norm(3, 1e-6, vb.pp("e")).eps() == 1e-6  # an eps is a config (Candle's From<f64>)
    nb = layer_norm_no_bias(3, 1e-6, vb.pp("nb"))
    assert nb.bias() is None and nb.remove_mean() and "nb.bias" not in vm
    keep = layer_norm(3, LayerNormConfig(eps=1e-6, remove_mean=False, affine=False), vb.pp("k"))
    assert keep.bias() is None and not keep.remove_mean()
    rms = rms_norm(3, 1e-6, vb.pp("rms"))
    assert isinstance(rms, RmsNorm) and rms.eps() == 1e-6 and "rms.bias" not in vm
    assert rms.weight().to_vec1() == [1.0, 1.0, 1.0]
    assert not rms.into_inner().remove_mean() and rms.into_inner().bias() is None


def test_layer_norm_paths_agree():
    """The fused path (mean removed, bias) against Candle's composite path of the same layer."""
    x = Tensor.new(series(30, 0.61, 0.4, 3.0).reshape(2, 3, 5))
    w, b = Tensor.new(series(5, 1.3, 0.2) + 1.0), Tensor.new(series(5, 0.9, 1.0))
    fused = LayerNorm.new(w, b, 1e-5)(x)
    assert_close(fused, ops.layer_norm_slow(x, w, b, 1e-5), 1e-12, 1e-12)
    no_bias = LayerNorm.new_no_bias(w, 1e-5)(x)
    assert_close(no_bias, fused.broadcast_sub(b), 1e-12, 1e-12)
    rms = RmsNorm(w, 1e-5)
    assert_close(rms(x), ops.rms_norm_slow(x, w, 1e-5), 1e-12, 1e-12)
    assert_close(rms.forward_diff(x), rms(x), 1e-12, 1e-12)
    assert_close(LayerNorm.rms_norm(w, 1e-5)(x), rms(x), 1e-12, 1e-12)
    # Non-contiguous input: the fused op handles any layout.
    xt = Tensor.new(series(30, 0.61, 0.4, 3.0).reshape(2, 5, 3)).transpose(1, 2)
    assert_close(LayerNorm.new(w, b, 1e-5)(xt), ops.layer_norm_slow(xt, w, b, 1e-5), 1e-12, 1e-12)


@pytest.mark.parametrize("dtype", [F16, BF16])
def test_norm_layers_keep_low_precision_dtypes(dtype):
    x = Tensor.new(series(24, 0.7, 0.3, 2.0).reshape(2, 3, 4), dtype=dtype)
    w, b = (
        Tensor.new([0.5, -1.0, 2.0, 1.5], dtype=dtype),
        Tensor.new([0.1, 0.2, -0.3, 0.0], dtype=dtype),
    )
    tol = 1e-2 if dtype == F16 else 5e-2
    x64, w64, b64 = (t.to_dtype(F64) for t in (x, w, b))
    for make in (
        lambda w, b: LayerNorm.new(w, b, 1e-5),
        lambda w, b: LayerNorm.new_no_bias(w, 1e-5),
        lambda w, b: RmsNorm(w, 1e-5),
    ):
        y = make(w, b)(x)
        assert y.dtype == dtype
        assert_close(y.to_dtype(F64), make(w64, b64)(x64), tol, tol)
    assert_close(LayerNorm.new(w, b, 1e-5)(x).to_dtype(F64), np.reshape(LN_Y, (2, 3, 4)), tol, tol)
    gn = GroupNorm.new(w, b, 4, 2, 1e-5)
    assert gn(x.reshape((2, 4, 3))).dtype == dtype
    bn = BatchNorm.new(3, Tensor.zeros(3, dtype), Tensor.ones(3, dtype), w[:3], b[:3], 1e-5)
    assert bn.forward_t(x, True).dtype == dtype
    assert bn.running_mean().dtype == dtype and bn.forward_t(x, False).dtype == dtype


def test_batch_norm_builder_names_and_init():
    vm = VarMap()
    bn = batch_norm(4, 1e-3, VarBuilder.from_varmap(vm, F32, DEV).pp("bn"))
    assert sorted(vm.data()) == ["bn.bias", "bn.running_mean", "bn.running_var", "bn.weight"]
    assert bn.running_mean().to_vec1() == [0.0] * 4 and bn.running_var().to_vec1() == [1.0] * 4
    weight, bias = bn.weight_and_bias()
    assert weight.to_vec1() == [1.0] * 4 and bias.to_vec1() == [0.0] * 4
    assert bn.eps() == 1e-3 and bn.momentum() == 0.1
    vm2 = VarMap()
    plain = batch_norm(4, BatchNormConfig(affine=False, momentum=0.3), VarBuilder.from_varmap(vm2))
    assert plain.weight_and_bias() is None and plain.momentum() == 0.3
    assert sorted(vm2.data()) == ["running_mean", "running_var"]


def test_batch_norm_running_stats_from_a_checkpoint_are_used_in_eval():
    tensors = {
        "running_mean": Tensor.new([1.0, -2.0]),
        "running_var": Tensor.new([4.0, 0.25]),
        "weight": Tensor.new([2.0, 1.0]),
        "bias": Tensor.new([0.5, 0.0]),
    }
    bn = batch_norm(2, 0.0, VarBuilder.from_tensors(tensors, F64))
    # (x - mean) / sqrt(var) * w + b: channel 0: (3 - 1) / 2 * 2 + 0.5 = 2.5,
    # channel 1: (-1 + 2) / 0.5 * 1 + 0 = 2.
    x = Tensor.new([[[3.0], [-1.0]]])
    assert bn.forward_t(x, False).to_vec3() == [[[2.5], [2.0]]]
    # Training on the loaded buffers updates this layer's copy, never the source tensors.
    bn.forward_t(Tensor.new([[1.0, 2.0], [3.0, 4.0]]), True)
    assert tensors["running_mean"].to_vec1() == [1.0, -2.0]


def test_batch_norm_running_mean_momentum_and_remove_mean_false():
    # momentum 0.5, batch means [2, 3], unbiased batch variances [2, 2] (values 1, 3 and 2, 4):
    # mean <- 0.5 * 0 + 0.5 * [2, 3] = [1, 1.5]; var <- 0.5 * 1 + 0.5 * [2, 2] = [1.5, 1.5].
    bn = BatchNorm.new_no_bias_with_momentum(2, Tensor.zeros(2), Tensor.ones(2), 0.0, 0.5)
    y = bn.forward_train(Tensor.new([[1.0, 2.0], [3.0, 4.0]]))
    assert bn.running_mean().to_vec1() == [1.0, 1.5]
    assert bn.running_var().to_vec1() == [1.5, 1.5]
    assert y.to_vec2() == [[-1.0, -1.0], [1.0, 1.0]]
    # remove_mean false (config only): the mean is kept and not tracked; the "variance" is the
    # second moment: channel 0: mean(1, 9) = 5, unbiased 10 -> 0.9 * 1 + 0.1 * 10 = 1.9.
    bn = batch_norm(2, BatchNormConfig(eps=0.0, remove_mean=False, affine=False),
                    VarBuilder.from_tensors({"running_mean": Tensor.zeros(2, F64),
                                             "running_var": Tensor.ones(2, F64)}, F64))  # fmt: skip
    bn.forward_train(Tensor.new([[1.0, 2.0], [3.0, 4.0]]))
    assert bn.running_mean().to_vec1() == [0.0, 0.0]
    assert_close(bn.running_var(), [1.9, 0.1 * 20 + 0.9], 1e-15, 1e-15)


def test_group_norm_builder():
    vm = VarMap()
    gn = group_norm(2, 6, 1e-5, VarBuilder.from_varmap(vm, F32, DEV).pp("gn"))
    assert sorted(vm.data()) == ["gn.bias", "gn.weight"]
    assert gn.weight().to_vec1() == [1.0] * 6 and gn.bias().to_vec1() == [0.0] * 6
    # The builder's layer gives Candle's 2-group values.
    assert round4(gn(t32(GN_INPUT)))[0][0] == f32([-0.1653, 0.3748, -0.7866])


# ------------------------------------------------------------------------------------------------
# Errors (Candle's messages)


def test_batch_norm_errors():
    z, o = Tensor.zeros(3), Tensor.ones(3)
    with pytest.raises(Msg, match="batch-norm eps cannot be negative -1"):
        BatchNorm.new_no_bias(3, z, o, -1.0)
    with pytest.raises(Msg, match="batch-norm momentum must be between 0 and 1, is 1.5"):
        BatchNorm.new_no_bias_with_momentum(3, z, o, 1e-5, 1.5)
    expected = r"batch-norm running mean has unexpected shape \[3\] should have shape \[4\]"
    with pytest.raises(Msg, match=expected):
        BatchNorm.new_no_bias(4, z, Tensor.ones(4), 1e-5)
    with pytest.raises(Msg, match="batch-norm running variance has unexpected shape"):
        BatchNorm.new_no_bias(3, z, Tensor.ones(4), 1e-5)
    with pytest.raises(Msg, match="batch-norm weight has unexpected shape"):
        BatchNorm.new(3, z, o, Tensor.ones(2), z, 1e-5)
    with pytest.raises(Msg, match="batch-norm eps cannot be negative"):
        batch_norm(3, -1e-5, VarBuilder.from_varmap(VarMap()))
    bn = BatchNorm.new_no_bias(3, z, o, 1e-5)
    with pytest.raises(Msg, match="batch-norm input tensor must have at least two dimensions"):
        bn.forward_train(Tensor.ones(3))
    with pytest.raises(Msg, match=r"expected number of features \(\[2, 4\] <> 3\)"):
        bn.forward_train(Tensor.ones((2, 4)))


def test_group_norm_errors():
    w, b = Tensor.ones(6), Tensor.zeros(6)
    with pytest.raises(Msg, match=r"GroupNorm: num_groups \(4\) must divide num_channels \(6\)"):
        GroupNorm.new(w, b, 6, 4, 1e-5)
    gn = GroupNorm.new(w, b, 6, 2, 1e-5)
    with pytest.raises(Msg, match="input rank for GroupNorm should be at least 3"):
        gn(Tensor.ones((2, 6)))
    with pytest.raises(Msg, match=r"unexpected num-channels in GroupNorm \(4 <> 6"):
        gn(Tensor.ones((2, 4, 3)))
