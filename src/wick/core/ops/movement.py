"""Shape and layout primitives: views where the backend allows, copies otherwise."""

from __future__ import annotations

from .. import backends
from . import Primitive
from .reduce import sum_forward


def reshape_forward(xp, x, *, shape):
    return x.reshape(shape)


def reshape_backward(xp, g, out, x, *, shape):
    return (g.reshape(x.shape),)


def transpose_forward(xp, x, *, dim1, dim2):
    return xp.swapaxes(x, dim1, dim2)


def transpose_backward(xp, g, out, x, *, dim1, dim2):
    return (xp.swapaxes(g, dim1, dim2),)


def permute_forward(xp, x, *, dims):
    return xp.transpose(x, dims)


def permute_backward(xp, g, out, x, *, dims):
    inverse = [0] * len(dims)
    for i, d in enumerate(dims):
        inverse[d] = i
    return (xp.transpose(g, inverse),)


def broadcast_as_forward(xp, x, *, shape):
    return xp.broadcast_to(x, shape)


def broadcast_as_backward(xp, g, out, x, *, shape):
    # The one backward that sums over expanded dims: leading new dims and size-1 dims.
    lead = len(shape) - x.ndim
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(x.shape) if d == 1 and shape[lead + i] != 1
    )
    if axes:
        g = sum_forward(xp, g, dims=axes, keepdim=True)  # f32 accumulation for f16/bf16
    return (g.reshape(x.shape),)


def narrow_forward(xp, x, *, dim, start, length):
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, start + length)
    return x[tuple(index)]


def narrow_backward(xp, g, out, x, *, dim, start, length):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, start + length)
    grad[tuple(index)] = g
    return (grad,)


def cat_forward(xp, *xs, dim):
    return xp.concatenate(xs, axis=dim)


def cat_backward(xp, g, out, *xs, dim):
    grads, start = [], 0
    index = [slice(None)] * g.ndim
    for x in xs:
        index[dim] = slice(start, start + x.shape[dim])
        grads.append(g[tuple(index)])
        start += x.shape[dim]
    return tuple(grads)


def flip_forward(xp, x, *, dims):
    return xp.flip(x, axis=dims)


def flip_backward(xp, g, out, x, *, dims):
    return (xp.flip(g, axis=dims),)


def contiguous_forward(xp, x):
    # Always a fresh row-major copy: ascontiguousarray would keep an empty view's strides.
    return xp.array(x, copy=True, order="C")


def contiguous_backward(xp, g, out, x):
    return (g,)


def slice_scatter_forward(xp, x, src, *, dim, start):
    out = xp.array(x, copy=True)
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, start + src.shape[dim])
    out[tuple(index)] = src
    return out


def slice_scatter_backward(xp, g, out, x, src, *, dim, start):
    index = [slice(None)] * x.ndim
    index[dim] = slice(start, start + src.shape[dim])
    index = tuple(index)
    gx = xp.array(g, copy=True)
    gx[index] = 0
    return gx, g[index]


def unfold_forward(xp, x, *, dim, size, step):
    n = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (n,) + x.shape[dim + 1 :] + (size,)
    strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1 :] + (x.strides[dim],)
    return backends.of(xp).as_strided(x, shape, strides)


def unfold_backward(xp, g, out, x, *, dim, size, step):
    grad = xp.zeros(x.shape, dtype=g.dtype)
    moved = xp.moveaxis(grad, dim, -1)
    g_moved = xp.moveaxis(g, dim, -2)  # [..., n, size]
    for i in range(g_moved.shape[-2]):
        moved[..., i * step : i * step + size] += g_moved[..., i, :]
    return (grad,)


def to_device_forward(xp, x, *, src, dst):
    return dst.backend.from_host(src.backend.to_host(x))


def to_device_backward(xp, g, out, x, *, src, dst):
    return (src.backend.from_host(dst.backend.to_host(g)),)


RESHAPE = Primitive("reshape", reshape_forward, reshape_backward)
TRANSPOSE = Primitive("transpose", transpose_forward, transpose_backward)
PERMUTE = Primitive("permute", permute_forward, permute_backward)
BROADCAST_AS = Primitive("broadcast_as", broadcast_as_forward, broadcast_as_backward)
NARROW = Primitive("narrow", narrow_forward, narrow_backward)
CAT = Primitive("cat", cat_forward, cat_backward)
FLIP = Primitive("flip", flip_forward, flip_backward)
CONTIGUOUS = Primitive("contiguous", contiguous_forward, contiguous_backward)
SLICE_SCATTER = Primitive("slice_scatter", slice_scatter_forward, slice_scatter_backward)
UNFOLD = Primitive("unfold", unfold_forward, unfold_backward)
TO_DEVICE = Primitive("to_device", to_device_forward, to_device_backward)
