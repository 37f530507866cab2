"""Conv and recurrent layers saved from wick carry PyTorch's ``state_dict`` names and shapes, and
load back by name into layers built from a checkpoint."""

from __future__ import annotations

from nn_helpers import pat_t
from safetensors.numpy import load_file

from wick import Device, DType
from wick.nn import (
    Conv1dConfig,
    Conv2dConfig,
    ConvTranspose1dConfig,
    ConvTranspose2dConfig,
    Direction,
    GRUConfig,
    LSTMConfig,
    VarBuilder,
    VarMap,
    conv1d,
    conv2d,
    conv2d_no_bias,
    conv_transpose1d,
    conv_transpose2d,
    gru,
    lstm,
)

# import torch
#
# nn = torch.nn
# net = nn.Module()
# net.c1 = nn.Conv1d(4, 6, 3, groups=2)
# net.c2 = nn.Conv2d(3, 8, 3)
# net.c2nb = nn.Conv2d(8, 4, 1, bias=False)
# net.t1 = nn.ConvTranspose1d(6, 4, 5, groups=2)
# net.t2 = nn.ConvTranspose2d(4, 2, 2)
# net.lstm = nn.LSTM(5, 7, num_layers=2, bidirectional=True)
# net.gru = nn.GRU(5, 3)
# print({k: list(v.shape) for k, v in net.state_dict().items()})
TORCH_STATE_DICT_SHAPES = {
    "c1.weight": [6, 2, 3],
    "c1.bias": [6],
    "c2.weight": [8, 3, 3, 3],
    "c2.bias": [8],
    "c2nb.weight": [4, 8, 1, 1],
    "t1.weight": [6, 2, 5],
    "t1.bias": [4],
    "t2.weight": [4, 2, 2, 2],
    "t2.bias": [2],
    "lstm.weight_ih_l0": [28, 5],
    "lstm.weight_hh_l0": [28, 7],
    "lstm.bias_ih_l0": [28],
    "lstm.bias_hh_l0": [28],
    "lstm.weight_ih_l0_reverse": [28, 5],
    "lstm.weight_hh_l0_reverse": [28, 7],
    "lstm.bias_ih_l0_reverse": [28],
    "lstm.bias_hh_l0_reverse": [28],
    "lstm.weight_ih_l1": [28, 14],
    "lstm.weight_hh_l1": [28, 7],
    "lstm.bias_ih_l1": [28],
    "lstm.bias_hh_l1": [28],
    "lstm.weight_ih_l1_reverse": [28, 14],
    "lstm.weight_hh_l1_reverse": [28, 7],
    "lstm.bias_ih_l1_reverse": [28],
    "lstm.bias_hh_l1_reverse": [28],
    "gru.weight_ih_l0": [9, 5],
    "gru.weight_hh_l0": [9, 3],
    "gru.bias_ih_l0": [9],
    "gru.bias_hh_l0": [9],
}


def build_net(vb: VarBuilder) -> dict:
    """The torch snippet's ``net`` in wick: one builder call per torch sub-module (the two-layer
    bidirectional LSTM is four single-direction wick LSTMs)."""
    net = {
        "c1": conv1d(4, 6, 3, Conv1dConfig(groups=2), vb.pp("c1")),
        "c2": conv2d(3, 8, 3, Conv2dConfig(), vb.pp("c2")),
        "c2nb": conv2d_no_bias(8, 4, 1, Conv2dConfig(), vb.pp("c2nb")),
        "t1": conv_transpose1d(6, 4, 5, ConvTranspose1dConfig(groups=2), vb.pp("t1")),
        "t2": conv_transpose2d(4, 2, 2, ConvTranspose2dConfig(), vb.pp("t2")),
        "gru": gru(5, 3, GRUConfig(), vb.pp("gru")),
    }
    for layer_idx, in_dim in ((0, 5), (1, 14)):
        for direction in (Direction.Forward, Direction.Backward):
            cfg = LSTMConfig(layer_idx=layer_idx, direction=direction)
            net[f"lstm{layer_idx}{direction.name}"] = lstm(in_dim, 7, cfg, vb.pp("lstm"))
    return net


def _outputs(net: dict) -> list:
    f = DType.F32
    x1, x2 = pat_t((1, 4, 6), 0.3, 0.1, f), pat_t((1, 3, 5, 5), 0.7, 0.2, f)
    seq = pat_t((2, 3, 5), 0.37, 0.1, f)
    lstm_in = pat_t((2, 3, 14), 0.11, 0.4, f)
    return [
        net["c1"].forward(x1),
        net["c2"].forward(x2),
        net["c2nb"].forward(net["c2"].forward(x2)),
        net["t1"].forward(net["c1"].forward(x1)),
        net["t2"].forward(net["c2nb"].forward(net["c2"].forward(x2))),
        net["gru"].states_to_tensor(net["gru"].seq(seq)),
        net["lstm0Forward"].states_to_tensor(net["lstm0Forward"].seq(seq)),
        net["lstm0Backward"].states_to_tensor(net["lstm0Backward"].seq(seq)),
        net["lstm1Forward"].states_to_tensor(net["lstm1Forward"].seq(lstm_in)),
        net["lstm1Backward"].states_to_tensor(net["lstm1Backward"].seq(lstm_in)),
    ]


def test_names_and_shapes_match_torch_state_dict(tmp_path):
    Device.Cpu.set_seed(7)
    varmap = VarMap()
    net = build_net(VarBuilder.from_varmap(varmap))
    assert {k: v.dims() for k, v in varmap.data().items()} == TORCH_STATE_DICT_SHAPES

    path = tmp_path / "net.safetensors"
    varmap.save(path)
    # The file itself, read without wick, holds exactly torch's names and shapes.
    on_disk = load_file(str(path))
    assert {k: list(v.shape) for k, v in on_disk.items()} == TORCH_STATE_DICT_SHAPES

    # Layers built from the checkpoint read every tensor by name and compute the same.
    loaded = build_net(VarBuilder.from_mmaped_safetensors([path]))
    for before, after in zip(_outputs(net), _outputs(loaded), strict=True):
        assert after.numpy().tolist() == before.numpy().tolist()

    # And a VarMap with the same layers loads the file strictly.
    other = VarMap()
    build_net(VarBuilder.from_varmap(other))
    other.load(path)
    for name, var in other.data().items():
        assert var.numpy().tolist() == on_disk[name].tolist()
