"""Hypothesis strategies: one per registered layer type.

``STRATEGIES[type_name]`` draws ``(raw_fields, input_shapes)``: the YAML fields of one
layer (plain values, as a spec would hold them) and the shapes of its inputs *without* the
batch dimension (one shape for ordinary layers, two or three for merges). Draws are
deliberately crowded around the boundaries where a configuration stops being valid
(kernel vs input size, padding vs half the kernel, groups that do not divide, ceil_mode's
last window, output_padding vs stride...), so both halves of the validity property get
exercised: most draws are valid, a good share are not.

Every registered layer type must have an entry; ``tests/test_layers_property.py`` fails
for a type that has none. Keep sizes small: each draw is also run through torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Shape = tuple[int, ...]
Case = tuple[dict[str, Any], list[Shape]]
Draw = Callable[[st.SearchStrategy[Any]], Any]

STRATEGIES: dict[str, st.SearchStrategy[Case]] = {}


def strategy(*names: str) -> Callable[[Callable[..., Case]], Callable[..., Case]]:
    """Register a composite strategy (called with the type name) for ``names``."""

    def deco(fn: Callable[..., Case]) -> Callable[..., Case]:
        comp = st.composite(fn)
        for n in names:
            if n in STRATEGIES:
                raise ValueError(f"two strategies for `{n}`")
            STRATEGIES[n] = comp(n)
        return fn

    return deco


def _nd(name: str) -> int:
    for nd in (1, 2, 3):
        if f"{nd}d" in name:
            return nd
    raise ValueError(name)


def per_dim(draw: Draw, values: list[Any]) -> Any:
    """One value for all dims (when they agree, sometimes) or a list of one per dim."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return list(values)


def _maybe(draw: Draw, fields: dict[str, Any], key: str, value: Any, default: Any = None) -> None:
    """Set ``key`` unless it equals the default and a coin says leave it out."""
    if value == default and draw(st.booleans()):
        return
    fields[key] = value


def _trainable(draw: Draw, fields: dict[str, Any]) -> None:
    if draw(st.integers(0, 3)) == 0:
        fields["trainable"] = False


def _channels(draw: Draw, hi: int = 6) -> int:
    return int(draw(st.integers(1, hi)))


def _size_near(draw: Draw, keff: int, hi: int) -> int:
    """An input size crowded around ``keff`` (the size below which nothing fits)."""
    return int(draw(st.one_of(st.integers(max(1, keff - 2), max(1, keff + 2)), st.integers(1, hi))))


# -- convolutions ------------------------------------------------------------------------


@strategy("conv1d", "conv2d", "conv3d")
def conv(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    small = nd == 3
    cin = _channels(draw, 4 if small else 6)
    groups = draw(st.sampled_from(sorted({1, 2, 3, cin})))
    cout = draw(st.one_of(st.integers(1, 6), st.just(groups), st.just(2 * groups)))
    ks = [draw(st.integers(1, 3 if small else 5)) for _ in range(nd)]
    strides = [draw(st.integers(1, 3)) for _ in range(nd)] if draw(st.booleans()) else [1] * nd
    dils = [draw(st.integers(1, 3)) for _ in range(nd)] if draw(st.integers(0, 2)) == 0 else [1] * nd
    pad_kind = draw(st.sampled_from(["int", "int", "same", "valid"]))
    if pad_kind == "int":
        pads = [draw(st.integers(0, k // 2 + 1)) for k in ks]
        padding: Any = per_dim(draw, pads)
        pad_lo = pads
    else:
        padding = pad_kind
        pad_lo = [d * (k - 1) // 2 for k, d in zip(ks, dils, strict=True)] if pad_kind == "same" else [0] * nd
    spatial = tuple(
        _size_near(draw, d * (k - 1) + 1 - 2 * p, 7 if small else 12) for k, d, p in zip(ks, dils, pad_lo, strict=True)
    )
    fields: dict[str, Any] = {"out_channels": cout, "kernel_size": per_dim(draw, ks)}
    _maybe(draw, fields, "stride", per_dim(draw, strides), 1)
    _maybe(draw, fields, "padding", padding, 0)
    _maybe(draw, fields, "dilation", per_dim(draw, dils), 1)
    _maybe(draw, fields, "groups", groups, 1)
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    _maybe(draw, fields, "padding_mode", mode, "zeros")
    _trainable(draw, fields)
    return fields, [(cin, *spatial)]


@strategy("convtranspose1d", "convtranspose2d", "convtranspose3d")
def conv_transpose(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    small = nd == 3
    cin = _channels(draw, 4 if small else 6)
    groups = draw(st.sampled_from(sorted({1, 2, cin})))
    cout = draw(st.one_of(st.integers(1, 6), st.just(groups)))
    ks = [draw(st.integers(1, 3 if small else 4)) for _ in range(nd)]
    strides = [draw(st.integers(1, 3)) for _ in range(nd)]
    dils = [draw(st.integers(1, 2)) for _ in range(nd)]
    pads = [draw(st.integers(0, 3)) for _ in range(nd)]
    # output_padding must stay below max(stride, dilation): draw on both sides of it
    ops = [draw(st.integers(0, max(s, d))) for s, d in zip(strides, dils, strict=True)]
    spatial = tuple(draw(st.integers(1, 4 if small else 6)) for _ in range(nd))
    fields: dict[str, Any] = {"out_channels": cout, "kernel_size": per_dim(draw, ks)}
    _maybe(draw, fields, "stride", per_dim(draw, strides), 1)
    _maybe(draw, fields, "padding", per_dim(draw, pads), 0)
    _maybe(draw, fields, "output_padding", per_dim(draw, ops), 0)
    _maybe(draw, fields, "dilation", per_dim(draw, dils), 1)
    _maybe(draw, fields, "groups", groups, 1)
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    if draw(st.integers(0, 5)) == 0:
        fields["padding_mode"] = draw(st.sampled_from(["zeros", "reflect"]))
    _trainable(draw, fields)
    return fields, [(cin, *spatial)]


# -- pooling -------------------------------------------------------------------------------


@strategy("maxpool1d", "maxpool2d", "maxpool3d", "avgpool1d", "avgpool2d", "avgpool3d")
def pool(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    small = nd == 3
    is_max = name.startswith("max")
    c = _channels(draw, 3)
    ks = [draw(st.integers(1, 4)) for _ in range(nd)]
    dils = [draw(st.integers(1, 2)) for _ in range(nd)] if is_max and draw(st.booleans()) else [1] * nd
    # padding up to k//2 is allowed, k//2 + 1 is the first refused value
    pads = [draw(st.integers(0, k // 2 + 1)) for k in ks]
    fields: dict[str, Any] = {"kernel_size": per_dim(draw, ks)}
    if draw(st.booleans()):
        fields["stride"] = per_dim(draw, [draw(st.integers(1, 3)) for _ in range(nd)])
    _maybe(draw, fields, "padding", per_dim(draw, pads), 0)
    _maybe(draw, fields, "ceil_mode", draw(st.booleans()), False)
    if is_max:
        _maybe(draw, fields, "dilation", per_dim(draw, dils), 1)
    else:
        _maybe(draw, fields, "count_include_pad", draw(st.booleans()), True)
        if nd > 1 and draw(st.integers(0, 3)) == 0:
            fields["divisor_override"] = draw(st.integers(1, 5))
    spatial = tuple(
        _size_near(draw, d * (k - 1) + 1 - 2 * p, 7 if small else 11) for k, d, p in zip(ks, dils, pads, strict=True)
    )
    return fields, [(c, *spatial)]


@strategy(*[f"adaptive{op}pool{nd}d" for op in ("avg", "max") for nd in (1, 2, 3)])
def adaptive_pool(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    c = _channels(draw, 3)
    spatial = tuple(draw(st.integers(1, 6 if nd == 3 else 9)) for _ in range(nd))
    outs = [draw(st.one_of(st.integers(1, s + 2), st.just(1), st.just(s))) for s in spatial]
    out_field: Any = per_dim(draw, outs)
    if nd > 1 and isinstance(out_field, list) and draw(st.integers(0, 3)) == 0:
        out_field[draw(st.integers(0, nd - 1))] = None  # null keeps that dim's size
    return {"output_size": out_field}, [(c, *spatial)]


# -- normalization ---------------------------------------------------------------------------


@strategy("batchnorm1d", "batchnorm2d", "batchnorm3d", "instancenorm1d", "instancenorm2d", "instancenorm3d")
def norm(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    c = _channels(draw, 5)
    if name == "batchnorm1d" and draw(st.booleans()):
        shape: Shape = (c,)  # (N, C)
    else:
        shape = (c, *(draw(st.integers(1, 4)) for _ in range(nd)))
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "eps", draw(st.sampled_from([1e-5, 1e-3, 0.1])), 1e-5)
    _maybe(draw, fields, "momentum", draw(st.sampled_from([0.0, 0.1, 1.0])), 0.1)
    _maybe(draw, fields, "affine", draw(st.booleans()), None)
    _maybe(draw, fields, "track_running_stats", draw(st.booleans()), None)
    _trainable(draw, fields)
    return fields, [shape]


@strategy("groupnorm")
def groupnorm(draw: Draw, name: str) -> Case:
    c = _channels(draw, 8)
    g = draw(st.one_of(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]), st.integers(1, 8)))
    shape = (c, *(draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 2)))))
    fields: dict[str, Any] = {"num_groups": g}
    _maybe(draw, fields, "affine", draw(st.booleans()), True)
    _maybe(draw, fields, "eps", draw(st.sampled_from([1e-5, 0.5])), 1e-5)
    _trainable(draw, fields)
    return fields, [shape]


def _trailing(draw: Draw, one_as_number: bool) -> tuple[Shape, dict[str, Any]]:
    """A shape and a layer or RMS norm's ``normalized_shape``: none (every dim but the batch),
    the exact trailing dims (one of them maybe as a number), or maybe not them at all."""
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3))))
    fields: dict[str, Any] = {}
    choice = draw(st.integers(0, 3))
    if choice == 1:  # the exact trailing dims
        k = draw(st.integers(1, len(shape)))
        tail = list(shape[-k:])
        fields["normalized_shape"] = per_dim(draw, tail) if one_as_number and k == 1 else tail
    elif choice == 2:  # maybe not the trailing dims at all
        fields["normalized_shape"] = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 2)))]
    return shape, fields


@strategy("layernorm")
def layernorm(draw: Draw, name: str) -> Case:
    shape, fields = _trailing(draw, True)
    _maybe(draw, fields, "elementwise_affine", draw(st.booleans()), True)
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    _trainable(draw, fields)
    return fields, [shape]


@strategy("localresponsenorm")
def lrn(draw: Draw, name: str) -> Case:
    shape = (_channels(draw, 6), *(draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3)))))
    fields: dict[str, Any] = {"size": draw(st.integers(1, 7))}
    _maybe(draw, fields, "alpha", draw(st.sampled_from([1e-4, 0.5])), 1e-4)
    _maybe(draw, fields, "beta", draw(st.sampled_from([0.75, 1.0])), 0.75)
    _maybe(draw, fields, "k", draw(st.sampled_from([1.0, 2.0])), 1.0)
    return fields, [shape]


# -- activations, dropout, identity ------------------------------------------------------------


def _any_shape(draw: Draw, lo: int = 1, hi: int = 4) -> Shape:
    rank = draw(st.integers(lo, hi))
    return tuple(draw(st.integers(1, 4)) for _ in range(rank))


_PLAIN = [
    "relu",
    "relu6",
    "selu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "softsign",
    "tanhshrink",
    "logsigmoid",
    "identity",
    "dropout",
    "alphadropout",
]


@strategy(*_PLAIN)
def plain(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    if "dropout" in name:
        _maybe(draw, fields, "p", draw(st.sampled_from([0.0, 0.5, 1.0])), 0.5)
    return fields, [_any_shape(draw)]


@strategy("dropout1d", "dropout2d", "dropout3d")
def dropout_nd(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "p", draw(st.sampled_from([0.0, 0.3, 1.0])), 0.5)
    return fields, [(_channels(draw, 4), *(draw(st.integers(1, 4)) for _ in range(nd)))]


@strategy("leakyrelu", "elu", "celu", "softplus", "gelu", "hardtanh")
def param_activation(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    if name == "leakyrelu":
        _maybe(draw, fields, "negative_slope", draw(st.sampled_from([0.01, 0.2, -0.5, 0])), 0.01)
    elif name == "elu":
        _maybe(draw, fields, "alpha", draw(st.sampled_from([1.0, 0.5, 0.0])), 1.0)
    elif name == "celu":
        _maybe(draw, fields, "alpha", draw(st.sampled_from([1.0, 0.5, 2])), 1.0)
    elif name == "softplus":
        _maybe(draw, fields, "beta", draw(st.sampled_from([1.0, 2.0])), 1.0)
        _maybe(draw, fields, "threshold", draw(st.sampled_from([20.0, 1.0])), 20.0)
    elif name == "gelu":
        _maybe(draw, fields, "approximate", draw(st.sampled_from(["none", "tanh"])), "none")
    else:  # hardtanh: max_val must be above min_val; draw equal and inverted too
        lo = draw(st.sampled_from([-1.0, 0.0, 1.0]))
        hi = draw(st.sampled_from([-1.0, 0.0, 1.0, 6.0]))
        _maybe(draw, fields, "min_val", lo, -1.0)
        _maybe(draw, fields, "max_val", hi, 1.0)
    return fields, [_any_shape(draw)]


@strategy("prelu")
def prelu(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw)
    c = shape[0]
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "num_parameters", draw(st.sampled_from(sorted({1, c, c + 1}))), 1)
    _maybe(draw, fields, "init", draw(st.sampled_from([0.25, 0.0])), 0.25)
    _trainable(draw, fields)
    return fields, [shape]


def _along(draw: Draw, shape: Shape, default: int) -> Case:
    """A ``dim`` of a ``shape`` input with the batch added, in range or one beyond either end."""
    rank = len(shape) + 1
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "dim", draw(st.integers(-rank - 1, rank)), default)
    return fields, [shape]


@strategy("softmax", "logsoftmax", "softmin")
def softmax(draw: Draw, name: str) -> Case:
    return _along(draw, _any_shape(draw), 1)


# -- linear, reshape -------------------------------------------------------------------------------


@strategy("linear")
def linear(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {"out_features": draw(st.integers(1, 7))}
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    _trainable(draw, fields)
    return fields, [_any_shape(draw, 1, 3)]


@strategy("flatten")
def flatten(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw)
    rank = len(shape) + 1
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "start_dim", draw(st.integers(-rank - 1, rank)), 1)
    _maybe(draw, fields, "end_dim", draw(st.integers(-rank - 1, rank)), -1)
    return fields, [shape]


@strategy(
    "zeropad1d",
    "zeropad2d",
    "zeropad3d",
    "reflectionpad1d",
    "reflectionpad2d",
    "replicationpad1d",
    "replicationpad2d",
    "replicationpad3d",
)
def pad(draw: Draw, name: str) -> Case:
    nd = _nd(name)
    zero = name.startswith("zero")
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    lo = -3 if zero else 0
    if draw(st.booleans()):
        padding: Any = draw(st.integers(lo, 4))
    else:
        padding = [draw(st.integers(lo, 4)) for _ in range(2 * nd)]
    return {"padding": padding}, [(_channels(draw, 3), *spatial)]


_MODES = ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]


@strategy("upsample")
def upsample(draw: Draw, name: str) -> Case:
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    fields: dict[str, Any] = {}
    which = draw(st.sampled_from(["size", "scale", "scale", "both", "neither"]))
    if which in ("size", "both"):
        sizes = [draw(st.integers(1, 8)) for _ in range(nd)]
        fields["size"] = per_dim(draw, sizes)
    if which in ("scale", "both"):
        scales = [draw(st.sampled_from([0.5, 1, 1.5, 2, 3])) for _ in range(nd)]
        fields["scale_factor"] = per_dim(draw, scales)
    mode = draw(st.sampled_from(_MODES))
    _maybe(draw, fields, "mode", mode, "nearest")
    if draw(st.integers(0, 2)) == 0:
        fields["align_corners"] = draw(st.booleans())
    return fields, [(_channels(draw, 3), *spatial)]


@strategy("pixelshuffle")
def pixelshuffle(draw: Draw, name: str) -> Case:
    r = draw(st.integers(1, 3))
    c = draw(st.one_of(st.just(r * r * draw(st.integers(1, 2))), st.integers(1, 9)))
    return {"upscale_factor": r}, [(c, draw(st.integers(1, 4)), draw(st.integers(1, 4)))]


@strategy("pixelunshuffle")
def pixelunshuffle(draw: Draw, name: str) -> Case:
    r = draw(st.integers(1, 3))
    h = draw(st.one_of(st.just(r * draw(st.integers(1, 3))), st.integers(1, 7)))
    w = draw(st.one_of(st.just(r * draw(st.integers(1, 3))), st.integers(1, 7)))
    return {"downscale_factor": r}, [(draw(st.integers(1, 3)), h, w)]


@strategy("channelshuffle")
def channelshuffle(draw: Draw, name: str) -> Case:
    c = _channels(draw, 8)
    g = draw(st.one_of(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]), st.integers(1, 8)))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(1, 2))))
    return {"groups": g}, [(c, *spatial)]


# -- merges ------------------------------------------------------------------------------------------


@strategy("add")
def add(draw: Draw, name: str) -> Case:
    if draw(st.integers(0, 3)) == 0:  # broadcast: true, shapes as mul draws them
        shapes = _broadcastable(draw, draw(st.integers(2, 3)))
        return {"broadcast": True}, shapes
    base = _any_shape(draw, 1, 3)
    n = draw(st.integers(2, 3))
    shapes = [base] * n
    if draw(st.integers(0, 2)) == 0:
        # a mismatch torch cannot broadcast either: one dim differs and neither side is 1
        i = draw(st.integers(0, len(base) - 1))
        other = list(base)
        other[i] = base[i] + 1 if base[i] > 1 else 2
        if base[i] == 1:
            base = (*base[:i], 3, *base[i + 1 :])
            shapes = [base] * n
        shapes[draw(st.integers(1, n - 1))] = tuple(other)
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "broadcast", False, False)
    return fields, shapes


def _broadcastable(draw: Draw, n: int) -> list[Shape]:
    """``n`` shapes around one base: dims kept, set to 1, or off by one (which torch refuses);
    sometimes with fewer leading dims (right-aligned broadcasting)."""
    base = _any_shape(draw, 1, 3)
    shapes = []
    for _ in range(n):
        s = [d if draw(st.integers(0, 2)) else draw(st.sampled_from([1, d, d + 1])) for d in base]
        shapes.append(tuple(s))
    return shapes


@strategy("mul")
def mul(draw: Draw, name: str) -> Case:
    return {}, _broadcastable(draw, draw(st.integers(2, 3)))


@strategy("sub", "div")
def sub_div(draw: Draw, name: str) -> Case:
    return {}, _broadcastable(draw, 2)


@strategy("stack")
def stack(draw: Draw, name: str) -> Case:
    base = _any_shape(draw, 1, 3)  # (a first input of () would make an empty spec input)
    rank = len(base) + 2  # the output's, with the batch
    dim = draw(st.one_of(st.just(1), st.integers(-rank - 1, rank)))
    shapes = [base] * draw(st.integers(1, 3))
    if len(shapes) > 1 and base and draw(st.integers(0, 4)) == 0:  # one input of another shape
        j = draw(st.integers(0, len(base) - 1))
        shapes[-1] = (*base[:j], base[j] + 1, *base[j + 1 :])
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "dim", dim, 1)
    return fields, shapes


@strategy("concat")
def concat(draw: Draw, name: str) -> Case:
    base = _any_shape(draw, 1, 3)
    rank = len(base) + 1
    dim = draw(st.one_of(st.just(1), st.integers(-rank - 1, rank)))
    d = dim + rank if dim < 0 else dim
    n = draw(st.integers(1, 3))
    shapes = []
    for _ in range(n):
        s = list(base)
        if 1 <= d < rank:
            s[d - 1] = draw(st.integers(1, 4))
        if draw(st.integers(0, 4)) == 0:  # a mismatch in another dim
            j = draw(st.integers(0, len(s) - 1))
            s[j] += 1
        shapes.append(tuple(s))
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "dim", dim, 1)
    return fields, shapes


# -- ConvNeXt: layernorm2d, layerscale, stochasticdepth ---------------------------------------


@strategy("layernorm2d")
def layernorm2d(draw: Draw, name: str) -> Case:
    rank = draw(st.sampled_from([3, 3, 3, 1, 2, 4]))  # mostly (C, H, W); other ranks are refused
    shape = (_channels(draw), *(draw(st.integers(1, 4)) for _ in range(rank - 1)))
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "eps", draw(st.sampled_from([1e-5, 1e-6])), 1e-5)
    _maybe(draw, fields, "elementwise_affine", draw(st.booleans()), True)
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    _trainable(draw, fields)
    return fields, [shape]


@strategy("layerscale")
def layerscale(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "init_value", draw(st.sampled_from([1e-6, 0.5, -2.0])), 1e-6)
    _trainable(draw, fields)
    return fields, [_any_shape(draw, 1, 4)]


@strategy("stochasticdepth")
def stochasticdepth(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "p", draw(st.sampled_from([0.0, 0.1, 1.0])), 0.0)
    _maybe(draw, fields, "mode", draw(st.sampled_from(["row", "batch"])), "row")
    return fields, [_any_shape(draw, 1, 4)]


# -- permute; layerscale over another dim (channels last) --------------------------------------


@strategy("permute")
def permute(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 4)
    rank = len(shape) + 1  # with the batch
    rest = draw(st.permutations(list(range(1, rank))))
    dims = [0, *rest]
    kind = draw(st.sampled_from(["ok", "ok", "ok", "short", "long", "repeat"]))
    if kind == "short" and rank > 1:  # too few dims for the input: torch refuses
        dims = dims[:-1]
    elif kind == "long":  # one dim too many
        dims = [*dims, rank]
    elif kind == "repeat" and rank > 2:  # a dim twice, one missing
        dims[-1] = dims[1]
    return {"dims": dims}, [shape]


@st.composite
def _layerscale_dim(draw: Draw) -> Case:
    shape = _any_shape(draw, 1, 4)
    rank = len(shape) + 1
    fields: dict[str, Any] = {"dim": draw(st.one_of(st.sampled_from([1, -1]), st.integers(-rank - 1, rank)))}
    _maybe(draw, fields, "init_value", draw(st.sampled_from([1e-6, 0.5])), 1e-6)
    _trainable(draw, fields)
    return fields, [shape]


STRATEGIES["layerscale"] = st.one_of(STRATEGIES["layerscale"], _layerscale_dim())


# -- activations added for torch.nn's whole list ------------------------------------------------


@strategy("threshold", "hardshrink", "softshrink", "rrelu")
def threshold_like(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    if name == "threshold":
        fields["threshold"] = draw(st.sampled_from([0.0, 0.5, -1.0]))
        fields["value"] = draw(st.sampled_from([0.0, 20.0, -3.0]))
    elif name in ("hardshrink", "softshrink"):  # softshrink refuses a negative lambd, hardshrink does not
        _maybe(draw, fields, "lambd", draw(st.sampled_from([0.5, 0.0, 1.5, -1.0])), 0.5)
    else:  # rrelu: lower above upper is refused
        _maybe(draw, fields, "lower", draw(st.sampled_from([1.0 / 8, 0.0, 0.5])), 1.0 / 8)
        _maybe(draw, fields, "upper", draw(st.sampled_from([1.0 / 3, 0.25, 0.0])), 1.0 / 3)
    return fields, [_any_shape(draw)]


@strategy("glu")
def glu(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw)
    if draw(st.booleans()):  # make the halved dim even, mostly
        shape = tuple(2 * d for d in shape)
    return _along(draw, shape, -1)


@strategy("softmax2d")
def softmax2d(draw: Draw, name: str) -> Case:
    return {}, [_any_shape(draw, 1, 4)]  # 3-d and 4-d (with the batch) are taken, others refused


# -- views: reshape, expand, slice, roll ---------------------------------------------------------


def _factor(draw: Draw, n: int, parts: int) -> list[int]:
    """``parts`` positive ints whose product is ``n``."""
    out = []
    for _ in range(parts - 1):
        divs = [d for d in range(1, n + 1) if n % d == 0]
        d = draw(st.sampled_from(divs))
        out.append(d)
        n //= d
    return [*out, n]


@strategy("reshape")
def reshape(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    per_sample = 1
    for d in shape:
        per_sample *= d
    kind = draw(st.sampled_from(["flatten", "factor", "factor", "copy", "wrong", "two-inferred", "zero-beyond"]))
    if kind == "flatten":
        target: list[int] = [draw(st.sampled_from([0, -1])), -1 if draw(st.booleans()) else per_sample]
    elif kind == "factor":  # the batch by 0 or -1, the rest a factorization, maybe one -1 inside
        rest = _factor(draw, per_sample, draw(st.integers(1, 3)))
        first = draw(st.sampled_from([0, -1, 0]))
        if first == 0 and draw(st.booleans()):
            rest[draw(st.integers(0, len(rest) - 1))] = -1
        target = [first, *rest]
    elif kind == "copy":  # 0 copies the input's dims at the same index
        target = [0, *(0 if draw(st.booleans()) else d for d in shape)]
    elif kind == "wrong":
        target = [0, per_sample + draw(st.integers(1, 2))]
    elif kind == "two-inferred":
        target = [-1, -1, *shape[1:]]
    else:  # a 0 beyond the input's rank
        target = [0, *shape, 0]
    return {"shape": target}, [shape]


@strategy("expand")
def expand(draw: Draw, name: str) -> Case:
    shape = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(1, 3))))
    sizes: list[int] = [-1]  # the batch
    for d in shape:
        pick = draw(st.sampled_from(["keep", "same", "grow", "wrong"] if d == 1 else ["keep", "same", "wrong"]))
        if pick == "keep":
            sizes.append(-1)
        elif pick == "same":
            sizes.append(d)
        elif pick == "grow":
            sizes.append(draw(st.integers(2, 4)))
        else:
            sizes.append(d + 1)
    if draw(st.integers(0, 3)) == 0:  # new leading dims (a -1 there is refused)
        sizes = [draw(st.sampled_from([1, 2, -1])) for _ in range(draw(st.integers(1, 2)))] + sizes
    if draw(st.integers(0, 5)) == 0 and len(sizes) > 1:  # fewer sizes than dims
        sizes = sizes[:-1]
    return {"sizes": sizes}, [shape]


@strategy("slice")
def slice_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "dim", draw(st.one_of(st.just(1), st.integers(-rank - 1, rank))), 1)
    if draw(st.integers(0, 3)) == 0:
        fields["squeeze"] = True
        fields["start"] = draw(st.integers(-5, 5))
        return fields, [shape]
    _maybe(draw, fields, "start", draw(st.integers(-6, 6)), 0)
    _maybe(draw, fields, "stop", draw(st.one_of(st.none(), st.integers(-6, 6))), None)
    _maybe(draw, fields, "step", draw(st.integers(1, 3)), 1)
    return fields, [shape]


@strategy("roll")
def roll(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    n = draw(st.integers(1, 3))
    dims = [draw(st.integers(-rank - 1, rank)) for _ in range(n)]
    shifts = [draw(st.integers(-5, 5)) for _ in range(n)]
    return {"shifts": shifts if n > 1 or draw(st.booleans()) else shifts[0], "dims": dims}, [shape]


# -- elementwise with a number, reductions, parameters ------------------------------------------


@strategy("scalar")
def scalar(draw: Draw, name: str) -> Case:
    op = draw(st.sampled_from(["add", "sub", "rsub", "mul", "div", "rdiv", "pow"]))
    value = draw(st.sampled_from([0, 1, -2, 0.5, 3.0]))
    return {"op": op, "value": value}, [_any_shape(draw)]


@strategy("reduce")
def reduce(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    n = draw(st.integers(1, min(3, rank)))
    if draw(st.integers(0, 4)) == 0:  # maybe out of range, maybe one dim twice
        dims = [draw(st.integers(-rank - 1, rank)) for _ in range(n)]
    else:
        dims = list(draw(st.permutations(list(range(rank)))))[:n]
        dims = [d - rank if draw(st.booleans()) else d for d in dims]
    fields: dict[str, Any] = {"op": draw(st.sampled_from(["mean", "sum", "amax", "amin"])), "dims": dims}
    _maybe(draw, fields, "keepdim", draw(st.booleans()), False)
    return fields, [shape]


@strategy("parameter")
def parameter(draw: Draw, name: str) -> Case:
    shape = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3)))]
    fields: dict[str, Any] = {"shape": shape}
    if draw(st.booleans()):
        fields["batched"] = True
        shape[0] = 1  # the first dim follows the batch (another size is refused, where torch's
        # expand could still run when it equals the batch)
    _trainable(draw, fields)
    return fields, [_any_shape(draw, 1, 3)]


# -- matmul, einsum, attention -------------------------------------------------------------------


@strategy("matmul")
def matmul(draw: Draw, name: str) -> Case:
    """Shapes without the batch, which the test puts in front of both: ``()`` becomes a 1-d
    operand of the batch's length, ``(k,)`` a 2-d ``(N, k)``, longer ones batched matrices.
    Inner sizes are drawn small so that they meet the batch (1 or 2) often. A 1-d first operand
    is not drawn (the fuzzer makes the first input a spec's input, which cannot be empty): the
    pinned cases in test_layers_property.py have it."""
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k = draw(st.sampled_from([1, 2, 2, 3]))
    extra = tuple(draw(st.sampled_from([1, 2, 3])) for _ in range(draw(st.integers(0, 2))))
    a: Shape = draw(st.sampled_from([(k,), (*extra, n, k), (n, k)]))
    b: Shape = draw(st.sampled_from([(), (m,), (*extra[-1:], k, m), (k, m)]))
    if draw(st.integers(0, 5)) == 0 and len(b) >= 2:  # inner dims that differ
        b = (*b[:-2], k + 1, b[-1])
    return {}, [a, b]


_LABELS = "ijkl"


@strategy("einsum")
def einsum(draw: Draw, name: str) -> Case:
    """One or two operands over labels i, j, k, l; every term starts with the batch (label
    ``n`` or ``...``), since the test puts the batch in front of every input."""
    n_ops = draw(st.sampled_from([1, 2, 2, 2]))
    sizes = {c: draw(st.integers(1, 4)) for c in _LABELS}
    ell = draw(st.integers(0, 3)) == 0
    terms, shapes = [], []
    for i in range(n_ops):  # the first input is not 1-d (the fuzzer makes it a spec's input)
        labels = list(draw(st.lists(st.sampled_from(_LABELS), min_size=1 if i == 0 else 0, max_size=3)))
        extra: Shape = ()
        if ell:
            extra = tuple(draw(st.sampled_from([1, 2])) for _ in range(draw(st.integers(0, 1))))
            head = "..."
        else:
            head = "n"
        shape = []
        for c in labels:
            d = sizes[c]
            roll_ = draw(st.integers(0, 9))
            if roll_ == 0:
                d = 1  # broadcasts against the other operand
            elif roll_ == 1:
                d = d + 1  # a mismatch, unless the other side is 1
            shape.append(d)
        terms.append(head + "".join(labels))
        shapes.append((*extra, *shape))
    lhs = ",".join(terms)
    if draw(st.booleans()):
        return {"equation": lhs}, shapes  # implicit output
    seen = sorted({c for t in terms for c in t if c in _LABELS})
    out = list(draw(st.permutations(seen)))[: draw(st.integers(0, len(seen)))]
    if draw(st.integers(0, 2)):  # keep the batch, usually
        out = (["..."] if ell else ["n"]) + out
    if draw(st.integers(0, 9)) == 0:
        out.append(draw(st.sampled_from(_LABELS)))  # maybe a repeat or a label no operand has
    spaced = " " if draw(st.integers(0, 5)) == 0 else ""
    return {"equation": f"{lhs}{spaced}->{spaced}{''.join(out)}"}, shapes


@strategy("scaleddotproductattention")
def sdpa(draw: Draw, name: str) -> Case:
    L, S, E, Ev = (draw(st.integers(1, 4)) for _ in range(4))
    heads: Shape = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    kh = heads if draw(st.integers(0, 3)) else tuple(1 for _ in heads)  # k broadcasts over heads
    q, k, v = (*heads, L, E), (*kh, S, E), (*heads, S, Ev)
    wrong = draw(st.integers(0, 7))
    if wrong == 0:
        k = (*kh, S, E + 1)
    elif wrong == 1:
        v = (*heads, S + 1, Ev)
    shapes = [q, k, v]
    fields: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:  # an additive mask, broadcast over the batch and heads
        mask = (*(1 for _ in heads), draw(st.sampled_from([L, 1, L + 1])), draw(st.sampled_from([S, S, 1])))
        shapes.append(mask if draw(st.booleans()) else mask[-2:])  # the batch goes in front of it
    if draw(st.integers(0, 3)) == 0:
        fields["is_causal"] = True  # refused with a mask
    if draw(st.integers(0, 3)) == 0:
        fields["scale"] = draw(st.sampled_from([0.5, None, 2.0]))
    if draw(st.integers(0, 5)) == 0:
        fields["dropout_p"] = 0.5  # training only
    return fields, shapes


@strategy("multiheadattention")
def mha(draw: Draw, name: str) -> Case:
    E = draw(st.sampled_from([2, 4, 6, 8]))
    heads = draw(st.one_of(st.sampled_from([h for h in (1, 2, 3, 4) if E % h == 0]), st.integers(1, 4)))
    fields: dict[str, Any] = {"embed_dim": E, "num_heads": heads}
    _maybe(draw, fields, "batch_first", draw(st.booleans()), False)
    _maybe(draw, fields, "bias", draw(st.booleans()), True)
    _maybe(draw, fields, "add_bias_kv", draw(st.booleans()), False)
    _maybe(draw, fields, "add_zero_attn", draw(st.booleans()), False)
    _maybe(draw, fields, "dropout", draw(st.sampled_from([0.0, 0.1])), 0.0)
    _trainable(draw, fields)
    L, S, n = (draw(st.integers(1, 4)) for _ in range(3))
    unbatched = draw(st.integers(0, 4)) == 0  # (L, E): the test's batch dim is then L
    lead: Shape = () if unbatched else (n,)
    if draw(st.booleans()):
        return fields, [(*lead, E)]  # self-attention
    kdim, vdim = E, E
    if draw(st.booleans()):
        kdim, vdim = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        fields["kdim"], fields["vdim"] = kdim, vdim
    # without batch_first the tensors are (L, N, E): the test's batch (dim 0) is the sequence,
    # so k and v would need q's length; with batch_first, (N, L, E), the drawn n, S are free
    if fields.get("batch_first"):
        q: Shape = (L, E) if not unbatched else (E,)
        k, v = ((S, kdim), (S, vdim)) if not unbatched else ((kdim,), (vdim,))
    else:
        q, k, v = (*lead, E), (*lead, kdim), (*lead, vdim)
    if draw(st.integers(0, 7)) == 0:
        k = (*k[:-1], k[-1] + 1)  # a width that is not kdim
    return fields, [q, k, v]


@strategy("extrainput")
def extrainput(draw: Draw, name: str) -> Case:
    shape = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(1, 3)))]
    return {"shape": shape}, [_any_shape(draw, 1, 3)]


@strategy("unary")
def unary(draw: Draw, name: str) -> Case:
    op = draw(
        st.sampled_from(
            ["exp", "log", "sqrt", "rsqrt", "abs", "neg", "sin", "cos", "erf", "reciprocal", "square", "sign",
             "floor", "ceil", "round", "trunc", "log1p", "expm1"]
        )
    )  # fmt: skip
    return {"op": op}, [_any_shape(draw)]


@strategy("clamp")
def clamp(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    lo = draw(st.sampled_from([None, -1.0, 0.0]))
    hi = draw(st.sampled_from([None, 0.5, 6.0]))
    shape = _any_shape(draw)
    which = draw(st.sampled_from(["none", "none", "min", "max", "both"]))
    if which in ("min", "both"):
        lo = None
    if which in ("max", "both"):
        hi = None
    if lo is not None:
        fields["min"] = lo
    if hi is not None:
        fields["max"] = hi
    if which == "none":
        return fields, [shape]  # neither bound: refused, as torch.clamp refuses it
    fields["from_inputs"] = which
    bounds = []
    for _ in range(2 if which == "both" else 1):  # tensor bounds broadcast against x (or fail to)
        kind = draw(st.sampled_from(["same", "ones", "wrong"]))
        bound = tuple(d + 1 for d in shape) if kind == "wrong" else shape
        bounds.append(tuple(1 if kind == "ones" and draw(st.booleans()) else d for d in bound))
    return fields, [shape, *bounds]


@strategy("constant")
def constant(draw: Draw, name: str) -> Case:
    shape = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 3)))]
    return {"shape": shape}, [_any_shape(draw, 1, 3)]


@strategy("pad")
def pad_any(draw: Draw, name: str) -> Case:
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        shape = _any_shape(draw, 1, 4)
        n = draw(st.integers(1, len(shape) + 1))  # one more dim than the input has: refused
        pads = [draw(st.integers(-3, 3)) for _ in range(2 * n)]
        fields: dict[str, Any] = {"pad": pads}
        if draw(st.booleans()):
            fields["value"] = draw(st.sampled_from([0.0, 1.5, -1.0, "-inf", "inf"]))  # infinities as words
        return fields, [shape]
    # torch pads 1 to 3 trailing dims in these modes, of an input with 1 or 2 dims before them
    # (the batch is one); the amounts crowd the sizes where reflect (< size) and circular
    # (at most the size, either way) stop, and crop to nothing
    k = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(max(1, k + draw(st.sampled_from([-1, 0, 1, 1, 2])))))
    near = [shape[-1 - i] if i < len(shape) else 1 for i in range(k)]
    pads = []
    for n in near:
        for _ in range(2):
            pads.append(draw(st.one_of(st.integers(-2, 2), st.sampled_from([n - 1, n, n + 1, -n, -n - 1]))))
    if mode == "circular":  # no crops: refused, as torch's result with one depends on the memory layout
        pads = [abs(p) for p in pads]
    return {"pad": pads, "mode": mode}, [shape]


@strategy("normalize")
def normalize(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    fields: dict[str, Any] = {"dim": draw(st.integers(-rank - 1, rank))}  # one past either end: refused
    _maybe(draw, fields, "p", draw(st.sampled_from([1.0, 2.0, 3.0])), 2.0)
    return fields, [shape]


# -- rms norm, sliding blocks, grid sampling, repeats, vector norms, addcmul, weight-input convs ---


@strategy("rmsnorm")
def rmsnorm(draw: Draw, name: str) -> Case:
    shape, fields = _trailing(draw, False)
    _maybe(draw, fields, "eps", draw(st.sampled_from([None, 1e-6, 0.0])), None)
    _maybe(draw, fields, "elementwise_affine", draw(st.booleans()), True)
    _trainable(draw, fields)
    return fields, [shape]


def _blocks(draw: Draw) -> tuple[dict[str, Any], list[int]]:
    """Fields of an unfold / fold window, and the smallest map each dim needs (padding in)."""
    ks = [draw(st.integers(1, 3)) for _ in range(2)]
    fields: dict[str, Any] = {"kernel_size": per_dim(draw, ks)}
    ds = [draw(st.integers(1, 2)) for _ in range(2)] if draw(st.integers(0, 2)) == 0 else [1, 1]
    ps = [draw(st.integers(0, 2)) for _ in range(2)] if draw(st.booleans()) else [0, 0]
    ss = [draw(st.integers(1, 3)) for _ in range(2)] if draw(st.booleans()) else [1, 1]
    _maybe(draw, fields, "dilation", per_dim(draw, ds), 1)
    _maybe(draw, fields, "padding", per_dim(draw, ps), 0)
    _maybe(draw, fields, "stride", per_dim(draw, ss), 1)
    need = [d * (k - 1) + 1 - 2 * p for k, d, p in zip(ks, ds, ps, strict=True)]
    return fields, need


@strategy("unfold")
def unfold(draw: Draw, name: str) -> Case:
    fields, need = _blocks(draw)
    spatial = tuple(_size_near(draw, max(1, n), 8) for n in need)
    return fields, [(_channels(draw, 3), *spatial)]


@strategy("fold")
def fold(draw: Draw, name: str) -> Case:
    """Columns (C·∏k, L) with L the blocks of output_size (sometimes one off: refused) and
    rows a multiple of ∏k (sometimes not: refused)."""
    fields, need = _blocks(draw)
    size = [_size_near(draw, max(1, n), 7) for n in need]
    fields["output_size"] = per_dim(draw, size)
    ks = fields["kernel_size"]
    kprod = ks * ks if isinstance(ks, int) else ks[0] * ks[1]
    d, p, s = (fields.get(k, 1 if k != "padding" else 0) for k in ("dilation", "padding", "stride"))
    per = [(v, v) if isinstance(v, int) else tuple(v) for v in (ks, d, p, s)]
    blocks = 1
    for i in range(2):
        k_, d_, p_, s_ = (v[i] for v in per)
        blocks *= max(0, (size[i] + 2 * p_ - d_ * (k_ - 1) - 1) // s_ + 1)
    rows = kprod * _channels(draw, 3) + (1 if draw(st.integers(0, 5)) == 0 else 0)
    cols = max(1, blocks + (draw(st.sampled_from([-1, 1])) if draw(st.integers(0, 5)) == 0 else 0))
    return fields, [(rows, cols)]


@strategy("unfolddim")
def unfolddim(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    dim = draw(st.one_of(st.integers(1, rank - 1), st.integers(-rank - 1, rank)))  # out of range: refused
    n = shape[dim % rank - 1] if -rank <= dim < rank and dim % rank else 1
    size = draw(st.one_of(st.sampled_from([n, n + 1]), st.integers(1, 4)))  # larger than the dim: refused
    return {"dim": dim, "size": size, "step": draw(st.integers(1, 3))}, [shape]


@strategy("gridsample")
def gridsample(draw: Draw, name: str) -> Case:
    nd = draw(st.sampled_from([2, 2, 3]))
    x = (_channels(draw, 3), *(draw(st.integers(1, 4)) for _ in range(nd)))
    grid: Shape = (*(draw(st.integers(1, 4)) for _ in range(nd)), nd)
    wrong = draw(st.integers(0, 7))
    if wrong == 0:
        grid = (*grid[:-1], nd + 1)  # coordinates of another rank
    elif wrong == 1:
        grid = grid[1:]
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "mode", draw(st.sampled_from(["bilinear", "nearest", "bicubic"])), "bilinear")
    _maybe(draw, fields, "padding_mode", draw(st.sampled_from(["zeros", "border", "reflection"])), "zeros")
    _maybe(draw, fields, "align_corners", draw(st.booleans()), False)
    return fields, [x, grid]


@strategy("repeatinterleave")
def repeatinterleave(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    fields: dict[str, Any] = {}
    dim = draw(st.one_of(st.none(), st.integers(1, rank - 1), st.integers(-rank - 1, rank)))
    if dim is not None:
        fields["dim"] = dim
    n = shape[dim % rank - 1] if dim is not None and -rank <= dim < rank and dim % rank else 1
    if dim is not None and draw(st.booleans()):  # one count per element (maybe one too many), zeros too
        fields["repeats"] = [draw(st.integers(0, 3)) for _ in range(n + (1 if draw(st.integers(0, 5)) == 0 else 0))]
    else:
        fields["repeats"] = draw(st.integers(0, 3))
    return fields, [shape]


@strategy("vectornorm")
def vectornorm(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    fields: dict[str, Any] = {}
    if draw(st.integers(0, 3)):
        dims = list(draw(st.permutations(list(range(rank)))))[: draw(st.integers(1, rank))]
        if draw(st.integers(0, 5)) == 0:
            dims.append(draw(st.integers(-rank - 1, rank)))  # a repeat, or out of range: refused
        fields["dims"] = [d - rank if draw(st.booleans()) else d for d in dims]
    _maybe(draw, fields, "ord", draw(st.sampled_from([2.0, 1.0, 3.0, 0.5, 0.0, "inf", "-inf"])), 2.0)
    _maybe(draw, fields, "keepdim", draw(st.booleans()), False)
    return fields, [shape]


@strategy("addcmul", "addcdiv")
def addc(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    shapes = [shape]
    for _ in range(2):
        kind = draw(st.sampled_from(["same", "same", "ones", "shorter", "wrong"]))
        if kind == "ones":
            shapes.append(tuple(1 if draw(st.booleans()) else d for d in shape))
        elif kind == "shorter":  # the batch goes in front of it, so it is one dim short of broadcasting back
            shapes.append(shape[1:] or shape)
        elif kind == "wrong":
            shapes.append(tuple(d + 1 for d in shape))
        else:
            shapes.append(shape)
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "value", draw(st.sampled_from([1.0, 0.5, -2.0])), 1.0)
    return fields, list(draw(st.permutations(shapes)))


@strategy(*(f"dynamicconv{t}{nd}d" for t in ("", "transpose") for nd in (1, 2, 3)))
def dynamicconv(draw: Draw, name: str) -> Case:
    """The conv strategy's fields and input, the weight as a second input. The test puts the
    batch in front of every input, so the weight's first dim is the batch: the out channels
    (in channels, transposed) are the batch, 1 or 2, and only draws that agree with it fit."""
    transposed = "transpose" in name
    base, ins = (conv_transpose if transposed else conv)(draw, name.replace("dynamic", ""))
    fields = {k: v for k, v in base.items() if k in ("stride", "padding", "dilation", "groups", "output_padding")}
    nd = _nd(name)
    groups = int(fields.get("groups", 1))
    ks = base["kernel_size"]
    kernel = [ks] * nd if isinstance(ks, int) else list(ks)
    cin = ins[0][0]
    if transposed:
        x = (draw(st.sampled_from([1, 2, cin])), *ins[0][1:])  # must be the batch
        weight: Shape = (draw(st.integers(1, 3)), *kernel)  # (Cout / groups, *k) after the batch
    else:
        x = ins[0]
        weight = (max(1, cin // groups) + (1 if draw(st.integers(0, 7)) == 0 else 0), *kernel)
    shapes = [x, weight]
    if draw(st.integers(0, 3)) == 0:
        fields["bias"] = True  # a bias of its own
    elif draw(st.integers(0, 4)) == 0:
        shapes.append(())  # a bias input: (batch,) = (Cout,) only where the batch is Cout
    _trainable(draw, fields)
    return fields, shapes


# -- comparisons, selection, indexing, detection (cnnscope/layers/compare.py, select.py,
# indexing.py, detection.py). Sizes the data decides (`length`) are drawn >= 1: a built module
# keeps them (cut or zero-padded), and an empty output counts as torch refusing.

_COMPARE_OPS = ["eq", "ne", "lt", "le", "gt", "ge"]


def _operands(draw: Draw, fields: dict[str, Any], keys: list[str], numbers: list[float]) -> int:
    """Each of ``keys`` a number field, or left for an input; how many inputs that leaves."""
    left = 0
    for k in keys:
        if draw(st.booleans()):
            fields[k] = draw(st.sampled_from(numbers))
        else:
            left += 1
    return left


def _inputs_for(draw: Draw, n: int) -> list[Shape]:
    """``n`` broadcastable shapes (sometimes one too many or too few: refused)."""
    n = max(0, n + draw(st.sampled_from([0, 0, 0, 0, 1, -1])))
    if n <= 1:
        return [_any_shape(draw)] * max(n, 1)
    return _broadcastable(draw, n)


@strategy("compare")
def compare_(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {"op": draw(st.sampled_from(_COMPARE_OPS))}
    left = _operands(draw, fields, ["value"], [0, -1.5, 2.0])
    return fields, _inputs_for(draw, 1 + left)


@strategy("logical")
def logical_(draw: Draw, name: str) -> Case:
    op = draw(st.sampled_from(["and", "or", "xor", "not"]))
    return {"op": op}, _inputs_for(draw, 1 if op == "not" else 2)


@strategy("where")
def where_(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {}
    left = _operands(draw, fields, ["x", "y"], [0, -1.0, 0.5])
    return fields, _inputs_for(draw, 1 + left)


@strategy("binary")
def binary_(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {
        "op": draw(st.sampled_from(["floordiv", "truncdiv", "remainder", "fmod", "maximum", "minimum"]))
    }
    left = _operands(draw, fields, ["value"], [3, -2.0, 0.5])
    return fields, _inputs_for(draw, 1 + left)


def _dim(draw: Draw, rank: int) -> int:
    """A dim of a ``rank``-d input (batch included), now and then one out of range."""
    return int(draw(st.one_of(st.integers(-rank, rank - 1), st.sampled_from([rank, -rank - 1]))))


@strategy("topk")
def topk_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    fields: dict[str, Any] = {"k": draw(st.integers(1, 5))}  # beyond the dim's size: refused
    _maybe(draw, fields, "dim", _dim(draw, len(shape) + 1), -1)
    _maybe(draw, fields, "largest", draw(st.booleans()), True)
    _maybe(draw, fields, "output", draw(st.sampled_from(["values", "indices"])), "values")
    return fields, [shape]


@strategy("sort")
def sort_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    fields: dict[str, Any] = {}
    _maybe(draw, fields, "dim", _dim(draw, len(shape) + 1), -1)
    _maybe(draw, fields, "descending", draw(st.booleans()), False)
    _maybe(draw, fields, "output", draw(st.sampled_from(["values", "indices"])), "values")
    return fields, [shape]


@strategy("minmax")
def minmax_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    fields: dict[str, Any] = {"op": draw(st.sampled_from(["max", "min"]))}
    if draw(st.integers(0, 3)):
        fields["dim"] = _dim(draw, len(shape) + 1)
        _maybe(draw, fields, "output", draw(st.sampled_from(["values", "indices"])), "values")
    else:  # every element: indices only (values: refused, that is reduce's amax)
        fields["output"] = draw(st.sampled_from(["indices", "indices", "values"]))
    _maybe(draw, fields, "keepdim", draw(st.booleans()), False)
    return fields, [shape]


@strategy("index")
def index_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    rank = len(shape) + 1
    fields: dict[str, Any] = {"dim": draw(st.integers(0, rank))}  # rank: nothing left to index
    if draw(st.booleans()):
        size = (1, *shape)[min(fields["dim"], rank - 1)]  # the batch may be 2: index 1 is then in range
        fields["indices"] = [draw(st.integers(-size - 1, size)) for _ in range(draw(st.integers(1, 3)))]
        return fields, [shape]
    k = draw(st.integers(1, 2))
    return fields, [shape, *_broadcastable(draw, k)]


@strategy("masked")
def masked_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    r = draw(st.integers(1, len(shape) + 1))
    mask = shape[: r - 1]  # with the batch in front: dims 0..r-1 of the input
    if draw(st.integers(0, 4)) == 0 and mask:
        mask = (*mask[:-1], mask[-1] + 1)  # not the input's: refused
    fields: dict[str, Any] = {"length": draw(st.integers(1, 3))}  # more than the mask holds: refused
    _maybe(draw, fields, "dim", draw(st.sampled_from([0, 0, 0, 1])), 0)
    return fields, [shape, mask]


@strategy("indexput")
def indexput_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    fields: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:  # a mask over the first dims, a number written
        r = draw(st.integers(1, len(shape) + 1))
        fields.update(mask=True, value=draw(st.sampled_from([0.0, -1.0])))
        return fields, [shape, shape[: r - 1]]
    _maybe(draw, fields, "dim", draw(st.sampled_from([0, 0, 1])), 0)
    idx: list[Shape] = [()] if draw(st.integers(0, 2)) else _broadcastable(draw, draw(st.integers(1, 2)))
    if draw(st.booleans()):
        fields["value"] = draw(st.sampled_from([0.0, 2.5]))
        return fields, [shape, *idx]
    if draw(st.integers(0, 3)) == 0:
        fields["accumulate"] = True  # dim 0 only
    written = shape[len(idx) - 1 :] if fields.get("dim", 0) == 0 else shape
    value = tuple(d if draw(st.integers(0, 3)) else draw(st.sampled_from([1, d + 1])) for d in written)
    return fields, [shape, *idx, value]


def _index_item(draw: Draw, size: int) -> str:
    kind = draw(st.sampled_from(["all", "all", "slice", "int", "step"]))
    if kind == "all":
        return ":"
    if kind == "int":
        return str(draw(st.integers(-size - 1, size)))  # one past either end: refused
    lo, hi = draw(st.integers(-size, size)), draw(st.integers(-size, size + 1))
    step = f":{draw(st.integers(1, 2))}" if kind == "step" else ""
    return f"{lo}:{hi}{step}"


@strategy("sliceput")
def sliceput_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    items = [":"] + [_index_item(draw, d) for d in shape[: draw(st.integers(0, len(shape)))]]
    if draw(st.integers(0, 4)) == 0:
        items.insert(draw(st.integers(1, len(items))), "...")
    fields: dict[str, Any] = {"index": "[" + ", ".join(items) + "]"}
    if draw(st.booleans()):
        fields["value"] = draw(st.sampled_from([0.0, 1.5]))
        return fields, [shape]
    rest: list[int] = []  # the region written, without the batch (the first item keeps it)
    for item, d in zip(items[1:], shape, strict=False):
        if item == "...":
            break
        if ":" in item:
            lo, hi, *st_ = (int(p) if p else None for p in item.split(":"))
            rest.append(len(range(*slice(lo, hi, st_[0] if st_ else None).indices(d))))
        elif -d <= int(item) < d:
            continue
    else:
        rest.extend(shape[len(items) - 1 :])
    value = tuple(d if draw(st.integers(0, 3)) else draw(st.sampled_from([1, d + 1])) for d in rest)
    return fields, [shape, value]


@strategy("nonzero")
def nonzero_(draw: Draw, name: str) -> Case:
    shape = _any_shape(draw, 1, 3)
    fields: dict[str, Any] = {"length": draw(st.integers(1, 6))}  # more than the elements: refused
    if draw(st.booleans()):
        fields["column"] = draw(st.integers(0, len(shape) + 1))  # the rank itself: refused
    return fields, [shape]


@strategy("unique")
def unique_(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {"length": draw(st.integers(1, 6))}
    _maybe(draw, fields, "output", draw(st.sampled_from(["values", "inverse", "counts"])), "values")
    _maybe(draw, fields, "sorted", draw(st.booleans()), True)
    return fields, [_any_shape(draw, 1, 2)]


@strategy("nms")
def nms_(draw: Draw, name: str) -> Case:
    # the boxes are the batch: K = 1 or 2 of them, random corners
    boxes: Shape = draw(st.sampled_from([(4,), (4,), (4,), (5,)]))
    scores: Shape = draw(st.sampled_from([(), (), (), (2,)]))
    return {"iou_threshold": draw(st.sampled_from([0.3, 0.7])), "length": draw(st.integers(1, 2))}, [boxes, scores]


@strategy("roialign")
def roialign_(draw: Draw, name: str) -> Case:
    fields: dict[str, Any] = {"output_size": [draw(st.integers(1, 3)), draw(st.integers(1, 3))]}
    _maybe(draw, fields, "spatial_scale", draw(st.sampled_from([1.0, 0.5])), 1.0)
    _maybe(draw, fields, "sampling_ratio", draw(st.sampled_from([-1, 1, 2])), -1)
    _maybe(draw, fields, "aligned", draw(st.booleans()), False)
    feat = (draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    rois: Shape = draw(st.sampled_from([(5,), (5,), (5,), (4,)]))  # one box per batch item
    return fields, [feat if draw(st.integers(0, 5)) else feat[1:], rois]


@strategy("multiscaleroialign")
def multiscaleroialign_(draw: Draw, name: str) -> Case:
    n = draw(st.integers(1, 3))
    fields: dict[str, Any] = {
        "output_size": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
        "scales": [0.25, 0.125, 0.0625][:n],
        "sampling_ratio": draw(st.sampled_from([-1, 2])),
    }
    _maybe(draw, fields, "canonical_scale", draw(st.sampled_from([4, 224])), 224)
    c = draw(st.integers(1, 3))
    feats = [(c, 8 >> k, 8 >> k) for k in range(n)]
    if draw(st.integers(0, 6)) == 0:
        feats[-1] = (c + 1, *feats[-1][1:])  # another channel count: refused
    boxes: list[Shape] = [(4,)] * draw(st.integers(1, 2))  # one box per batch item in each
    return fields, [*feats, *boxes]
