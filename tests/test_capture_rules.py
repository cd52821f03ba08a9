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


@pytest.mark.parametrize("op", sorted(CASES))
@given(data=st.data())
def test_rule_agrees_with_torch(op: str, data: st.DataObject) -> None:
    fn, params, shape = CASES[op](data.draw)
    model = Op(fn, {k: (v.clone() if not isinstance(v, nn.Parameter) else v) for k, v in params.items()}).eval()
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


CASES["normalize"] = lambda draw: (lambda m, x, d=draw(st.sampled_from([1, -1])): F.normalize(x, dim=d), {}, S)
