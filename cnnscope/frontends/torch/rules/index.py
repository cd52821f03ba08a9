"""Indexing and splitting: ``x[...]`` with ints, slices, ``None`` and ``...``; ``split``,
``chunk``, ``unbind``, ``narrow``, ``select``. A split is one ``slice`` node per output, all
reading the same input, so every output is a node of its own."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make
from cnnscope.frontends.torch.rules.shape import reshape_to
from cnnscope.layers.base import Layer


def _slices(sizes: list[int], dim: int) -> list[Layer]:
    out, start = [], 0
    for s in sizes:
        out.append(make("slice", dim=dim, start=start, stop=start + s))
        start += s
    return out


@rule("split", "split_with_sizes", sig=("input", "split_size_or_sections", "dim"))
def split(call: Call) -> Mapped | None:
    dim = int(call.args.get("dim", 0)) % call.rank
    return Mapped(_slices([o[dim] for o in call.outs], dim), per_output=True)


@rule("chunk", "tensor_split", sig=("input", "chunks", "dim"))
def chunk(call: Call) -> Mapped | None:
    dim = int(call.args.get("dim", 0)) % call.rank
    return Mapped(_slices([o[dim] for o in call.outs], dim), per_output=True)


@rule("unbind", sig=("input", "dim"))
def unbind(call: Call) -> Mapped | None:
    dim = int(call.args.get("dim", 0)) % call.rank
    return Mapped([make("slice", dim=dim, start=k, squeeze=True) for k in range(len(call.outs))], per_output=True)


@rule("narrow", sig=("input", "dim", "start", "length"))
def narrow(call: Call) -> Mapped | None:
    dim = int(call.args["dim"]) % call.rank
    start = int(call.args["start"]) % call.ins[0][dim]
    return Mapped([make("slice", dim=dim, start=start, stop=start + int(call.args["length"]))])


@rule("select", sig=("input", "dim", "index"))
def select(call: Call) -> Mapped | None:
    return Mapped([make("slice", dim=int(call.args["dim"]) % call.rank, start=int(call.args["index"]), squeeze=True)])


@rule("getitem", sig=("input", "index"))
def getitem(call: Call) -> Mapped | None:
    """Basic indexing as a chain: one ``slice`` per sliced dim, ints dropping their dim, and
    ``None`` as a reshape. Tensor (advanced) indices stay opaque."""
    if len(call.data) != 1 or not call.is_data(call.args.get("input")):
        return None
    idx = call.args["index"]
    items = list(idx) if isinstance(idx, tuple) else [idx]
    if any(call.is_tensor(i) or isinstance(i, (list, bool)) for i in items):
        return None
    rank = call.rank
    if sum(i is Ellipsis for i in items) > 1:
        return None
    if Ellipsis in items:
        k = items.index(Ellipsis)
        n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
        items = items[:k] + [slice(None)] * (rank - n_real) + items[k + 1 :]
    chain: list[Layer] = []
    dim = 0  # the dim of the current (already sliced) tensor that the next item indexes
    shape = list(call.ins[0])
    newaxis = False
    for item in items:
        if item is None:
            newaxis = True
            continue
        if isinstance(item, int):
            chain.append(make("slice", dim=dim, start=item % shape[dim], squeeze=True))
            shape.pop(dim)
            continue
        if isinstance(item, slice):
            if item != slice(None):
                step = 1 if item.step is None else int(item.step)
                start, stop, _ = item.indices(shape[dim])
                layer = try_make("slice", dim=dim, start=start, stop=stop, step=step)
                if layer is None:
                    return None
                chain.append(layer)
                shape[dim] = len(range(start, stop, step))
            dim += 1
            continue
        return None
    if newaxis:
        sub = Call(call.op, {}, [tuple(shape)], call.data, call.outs)
        last = reshape_to(sub)
        if last is None:
            return None
        chain.append(last)
    if not chain:
        chain.append(make("identity"))
    return Mapped(chain)
