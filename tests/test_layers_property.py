"""Every registered layer type against torch, on drawn configurations (tests/strategies.py).

For each draw:
- the analytic side builds the layer through the spec loader's ``make_layer`` and runs
  ``infer_shapes`` on a one-layer graph (merges: the layer's own checks on their inputs);
- the torch side builds the same fields *without* our validation, calls ``to_torch`` and
  runs a real forward pass (eval mode, float32, tiny tensors).

Then: we reject exactly when torch raises (an empty output counts as a refusal, since
sizes below 1 are errors here); when both accept, the output shapes agree, the
parameter split equals the ``numel()`` sums of the module's parameters (by
``requires_grad``) and buffers, and ``2 * macs`` equals what ``FlopCounterMode`` counts on a
forward pass (0 for every type without matrix products). That count runs attention as
matmuls (the math sdpa backend, MultiheadAttention's fused fast path off: on CPU both fused
kernels count 0), and fills ``FlopCounterMode``'s two holes for ``torch.matmul`` with a 1-d
right operand (``aten.mv``, ``aten.dot``, which it has no formula for) with the product
formulas torch uses for ``mm``.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from math import prod
from typing import Any
from unittest import mock

import pytest
import torch
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from strategies import STRATEGIES, Case
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from torch_oracle import custom_formulas, mha_fastpath_disabled

from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import CnnscopeError
from cnnscope.frontends.yaml.loader import make_layer
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers import Layer, ParamCount, registry
from cnnscope.render.views.layers import torch_class

TYPES = sorted(registry())
torch.set_num_threads(1)  # tiny tensors: thread start-up would cost more than the work


def test_every_registered_type_has_a_strategy() -> None:
    missing = sorted(set(registry()) - set(STRATEGIES))
    assert not missing, f"layer types without a strategy in tests/strategies.py: {missing}"
    stale = sorted(set(STRATEGIES) - set(registry()))
    assert not stale, f"strategies for unregistered types: {stale}"


def analytic(cls: type[Layer], fields: dict[str, Any], ins: list[tuple[int, ...]]) -> tuple[Layer, tuple[int, ...]]:
    """Our side: make_layer (field checks), then the shape checks. Raises CnnscopeError."""
    layer = make_layer(cls, dict(fields))
    if len(ins) == 1:
        graph = Graph.build("one", ins[0][1:], [Node("layer", layer, (INPUT,))])
        return layer, infer_shapes(graph, ins[0][0])["layer"]
    layer.check_inputs(ins)
    return layer, tuple(layer.out_shape(ins))


def unvalidated(cls: type[Layer], fields: dict[str, Any]) -> Layer:
    """The same coercion as make_layer, but none of our cross-field checks."""
    with mock.patch.object(cls, "validate", lambda self: None):
        return make_layer(cls, dict(fields))


def run_torch(layer: Layer, ins: list[tuple[int, ...]]) -> tuple[Any, torch.Tensor]:
    module = layer.to_torch(ins).eval()
    xs = [torch.randn(s) for s in ins]
    # attention on torch's reference (math) backend: the fused CPU kernel skips some of its
    # checks (it runs k and v of different lengths, or a mask with is_causal, on tiny inputs)
    with torch.no_grad(), warnings.catch_warnings(), sdpa_kernel(SDPBackend.MATH):
        warnings.simplefilter("ignore")
        out = module(*xs)
    return module, out


def _mv_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return 2 * prod(a_shape)  # (n, k) @ (k,): n·k multiply-adds


def _dot_flop(a_shape: Any, b_shape: Any, *args: Any, out_shape: Any = None, **kw: Any) -> int:
    return 2 * prod(a_shape)


def torch_macs(module: Any, ins: list[tuple[int, ...]]) -> int:
    """FlopCounterMode / 2 of one eval forward pass, attention as matmuls (see the docstring)."""
    aten = torch.ops.aten
    formulas = {**custom_formulas(), aten.mv: _mv_flop, aten.dot: _dot_flop}
    xs = [torch.randn(s) for s in ins]
    counter = FlopCounterMode(display=False, custom_mapping=formulas)
    with torch.no_grad(), warnings.catch_warnings(), sdpa_kernel(SDPBackend.MATH), mha_fastpath_disabled():
        warnings.simplefilter("ignore")
        with counter:
            module(*xs)
    return int(counter.get_total_flops()) // 2


def torch_counts(module: Any) -> ParamCount:
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for b in module.buffers())
    int64 = sum(b.numel() for b in module.buffers() if b.dtype == torch.int64)
    return ParamCount(trainable, frozen, buffers, int64)


def torch_refusal(layer: Layer, ins: list[tuple[int, ...]]) -> tuple[Exception | None, Any, Any]:
    """(why torch refuses, or None; the module; its output). An empty output is a refusal."""
    try:
        module, out = run_torch(layer, ins)
    except Exception as exc:  # any refusal by torch counts
        return exc, None, None
    return (ValueError(f"empty output {tuple(out.shape)}") if out.numel() == 0 else None), module, out


def refused_by_fields(cls: type[Layer], fields: dict[str, Any]) -> bool:
    """Whether our field checks (make_layer, before any input is seen) refuse ``fields``."""
    try:
        make_layer(cls, dict(fields))
    except CnnscopeError:
        return True
    return False


def check_case(type_name: str, case: Case, batch: int) -> None:
    cls = registry()[type_name]
    fields, shapes = case
    ins = [(batch, *s) for s in shapes]
    ours_err: CnnscopeError | None = None
    try:
        layer, shape = analytic(cls, fields, ins)
    except CnnscopeError as exc:
        ours_err = exc
    raw_layer = unvalidated(cls, fields)  # strategies draw only well-typed values
    torch_err, module, out = torch_refusal(raw_layer, ins)
    where = f"{type_name} {fields} on inputs {ins}"
    if ours_err is not None or torch_err is not None:
        assert ours_err is not None, f"{where}: torch refuses ({torch_err!r}) but cnnscope accepts"
        assert torch_err is not None, f"{where}: cnnscope refuses ({ours_err.render()}) but torch runs it"
        # both refuse; a refusal of the fields alone also says that no input could help, so
        # torch must refuse them on an input four times larger in every dim as well
        if refused_by_fields(cls, fields):
            larger = [(s[0], *(4 * d for d in s[1:])) for s in ins]
            assert torch_refusal(raw_layer, larger)[0] is not None, (
                f"{where}: cnnscope refuses the fields alone ({ours_err.render()}), but torch runs them on {larger}"
            )
        return
    assert tuple(out.shape) == shape, f"{where}: torch gives {tuple(out.shape)}, cnnscope {shape}"
    named = torch_class(cls)  # what `cnnscope layers` says the type builds
    if named is not None:
        home, _, name = named.rpartition(".")
        assert type(module) is getattr(import_module(home), name), f"{where}: builds {type(module)}, says {named}"
    ours = layer.params(ins)
    assert ours == torch_counts(module), f"{where}: params {ours} vs torch {torch_counts(module)}"
    macs = layer.macs(ins, shape)
    assert macs == torch_macs(module, ins), f"{where}: macs {macs} vs FlopCounterMode/2 {torch_macs(module, ins)}"


@pytest.mark.parametrize("type_name", TYPES)
@given(data=st.data())
def test_layer_agrees_with_torch(type_name: str, data: st.DataObject) -> None:
    if type_name not in STRATEGIES:
        pytest.fail(f"no strategy for `{type_name}` in tests/strategies.py")
    case = data.draw(STRATEGIES[type_name], label="case")
    batch = data.draw(st.sampled_from([1, 2]), label="batch")
    check_case(type_name, case, batch)


# Pinned boundary cases, so the classic ones are checked whatever hypothesis draws.
PINNED: list[tuple[str, Case, int]] = [
    ("conv2d", ({"out_channels": 4, "kernel_size": 3, "stride": 3}, [(3, 7, 7)]), 1),  # 7x7, 3x3, stride 3 fits
    ("conv2d", ({"out_channels": 4, "kernel_size": 5}, [(3, 4, 4)]), 1),  # kernel > input
    ("conv2d", ({"out_channels": 4, "kernel_size": 3, "groups": 2}, [(3, 5, 5)]), 1),  # groups ∤ Cin
    ("conv2d", ({"out_channels": 3, "kernel_size": 3, "groups": 2}, [(4, 5, 5)]), 1),  # groups ∤ Cout
    ("conv2d", ({"out_channels": 2, "kernel_size": 4, "padding": "same", "dilation": 2}, [(1, 3, 3)]), 1),
    ("conv2d", ({"out_channels": 2, "kernel_size": 3, "padding": "same", "stride": 2}, [(1, 6, 6)]), 1),
    ("conv2d", ({"out_channels": 2, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}, [(1, 2, 5)]), 1),
    ("conv1d", ({"out_channels": 2, "kernel_size": 3, "padding": 3, "padding_mode": "circular"}, [(1, 3)]), 1),
    ("maxpool2d", ({"kernel_size": 3, "padding": 2}, [(1, 8, 8)]), 1),  # padding > k//2
    ("maxpool2d", ({"kernel_size": 2, "stride": 2, "ceil_mode": True}, [(1, 5, 5)]), 1),
    # ceil_mode, where the last window would start in the padding and is dropped
    ("avgpool2d", ({"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, [(1, 5, 5)]), 1),
    ("maxpool1d", ({"kernel_size": 3, "dilation": 2}, [(1, 4)]), 1),  # effective kernel 5 > 4
    ("convtranspose2d", ({"out_channels": 2, "kernel_size": 3, "stride": 2, "output_padding": 2}, [(1, 3, 3)]), 1),
    ("convtranspose1d", ({"out_channels": 2, "kernel_size": 1, "padding": 1}, [(1, 1)]), 1),  # output 0
    ("batchnorm2d", ({"trainable": False}, [(3, 2, 2)]), 2),
    ("groupnorm", ({"num_groups": 4}, [(6, 3, 3)]), 1),
    ("layernorm", ({"normalized_shape": [4]}, [(3, 5)]), 1),
    ("upsample", ({"scale_factor": 0.5}, [(1, 1, 3)]), 1),  # floor(0.5) = 0
    ("upsample", ({"size": 4, "mode": "bilinear", "align_corners": True}, [(1, 2, 2)]), 1),
    ("add", ({}, [(3, 4, 4), (3, 4, 5)]), 1),
    ("concat", ({}, [(3, 4, 4), (2, 4, 5)]), 1),
    ("flatten", ({"start_dim": 2, "end_dim": 1}, [(3, 4, 4)]), 1),
    # torch.matmul with 1-d operands (a shape () here is a 1-d input of the batch's length)
    ("matmul", ({}, [(), (2, 3)]), 2),  # vector @ batched matrices
    ("matmul", ({}, [(), ()]), 2),  # dot
    ("matmul", ({}, [(3, 2), ()]), 2),  # batched matrices @ vector
    ("matmul", ({}, [(), (3, 3)]), 2),  # vector of 2 @ a matrix of 3 rows: refused
    ("einsum", ({"equation": "ni,nj->ij"}, [(3,), (4,)]), 2),  # contracts the batch
    ("einsum", ({"equation": "n,n->"}, [(), ()]), 2),
    ("einsum", ({"equation": "nAb,nbc"}, [(2, 3), (3, 4)]), 2),  # implicit output: A before c (ASCII order)
    ("einsum", ({"equation": "ni...j,nj...k->nik"}, [(2, 5, 3), (3, 5, 4)]), 2),  # `...` inside, summed
    ("einsum", ({"equation": "nii,nij->nj"}, [(3, 3), (3, 4)]), 2),  # a diagonal
    ("einsum", ({"equation": "nij,nkj->nik"}, [(2, 1), (3, 4)]), 2),  # j broadcast from 1: no contraction
    ("scaleddotproductattention", ({"is_causal": True}, [(2, 3, 4), (2, 5, 4), (2, 5, 6)]), 2),
    ("multiheadattention", ({"embed_dim": 4, "num_heads": 2, "batch_first": True}, [(3, 4)]), 2),  # fused fast path
    ("multiheadattention", ({"embed_dim": 4, "num_heads": 2, "kdim": 3, "vdim": 5}, [(1, 4), (1, 3), (1, 5)]), 2),
]


@pytest.mark.parametrize(("type_name", "case", "batch"), PINNED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PINNED)])
def test_pinned_boundaries(type_name: str, case: Case, batch: int) -> None:
    check_case(type_name, case, batch)


def test_einsum_of_three_operands_is_refused_plainly() -> None:
    # a limitation, not torch's rule (torch runs it, in an order of its choosing): said so at the field
    from cnnscope.errors import SpecError

    with pytest.raises(SpecError, match="more than two operands is not supported") as info:
        make_layer(registry()["einsum"], {"equation": "ij,jk,kl->il"})
    assert info.value.kind == "bad-value"


def test_layernorm_after_flattening_everything_is_refused_as_torch_refuses_it() -> None:
    # flatten(start_dim=0) leaves (N·C·H·W,): no dims beside the batch for LayerNorm's
    # default shape; torch.nn.LayerNorm(()) raises "Expected normalized_shape to be at least
    # 1-dimensional", so the spec must be refused
    import torch

    from cnnscope.errors import CnnscopeError
    from cnnscope.frontends.yaml.loader import load_spec

    with pytest.raises(RuntimeError):
        torch.nn.LayerNorm(())(torch.randn(4))
    from cnnscope.analyze.shapes import infer_shapes

    graph = load_spec("input: [2, 2]\nlayers:\n  - {type: flatten, start_dim: 0}\n  - layernorm\n")
    with pytest.raises(CnnscopeError) as info:
        infer_shapes(graph)
    assert info.value.kind == "shape-mismatch"


# -- the facts lint relies on, held against torch ------------------------------------------


def _built(type_name: str, case: Case, batch: int) -> tuple[Any, list[Any]] | None:
    """The torch module and random inputs for a valid drawn case, or None when it is invalid."""
    import torch

    from cnnscope.errors import CnnscopeError
    from cnnscope.frontends.yaml.loader import make_layer
    from cnnscope.layers import lookup

    fields, in_shapes = case
    try:
        layer = make_layer(lookup(type_name), fields)
        ins = [(batch, *s) for s in in_shapes]
        layer.check_inputs(ins)
        layer.out_shape(ins)
    except CnnscopeError:
        return None
    module = layer.to_torch(ins).double().eval()
    return (layer, module), [torch.randn(*s, dtype=torch.float64) for s in ins]


# What the maths says of a type whatever its fields, so that a type which wrongly claims less
# fails too (torch then checks the claim): a window mean, an interpolation, a copy, a sum or a
# rearrangement is affine at inference with no weights; dropout and stochastic depth are the
# identity in eval mode. Pad is left out: constant padding with an infinite fill is no affine map.
AFFINE = {
    *("avgpool1d", "avgpool2d", "avgpool3d", "adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d"),
    *("identity", "dropout", "dropout1d", "dropout2d", "dropout3d", "alphadropout", "stochasticdepth"),
    *("flatten", "reshape", "permute", "pixelshuffle", "pixelunshuffle", "channelshuffle", "roll", "slice"),
    *("expand", "add", "sub", "concat", "stack", "upsample", "zeropad1d", "zeropad2d", "zeropad3d"),
    *("reflectionpad1d", "reflectionpad2d", "replicationpad1d", "replicationpad2d", "replicationpad3d"),
}
# clamping to a range, zeroing below a threshold or inside a band: a second pass changes nothing
IDEMPOTENT = {"relu", "relu6", "hardtanh", "threshold", "hardshrink"}


def test_the_maths_names_registered_types() -> None:
    assert not (AFFINE | IDEMPOTENT) - set(TYPES), "a type named above is no longer registered"


@pytest.mark.parametrize("type_name", TYPES)
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_linear_at_inference_and_idempotent_agree_with_torch(type_name: str, data: st.DataObject) -> None:
    # linear_at_inference: f(x + y) + f(0) == f(x) + f(y) (affine) in eval mode;
    # idempotent: f(f(x)) == f(x). Each type says so of itself; torch checks what it claims,
    # and the maths above what it must claim.
    import torch

    built = _built(type_name, data.draw(STRATEGIES[type_name], label="case"), 2)
    if built is None:
        reject()  # not a valid configuration: nothing to check
    (layer, module), xs = built
    assert layer.linear_at_inference() or type_name not in AFFINE, f"{type_name} is affine and weightless"
    assert layer.idempotent or type_name not in IDEMPOTENT, f"{type_name} is idempotent"
    with torch.no_grad():
        if layer.linear_at_inference():
            ys = [torch.randn_like(x) for x in xs]
            zero = [torch.zeros_like(x) for x in xs]
            lhs = module(*[x + y for x, y in zip(xs, ys)]) + module(*zero)
            rhs = module(*xs) + module(*ys)
            assert torch.allclose(lhs, rhs, atol=1e-9), f"{type_name} claims to be affine at inference"
        if layer.idempotent:
            once = module(*xs)
            assert torch.equal(module(once), once), f"{type_name} claims f(f(x)) = f(x)"
