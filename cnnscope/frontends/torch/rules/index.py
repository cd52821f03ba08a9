"""Indexing and splitting: ``x[...]`` with ints, slices, ``None`` and ``...`` (a chain of
``slice`` nodes), with index tensors, a list of ints or a boolean mask (``index``, ``masked``);
``split``, ``chunk``, ``unbind``, ``narrow``, ``select``, ``index_select``. A split is one ``slice``
node per output, all reading the same input, so every output is a node of its own. Writes
(``x[...] = v``, ``copy_``) are in ``writes.py``."""

from __future__ import annotations

from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make
from cnnscope.frontends.torch.rules.compare import positions
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


@rule("index_select", sig=("input", "dim", "index"))
def index_select(call: Call) -> Mapped | None:
    x: Any = call.args.get("input")
    idx: Any = call.args.get("index")
    if not call.is_tensor(idx) or len(idx.shape) != 1:
        return None  # a 0-d index keeps its dim here, unlike x[i]
    at = positions(call, [x, idx])
    layer = try_make("index", dim=int(call.args["dim"]) % call.rank)
    return None if at is None or layer is None else Mapped([layer], inputs=at)


# -- x[...] -----------------------------------------------------------------------------------


def is_mask(call: Call, t: Any) -> bool:
    return call.is_tensor(t) and str(t.dtype) == "torch.bool"


def _advanced(call: Call, i: Any) -> bool:
    return call.is_tensor(i) or isinstance(i, list)


def expanded(call: Call, items: list[Any], rank: int) -> list[Any] | None:
    """``...`` written out as whole slices, counting a mask as the dims it covers (None when the
    index names more dims than there are, or holds two ``...``)."""
    if sum(i is Ellipsis for i in items) > 1:
        return None
    covers = sum(len(i.shape) if is_mask(call, i) else 1 for i in items if i is not Ellipsis and i is not None)
    if covers > rank:
        return None
    out: list[Any] = []
    for i in items:
        out.extend([slice(None)] * (rank - covers) if i is Ellipsis else [i])
    return out


def _slice_of(item: slice, dim: int, size: int) -> Layer | None:
    step = 1 if item.step is None else int(item.step)
    start, stop, _ = item.indices(size)
    return try_make("slice", dim=dim, start=start, stop=stop, step=step)


@rule("getitem", sig=("input", "index"))
def getitem(call: Call) -> Mapped | None:
    """``x[...]``: basic indexing as a chain of ``slice`` nodes (ints drop their dim, ``None`` is a
    reshape); one block of adjacent tensor indices as an ``index`` (a boolean mask: ``masked``),
    with the basic slices around it as slices before and after."""
    x = call.args.get("input")
    if not call.data or call.data[0] is not x:
        return None
    idx = call.args["index"]
    items = list(idx) if isinstance(idx, tuple) else [idx]
    if any(isinstance(i, bool) for i in items):
        return None
    if any(_advanced(call, i) for i in items):
        return _gather(call, items)
    if len(call.data) != 1:
        return None
    return _basic(call, items)


def _basic(call: Call, items: list[Any]) -> Mapped | None:
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
                start, stop, step = item.indices(shape[dim])
                empty = not len(range(start, stop, step))  # x[:, :0]: a gather of no indices along dim
                layer = try_make("index", dim=dim, indices=[]) if empty else _slice_of(item, dim, shape[dim])
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


def _gather(call: Call, raw: list[Any]) -> Mapped | None:
    if None in raw:
        return None
    tensors = [i for i in raw if call.is_tensor(i)]
    at = positions(call, tensors)  # not data yet (a constant index): the builder maps again
    if at is None or len(call.data) != 1 + len(tensors):
        return None
    rank = call.rank
    items = expanded(call, raw, rank)
    if items is None:
        return None
    adv = [k for k, i in enumerate(items) if _advanced(call, i)]
    if adv != list(range(adv[0], adv[-1] + 1)):
        return None  # separated tensor indices move their dims to the front: not this rule's
    prefix, block, suffix = items[: adv[0]], items[adv[0] : adv[-1] + 1], items[adv[-1] + 1 :]
    if not all(isinstance(i, slice) for i in prefix + suffix):
        return None  # an int beside tensor indices is an index tensor too
    src = call.ins[0]
    chain: list[Layer] = []
    for d, item in enumerate(prefix):
        if item != slice(None):
            layer = _slice_of(item, d, src[d])
            if layer is None:
                return None
            chain.append(layer)
    d = len(prefix)
    covered = sum(len(i.shape) if is_mask(call, i) else 1 for i in block)
    mid: Layer | None
    if any(is_mask(call, i) for i in block):
        mid = try_make("masked", dim=d, length=call.out[d]) if len(block) == 1 else None
    elif any(isinstance(i, list) for i in block):
        ok = len(block) == 1 and block[0] and all(type(v) is int for v in block[0])
        mid = try_make("index", dim=d, indices=block[0]) if ok else None
    else:
        mid = try_make("index", dim=d)
    if mid is None:
        return None
    joins = {len(chain): [k for k in at]} if tensors else {}
    chain.append(mid)
    first = len(call.out) - (rank - d - covered)  # the output dim of the first dim after the block
    for j, item in enumerate(suffix):
        if item != slice(None):
            layer = _slice_of(item, first + j, src[d + covered + j])
            if layer is None:
                return None
            chain.append(layer)
    return Mapped(chain, inputs=[0], joins=joins)
