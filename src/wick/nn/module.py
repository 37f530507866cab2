"""Module, ModuleT, Func and Sequential: how layers compose (candle-core's Module traits)."""

from __future__ import annotations

from ..core import Tensor


def _describe(value) -> str | None:
    if isinstance(value, Tensor):
        return f"Tensor{value.shape}"
    if isinstance(value, (Module, ModuleT)):
        return repr(value)
    return None


class _Printable:
    """A readable repr listing child modules and tensors with their shapes."""

    def _children(self) -> list:
        slots = getattr(type(self), "__slots__", ())
        names = list(getattr(self, "__dict__", {})) + [s for s in slots if hasattr(self, s)]
        out = []
        for name in names:
            value = getattr(self, name)
            items = value if isinstance(value, (list, tuple)) else [value]
            for i, item in enumerate(items):
                text = _describe(item)
                if text is not None:
                    label = (
                        name
                        if len(items) == 1 and not isinstance(value, (list, tuple))
                        else f"{name}.{i}"
                    )
                    out.append((label.lstrip("_"), text))
        return out

    def __repr__(self) -> str:
        children = self._children()
        if not children:
            return f"{type(self).__name__}()"
        body = "\n".join(f"  ({k}): " + v.replace("\n", "\n  ") for k, v in children)
        return f"{type(self).__name__}(\n{body}\n)"


class Module(_Printable):
    """Something with ``forward(x)``; calling it calls ``forward`` (Candle's ``Module``)."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)


class ModuleT(_Printable):
    """A module whose behaviour depends on training (dropout, batch norm): ``forward_t(x, train)``."""

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement forward_t")

    def __call__(self, x: Tensor, train: bool = False) -> Tensor:
        return self.forward_t(x, train)


class Func(Module):
    """A function used as a module.

    >>> Func(lambda x: x.relu())(Tensor.new([-1.0, 2.0])).to_vec1()
    [0.0, 2.0]
    """

    def __init__(self, f):
        self._f = f

    def forward(self, x: Tensor) -> Tensor:
        return self._f(x)

    def __repr__(self) -> str:
        return f"Func({getattr(self._f, '__name__', 'f')})"


def func(f) -> Func:
    """Wraps a function as a Module (Candle's ``func``)."""
    return Func(f)


class FuncT(ModuleT):
    """A function of ``(x, train)`` used as a ModuleT (Candle's ``FuncT``)."""

    def __init__(self, f):
        self._f = f

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        return self._f(x, train)

    def __repr__(self) -> str:
        return f"FuncT({getattr(self._f, '__name__', 'f')})"


def func_t(f) -> FuncT:
    """Wraps a function of ``(x, train)`` as a ModuleT (Candle's ``func_t``)."""
    return FuncT(f)


class Sequential(Module, ModuleT):
    """Layers applied one after the other; ``forward_t`` passes ``train`` to ModuleT layers."""

    def __init__(self, layers=()):
        self.layers = list(layers)

    def add(self, layer) -> Sequential:
        """Appends a module; returns self so calls chain."""
        self.layers.append(layer)
        return self

    def add_fn(self, f) -> Sequential:
        """Appends a function as a layer."""
        return self.add(Func(f))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer.forward(x) if isinstance(layer, Module) else layer.forward_t(x, False)
        return x

    def forward_t(self, x: Tensor, train: bool) -> Tensor:
        for layer in self.layers:
            x = layer.forward_t(x, train) if isinstance(layer, ModuleT) else layer.forward(x)
        return x

    def __call__(self, x: Tensor, train: bool | None = None) -> Tensor:
        return self.forward(x) if train is None else self.forward_t(x, train)

    def __len__(self) -> int:
        return len(self.layers)

    def is_empty(self) -> bool:
        """True if there is no layer."""
        return not self.layers

    def forward_all(self, x: Tensor) -> list:
        """Applies the layers in turn and returns every layer's output (Candle's ``forward_all``)."""
        out = []
        for layer in self.layers:
            x = layer.forward(x) if isinstance(layer, Module) else layer.forward_t(x, False)
            out.append(x)
        return out


def seq() -> Sequential:
    """An empty Sequential (Candle's ``seq()``)."""
    return Sequential()
