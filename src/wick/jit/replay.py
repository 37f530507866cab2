"""Replaying a recording: one generated Python function of backend calls, and the
optimizer updates it calls."""

from __future__ import annotations

from ..core import backprop, graph
from .record import Trace


class Program:
    """A recording turned into one Python function of backend calls."""

    def __init__(self, trace: Trace):
        self.spec, self.devices = trace.spec, trace.devices
        self.run = _generate(trace)


def _name(tok) -> str:
    return f"{'v' if tok[0] == 'v' else 'c'}{tok[1]}"


def _reads(ins) -> list:
    kind = ins[0]
    if kind == "f":
        return list(ins[3])
    if kind == "b":
        return [ins[3], ins[4], *ins[5]] + ([ins[7]] if ins[7] is not None else [])
    if kind == "item":
        return [("v", ins[1])]
    if kind == "iadd":
        return [ins[1], ins[2]]
    if kind == "acc":
        return [ins[2], ins[3]]
    if kind == "norm":
        return [ins[2]]
    return [tok for _, tok in ins[3]]  # opt


def _generate(trace: Trace):
    ns: dict = {}
    for i, (_, value) in enumerate(trace.consts):
        ns[f"c{i}"] = value
    last: dict = {}
    for i, ins in enumerate(trace.code):
        for tok in _reads(ins):
            if tok[0] == "v":
                last[tok[1]] = i
    keep = {tok[1] for tok in trace.outputs if tok[0] == "v"}
    lines = [f"def replay({', '.join(f'v{i}' for i in range(trace.n_inputs))}):"]
    for i, ins in enumerate(trace.code):
        kind = ins[0]
        defined = []
        if kind == "f":
            _, prim, xp, ops, params, out, saved, cast, to_array = ins
            ns[f"F{i}"], ns[f"X{i}"], ns[f"P{i}"] = prim.forward, xp, params
            args = "".join(f", {_name(t)}" for t in ops) + (f", **P{i}" if params else "")
            target = f"v{out}, v{saved}" if saved is not None else f"v{out}"
            lines.append(f"    {target} = F{i}(X{i}{args})")
            if cast is not None:
                ns[f"D{i}"] = cast
                lines.append(f"    v{out} = v{out}.astype(D{i})")
            if to_array:
                lines.append(f"    v{out} = X{i}.asarray(v{out})")
            defined = [out] + ([saved] if saved is not None else [])
        elif kind == "b":
            _, prim, xp, g, out, ins_, static, saved, res = ins
            ns[f"B{i}"], ns[f"X{i}"], ns[f"P{i}"] = prim.backward, xp, static
            args = "".join(f", {_name(t)}" for t in ins_)
            extra = (f", saved=v{saved[1]}" if saved is not None else "") + (
                f", **P{i}" if static else ""
            )
            lines.append(f"    v{res} = B{i}(X{i}, {_name(g)}, {_name(out)}{args}{extra})")
            defined = [res]
        elif kind == "item":
            lines.append(f"    v{ins[3]} = v{ins[1]}[{ins[2]}]")
            defined = [ins[3]]
        elif kind == "iadd":
            lines.append(f"    {_name(ins[1])} += {_name(ins[2])}")
        elif kind == "acc":
            _, xp, prev, gx, acc = ins
            ns[f"X{i}"] = xp
            lines.append(f"    v{acc} = X{i}.array({_name(prev)}, copy=True)")
            lines.append(f"    v{acc} += {_name(gx)}")
            defined = [acc]
        elif kind == "norm":
            _, xp, g, dtype, s = ins
            ns[f"X{i}"], ns[f"D{i}"] = xp, dtype
            lines.append(f'    v{s} = X{i}.array({_name(g)}, dtype=D{i}, order="C")')
            defined = [s]
        else:  # opt
            _, opt, original, pairs = ins
            ns[f"O{i}"] = _optimizer_replay(opt, original, [p[0] for p in pairs])
            lines.append(f"    O{i}([{', '.join(_name(t) for _, t in pairs)}])")
        dead = sorted(
            {t[1] for t in _reads(ins) if t[0] == "v" and last.get(t[1]) == i}
            | {s for s in defined if s not in last}
        )
        dead = [s for s in dead if s not in keep]
        if dead:
            lines.append(f"    del {', '.join(f'v{s}' for s in dead)}")
    lines.append(f"    return ({''.join(_name(t) + ', ' for t in trace.outputs)})")
    exec(compile("\n".join(lines), f"<captured step {id(trace):x}>", "exec"), ns)  # noqa: S102
    return ns["replay"]


def _optimizer_replay(opt, original, indices):
    """The update of ``opt`` on replayed gradient arrays (one per index into ``opt.vars``)."""
    from ..nn.optim import SGD, AdamW

    vars_ = [opt.vars[i] for i in indices]

    def generic(grads):
        store = backprop.GradStore()
        for v, g in zip(vars_, grads):
            store._grads[v._id] = graph.wrap(g, v._device)
        original(opt, store)

    if original is SGD.step:
        scratch = [opt._scratch.get(i)[0] for i in indices]
        params = [(v._device.xp.multiply, v._data, s) for v, s in zip(vars_, scratch)]

        def sgd(grads):
            if opt.momentum or opt.weight_decay:
                return generic(grads)
            lr = opt.lr
            for (multiply, p, tmp), g in zip(params, grads):
                multiply(g, p.dtype.type(lr), out=tmp)
                p -= tmp

        return sgd
    if original is AdamW.step:

        def adamw(grads):
            hyper = opt._begin_step()
            for i, g in zip(indices, grads):
                opt._update(i, g, hyper)

        return adamw
    return generic
