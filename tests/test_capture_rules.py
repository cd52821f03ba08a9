"""Every capture rule of the torch frontend, held against torch.

For each op a rule is registered for, hypothesis draws a small module that calls it (with
drawn arguments) and checks, with torch as the oracle:

- the op is mapped to a layer type (no opaque node) — the rule took the call;
- the analytic output shape equals a real forward pass, at the capture's batch and at another
  batch (the graph holds at any batch);
- parameters equal the unique ``numel()``, MACs equal ``FlopCounterMode`` / 2.

A registered op without a case here fails ``test_every_rule_has_a_case``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch_oracle import oracle  # noqa: E402

import cnnscope  # noqa: E402
from cnnscope.frontends.torch.capture import capture  # noqa: E402
from cnnscope.frontends.torch.rules import rules  # noqa: E402

Fn = Callable[[Any, Any], Any]  # (module, x) -> output
Build = Callable[[Any], tuple[Fn, dict[str, Any], tuple[int, ...]]]  # draw -> (fn, parameters, input shape)

S = (4, 6, 6)  # the input of most cases, without the batch
CASES: dict[str, Build] = {}


def case(*ops: str) -> Callable[[Build], Build]:
    def deco(fn: Build) -> Build:
        for op in ops:
            assert op not in CASES, op
            CASES[op] = fn
        return fn

    return deco


def plain(fn: Fn, shape: tuple[int, ...] = S, **params: Any) -> Build:
    return lambda draw: (fn, params, shape)


class Op(nn.Module):
    def __init__(self, fn: Fn, params: dict[str, Any]) -> None:
        super().__init__()
        self.fn = fn
        for k, v in params.items():
            if isinstance(v, nn.Parameter):
                self.register_parameter(k, v)
            else:
                self.register_buffer(k, v)

    def forward(self, x: Any) -> Any:
        return self.fn(self, x)


def P(*shape: int) -> Any:
    return nn.Parameter(torch.randn(*shape))


# -- activations and other one-input functions, by name ----------------------------------------

_ACT_ARGS: dict[str, dict[str, Any]] = {
    "softmax": {"dim": 1},
    "log_softmax": {"dim": -1},
    "softmin": {"dim": 2},
    "glu": {"dim": 1},
    "threshold": {"threshold": 0.1, "value": -1.0},
    "hardshrink": {"lambd": 0.3},
    "softshrink": {"lambd": 0.3},
    "rrelu": {"lower": 0.1, "upper": 0.3, "training": False},
    "dropout": {"p": 0.3, "training": False},
    "dropout1d": {"p": 0.3, "training": False},
    "dropout2d": {"p": 0.3, "training": False},
    "dropout3d": {"p": 0.3, "training": False},
    "alpha_dropout": {"p": 0.3, "training": False},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 0.5},
    "celu": {"alpha": 0.5},
    "hardtanh": {"min_val": -0.5, "max_val": 0.5},
    "softplus": {"beta": 2.0},
    "pixel_shuffle": {"upscale_factor": 2},
    "pixel_unshuffle": {"downscale_factor": 2},
    "channel_shuffle": {"groups": 2},
    "local_response_norm": {"size": 2},
    "gelu": {"approximate": "tanh"},
}
for _op in (
    *_ACT_ARGS,
    "relu",
    "relu6",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "selu",
    "softsign",
    "tanhshrink",
    "logsigmoid",
):
    _f = getattr(F, _op, None) or getattr(torch, _op)
    _kw = _ACT_ARGS.get(_op, {})
    if _op == "dropout1d":
        CASES[_op] = plain(lambda m, x, f=_f, kw=_kw: f(x.flatten(2), **kw))
    elif _op == "dropout3d":
        CASES[_op] = plain(lambda m, x, f=_f, kw=_kw: f(x.unsqueeze(2), **kw))
    else:
        CASES[_op] = plain(lambda m, x, f=_f, kw=_kw: f(x, **kw))


CASES["log_sigmoid"] = CASES["logsigmoid"]  # F.logsigmoid's own name


# -- convolutions, linear, normalization ------------------------------------------------------


@case("conv1d", "conv2d", "conv3d")
def conv(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    nd = draw(st.sampled_from([1, 2, 3]))
    k, stride, pad, groups = (
        draw(st.sampled_from([1, 3])),
        draw(st.sampled_from([1, 2])),
        draw(st.sampled_from([0, 1])),
        draw(st.sampled_from([1, 2])),
    )
    bias = draw(st.booleans())
    shape = {1: (4, 9), 2: (4, 7, 6), 3: (4, 3, 5, 5)}[nd]
    f = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    params = {"w": P(6, 4 // groups, *([k] * nd))}
    if bias:
        params["b"] = P(6)
    return (lambda m, x: f(x, m.w, m.b if bias else None, stride, pad, 1, groups)), params, shape


@case("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def conv_t(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    nd = draw(st.sampled_from([1, 2, 3]))
    stride = draw(st.sampled_from([1, 2]))
    shape = {1: (4, 5), 2: (4, 4, 3), 3: (4, 2, 3, 3)}[nd]
    f = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    return (lambda m, x: f(x, m.w, m.b, stride)), {"w": P(4, 3, *([2] * nd)), "b": P(3)}, shape


@case("linear")
def linear(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    if draw(st.booleans()):  # a bias computed in the forward, as BEiT's q/v bias with a zero middle
        return (
            lambda m, x: F.linear(x, m.w, torch.cat([m.qb, torch.zeros_like(m.qb), m.qb])),
            {"w": P(6, 6), "qb": P(2)},
            S,
        )
    bias = draw(st.booleans())
    params = {"w": P(5, 6)} | ({"b": P(5)} if bias else {})
    return (lambda m, x: F.linear(x, m.w, m.b if bias else None)), params, S


CASES["batch_norm"] = lambda draw: (
    lambda m, x: F.batch_norm(x, m.rm, m.rv, m.w, m.b, False, 0.1, 1e-5),
    {"rm": torch.zeros(4), "rv": torch.ones(4), "w": P(4), "b": P(4)},
    S,
)
CASES["instance_norm"] = plain(lambda m, x: F.instance_norm(x))
CASES["layer_norm"] = lambda draw: (lambda m, x: F.layer_norm(x, (6,), m.w, m.b), {"w": P(6), "b": P(6)}, S)
CASES["group_norm"] = lambda draw: (lambda m, x: F.group_norm(x, 2, m.w, m.b), {"w": P(4), "b": P(4)}, S)


# -- pooling and reductions ---------------------------------------------------------------------


@case("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d")
def pool(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    nd, kind = draw(st.sampled_from([1, 2, 3])), draw(st.sampled_from(["max", "avg"]))
    f = getattr(F, f"{kind}_pool{nd}d")
    k, stride = draw(st.sampled_from([2, 3])), draw(st.sampled_from([None, 1, 2]))
    shape = {1: (4, 9), 2: (4, 7, 6), 3: (4, 4, 5, 5)}[nd]
    return (lambda m, x: f(x, k, stride)), {}, shape


@case(*(f"adaptive_{k}_pool{n}d" for k in ("avg", "max") for n in (1, 2, 3)))
def adaptive(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    nd, kind, out = (
        draw(st.sampled_from([1, 2, 3])),
        draw(st.sampled_from(["avg", "max"])),
        draw(st.sampled_from([1, 2])),
    )
    f = getattr(F, f"adaptive_{kind}_pool{nd}d")
    shape = {1: (4, 9), 2: (4, 7, 6), 3: (4, 4, 5, 5)}[nd]
    return (lambda m, x: f(x, out)), {}, shape


@case("mean", "sum", "amax", "amin")
def reduce(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op = draw(st.sampled_from(["mean", "sum", "amax", "amin"]))
    dims = draw(st.sampled_from([(2, 3), (1,), (-1,), (1, 3), (-2, -1)]))
    keep = draw(st.booleans())
    return (lambda m, x: getattr(torch, op)(x, dim=dims, keepdim=keep)), {}, S


# -- elementwise ----------------------------------------------------------------------------------


@case("add", "sub", "mul", "div")
def binary(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op = draw(st.sampled_from(["add", "sub", "mul", "div"]))
    other = draw(st.sampled_from(["self", "gate", "number", "param", "pos"]))
    f = getattr(torch, op)
    if other == "self":
        return (lambda m, x: f(x, x * 2)), {}, S
    if other == "gate":  # a broadcast gate, as squeeze-excitation
        return (lambda m, x: f(x, x.mean((2, 3), keepdim=True))), {}, S
    if other == "number":
        return (lambda m, x: f(x, 1.5)), {}, S
    if other == "param":  # a gain of an arbitrary broadcastable shape: a parameter node
        return (lambda m, x: f(x, m.g)), {"g": P(6)}, S
    return (lambda m, x: f(x, m.g)), {"g": P(1, 4, 6, 6)}, S  # a position embedding


CASES["rsub"] = plain(lambda m, x: 1.0 - x)
CASES["rdiv"] = plain(lambda m, x: 2.0 / x)
CASES["pow"] = plain(lambda m, x: x**2)
CASES["neg"] = plain(lambda m, x: -x)
for _op in ("exp", "log", "sqrt", "rsqrt", "abs", "sin", "cos", "erf", "reciprocal", "square", "sign", "floor",
            "ceil", "round", "trunc", "log1p", "expm1"):  # fmt: skip
    CASES[_op] = plain(lambda m, x, op=_op: getattr(torch, op)(x))
CASES["clamp"] = plain(lambda m, x: torch.clamp(x, -0.5, 0.5))
CASES["clip"] = plain(lambda m, x: x.clip(min=0.0))
CASES["clamp_min"] = plain(lambda m, x: x.clamp_min(0.1))
CASES["clamp_max"] = plain(lambda m, x: x.clamp_max(0.1))


# -- tensor plumbing ------------------------------------------------------------------------------


@case("view", "reshape")
def view(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["flat", "tokens", "windows", "heads"]))
    op = draw(st.sampled_from(["view", "reshape"]))
    if form == "flat":
        return (lambda m, x: getattr(x, op)(x.size(0), -1)), {}, S
    if form == "tokens":
        return (lambda m, x: getattr(x, op)(x.shape[0], 4, 36)), {}, S
    if form == "windows":  # the batch folded with windows, as Swin does
        return (lambda m, x: getattr(x, op)(-1, 4, 3, 3)), {}, S
    return (lambda m, x: getattr(x.flatten(2), op)(x.shape[0], 2, 2, 36)), {}, S


CASES["unflatten"] = plain(lambda m, x: x.flatten(2).unflatten(2, (6, 6)))
CASES["squeeze"] = plain(lambda m, x: x[:, :1].squeeze(1))
CASES["unsqueeze"] = plain(lambda m, x: x.unsqueeze(2))
CASES["flatten"] = lambda draw: (lambda m, x, s=draw(st.sampled_from([0, 1, 2])): torch.flatten(x, s), {}, S)
CASES["permute"] = lambda draw: (lambda m, x, d=draw(st.permutations([0, 1, 2, 3])): x.permute(*d), {}, S)
CASES["transpose"] = lambda draw: (
    lambda m, x, a=draw(st.sampled_from([(1, 2), (2, 3), (0, 1)])): x.transpose(*a),
    {},
    S,
)
CASES["t"] = plain(lambda m, x: x.flatten(1).t())
for _op in ("contiguous", "clone", "detach", "float"):
    CASES[_op] = plain(lambda m, x, op=_op: getattr(x, op)() * 2)
CASES["to"] = plain(lambda m, x: x.to(torch.float64))
CASES["cpu"] = plain(lambda m, x: x.cpu() * 2)
CASES["double"] = plain(lambda m, x: x.double())
CASES["half"] = plain(lambda m, x: x.half())
CASES["bfloat16"] = plain(lambda m, x: x.bfloat16())
CASES["type"] = plain(lambda m, x: x.type(torch.float64))
CASES["type_as"] = plain(lambda m, x: x.type_as(x) + 1)
CASES["requires_grad"] = plain(lambda m, x: x.requires_grad_(False) * 2)
CASES["expand"] = plain(lambda m, x: x.mean((2, 3), keepdim=True).expand(-1, -1, 6, 6))
CASES["expand_as"] = plain(lambda m, x: x.amax((2, 3), keepdim=True).expand_as(x))
CASES["roll"] = lambda draw: (
    lambda m, x, k=draw(st.sampled_from([1, -2])), d=draw(st.sampled_from([1, 2, (2, 3)])): x.roll(
        k if isinstance(d, int) else (k, k), dims=d
    ),
    {},
    S,
)
CASES["view_as"] = plain(lambda m, x: x.flatten(2).view_as(x))
CASES["reshape_as"] = plain(lambda m, x: x.flatten(1).reshape_as(x))


@case("split", "split_with_sizes", "chunk", "tensor_split", "unbind", "narrow", "select")
def split(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op = draw(st.sampled_from(["split", "split_with_sizes", "chunk", "tensor_split", "unbind", "narrow", "select"]))
    dim = draw(st.sampled_from([1, 2, 3]))
    fns: dict[str, Fn] = {
        "split": lambda m, x: x.split(2, dim=dim),
        "split_with_sizes": lambda m, x: x.split([1, 3], dim=1),
        "chunk": lambda m, x: x.chunk(2, dim=dim),
        "tensor_split": lambda m, x: x.tensor_split(3, dim=dim),
        "unbind": lambda m, x: x.unbind(dim),
        "narrow": lambda m, x: x.narrow(dim, 1, 2),
        "select": lambda m, x: x.select(dim, 1),
    }
    return fns[op], {}, S


@case("getitem")
def getitem(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    idx = draw(
        st.sampled_from(
            [
                (slice(None), 0),
                (slice(None), slice(1, 3)),
                (Ellipsis, slice(None, None, 2)),
                (slice(None), None),
                (slice(None), slice(None), -1),
                (Ellipsis, 1, slice(2, None)),
            ]
        )
    )
    return (lambda m, x: x[idx]), {}, S


CASES["cat"] = lambda draw: (lambda m, x, d=draw(st.sampled_from([1, 2, -1])): torch.cat([x, x * 2], d), {}, S)
CASES["stack"] = lambda draw: (lambda m, x, d=draw(st.sampled_from([0, 1, 4])): torch.stack([x, x * 2], d), {}, S)


@case("pad")
def pad(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    pads = draw(st.sampled_from([(1, 1), (1, 2, 0, 1), (0, 0, 0, 0, 1, 1), (0, 0, 1, 1, 0, 0, 0, 0)]))
    value = draw(st.sampled_from([0.0, 1.5]))
    return (lambda m, x: F.pad(x, pads, value=value)), {}, S


CASES["interpolate"] = lambda draw: (
    lambda m, x, s=draw(st.sampled_from([2, 1.5])), mode=draw(st.sampled_from(["nearest", "bilinear"])): F.interpolate(
        x, scale_factor=s, mode=mode
    ),
    {},
    S,
)
CASES["upsample"] = plain(lambda m, x: F.upsample(x, size=(8, 9)))
CASES["upsample_nearest"] = plain(lambda m, x: F.upsample_nearest(x, scale_factor=2))
CASES["upsample_bilinear"] = plain(lambda m, x: F.upsample_bilinear(x, size=(9, 9)))


# -- products and attention -----------------------------------------------------------------------

CASES["matmul"] = plain(lambda m, x: x @ x.transpose(-1, -2))
CASES["bmm"] = plain(lambda m, x: torch.bmm(x.flatten(2), x.flatten(2).transpose(1, 2)))
CASES["mm"] = lambda draw: (lambda m, x: torch.mm(x.flatten(1), m.w), {"w": P(144, 5)}, S)
CASES["einsum"] = lambda draw: (
    lambda m, x, eq=draw(st.sampled_from(["bchw,bkhw->bck", "bchw->bhwc", "bchw,bchw->bc"])): torch.einsum(
        eq, *([x] if eq.count(",") == 0 else [x, x * 2])
    ),
    {},
    S,
)


@case("scaled_dot_product_attention")
def sdpa(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    causal = draw(st.booleans())
    heads = draw(st.sampled_from([1, 2]))

    def fn(m: Any, x: Any) -> Any:
        t = x.flatten(2).transpose(1, 2)  # (B, 36, 4) tokens
        q = t.reshape(t.shape[0], 36, heads, 4 // heads).transpose(1, 2)
        return F.scaled_dot_product_attention(q, q * 2, q + 1, is_causal=causal)

    return fn, {}, S


# -- the checks -------------------------------------------------------------------------------------

_EXEMPT: dict[str, str] = {"cuda": "needs a CUDA device; the same no-op rule as `cpu`"}


def test_every_rule_has_a_case() -> None:
    missing = sorted(set(rules()) - set(CASES) - set(_EXEMPT))
    assert missing == [], f"capture rules with no case in tests/test_capture_rules.py: {missing}"


def _agrees_with_torch(op: str, model: nn.Module, shape: tuple[int, ...]) -> None:
    """Mapped with no opaque node; shape equal to a real forward at batch 1 and 3; params equal
    numel; MACs equal FlopCounterMode / 2."""
    graph = capture(model, shape)
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}, (op, graph.extras["opaque"])
    for batch in (1, 3):
        report = cnnscope.analyze(graph, ["params", "compute"], batch=batch)
        x = torch.randn(batch, *shape)
        with torch.no_grad():
            out = model(x)
        first = out[0] if isinstance(out, (tuple, list)) else out
        assert report.row(graph.output)["output_shape"] == list(first.shape), (op, batch)
        ref = oracle(model, (x,))
        assert report.totals["params"] == ref["params"], op
        assert report.totals["macs"] == ref["macs"], (op, batch)


@pytest.mark.parametrize("op", sorted(CASES))
@given(data=st.data())
def test_rule_agrees_with_torch(op: str, data: st.DataObject) -> None:
    fn, params, shape = CASES[op](data.draw)
    model = Op(fn, {k: (v.clone() if not isinstance(v, nn.Parameter) else v) for k, v in params.items()}).eval()
    _agrees_with_torch(op, model, shape)


CASES["normalize"] = lambda draw: (lambda m, x, d=draw(st.sampled_from([1, -1])): F.normalize(x, dim=d), {}, S)


# -- #13: weight-input convs and linears, pads in every mode, tensor-bound clamps, rms and vector
# norms, addcmul, sliding blocks, grid sampling, repeat_interleave --------------------------------


def _either(op: str, *builds: Build) -> None:
    """``op``'s case draws its first form or one of ``builds``."""
    first = CASES[op]

    def build(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
        k = draw(st.integers(0, len(builds)))
        return first(draw) if k == 0 else builds[k - 1](draw)

    CASES[op] = build


def _weight_input_conv(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    """A weight computed from parameters (weight standardization, as timm's StdConv and the
    NF-Nets' ScaledStdConv), a fixed filter held as a buffer (TResNet's blur), a computed bias."""
    nd = draw(st.sampled_from([1, 2, 3]))
    form = draw(st.sampled_from(["std", "scaled", "buffer", "bias"]))
    shape = {1: (4, 9), 2: (4, 7, 6), 3: (4, 3, 5, 5)}[nd]
    f = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    k = [3] * nd
    if form == "std":
        dims = tuple(range(1, nd + 2))
        fn: Fn = lambda m, x: f(x, (m.w - m.w.mean(dims, keepdim=True)) / (m.w.std(dims, keepdim=True) + 1e-5), m.b)
        return fn, {"w": P(6, 4, *k), "b": P(6)}, shape
    if form == "scaled":
        fn = lambda m, x: f(
            x,
            F.batch_norm(
                m.w.reshape(1, 6, -1), None, None, weight=(m.g * 0.5).view(-1), training=True, momentum=0.0
            ).reshape_as(m.w),
            m.b,
            1,
            1,
        )
        return fn, {"w": P(6, 4, *k), "g": P(6, *([1] * (nd + 1))), "b": P(6)}, shape
    if form == "buffer":
        stride = draw(st.sampled_from([1, 2]))
        return (lambda m, x: f(x, m.filt, None, stride, 1, 1, 4)), {"filt": torch.ones(4, 1, *k) / 27}, shape
    return (lambda m, x: f(x, m.w, m.b * 2 + 1)), {"w": P(5, 4, *k), "b": P(5)}, shape


def _same_padding_conv(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    pad, dil = draw(st.sampled_from(["same", "valid"])), draw(st.sampled_from([1, 2]))
    return (lambda m, x: F.conv2d(x, m.w, None, 1, pad, dil)), {"w": P(3, 4, 3, 2)}, S


for _op in ("conv1d", "conv2d", "conv3d"):
    _either(_op, _weight_input_conv, _same_padding_conv)


def _weight_input_conv_t(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    nd = draw(st.sampled_from([1, 2, 3]))
    shape = {1: (4, 5), 2: (4, 4, 3), 3: (4, 2, 3, 3)}[nd]
    f = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
    bias = draw(st.booleans())
    return (
        (lambda m, x: f(x, m.w * m.s, m.b if bias else None, 2)),
        {"w": P(4, 3, *([2] * nd)), "s": P(1), "b": P(3)},
        shape,
    )


for _op in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
    _either(_op, _weight_input_conv_t)


def _weight_input_linear(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["basis", "basis+bias", "computed"]))
    if form == "basis":  # a fixed transform held as a buffer (CSATv2's DCT)
        return (lambda m, x: F.linear(x, m.d)), {"d": torch.randn(5, 6)}, S
    if form == "basis+bias":
        return (lambda m, x: F.linear(x, m.d, m.b)), {"d": torch.randn(5, 6), "b": P(5)}, S
    return (lambda m, x: F.linear(x, m.w * 2, m.b)), {"w": P(5, 6), "b": P(5)}, S


_either("linear", _weight_input_linear)


def _pad_modes(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["-inf", "circular", "reflect-1d", "replicate-3d", "reflect-some"]))
    if form == "-inf":  # a max pool's "same" padding (timm's MaxPool2dSame)
        return (lambda m, x: F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 3, 2)), {}, S
    if form == "circular":
        return (lambda m, x: F.pad(x, (1, 2, 2, 0), mode="circular")), {}, S
    if form == "reflect-1d":
        return (lambda m, x: F.pad(x.flatten(2), (3, 1), mode="reflect")), {}, S
    if form == "replicate-3d":
        return (lambda m, x: F.pad(x.unsqueeze(2), (1, 1, 0, 2, 1, 0), mode="replicate")), {}, S
    return (lambda m, x: F.pad(x[:, 0], (1, 1, 2, 2), mode="reflect")), {}, S  # an unbatched-style 3-d map


_either("pad", _pad_modes)


def _tensor_bounds(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["buffers", "data", "param", "infinite"]))
    if form == "buffers":  # Gemma-4's clippable linear: 0-d buffers of ±inf
        return (
            (lambda m, x: torch.clamp(x, m.lo, m.hi)),
            {"lo": torch.tensor(-float("inf")), "hi": torch.tensor(0.5)},
            S,
        )
    if form == "data":
        return (lambda m, x: torch.clamp(x, min=x.mean(1, keepdim=True))), {}, S
    if form == "param":
        return (lambda m, x: x.clamp(max=m.c)), {"c": P(4, 1, 1)}, S
    return (lambda m, x: torch.clamp(x, -float("inf"), float("inf"))), {}, S


_either("clamp", _tensor_bounds)


@case("unfold")
def unfold_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["im2col", "module", "windows"]))
    k, s = draw(st.sampled_from([2, 3])), draw(st.sampled_from([1, 2]))
    if form == "im2col":
        return (lambda m, x: F.unfold(x, k, padding=1, stride=s)), {}, S
    if form == "module":  # nn.Unfold: a leaf, read back from its attributes
        return (lambda m, x: m.u(x)), {"u": nn.Unfold((k, 2), dilation=(1, 2), stride=s)}, S
    # Tensor.unfold: HaloNet's neighbourhoods, windows of H then of W as two new last dims
    return (lambda m, x: F.pad(x, (1, 1, 1, 1)).unfold(2, k, s).unfold(3, k, s)), {}, S


@case("fold")
def fold_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    k = draw(st.sampled_from([2, 3]))
    if draw(st.booleans()):  # VOLO's outlook attention: unfold, weigh, fold back
        return (lambda m, x: F.fold(F.unfold(x, k, padding=1) * 0.5, (6, 6), k, padding=1)), {}, S
    return (lambda m, x: m.f(F.unfold(x, k, stride=k) + 1)), {"f": nn.Fold((6, 6), k, stride=k)}, S


@case("grid_sample")
def grid_sample_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    mode = draw(st.sampled_from(["bilinear", "nearest", "bicubic"]))
    corners = draw(st.booleans())
    if draw(st.booleans()) or mode == "bicubic":  # a grid from the data (RAFT's correlation lookup)
        fn: Fn = lambda m, x: F.grid_sample(
            x, torch.tanh(x[:, :2].permute(0, 2, 3, 1)), mode=mode, align_corners=corners
        )
        return fn, {}, S
    # 5-d: a volume sampled at a grid made from the data
    return (
        lambda m, x: F.grid_sample(x.unsqueeze(2), torch.tanh(x[:, :3].permute(0, 2, 3, 1).unsqueeze(1)), mode=mode),
        {},
        S,
    )


@case("repeat_interleave")
def repeat_interleave_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["batch", "channels", "counts", "flat"]))
    if form == "batch":  # GCViT: the global query repeated once per window, along the batch
        return (lambda m, x: x.mean(1, keepdim=True).repeat_interleave(4, dim=0)), {}, S
    if form == "channels":
        return (lambda m, x: torch.repeat_interleave(x, 2, dim=1)), {}, S
    if form == "counts":  # one count per channel, a constant
        return (lambda m, x: x.repeat_interleave(m.r, dim=1)), {"r": torch.tensor([1, 0, 2, 3])}, S
    return (lambda m, x: x.repeat_interleave(2)), {}, S


@case("rms_norm")
def rms_norm_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["weight", "none", "float-weight", "module"]))
    if form == "weight":
        return (lambda m, x: F.rms_norm(x, (6,), m.w, 1e-6)), {"w": P(6)}, S
    if form == "none":
        return (lambda m, x: F.rms_norm(x, [4, 6, 6])), {}, S
    if form == "float-weight":  # timm's RmsNormFp32: the weight cast in the forward, then multiplied
        return (lambda m, x: F.rms_norm(x.float(), [6, 6], m.w.float())), {"w": P(6, 6)}, S
    return (lambda m, x: m.n(x)), {"n": nn.RMSNorm([6, 6])}, S  # nn.RMSNorm: a leaf


@case("addcmul", "addcdiv")
def addc_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op, value = draw(st.sampled_from(["addcmul", "addcdiv"])), draw(st.sampled_from([1, 0.5]))
    f = getattr(torch, op)
    if draw(st.booleans()):  # ConvNeXt-v2's GRN, channels last: beta + gamma · (x · Nx)
        return (
            lambda m, x: f(m.b.view(1, 1, 1, 6), m.g.view(1, 1, 1, 6), x * 2, value=value),
            {"g": P(6), "b": P(6)},
            S,
        )
    return (lambda m, x: getattr(x, op)(x.exp(), x.mean(1, keepdim=True).exp(), value=value)), {}, S


@case("norm", "linalg_vector_norm")
def vector_norm_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    p, dim = draw(st.sampled_from([2, 1, float("inf"), "fro"])), draw(st.sampled_from([(2, 3), 1, None, (1, -1)]))
    keep = draw(st.booleans())
    if draw(st.booleans()):
        return (lambda m, x: x.norm(p=p, dim=dim, keepdim=keep)), {}, S
    order = 2.0 if p == "fro" else p
    return (lambda m, x: torch.linalg.vector_norm(x, order, dim=dim, keepdim=keep)), {}, S


# -- comparisons, masks, selection, indexing, writes, detection (rules/compare.py, arith.py,
# select.py, index.py, detection.py). A size the data decides (x[mask], nonzero, unique, nms) is
# reduced to a fixed one before the output, so the graph's output shape holds at any input.


def _other(draw: Any) -> Callable[[Any], Any]:
    """The second operand: a number, a tensor of the input's shape, or a broadcast gate."""
    form = draw(st.sampled_from(["number", "self", "gate"]))
    if form == "number":
        return lambda x: 0.25
    if form == "self":
        return lambda x: x * 2
    return lambda x: x.mean((2, 3), keepdim=True)


for _op in ("eq", "ne", "lt", "le", "gt", "ge", "not_equal", "greater", "greater_equal", "less", "less_equal"):
    CASES[_op] = lambda draw, op=_op: (
        lambda m, x, f=getattr(torch, op), y=_other(draw): f(x.round() if op in ("eq", "ne") else x, y(x)),
        {},
        S,
    )

_LOGIC_FNS: dict[str, Fn] = {
    "and": lambda m, x: (x > 0) & (x < 1),
    "or": lambda m, x: (x > 0) | (x.mean((2, 3), keepdim=True) < 0),
    "xor": lambda m, x: (x > 0) ^ (x < 1),
    "invert": lambda m, x: ~(x > 0),
    "logical_and": lambda m, x: torch.logical_and(x > 0, x),
    "logical_or": lambda m, x: torch.logical_or(x > 0, x < -1),
    "logical_xor": lambda m, x: torch.logical_xor(x, x < -1),
    "logical_not": lambda m, x: torch.logical_not(x > 0).float() * x,
    "bitwise_and": lambda m, x: torch.bitwise_and(x > 0, x < 1),
    "bitwise_or": lambda m, x: torch.bitwise_or(x > 0, x < 1),
    "bitwise_xor": lambda m, x: torch.bitwise_xor(x > 0, x < 1),
    "bitwise_not": lambda m, x: torch.bitwise_not(x > 0),
}
for _op, _fn in _LOGIC_FNS.items():
    CASES[_op] = plain(_fn)


@case("where")
def where_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["tensors", "number", "numbers", "gate", "indices"]))
    fns: dict[str, Fn] = {
        "tensors": lambda m, x: torch.where(x > 0, x, x * 2),
        "number": lambda m, x: torch.where(x > 0, x, 0.0),
        "numbers": lambda m, x: torch.where(x > 0, 1.0, -1.0) * x,
        "gate": lambda m, x: torch.where(x.mean((2, 3), keepdim=True) > 0, x, -x),
        # torch.where(mask): the indices of its true elements, as many as the data has
        "indices": lambda m, x: x.flatten()[torch.where(x.flatten() > 0)[0]].sum(0),
    }
    return fns[form], {}, S


@case("masked_fill")
def masked_fill_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    value = draw(st.sampled_from([0.0, float("-inf"), 2]))
    if draw(st.booleans()):
        return (lambda m, x: x.masked_fill(x > 0, value)), {}, S
    return (lambda m, x: x.clone().masked_fill_(x.mean(1, keepdim=True) > 0, value)), {}, S


# -- arithmetic the merges leave out --------------------------------------------------------------


@case("remainder", "mod", "fmod", "floor_divide", "floordiv", "maximum", "minimum")
def arith_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op = draw(st.sampled_from(["remainder", "mod", "fmod", "floor_divide", "floordiv", "maximum", "minimum"]))
    tensor = draw(st.booleans()) or op in ("maximum", "minimum")
    y: Fn = (lambda m, x: x.abs() + 0.5) if tensor else (lambda m, x: 1.5)
    fns: dict[str, Fn] = {
        "remainder": lambda m, x: torch.remainder(x, y(m, x)),
        "mod": lambda m, x: x % y(m, x),
        "fmod": lambda m, x: torch.fmod(x, y(m, x)),
        "floor_divide": lambda m, x: torch.floor_divide(x, y(m, x)),
        "floordiv": lambda m, x: x // y(m, x),
        "maximum": lambda m, x: torch.maximum(x, y(m, x)),
        "minimum": lambda m, x: torch.minimum(x, y(m, x)),
    }
    return fns[op], {}, S


for _op in ("log2", "log10", "exp2", "tan", "atan", "asin", "acos", "sinh", "cosh", "frac"):
    CASES[_op] = plain(lambda m, x, op=_op: getattr(torch, op)(x.tanh() * 0.5 if op in ("asin", "acos") else x))


def test_rounded_division_is_a_binary_layer() -> None:
    class Net(nn.Module):
        def forward(self, x: Any) -> Any:
            return torch.div(x, 2, rounding_mode="floor") + torch.div(x, x.abs() + 1, rounding_mode="trunc")

    graph = capture(Net(), S)
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}
    ops = sorted(n.layer.config()["op"] for n in graph.nodes if n.type == "binary")
    assert ops == ["floordiv", "truncdiv"]


# -- selection: two outputs, two nodes ------------------------------------------------------------


@case("topk", "sort", "argsort", "max", "min", "argmax", "argmin")
def select_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    op = draw(st.sampled_from(["topk", "sort", "argsort", "max", "min", "argmax", "argmin"]))
    dim, which = draw(st.sampled_from([1, 2, -1])), draw(st.sampled_from([0, 1]))
    keep = draw(st.booleans())
    fns: dict[str, Fn] = {
        "topk": lambda m, x: x.topk(3, dim=dim, largest=bool(which))[which],
        "sort": lambda m, x: torch.sort(x, dim=dim, descending=bool(which))[which],
        "argsort": lambda m, x: x.argsort(dim=dim, descending=bool(which)),
        "argmax": lambda m, x: x.argmax(dim=dim, keepdim=keep) if which else x.argmax(),
        "argmin": lambda m, x: torch.argmin(x, dim=dim, keepdim=keep),
    }
    if op in ("max", "min"):
        form = draw(st.sampled_from(["all", "dim", "other"]))
        f = getattr(torch, op)
        if form == "all":
            return (lambda m, x: f(x) * x), {}, S
        if form == "other":
            return (lambda m, x: f(x, x.mean(1, keepdim=True))), {}, S
        return (lambda m, x: f(x, dim, keepdim=keep)[which]), {}, S
    return fns[op], {}, S


def test_topk_indices_are_nodes_of_their_own() -> None:
    # both outputs used: values and indices are two nodes of one call, neither opaque
    class Net(nn.Module):
        def forward(self, x: Any) -> Any:
            values, idx = x.flatten(1).topk(5, dim=1)
            return values * 2, idx

    graph = capture(Net(), S)
    assert graph.extras["opaque"] == {} and graph.extras["unsupported"] == {}
    kinds = sorted((n.type, n.layer.config().get("output", "values")) for n in graph.nodes if n.type == "topk")
    assert kinds == [("topk", "indices"), ("topk", "values")]


# -- indexing and writes --------------------------------------------------------------------------

_basic_getitem = CASES["getitem"]


def _getitem(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    if draw(st.booleans()):
        return _basic_getitem(draw)
    form = draw(st.sampled_from(["const", "data", "two", "list", "mask", "mask2", "around", "empty"]))
    fns: dict[str, Fn] = {
        "const": lambda m, x: x[:, torch.tensor([0, 2, 2])],
        "data": lambda m, x: x[:, :, x.mean((0, 1, 3)).argsort()[:4]],
        # a batch index beside a data index: two index tensors broadcast (torchvision's RPN)
        "two": lambda m, x: x.flatten(1)[torch.arange(x.shape[0])[:, None], x.flatten(1).topk(3, 1)[1]],
        "list": lambda m, x: x[:, :, [0, 4, 5]],
        "mask": lambda m, x: x[x > 0].sum(0),
        "mask2": lambda m, x: x.flatten(2)[:, x.mean((0, 2, 3)) > 100].flatten(1).sum(1),
        "around": lambda m, x: x[:, 1:, torch.tensor([1, 0]), ::2],
        "empty": lambda m, x: torch.cat([x[:, :, :0], x], 2),  # x[:, :, :0] holds no values
    }
    return fns[form], {}, S


CASES["getitem"] = _getitem
CASES["index_select"] = lambda draw: (
    lambda m, x, d=draw(st.sampled_from([1, 2])): x.index_select(d, x.mean((0, 2, 3)).argsort()[:2] % 4),
    {},
    S,
)


@case("setitem")
def setitem_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["slice", "number", "iadd", "into-constant", "index", "mask", "ellipsis"]))

    def fn(m: Any, x: Any) -> Any:
        y = x * 1
        if form == "slice":
            y[:, 1:3] = x[:, :2] * 2
        elif form == "number":
            y[:, :, 0] = 0.5
        elif form == "iadd":  # `y[...] += v`: the add writes through the view, then y[...] = itself
            y[:, :, 1:, 1:] += x[:, :, :5, :5]
        elif form == "into-constant":  # a fresh tensor filled from the data (a padded image)
            y = torch.zeros(5, 7, 7)
            y[:4, :6, :6] = x[0]
        elif form == "index":
            y[:, torch.tensor([0, 3])] = x[:, :2].exp()
        elif form == "mask":
            y[y > 0] = 0.0
        else:
            y[..., 2] = x[..., 3]
        return y

    return fn, {}, S


CASES["index_put"] = lambda draw: (
    lambda m, x, acc=draw(st.booleans()): torch.index_put(
        x.flatten(1), (x.flatten(1).argmax(1) * 0,), x.flatten(1)[:, :1] if not acc else x.flatten(1)[0, 0], acc
    ),
    {},
    S,
)


@case("copy")
def copy_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["whole", "view", "broadcast"]))

    def fn(m: Any, x: Any) -> Any:
        y = torch.zeros(4, 8, 8) if form == "view" else torch.zeros_like(x)
        if form == "view":  # torchvision's batch of padded images: pad_img[:c, :h, :w].copy_(img)
            y[:, :6, :6].copy_(x[-1])
        elif form == "broadcast":
            y.copy_(x.mean(1, keepdim=True))
        else:
            y.copy_(x * 2)
        return y

    return fn, {}, S


# -- detection ------------------------------------------------------------------------------------


def _boxes(x: Any) -> tuple[Any, Any]:
    t = x.flatten(2).transpose(1, 2).reshape(-1, 4)  # (B·36, 4): corners and a size per row
    return torch.cat([t[:, :2], t[:, :2] + t[:, 2:].abs() + 0.1], 1), t[:, 0]


@case("nms")
def nms_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    ops = pytest.importorskip("torchvision.ops")
    iou = draw(st.sampled_from([0.3, 0.7]))

    def fn(m: Any, x: Any) -> Any:
        boxes, scores = _boxes(x)
        return boxes[ops.nms(boxes, scores, iou)].sum(0)  # the kept boxes, however many

    return fn, {}, S


@case("roi_align")
def roi_align_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    ops = pytest.importorskip("torchvision.ops")
    size, ratio, aligned = draw(st.sampled_from([2, (3, 2)])), draw(st.sampled_from([-1, 2])), draw(st.booleans())
    rois = [torch.tensor([[0.0, 0.0, 4.0, 5.0], [1.0, 1.0, 3.0, 2.0]])]
    return (lambda m, x: ops.roi_align(x, rois, size, 0.5, ratio, aligned)), {}, S


@case("unique")
def unique_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["values", "inverse", "counts"]))

    def fn(m: Any, x: Any) -> Any:
        if form == "inverse":
            return torch.unique(x.round(), return_inverse=True)[1]
        if form == "counts":
            return torch.unique(x.round(), return_counts=True)[1].sum(0)
        return x.round().unique().sum(0)

    return fn, {}, S


@case("nonzero", "argwhere")
def nonzero_(draw: Any) -> tuple[Fn, dict[str, Any], tuple[int, ...]]:
    form = draw(st.sampled_from(["matrix", "tuple", "argwhere"]))
    fns: dict[str, Fn] = {
        "matrix": lambda m, x: torch.nonzero(x > 0).sum(0),
        "tuple": lambda m, x: x.flatten(1)[(x.flatten(1) > 0).nonzero(as_tuple=True)].sum(0),
        "argwhere": lambda m, x: torch.argwhere(x > 1).sum(0),
    }
    return fns[form], {}, S


# The main test's parametrization is fixed where it is defined: the cases appended below it
# (normalize and on) run here, through the same checks.
_EARLY = next(m.args[1] for m in test_rule_agrees_with_torch.pytestmark if m.name == "parametrize")


class _OpWithModules(Op):
    """``Op``, where a case's parameters may also hold torch modules (``nn.RMSNorm``, ``nn.Unfold``)."""

    def __init__(self, fn: Fn, params: dict[str, Any]) -> None:
        super().__init__(fn, {k: v for k, v in params.items() if not isinstance(v, nn.Module)})
        for k, v in params.items():
            if isinstance(v, nn.Module):
                self.add_module(k, v)


@pytest.mark.parametrize("op", sorted(set(CASES) - set(_EARLY)))
@given(data=st.data())
def test_rules_cased_below_the_main_test_agree_with_torch(op: str, data: st.DataObject) -> None:
    fn, params, shape = CASES[op](data.draw)
    fresh = {k: v if isinstance(v, (nn.Parameter, nn.Module)) else v.clone() for k, v in params.items()}
    model = _OpWithModules(fn, fresh).eval()
    _agrees_with_torch(op, model, shape)


# -- receptive fields of the new types, against the gradient measurement --------------------------


def test_a_conv_whose_weight_is_computed_from_parameters_has_its_window_as_receptive_field() -> None:
    # the weight input depends on no input position, so the field is the convolutions' own;
    # measured on the graph built back into torch (tests/rf_oracle.py), on an input that does not clip
    from rf_oracle import measure_rf

    from cnnscope.analyze.rf import receptive_fields

    def fn(m: Any, x: Any) -> Any:
        y = F.conv2d(x, m.w - m.w.mean((1, 2, 3), keepdim=True), stride=2, padding=1)
        return F.conv2d(y, m.v * m.g, dilation=2)

    model = Op(fn, {"w": P(4, 4, 3, 3), "v": P(2, 4, 3, 3), "g": P(2, 1, 1, 1)}).eval()
    graph = capture(model, (4, 16, 16))
    assert [n.type for n in graph.nodes].count("dynamicconv2d") == 2
    rf = receptive_fields(graph)[graph.output]
    assert rf.ok and rf.size == (11, 11) and rf.stride == (2, 2)  # 3 + (5 − 1)·2; strides 2·1
    measured = measure_rf(graph, spatial=(40, 40))
    assert not measured.clipped
    assert (measured.size, measured.stride, measured.padding) == (rf.size, rf.stride, rf.padding)


@given(
    k=st.sampled_from([(2, 2), (3, 2), (1, 3)]),
    d=st.sampled_from([(1, 1), (2, 1)]),
    p=st.sampled_from([(0, 0), (1, 2)]),
    s=st.sampled_from([(1, 1), (2, 3)]),
)
def test_a_column_of_unfold_sees_its_block(k: Any, d: Any, p: Any, s: Any) -> None:
    # unfold's receptive field is its window: column l reads block (i, j) = divmod(l, blocks_w),
    # [i·s − p, i·s − p + d·(k − 1)] per dim; the gradient of that column says which inputs it reads
    from cnnscope.analyze.rf import receptive_fields

    model = Op(lambda m, x: F.unfold(x, k, dilation=d, padding=p, stride=s), {}).eval()
    graph = capture(model, (2, 11, 12))
    rf = receptive_fields(graph)[graph.output]
    assert rf.ok
    x = torch.ones((1, 2, 11, 12), requires_grad=True)
    out = F.unfold(x, k, dilation=d, padding=p, stride=s)
    blocks_h, blocks_w = ((n + 2 * pi - di * (ki - 1) - 1) // si + 1 for n, ki, di, pi, si in zip((11, 12), k, d, p, s))
    unit = (blocks_h // 2, blocks_w // 2)  # a block in the middle: it reads real input
    (g,) = torch.autograd.grad(out[0, :, unit[0] * blocks_w + unit[1]].sum(), x)
    seen = g[0].abs().sum(0) > 0
    for dim, (u, size, stride, pad) in enumerate(zip(unit, rf.size, rf.stride, rf.padding, strict=True)):
        idx = seen.any(dim=1 - dim).nonzero().flatten()
        lo, hi = u * stride - pad, u * stride - pad + size - 1
        # the measured span is the field clipped to the input (padding reads nothing)
        assert (int(idx.min()), int(idx.max())) == (max(lo, 0), min(hi, x.shape[2 + dim] - 1)), (dim, unit)
