"""wick.nn: candle-nn in Python (layers, VarBuilder/VarMap, init, ops, losses, optimizers)."""

from . import init, loss, ops, optim
from .activation import Activation
from .init import Init
from .layers.linear import Linear, linear, linear_b, linear_no_bias
from .module import Func, Module, ModuleT, Sequential, func, seq
from .ops import Dropout
from .optim import SGD, AdamW, Optimizer, ParamsAdamW
from .var_builder import VarBuilder
from .var_map import VarMap

__all__ = [
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
