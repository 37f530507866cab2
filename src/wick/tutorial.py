"""The tutorial's sections as functions, shared by ``wick train`` and ``examples/tutorial.py``."""

from __future__ import annotations

from .core import Device, DType, Tensor, Var
from .nn.loss import binary_cross_entropy_with_logit


def tensor_and_gradient_sections(out=print) -> None:
    """Creating tensors, dtypes, reshape/t/matmul and the logistic-regression gradients."""
    device = Device.Cpu
    out(Tensor.new([1], device, DType.U8).dtype)
    out(Tensor.new([1.0, 2.0, 3.0], device).dtype)
    tensor = Tensor.new([[[1.0, 2.0], [3.0, 4.0]]], device).to_dtype(DType.F32)
    out(tensor.dtype)
    out(tensor.to_dtype(DType.U8).dtype)

    tensor2d = Tensor.new([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)
    out(tensor2d)
    out(tensor2d.shape)
    out(tensor2d.reshape((3, 2)))
    out(tensor2d.t())
    out(tensor2d.matmul(tensor2d.t()))

    y = Tensor.new([1.0], device)
    x1 = Tensor.new([1.1], device)
    w1 = Var.new([2.2], device)
    b = Var.new([0.0], device)
    z = x1 * w1 + b
    loss = binary_cross_entropy_with_logit(z, y)
    grads = loss.backward()
    out(grads.get(w1))
    out(grads.get(b))
