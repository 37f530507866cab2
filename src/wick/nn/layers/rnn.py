"""Recurrent layers (candle-nn's ``rnn``): the RNN interface, LSTM and GRU.

Parameters are named as PyTorch's ``nn.LSTM`` / ``nn.GRU`` (``weight_ih_l0``, ...) and gates are
in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n), so PyTorch checkpoints load unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ...core import Tensor
from .. import init as _init
from ..init import Init
from ..ops import sigmoid


class RNN:
    """A recurrent network: ``step`` maps (input, state) to the next state (Candle's ``RNN``)."""

    def zero_state(self, batch_dim: int):
        """The zero state from which the network usually starts."""
        raise NotImplementedError

    def step(self, input: Tensor, state):
        """One step on an input of shape ``(batch, features)``."""
        raise NotImplementedError

    def seq(self, input: Tensor) -> list:
        """Every state over an input ``(batch, seq_len, features)``, starting from zero."""
        return self.seq_init(input, self.zero_state(input.dim(0)))

    def seq_init(self, input: Tensor, init_state) -> list:
        """Every state over an input ``(batch, seq_len, features)``, starting from ``init_state``."""
        _b, seq_len, _features = input.dims3()
        states = []
        state = init_state
        for index in range(seq_len):
            state = self.step(input[:, index, :].contiguous(), state)
            states.append(state)
        return states

    def states_to_tensor(self, states) -> Tensor:
        """The hidden states of a sequence as one tensor."""
        raise NotImplementedError


class Direction(enum.Enum):
    """Which way an LSTM layer reads; only the parameter names depend on it (``_reverse``)."""

    Forward = "forward"
    Backward = "backward"


def _param_names(layer_idx: int, direction: Direction) -> tuple:
    suffix = "_reverse" if direction is Direction.Backward else ""
    return tuple(
        f"{kind}_{part}_l{layer_idx}{suffix}"
        for kind, part in (("weight", "ih"), ("weight", "hh"), ("bias", "ih"), ("bias", "hh"))
    )


@dataclass(frozen=True)
class LSTMConfig:
    """Initialisation and naming of an LSTM layer; a bias init of None means no bias."""

    w_ih_init: Init = _init.DEFAULT_KAIMING_UNIFORM
    w_hh_init: Init = _init.DEFAULT_KAIMING_UNIFORM
    b_ih_init: Init | None = _init.ZERO
    b_hh_init: Init | None = _init.ZERO
    layer_idx: int = 0
    direction: Direction = Direction.Forward

    @classmethod
    def default_no_bias(cls) -> LSTMConfig:
        """The default config without biases."""
        return cls(b_ih_init=None, b_hh_init=None)


@dataclass(frozen=True)
class GRUConfig:
    """Initialisation and naming of a GRU layer; a bias init of None means no bias.

    ``layer_idx`` and ``direction`` are a wick extension (Candle's GRU always reads ``*_l0``).
    """

    w_ih_init: Init = _init.DEFAULT_KAIMING_UNIFORM
    w_hh_init: Init = _init.DEFAULT_KAIMING_UNIFORM
    b_ih_init: Init | None = _init.ZERO
    b_hh_init: Init | None = _init.ZERO
    layer_idx: int = 0
    direction: Direction = Direction.Forward

    @classmethod
    def default_no_bias(cls) -> GRUConfig:
        """The default config without biases."""
        return cls(b_ih_init=None, b_hh_init=None)


class _Gated(RNN):
    """The parameters and input projections shared by LSTM and GRU (``gates`` blocks each)."""

    gates = 0

    def __init__(self, in_dim: int, hidden_dim: int, config, vb):
        w_ih, w_hh, b_ih, b_hh = _param_names(config.layer_idx, config.direction)
        rows = self.gates * hidden_dim
        self.w_ih = vb.get_with_hints((rows, in_dim), w_ih, config.w_ih_init)
        self.w_hh = vb.get_with_hints((rows, hidden_dim), w_hh, config.w_hh_init)
        self.b_ih = (
            None if config.b_ih_init is None else vb.get_with_hints(rows, b_ih, config.b_ih_init)
        )
        self.b_hh = (
            None if config.b_hh_init is None else vb.get_with_hints(rows, b_hh, config.b_hh_init)
        )
        self.hidden_dim = hidden_dim
        self._config = config
        self._dtype = vb.dtype
        self._device = vb.device

    def config(self):
        """The layer's config."""
        return self._config

    def _projections(self, input: Tensor, h: Tensor) -> tuple:
        """``x W_ih^T + b_ih`` and ``h W_hh^T + b_hh``."""
        x_ih = input.matmul(self.w_ih.t())
        x_hh = h.matmul(self.w_hh.t())
        if self.b_ih is not None:
            x_ih = x_ih.broadcast_add(self.b_ih)
        if self.b_hh is not None:
            x_hh = x_hh.broadcast_add(self.b_hh)
        return x_ih, x_hh

    def _zeros(self, batch_dim: int) -> Tensor:
        return Tensor.zeros((batch_dim, self.hidden_dim), self._dtype, self._device)

    def __repr__(self) -> str:
        in_dim = self.w_ih.dims2()[1]
        return f"{type(self).__name__}(in={in_dim}, hidden={self.hidden_dim}, bias={self.b_ih is not None})"


class LSTMState:
    """An LSTM's state: hidden ``h()`` (also the output) and cell ``c()``, each
    ``(batch, hidden)``; methods, as in Candle."""

    __slots__ = ("_c", "_h")

    def __init__(self, h: Tensor, c: Tensor):
        self._h = h
        self._c = c

    @classmethod
    def new(cls, h: Tensor, c: Tensor) -> LSTMState:
        return cls(h, c)

    def h(self) -> Tensor:
        """The hidden state, which is also the LSTM's output."""
        return self._h

    def c(self) -> Tensor:
        """The cell state."""
        return self._c

    def __iter__(self):
        return iter((self._h, self._c))

    def __repr__(self) -> str:
        return f"LSTMState(h={self._h.shape}, c={self._c.shape})"


class LSTM(_Gated):
    """A long short-term memory layer (one layer, one direction)."""

    gates = 4

    def zero_state(self, batch_dim: int) -> LSTMState:
        zeros = self._zeros(batch_dim)
        return LSTMState(zeros, zeros)

    def step(self, input: Tensor, state: LSTMState) -> LSTMState:
        x_ih, x_hh = self._projections(input, state.h())
        i, f, g, o = (x_ih + x_hh).chunk(4, 1)
        next_c = sigmoid(f) * state.c() + sigmoid(i) * g.tanh()
        next_h = sigmoid(o) * next_c.tanh()
        return LSTMState(next_h, next_c)

    def states_to_tensor(self, states) -> Tensor:
        """The ``h`` of each state stacked into ``(batch, seq_len, hidden)``."""
        return Tensor.stack([s.h() for s in states], 1)


def lstm(in_dim: int, hidden_dim: int, config, vb) -> LSTM:
    """An LSTM reading ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``.

    Weights ``(4·hidden, in)`` and ``(4·hidden, hidden)``, Kaiming uniform; biases zero.

    >>> from wick.nn import VarMap, VarBuilder
    >>> layer = lstm(2, 3, LSTMConfig(), VarBuilder.from_varmap(VarMap()))
    >>> [s.h().shape for s in layer.seq(Tensor.zeros((1, 5, 2)))][-1]
    [1, 3]
    """
    return LSTM(in_dim, hidden_dim, LSTMConfig() if config is None else config, vb)


class GRUState:
    """A GRU's state: the hidden ``h()`` ``(batch, hidden)``, also its output (a method, as in
    Candle)."""

    __slots__ = ("_h",)

    def __init__(self, h: Tensor):
        self._h = h

    def h(self) -> Tensor:
        """The hidden state, which is also the GRU's output."""
        return self._h

    def __repr__(self) -> str:
        return f"GRUState(h={self._h.shape})"


class GRU(_Gated):
    """A gated recurrent unit layer (one layer, one direction)."""

    gates = 3

    def zero_state(self, batch_dim: int) -> GRUState:
        return GRUState(self._zeros(batch_dim))

    def step(self, input: Tensor, state: GRUState) -> GRUState:
        x_ih, x_hh = self._projections(input, state.h())
        r_ih, z_ih, n_ih = x_ih.chunk(3, 1)
        r_hh, z_hh, n_hh = x_hh.chunk(3, 1)
        r = sigmoid(r_ih + r_hh)
        z = sigmoid(z_ih + z_hh)
        n = (n_ih + r * n_hh).tanh()
        # h' = z·h + (1 - z)·n, written as Candle does: z·h - (z - 1)·n.
        return GRUState(z * state.h() - (z - 1.0) * n)

    def states_to_tensor(self, states) -> Tensor:
        """The ``h`` of each state concatenated on dim 1: ``(batch, seq_len·hidden)`` (Candle)."""
        return Tensor.cat([s.h() for s in states], 1)


def gru(in_dim: int, hidden_dim: int, config, vb) -> GRU:
    """A GRU reading ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``.

    Weights ``(3·hidden, in)`` and ``(3·hidden, hidden)``, Kaiming uniform; biases zero.
    """
    return GRU(in_dim, hidden_dim, GRUConfig() if config is None else config, vb)
