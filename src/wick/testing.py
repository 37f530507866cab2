"""Checks for people writing ops and models: gradcheck and assert_close."""

from __future__ import annotations

import numpy as np

from .core.dtype import DType
from .core.tensor import Tensor
from .core.var import Var


def _host(x) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.numpy()
    x = np.asarray(x)
    if x.dtype.name in ("bfloat16", "float16"):
        x = x.astype(np.float32)
    return x


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-8) -> None:
    """Raises AssertionError unless ``actual`` and ``expected`` (tensors, arrays or lists) match
    in shape and agree elementwise within ``atol + rtol * |expected|``.

    >>> from wick import Tensor
    >>> assert_close(Tensor.new([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    """
    a, e = _host(actual), _host(expected)
    if a.shape != e.shape:
        raise AssertionError(f"shape mismatch: actual {list(a.shape)}, expected {list(e.shape)}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64))
        worst = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.size else ()
        raise AssertionError(
            f"values differ: max abs diff {np.nanmax(diff):.3e} at {list(worst)} "
            f"(actual {a[worst]!r}, expected {e[worst]!r}, rtol={rtol}, atol={atol})"
        )


def gradcheck(
    f,
    inputs,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-4,
    atol: float = 1e-6,
    directions: int = 3,
    seed: int = 0,
    device=None,
) -> bool:
    """Checks ``f``'s backward against float64 central differences along random directions.

    ``f`` maps the input tensors to one tensor; each input is promoted to an F64 Var. For a
    random cotangent ``r`` and random directions ``v``, it compares ``<grad of sum(f * r), v>``
    with ``(L(x + eps v) - L(x - eps v)) / (2 eps)``. Returns True or raises AssertionError.
    Runs on ``device`` (default: the first input's device if it is a Tensor, else the CPU).

    >>> from wick import Tensor
    >>> gradcheck(lambda x: x.sin() * x, [Tensor.new([0.5, -1.5, 2.0])])
    True
    """
    rng = np.random.default_rng(seed)
    if device is None:
        device = inputs[0].device if inputs and isinstance(inputs[0], Tensor) else None
    base = [_host(x).astype(np.float64) for x in inputs]
    out = f(*[Tensor.new(b, device) for b in base])
    r = rng.standard_normal(out.shape)

    def objective(arrays) -> float:
        value = f(*[Tensor.new(a, device) for a in arrays]).to_dtype(DType.F64).numpy()
        return float(np.sum(value * r))

    variables = [Var.new(b, device) for b in base]
    y = f(*variables)
    grads = (y.to_dtype(DType.F64) * Tensor.new(r, device)).sum_all().backward()
    analytic = []
    for v, b in zip(variables, base):
        g = grads.get(v)
        analytic.append(np.zeros_like(b) if g is None else g.numpy().astype(np.float64))
    for k in range(directions):
        dirs = [rng.standard_normal(b.shape) for b in base]
        plus = objective([b + eps * d for b, d in zip(base, dirs)])
        minus = objective([b - eps * d for b, d in zip(base, dirs)])
        numeric = (plus - minus) / (2 * eps)
        predicted = float(sum(np.sum(g * d) for g, d in zip(analytic, dirs)))
        if not abs(numeric - predicted) <= atol + rtol * abs(numeric):
            raise AssertionError(
                f"gradcheck failed along direction {k}: backward gives {predicted:.10g}, "
                f"finite differences give {numeric:.10g}"
            )
    return True
