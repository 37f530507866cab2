"""wick.nn: candle-nn in Python (layers, VarBuilder/VarMap, init, ops, losses, optimizers)."""

from . import init, loss, ops, optim
from .activation import Activation
from .init import Init
from .layers.conv import (
    Conv1d,
    Conv1dConfig,
    Conv2d,
    Conv2dConfig,
    ConvTranspose1d,
    ConvTranspose1dConfig,
    ConvTranspose2d,
    ConvTranspose2dConfig,
    conv1d,
    conv1d_no_bias,
    conv2d,
    conv2d_no_bias,
    conv_transpose1d,
    conv_transpose1d_no_bias,
    conv_transpose2d,
    conv_transpose2d_no_bias,
)
from .layers.linear import Linear, linear, linear_b, linear_no_bias
from .layers.rnn import (
    GRU,
    LSTM,
    RNN,
    Direction,
    GRUConfig,
    GRUState,
    LSTMConfig,
    LSTMState,
    gru,
    lstm,
)
from .module import Func, Module, ModuleT, Sequential, func, seq
from .ops import Dropout
from .optim import SGD, AdamW, Optimizer, ParamsAdamW
from .var_builder import VarBuilder
from .var_map import VarMap

__all__ = [
    "Conv1d",
    "Conv1dConfig",
    "Conv2d",
    "Conv2dConfig",
    "ConvTranspose1d",
    "ConvTranspose1dConfig",
    "ConvTranspose2d",
    "ConvTranspose2dConfig",
    "conv1d",
    "conv1d_no_bias",
    "conv2d",
    "conv2d_no_bias",
    "conv_transpose1d",
    "conv_transpose1d_no_bias",
    "conv_transpose2d",
    "conv_transpose2d_no_bias",
    "GRU",
    "LSTM",
    "RNN",
    "Direction",
    "GRUConfig",
    "GRUState",
    "LSTMConfig",
    "LSTMState",
    "gru",
    "lstm",
    "Activation",
    "AdamW",
    "Dropout",
    "Func",
    "Init",
    "Linear",
    "Module",
    "ModuleT",
    "Optimizer",
    "ParamsAdamW",
    "SGD",
    "Sequential",
    "VarBuilder",
    "VarMap",
    "func",
    "init",
    "linear",
    "linear_b",
    "linear_no_bias",
    "loss",
    "ops",
    "optim",
    "seq",
]
