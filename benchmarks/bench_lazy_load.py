"""Lazy loading of a many-tensor safetensors file against loading it whole, side by side.

    python benchmarks/bench_lazy_load.py [--tensors 10000]

Writes a file of ``--tensors`` small F32 tensors (a 1,000-layer model's worth of names) to a
temporary folder, then times, once each: ``wick.safetensors.load`` (every tensor at once), the
``safetensors`` package's own ``load_file`` (for reference, when installed),
``MmapedSafetensors`` opened and asked for every name one by one, and a
``VarBuilder.from_mmaped_safetensors`` asked for every parameter. Ratios are against ``load``:
lazy access parses each file's header once, so reading every name lazily should cost about what
``load`` costs. The last line times the header check alone on a file at wick's tensor limit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from wick import DType, Tensor  # noqa: E402
from wick import safetensors as ws  # noqa: E402
from wick.nn import VarBuilder  # noqa: E402


def _timed(fn) -> tuple:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _lazy_all(path, names):
    files = ws.MmapedSafetensors(path)
    with files:
        return [files.load(n) for n in names]


def _builder_all(path, shapes):
    vb = VarBuilder.from_mmaped_safetensors([path], DType.F32)
    return [vb.get(shape, name) for name, shape in shapes.items()]


def _package_load(path):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        return None
    return load_file(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tensors", type=int, default=10_000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    shapes = {}
    for i in range(args.tensors):
        kind = ("weight", "bias", "scale", "shift", "gate", "up", "down", "norm", "q", "k")[i % 10]
        shapes[f"model.layers.{i // 10}.{kind}"] = (4, 3) if i % 2 == 0 else (6,)
    tensors = {n: Tensor.new(rng.standard_normal(s).astype(np.float32)) for n, s in shapes.items()}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "many.safetensors")
        save_s, _ = _timed(lambda: ws.save(tensors, path))
        size = os.path.getsize(path)
        rows = []
        load_s, loaded = _timed(lambda: ws.load(path))
        assert len(loaded) == args.tensors
        rows.append(("wick.safetensors.load (all at once)", load_s))
        pkg_s, pkg = _timed(lambda: _package_load(path))
        if pkg is not None:
            rows.append(("safetensors.numpy.load_file (reference)", pkg_s))
        lazy_s, lazy = _timed(lambda: _lazy_all(path, list(shapes)))
        assert len(lazy) == args.tensors
        rows.append(("MmapedSafetensors, every name", lazy_s))
        vb_s, got = _timed(lambda: _builder_all(path, shapes))
        assert np.array_equal(got[-1].numpy(), loaded[list(shapes)[-1]].numpy())
        rows.append(("VarBuilder.from_mmaped_safetensors, every name", vb_s))

        print(f"{args.tensors:,} tensors, {size / 1e6:.1f} MB (saved in {save_s:.3f} s)\n")
        print(f"| {'reader':<48} | {'seconds':>8} | {'vs load':>7} |")
        print(f"|{'-' * 50}|{'-' * 10}|{'-' * 9}|")
        for name, seconds in rows:
            print(f"| {name:<48} | {seconds:>8.3f} | {seconds / load_s:>7.2f} |")

        limit = ws.MAX_TENSORS
        big = os.path.join(folder, "limit.safetensors")
        ws.save({f"t.{i}": Tensor.zeros((1,), DType.U8) for i in range(limit)}, big)
        check_s, header = _timed(lambda: ws.read_header(big))
        assert len(header.tensors) == limit
        print(f"\nheader check of a file at the limit ({limit:,} tensors): {check_s:.2f} s")


if __name__ == "__main__":
    main()
