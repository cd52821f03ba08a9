"""Writes: ``x[...] = v`` (a basic index: ``sliceput``; index tensors or a mask: ``indexput``),
``index_put_``, ``dst.copy_(src)``; and, for the builder, where an in-place write into a view
lands in the tensor it views (``pad_img[:c, :h, :w].copy_(img)``, ``attn[:, :, 1:, 1:] += b``)."""

from __future__ import annotations

import operator
from typing import Any

from cnnscope.frontends.torch.rules import Call, Mapped, make, rule, try_make
from cnnscope.frontends.torch.rules.compare import number, positions
from cnnscope.frontends.torch.rules.index import expanded, is_mask
from cnnscope.layers._index_expr import expand_items, index_text


def _bound(v: Any) -> Any:
    return v if v is None else operator.index(v)


def _plain_slices(items: list[Any]) -> list[Any]:
    """Slices whose bounds are 0-d tensors (``mask[y0:y1]`` with box corners) as int slices:
    the bounds this input gave."""
    return [slice(_bound(i.start), _bound(i.stop), _bound(i.step)) if isinstance(i, slice) else i for i in items]


@rule("setitem", sig=("input", "index", "value"))
def setitem(call: Call) -> Mapped | None:
    """``x[...] = v``: a basic index is a ``sliceput``, tensor indices (or a mask) an ``indexput``."""
    x: Any = call.args.get("input")
    idx: Any = call.args.get("index")
    v: Any = call.args.get("value")
    items = _plain_slices(list(idx) if isinstance(idx, tuple) else [idx])
    if not call.is_tensor(x) or any(isinstance(i, (bool, list)) for i in items):
        return None
    value: dict[str, float] = {}
    if not call.is_tensor(v):
        if not (number(v) or isinstance(v, bool)):
            return None
        value = {"value": float(v)}
    tensors = [i for i in items if call.is_tensor(i)]
    at = positions(call, [x, *tensors, *([] if value else [v])])
    if at is None:
        return None
    if not tensors:
        layer = try_make("sliceput", index=index_text(items), **value)
        return None if layer is None else Mapped([layer], inputs=at)
    full = expanded(call, items, len(x.shape))
    if full is None:
        return None
    adv = [k for k, i in enumerate(full) if call.is_tensor(i)]
    if adv != list(range(adv[0], adv[-1] + 1)) or any(i != slice(None) for k, i in enumerate(full) if k not in adv):
        return None  # only whole slices beside the tensor indices
    d = adv[0]
    if any(is_mask(call, i) for i in tensors):
        if len(tensors) != 1:
            return None
        try:
            length = None if value else int(tensors[0].sum())  # the count is the data's: measured
        except Exception:
            return None
        layer = try_make("indexput", dim=d, mask=True, length=length, **value)
    else:
        layer = try_make("indexput", dim=d, **value)
    return None if layer is None else Mapped([layer], inputs=at)


@rule("index_put", sig=("input", "indices", "values", "accumulate"))
def index_put(call: Call) -> Mapped | None:
    x, indices, v = call.args.get("input"), call.args.get("indices"), call.args.get("values")
    if not isinstance(indices, (tuple, list)) or not all(call.is_tensor(t) for t in indices) or not call.is_tensor(v):
        return None
    at = positions(call, [x, *indices, v])
    if at is None:
        return None
    raw: dict[str, Any] = {"accumulate": bool(call.args.get("accumulate", False))}
    if any(is_mask(call, t) for t in indices):
        if len(indices) != 1 or raw["accumulate"]:
            return None
        raw.update(mask=True, length=int(indices[0].sum()))
    layer = try_make("indexput", **raw)
    return None if layer is None else Mapped([layer], inputs=at)


@rule("copy", sig=("input", "src"))
def copy(call: Call) -> Mapped | None:
    """``dst.copy_(src)``: ``dst`` now holds ``src`` (broadcast to its shape), whatever it held."""
    dst: Any = call.args.get("input")
    src: Any = call.args.get("src")
    if not (call.is_tensor(dst) and call.is_tensor(src)):
        return None
    at = positions(call, [src])
    if at is None:
        return None
    s, t = tuple(int(d) for d in src.shape), tuple(int(d) for d in dst.shape)
    if s == t:
        return Mapped([make("identity")], inputs=at)
    lead = len(t) - len(s)
    sizes = list(t[:lead]) + [-1 if a == b else b for a, b in zip(s, t[lead:], strict=False)]
    layer = try_make("expand", sizes=sizes)
    return None if layer is None else Mapped([layer], inputs=at)


# -- in-place writes into views -------------------------------------------------------------------


def _layout(t: Any) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    return tuple(int(d) for d in t.shape), tuple(int(s) for s in t.stride()), int(t.storage_offset())


def _view_of(layout: tuple[tuple[int, ...], tuple[int, ...], int], items: list[Any]) -> tuple[Any, ...] | None:
    """The (shape, strides, offset) that the basic index ``items`` takes of a tensor laid out so."""
    shape, stride, offset = layout
    out_shape: list[int] = []
    out_stride: list[int] = []
    d = 0
    for i in expand_items(items, len(shape)):
        if i is None:
            out_shape.append(1)
            out_stride.append(0)
            continue
        if isinstance(i, slice):
            start, stop, step = i.indices(shape[d])
            out_shape.append(len(range(start, stop, step)))
            out_stride.append(stride[d] * step)
            offset += start * stride[d] if out_shape[-1] else 0
        else:
            offset += (i % shape[d]) * stride[d]
        d += 1
    return tuple(out_shape), tuple(out_stride), offset


def _same_view(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    (sa, ta, oa), (sb, tb, ob) = a, b
    return sa == sb and oa == ob and all(x == y for x, y, n in zip(ta, tb, sa, strict=True) if n > 1)


def written_region(base: Any, view: Any) -> str | None:
    """The basic index (``"[0, :3, :h, :w]"``) at which ``view`` lies in ``base``, read from their
    strides and offsets; None when no basic index takes that view (a permuted or strided-away
    one)."""
    try:
        shape, stride, offset = _layout(base)
        vshape, vstride, voffset = _layout(view)
    except Exception:
        return None
    off = voffset - offset
    if off < 0:
        return None
    starts = [0] * len(shape)
    for d in sorted(range(len(shape)), key=lambda d: -stride[d]):
        if stride[d] > 0 and shape[d] > 1:
            starts[d], off = divmod(off, stride[d])
    if off:
        return None
    items: list[Any] = []
    j = 0
    for d in range(len(shape)):
        left_v, left_b = len(vshape) - j, len(shape) - d
        kept = j < len(vshape) and (
            left_v == left_b
            or (vshape[j] > 1 and stride[d] > 0 and vstride[j] > 0 and vstride[j] % stride[d] == 0)
            or (vshape[j] == 1 and vstride[j] == stride[d])
        )
        if not kept:
            items.append(starts[d])
            continue
        step = vstride[j] // stride[d] if vshape[j] > 1 and stride[d] > 0 else 1
        stop = starts[d] + (vshape[j] - 1) * step + 1
        whole = starts[d] == 0 and stop >= shape[d] and step == 1
        items.append(slice(None) if whole else slice(starts[d] or None, None if stop >= shape[d] else stop,
                                                     None if step == 1 else step))  # fmt: skip
        j += 1
    if j != len(vshape) or not _same_view(_view_of((shape, stride, offset), items) or (), (vshape, vstride, voffset)):
        return None
    return index_text(items)


def writes_itself(target: Any, index: Any, value: Any) -> bool:
    """``x[i] = v`` where ``v`` already is the view ``x[i]`` (``x[i] += y`` in Python: the in-place
    add wrote through the view, so the assignment changes nothing)."""
    base = getattr(value, "_base", None)
    if base is None or not hasattr(target, "stride"):
        return False
    root = target if getattr(target, "_base", None) is None else target._base
    items = list(index) if isinstance(index, tuple) else [index]
    if base is not root or any(hasattr(i, "shape") or isinstance(i, (list, bool)) for i in items):
        return False
    try:
        mine = _view_of(_layout(target), items)
        return mine is not None and _same_view(mine, _layout(value))
    except Exception:
        return False
