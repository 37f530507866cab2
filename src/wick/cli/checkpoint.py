"""Training checkpoints for ``wick train --checkpoint`` / ``--resume``: everything a run needs to
continue bit for bit (weights, optimizer state, epoch, the shuffling generator, the history)."""

from __future__ import annotations

import json

from .. import safetensors
from ..core import Device
from ..core.errors import Error
from ..nn import Optimizer, VarMap
from .errors import CliError

KIND = "wick-train-checkpoint/1"


def save(path: str, varmap: VarMap, optimizer: Optimizer, state: dict, spec_meta: dict) -> None:
    """Writes one checkpoint atomically; ``state`` holds config, epoch, history, data hashes."""
    tensors = {f"model.{n}": v.as_detached_tensor() for n, v in varmap.data().items()}
    opt_tensors, opt_meta = optimizer.state_dict()
    tensors.update({f"optimizer.{n}": t for n, t in opt_tensors.items()})
    meta = dict(spec_meta)
    meta.update(
        {
            "wick.checkpoint": KIND,
            "wick.run": json.dumps(state),
            "wick.optimizer_state": json.dumps(opt_meta),
            # The generator that shuffles the batches: restoring it makes the next epochs identical.
            "wick.rng": json.dumps(Device.Cpu.rng.bit_generator.state),
        }
    )
    try:
        safetensors.save(tensors, path, meta)
    except Error as exc:
        raise CliError(" ".join(str(exc).split())) from None


def read_state(path: str) -> dict:
    """The run state (config, epoch, history, ...) of a checkpoint, without its tensors."""
    try:
        meta = safetensors.read_metadata(path)
    except Error as exc:
        text = " ".join(str(getattr(exc, "msg", exc)).split())
        if text == "no such file":
            raise CliError(f"no such checkpoint: {path}") from None
        raise CliError(f"{path} is not a readable checkpoint ({text})") from None
    if meta.get("wick.checkpoint") != KIND:
        raise CliError(
            f"{path} is not a wick training checkpoint (write one with `wick train --checkpoint`)"
        )
    try:
        return json.loads(meta["wick.run"])
    except (KeyError, ValueError):
        raise CliError(f"{path}: the checkpoint's metadata is damaged") from None


def restore(path: str, varmap: VarMap, optimizer: Optimizer) -> None:
    """Sets the weights, the optimizer state and the shuffling generator from a checkpoint."""
    try:
        tensors, meta = safetensors.load_with_metadata(path)
        model = {n[6:]: t for n, t in tensors.items() if n.startswith("model.")}
        if sorted(model) != sorted(varmap.data()):
            raise CliError(f"{path}: the checkpoint's tensors do not match its model")
        own = varmap.data()
        varmap.set({n: t.to_dtype(own[n].dtype).to_device(own[n].device) for n, t in model.items()})
        opt = {n[10:]: t for n, t in tensors.items() if n.startswith("optimizer.")}
        optimizer.load_state_dict(opt, json.loads(meta["wick.optimizer_state"]))
        Device.Cpu.rng.bit_generator.state = json.loads(meta["wick.rng"])
    except Error as exc:
        reason = " ".join(str(exc).split())
        raise CliError(f"{path}: cannot restore the checkpoint ({reason})") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise CliError(f"{path}: the checkpoint's metadata is damaged ({exc})") from None
