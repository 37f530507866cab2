"""Optimizers (candle-nn's ``optim``): ``step(grads)`` updates the Vars in place.

Each optimizer keeps its arithmetic in one per-parameter update function working on raw
arrays with ``out=`` (no temporaries kept, no graph), as MLX's ``apply_single``. State
(moments, step count) can be saved and loaded so that a run resumes bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import safetensors
from ..core import GradStore, Tensor, Var, graph
from ..core.errors import Msg, UnexpectedType
from ..core.shape import to_real


class Optimizer:
    """Base class: ``step(grads)``, ``backward_step(loss)``, the learning rate, saved state."""

    def __init__(self, vars):
        name = type(self).__name__
        if isinstance(vars, Tensor) or not hasattr(vars, "__iter__"):
            raise UnexpectedType(name, "vars", "a list of Vars", vars)
        vars = list(vars)
        for i, v in enumerate(vars):
            graph.check_tensor(name, f"vars[{i}]", v)
        # Candle keeps float variables only; integer ones cannot be trained.
        self.vars = [v for v in vars if v.dtype.is_float()]
        for v in self.vars:
            if not isinstance(v, Var) and not v.is_variable():
                raise Msg(f"optimizer: expected Vars, got a plain tensor of shape {v.shape}")

    def step(self, grads) -> None:
        """Updates every variable that has a gradient in ``grads``."""
        raise NotImplementedError

    def backward_step(self, loss: Tensor) -> None:
        """``loss.backward()`` then ``step``."""
        graph.check_tensor("backward_step", "loss", loss)
        self.step(loss.backward())

    def _check_grads(self, grads) -> None:
        if not isinstance(grads, GradStore):
            raise UnexpectedType(f"{type(self).__name__}.step", "grads", "a GradStore", grads)

    def learning_rate(self) -> float:
        raise NotImplementedError

    def set_learning_rate(self, lr: float) -> None:
        raise NotImplementedError

    # ----- state ----------------------------------------------------------------------------
    def state_dict(self) -> tuple:
        """``(tensors, metadata)``: the optimizer's buffers by name and its scalars as strings."""
        return {}, {}

    def load_state_dict(self, tensors: dict, metadata: dict) -> None:
        """Restores what ``state_dict`` returned."""

    def save(self, path) -> None:
        """Writes the optimizer state to a safetensors file."""
        tensors, metadata = self.state_dict()
        safetensors.save(tensors, path, {**metadata, "optimizer": type(self).__name__})

    def load(self, path) -> None:
        """Restores the optimizer state saved by ``save``; a file for other parameters (names,
        shapes or scalars that do not match this optimizer's) raises, listing every difference."""
        tensors, metadata = safetensors.load_with_metadata(path)
        if metadata.get("optimizer") != type(self).__name__:
            raise Msg(f"{path}: holds {metadata.get('optimizer')} state, not {type(self).__name__}")
        self._check_state(tensors, metadata, path)
        self.load_state_dict(tensors, metadata)

    def _check_state(self, tensors: dict, metadata: dict, path) -> None:
        """Compares a saved state with this optimizer's own layout, before changing anything."""
        required, optional = self._state_layout()
        known = {**optional, **required}
        problems = []
        missing = [n for n in required if n not in tensors]
        unexpected = sorted(n for n in tensors if n not in known)
        if missing:
            problems.append(f"missing: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected: {', '.join(unexpected)}")
        shapes = [
            f"{n} (file {t.shape}, expected {known[n]})"
            for n, t in sorted(tensors.items())
            if n in known and tuple(t.shape) != tuple(known[n])
        ]
        if shapes:
            problems.append(f"mis-shaped: {', '.join(shapes)}")
        bad = [k for k in self._scalar_keys() if not _parses(metadata.get(k))]
        if bad:
            problems.append(f"missing or unreadable scalars: {', '.join(bad)}")
        if problems:
            raise Msg(
                f"{path}: optimizer state for other parameters ({len(self.vars)} here): "
                + "; ".join(problems)
            )

    def _state_layout(self) -> tuple:
        """``(required, optional)``: buffer name -> shape, as ``state_dict`` names them."""
        return {}, {}

    def _scalar_keys(self) -> tuple:
        return ()


def sgd_update(xp, p, g, buf, tmp, *, lr, momentum, dampening, nesterov, weight_decay, first):
    """One SGD step on raw arrays, in place (``tmp`` is scratch shaped like ``p``); returns the
    (possibly new) momentum buffer."""
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        if first:
            buf = xp.array(g, copy=True)
        else:
            buf *= momentum
            buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    # Candle computes p - g * lr: the product first, then the subtraction.
    xp.multiply(g, p.dtype.type(lr), out=tmp)
    p -= tmp
    return buf


class SGD(Optimizer):
    """Stochastic gradient descent: plain as Candle's, with optional momentum (and nesterov),
    dampening and weight decay as PyTorch's ``torch.optim.SGD``."""

    def __init__(
        self, vars, lr: float, *, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0
    ):
        super().__init__(vars)
        lr = _hyper("SGD", "lr", lr)
        momentum, dampening = (
            _hyper("SGD", "momentum", momentum),
            _hyper("SGD", "dampening", dampening),
        )
        weight_decay = _hyper("SGD", "weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise Msg("SGD: nesterov needs momentum > 0 and dampening 0")
        self.lr = lr
        self.momentum, self.dampening = momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay
        self._bufs = [None] * len(self.vars)
        self._scratch = _Scratch(self.vars, 1)

    def step(self, grads) -> None:
        self._check_grads(grads)
        plain = not (self.momentum or self.weight_decay)
        for i, v in enumerate(self.vars):
            g = grads.get(v)
            if g is None:
                continue
            if plain:  # Candle's SGD: p - g * lr, the common case, without the general update
                (tmp,) = self._scratch.get(i)
                v._device.xp.multiply(g._data, v._data.dtype.type(self.lr), out=tmp)
                v._data -= tmp
                continue
            self._bufs[i] = sgd_update(
                v._device.xp,
                v._data,
                g._data,
                self._bufs[i],
                *self._scratch.get(i),
                lr=self.lr,
                momentum=self.momentum,
                dampening=self.dampening,
                nesterov=self.nesterov,
                weight_decay=self.weight_decay,
                first=self._bufs[i] is None,
            )

    def learning_rate(self) -> float:
        return self.lr

    def set_learning_rate(self, lr: float) -> None:
        self.lr = _hyper("SGD", "lr", lr)

    def state_dict(self) -> tuple:
        tensors = {}
        for i, (v, buf) in enumerate(zip(self.vars, self._bufs)):
            if buf is not None:
                tensors[f"momentum.{i}"] = Tensor.new(v._device.backend.to_host(buf), v.device)
        return tensors, {"lr": repr(self.lr)}

    def _state_layout(self) -> tuple:
        # Momentum buffers exist only once a step has run with momentum: none is required.
        return {}, {f"momentum.{i}": v.shape for i, v in enumerate(self.vars)}

    def _scalar_keys(self) -> tuple:
        return ("lr",)

    def load_state_dict(self, tensors: dict, metadata: dict) -> None:
        self.lr = float(metadata["lr"])
        self._bufs = [
            _load_one(tensors, f"momentum.{i}", v) if f"momentum.{i}" in tensors else None
            for i, v in enumerate(self.vars)
        ]


class _Scratch:
    """Per-parameter scratch arrays, allocated on first use, so updates allocate nothing."""

    def __init__(self, vars, count: int, block: int | None = None):
        self._vars, self._count, self._block = vars, count, block
        self._arrays = [None] * len(vars)

    def get(self, i: int) -> tuple:
        arrays = self._arrays[i]
        if arrays is None:
            data, xp = self._vars[i]._data, self._vars[i]._device.xp
            if self._block is not None and data.size > 2 * self._block:
                # An update that walks a large parameter a block at a time needs one block.
                arrays = tuple(xp.empty(self._block, data.dtype) for _ in range(self._count))
            else:
                arrays = tuple(xp.empty_like(data) for _ in range(self._count))
            self._arrays[i] = arrays
        return arrays


def _load_one(tensors: dict, name: str, v) -> object:
    t = tensors[name]
    if tuple(t.shape) != tuple(v.shape):
        raise Msg(f"optimizer state: {name} has shape {t.shape}, expected {v.shape}")
    return v._device.xp.array(t.to_dtype(v.dtype).to_device(v.device)._data, copy=True)


@dataclass
class ParamsAdamW:
    """AdamW's hyper-parameters, with Candle's defaults."""

    lr: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01


# Large parameters are updated a block at a time: the update's fourteen passes then run over
# six blocks that stay in the core's L2 cache instead of streaming the whole arrays through
# memory fourteen times (the same operations per element, so the same bits).
_BLOCK = 32 * 1024


def adamw_update(xp, p, g, m, v, m_hat, denom, **hyper):
    """One AdamW step on raw arrays, in place, in Candle's order of operations; ``m_hat`` and
    ``denom`` are scratch buffers shaped like ``p``."""
    if m_hat.size < p.size or denom.size < p.size:  # block-sized scratch (see _Scratch)
        blocked = True
    else:
        blocked = p.size > 2 * _BLOCK
    if blocked and not all(a.flags.c_contiguous for a in (p, g, m, v)):
        m_hat, denom, blocked = xp.empty_like(p), xp.empty_like(p), False
    if not blocked:
        _adamw_block(xp, p, g, m, v, m_hat, denom, **hyper)
        return
    flat = [a.reshape(-1) for a in (p, g, m, v)]
    scratch = m_hat.reshape(-1), denom.reshape(-1)
    block = min(_BLOCK, scratch[0].size, scratch[1].size)
    for start in range(0, p.size, block):
        parts = [a[start : start + block] for a in flat]
        n = parts[0].size
        _adamw_block(xp, *parts, scratch[0][:n], scratch[1][:n], **hyper)


def _adamw_block(
    xp, p, g, m, v, m_hat, denom, *, lr, beta1, beta2, eps, weight_decay, scale_m, scale_v
):
    t = p.dtype.type
    m *= t(beta1)
    xp.multiply(g, t(1.0 - beta1), out=m_hat)
    m += m_hat
    v *= t(beta2)
    xp.multiply(g, g, out=denom)
    denom *= t(1.0 - beta2)
    v += denom
    xp.multiply(m, t(scale_m), out=m_hat)
    xp.multiply(v, t(scale_v), out=denom)
    xp.sqrt(denom, out=denom)
    denom += t(eps)
    m_hat /= denom
    m_hat *= t(lr)
    p *= t(1.0 - lr * weight_decay)
    p -= m_hat


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Candle's ``AdamW``)."""

    def __init__(self, vars, params: ParamsAdamW | float | None = None):
        super().__init__(vars)
        if params is None:
            params = ParamsAdamW()
        elif not isinstance(params, ParamsAdamW):
            if params.__class__ is bool or isinstance(params, (str, bytes)):
                raise UnexpectedType("AdamW", "params", "a ParamsAdamW or a learning rate", params)
            try:  # AdamW(vars, 0.01) is Candle's AdamW::new_lr(vars, 0.01)
                params = ParamsAdamW(lr=_hyper("AdamW", "lr", params))
            except UnexpectedType:
                raise UnexpectedType(
                    "AdamW", "params", "a ParamsAdamW or a learning rate", params
                ) from None
        fields = ("lr", "beta1", "beta2", "eps", "weight_decay")
        self.params = ParamsAdamW(*(_hyper("AdamW", f, getattr(params, f)) for f in fields))
        self.step_t = 0
        self._m = [v._device.xp.zeros_like(v._data) for v in self.vars]
        self._v = [v._device.xp.zeros_like(v._data) for v in self.vars]
        self._scratch = _Scratch(self.vars, 2, block=_BLOCK)

    @classmethod
    def new_lr(cls, vars, lr: float) -> AdamW:
        """AdamW with default parameters and learning rate ``lr``."""
        return cls(vars, ParamsAdamW(lr=lr))

    def step(self, grads) -> None:
        self._check_grads(grads)
        hyper = self._begin_step()
        for i, var in enumerate(self.vars):
            g = grads.get(var)
            if g is not None:
                self._update(i, g._data, hyper)

    def _begin_step(self) -> dict:
        """Counts the step; the hyper-parameters of ``adamw_update`` for it (bias corrections
        included). The replay of a captured step (wick.jit) uses this and ``_update`` too."""
        self.step_t += 1
        p = self.params
        return dict(
            lr=p.lr,
            beta1=p.beta1,
            beta2=p.beta2,
            eps=p.eps,
            weight_decay=p.weight_decay,
            scale_m=1.0 / (1.0 - p.beta1**self.step_t),
            scale_v=1.0 / (1.0 - p.beta2**self.step_t),
        )

    def _update(self, i: int, g, hyper: dict) -> None:
        """Variable ``i``'s update from its raw gradient array ``g``."""
        var = self.vars[i]
        adamw_update(
            var._device.xp, var._data, g, self._m[i], self._v[i], *self._scratch.get(i), **hyper
        )

    def learning_rate(self) -> float:
        return self.params.lr

    def set_learning_rate(self, lr: float) -> None:
        self.params.lr = _hyper("AdamW", "lr", lr)

    def _state_layout(self) -> tuple:
        layout = {}
        for i, v in enumerate(self.vars):
            layout[f"m.{i}"] = layout[f"v.{i}"] = v.shape
        return layout, {}

    def _scalar_keys(self) -> tuple:
        return ("step_t", "lr", "beta1", "beta2", "eps", "weight_decay")

    def state_dict(self) -> tuple:
        tensors = {}
        for i, (var, m, v) in enumerate(zip(self.vars, self._m, self._v)):
            host = var._device.backend.to_host
            tensors[f"m.{i}"] = Tensor.new(host(m), var.device)
            tensors[f"v.{i}"] = Tensor.new(host(v), var.device)
        p = self.params
        meta = {
            "step_t": str(self.step_t),
            "lr": repr(p.lr),
            "beta1": repr(p.beta1),
            "beta2": repr(p.beta2),
            "eps": repr(p.eps),
            "weight_decay": repr(p.weight_decay),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict, metadata: dict) -> None:
        self._m = [_load_one(tensors, f"m.{i}", v) for i, v in enumerate(self.vars)]
        self._v = [_load_one(tensors, f"v.{i}", v) for i, v in enumerate(self.vars)]
        self.step_t = int(metadata["step_t"])
        self.params = ParamsAdamW(
            lr=float(metadata["lr"]),
            beta1=float(metadata["beta1"]),
            beta2=float(metadata["beta2"]),
            eps=float(metadata["eps"]),
            weight_decay=float(metadata["weight_decay"]),
        )


def _hyper(op: str, name: str, value) -> float:
    """A hyper-parameter as a finite float (``lr``, ``beta1``, ...), else an error naming it."""
    value = float(to_real(value, op, name))
    if not math.isfinite(value):
        raise Msg(f"{op}: {name} must be finite, got {value}")
    return value


def _parses(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
