"""Design smells a CNN course warns about, found in the user's own network.

A rule is a function over a :class:`LintContext` (graph, shapes, receptive fields, params)
yielding :class:`Finding`s; :func:`rule` registers it with its id, severity, summary, why
and fix. Rules are switched off per spec (``lint: {disable: [id]}``, or per layer with
``lint: {allow: {id: [layer-glob, ...]}}``) or from the config
(``[tool.cnnscope.lint] disable = [...]``). Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import pairwise
from math import prod
from typing import Any

from cnnscope.analyze.rf import RFInfo, receptive_fields
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.errors import Location, SpecError, UsageError, did_you_mean
from cnnscope.fit import describe, window_fits
from cnnscope.graph import INPUT, Graph, Node
from cnnscope.layers.base import Layer, RFKind, RFStep, Shape

SEVERITIES = ("info", "warning", "error")


def severity_rank(s: str) -> int:
    return SEVERITIES.index(s)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    layer: str | None
    loc: Location | None
    message: str
    why: str = ""
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "layer": self.layer,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
        }
        out["location"] = (
            None if self.loc is None else {"file": self.loc.file, "line": self.loc.line, "column": self.loc.col}
        )
        return out


@dataclass
class LintContext:
    graph: Graph
    shapes: dict[str, Shape]
    rf: dict[str, RFInfo]  # the receptive-field analyzer's, by node name
    params: dict[str, int]
    consumers: dict[str, list[str]] = field(default_factory=dict)

    def ins(self, node: Node) -> list[Shape]:
        return [self.shapes[i] for i in node.inputs]

    def preds(self, node: Node) -> list[Node]:
        return [self.graph.node(i) for i in node.inputs if i != INPUT]


Check = Callable[[LintContext], Iterable["Hit"]]


@dataclass(frozen=True)
class Hit:
    """What a check yields; the registry adds the rule's id, why and fix."""

    node: Node
    message: str
    severity: str | None = None  # override the rule's severity for this one finding


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    why: str
    fix: str
    check: Check


_RULES: dict[str, Rule] = {}


def rule(id: str, severity: str, summary: str, why: str, fix: str) -> Callable[[Check], Check]:
    """Register a check under ``id``; a duplicate id is a programming error."""
    if severity not in SEVERITIES:
        raise ValueError(f"rule `{id}`: severity must be one of {SEVERITIES}")

    def deco(fn: Check) -> Check:
        if id in _RULES:
            raise ValueError(f"lint rule `{id}` is registered twice")
        _RULES[id] = Rule(id, severity, summary, why, fix, fn)
        return fn

    return deco


def rules() -> dict[str, Rule]:
    return dict(_RULES)


# -- what kind of map a layer is ---------------------------------------------------------


def _weighted(layer: Layer) -> bool:
    """A learned linear map: convolution or fully connected."""
    return layer.family in ("conv", "linear")


def _linear_passthrough(layer: Layer) -> bool:
    """Linear (affine) at inference, without weights of its own: each layer type says."""
    return layer.linear_at_inference()


def _channels(shape: Shape) -> int:
    return shape[1] if len(shape) > 1 else shape[-1]


# -- the rules ---------------------------------------------------------------------------


@rule(
    "window-fit",
    "warning",
    "a window does not fit its input: pixels are never seen",
    "When (input + padding − kernel) is not a multiple of the stride, the last windows stop short and the "
    "remaining rows/columns of the input are silently dropped (the lecture's 7×7 input with a 3×3 filter at "
    "stride 3).",
    "Change the input size (`cnnscope fit` lists sizes that fit), the padding, or the stride.",
)
def _window_fit(ctx: LintContext) -> Iterator[Hit]:
    by_layer: dict[str, list[str]] = {}
    for w in window_fits(ctx.graph, ctx.shapes):
        if w.lost:
            by_layer.setdefault(w.layer, []).append(describe(w))
    for name, parts in by_layer.items():
        yield Hit(ctx.graph.node(name), f"`{name}` drops input: " + "; ".join(parts))


def _linear_sources(ctx: LintContext, node: Node) -> list[tuple[Node, list[str]]]:
    """Weighted layers reaching ``node`` through linear ops only, with the path between.

    The walk stops at a merge (a residual add, a concat): the layer after it also transforms
    the other branch (the skip), so the two weighted layers cannot be folded into one — a
    pre-activation ResNet's projection shortcut or MobileNetV2's residual stream is by design.
    """
    found: list[tuple[Node, list[str]]] = []
    stack: list[tuple[Node, list[str]]] = [(p, []) for p in ctx.preds(node)]
    seen: set[str] = set()
    while stack:
        p, path = stack.pop()
        if p.name in seen:
            continue
        seen.add(p.name)
        if _weighted(p.layer):
            found.append((p, path))
        elif _linear_passthrough(p.layer) and len(p.inputs) == 1:
            stack.extend((q, [p.name, *path]) for q in ctx.preds(p))
    return found


@rule(
    "no-nonlinearity",
    "warning",
    "two linear layers with no nonlinearity between them",
    "A composition of linear maps is one linear map: conv → conv, conv → avgpool → conv or linear → linear "
    "with nothing nonlinear between can be replaced by a single layer, so the extra depth buys no "
    "expressiveness (BatchNorm, average pooling and dropout are linear at inference).",
    "Put an activation (ReLU) between them, or merge them into one layer. Not reported: a path through a "
    "residual add or concat (the second layer also maps the skip), and factorizations by design: a "
    "grouped/depthwise convolution beside another layer (separable, as in Xception or ConvNeXt) or a linear "
    "bottleneck narrower in the middle than at both ends (low-rank, as in MobileNetV2).",
)
def _no_nonlinearity(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not _weighted(node.layer):
            continue
        sources = [sp for sp in _linear_sources(ctx, node) if not _factorized(ctx, sp[0], node)]
        if not sources:
            continue
        src, path = min(sources, key=lambda sp: len(sp[1]))
        chain = " → ".join(f"`{n}`" for n in [src.name, *path, node.name])
        more = f"; {len(sources) - 1} more linear path(s) reach it" if len(sources) > 1 else ""
        yield Hit(node, f"{chain}: nothing nonlinear between two {src.layer.family}/{node.layer.family} layers{more}")


def _factorized(ctx: LintContext, src: Node, node: Node) -> bool:
    """The pair is a factorization of one layer by design, cheaper than the layer it equals:

    - a grouped or depthwise convolution next to another layer (a separable convolution, as in
      Xception and ConvNeXt, which leave out the activation on purpose);
    - narrower between the two layers than before the first and after the second (a low-rank
      linear bottleneck, as in MobileNetV2).
    """
    if any(int(getattr(n.layer, "groups", 1)) > 1 for n in (src, node)):
        return True
    c_in = _channels(ctx.ins(src)[0])
    c_mid = _channels(ctx.shapes[src.name])
    c_out = _channels(ctx.shapes[node.name])
    return c_mid < c_in and c_mid < c_out


@rule(
    "redundant-activation",
    "warning",
    "an activation repeated after a max-pool (or directly)",
    "Max-pooling commutes with a monotone activation and ReLU(ReLU(x)) = ReLU(x): a ReLU after a max-pool "
    "that already follows a ReLU changes nothing and costs a pass over memory.",
    "Remove the second activation.",
)
def _redundant_activation(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not node.layer.idempotent or len(node.inputs) != 1:
            continue
        path: list[str] = []
        cur = ctx.preds(node)
        while (
            len(cur) == 1 and cur[0].layer.family in ("pool", "dropout") and getattr(cur[0].layer, "op", "max") == "max"
        ):
            path.insert(0, cur[0].name)
            cur = ctx.preds(cur[0])
        if len(cur) == 1 and cur[0].layer == node.layer:
            chain = " → ".join(f"`{n}`" for n in [cur[0].name, *path, node.name])
            yield Hit(node, f"{chain}: `{node.name}` is a no-op, its input is already {node.type}'d")


def _subtracts_channel_mean(layer: Layer) -> bool:
    """Batch / instance norm: a per-channel mean is subtracted, so a per-channel bias cancels."""
    return layer.subtracts_channel_mean()


@rule(
    "bias-before-norm",
    "warning",
    "a bias that the following BatchNorm cancels",
    "BatchNorm subtracts each channel's mean, so a per-channel bias added just before it is removed again; "
    "the parameters are dead weight (BatchNorm's own β does the job).",
    "Set `bias: false` on the convolution / linear layer.",
)
def _bias_before_norm(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if not _weighted(node.layer) or getattr(node.layer, "bias", False) is not True:
            continue
        users = ctx.consumers.get(node.name, [])
        if users and all(_subtracts_channel_mean(ctx.graph.node(u).layer) for u in users):
            c = _channels(ctx.shapes[node.name])
            norm = ctx.graph.node(users[0])
            yield Hit(node, f"`{node.name}` has a bias of {c} values that `{norm.name}` ({norm.type}) cancels")


def _spatial(shape: Shape) -> bool:
    return len(shape) > 2 and prod(shape[2:]) > 1


def _global_collapses(ctx: LintContext) -> list[Node]:
    """Head collapses: nodes that turn a spatial map into features seeing the whole input,
    whose result never flows back into a spatial map (a squeeze-excitation gate does)."""
    feeds_spatial: dict[str, bool] = {}
    for node in reversed(ctx.graph.nodes):
        feeds_spatial[node.name] = any(
            _spatial(ctx.shapes[u]) or feeds_spatial.get(u, False) for u in ctx.consumers.get(node.name, [])
        )
    out = []
    for node in ctx.graph.nodes:
        ins = ctx.ins(node)
        if ins and _spatial(ins[0]) and node.layer.rf(ins) == RFKind.GLOBAL and not feeds_spatial[node.name]:
            out.append(node)
    return out


@rule(
    "rf-too-small",
    "warning",
    "global pooling over features that never saw the whole image",
    "Global pooling averages features whose receptive field is smaller than the input: no single feature "
    "ever sees an object larger than that window, so the classifier cannot relate distant parts of the image.",
    "Add depth or downsampling before the head (stride, pooling, dilation), or use a smaller input.",
)
def _rf_too_small(ctx: LintContext) -> Iterator[Hit]:
    spatial = ctx.graph.input_shape[1:]
    for node in _global_collapses(ctx):
        if node.layer.family != "pool":
            continue  # a flatten → linear head combines all positions itself
        prev = [ctx.rf[i] for i in node.inputs]
        if not prev or not all(r.ok for r in prev):
            continue  # already whole (a gate saw everything), or unknown after upsampling
        sizes = [r.size for r in prev]
        r = tuple(max(s[i] for s in sizes) for i in range(len(spatial)))
        if any(r[i] < spatial[i] for i in range(len(spatial))):
            yield Hit(
                node,
                f"`{node.name}` pools features with a receptive field of "
                f"{'×'.join(map(str, r))} over a {'×'.join(map(str, spatial))} input",
            )


@rule(
    "aliased-downsampling",
    "info",
    "strided layers without a low-pass filter, before a head that pools for shift invariance",
    "Global pooling makes the head claim shift invariance, but a strided conv or pool keeps one position in s "
    "with nothing removing the frequencies above the new sampling rate: they alias, so the network is invariant "
    "only to shifts by multiples of its cumulative stride, and a one-pixel shift of the image can change the "
    "prediction (Zhang, ICML 2019; `cnnscope shift --empirical` measures it). Published CNNs do this, hence info.",
    "Anti-alias each downsampling step (blur-pool): a fixed low-pass filter just before the stride — an avgpool "
    "with kernel 2–3 and stride 1, then the strided layer (for max-pooling: max-pool with stride 1, blur, then "
    "subsample) — or downsample with an avgpool whose kernel is at least its stride.",
)
def _aliased_downsampling(ctx: LintContext) -> Iterator[Hit]:
    from cnnscope.analyze.shift import ALIASING, POOLING_FAMILIES, pixels, shift_infos

    heads = [n for n in _global_collapses(ctx) if n.layer.family in POOLING_FAMILIES]
    if not heads or len(ctx.graph.input_shape) < 2:
        return
    infos = shift_infos(ctx.graph, ctx.shapes)
    for head in heads:
        info = infos[head.name]
        strided = [ctx.graph.node(n) for n in info.set_by]
        aliased = [n for n in strided if infos[n.name].aliasing == ALIASING]
        if not aliased:
            continue
        first = aliased[0]
        more = f" and {len(aliased) - 1} more strided layer(s)" if len(aliased) > 1 else ""
        yield Hit(
            first,
            f"`{first.name}`{more} subsample{'' if more else 's'} without a low-pass filter before "
            f"{'them' if more else 'it'}, yet `{head.name}` pools "
            f"for shift invariance: the network is invariant only to shifts of {pixels(info.lattice)}",
        )


def _convs(ctx: LintContext) -> list[Node]:
    return [n for n in ctx.graph.nodes if n.layer.family == "conv"]


SATURATION_SHARE = 0.75  # theoretical fields overstate what a unit uses: only flag clear cases


@rule(
    "rf-saturates-early",
    "warning",
    "the receptive field covers the whole input long before the end",
    "Once every unit sees the whole input, more layers no longer widen the view; when more than three quarters of the "
    "convolutions come after that point, the input is probably too small for this architecture (an "
    "ImageNet network fed 32×32 images).",
    "Use a larger input, or fewer downsampling steps / layers.",
)
def _rf_saturates_early(ctx: LintContext) -> Iterator[Hit]:
    convs = _convs(ctx)
    spatial = ctx.graph.input_shape[1:]
    for k, node in enumerate(convs):
        rf = ctx.rf[node.name]
        if rf.ok and rf.covers(spatial):
            after = len(convs) - k - 1
            if after > SATURATION_SHARE * len(convs):
                size = "×".join(map(str, rf.size))
                yield Hit(
                    node,
                    f"`{node.name}` already sees {size} of the {'×'.join(map(str, spatial))} input; "
                    f"{after} of {len(convs)} convolutions come after it",
                )
            return


@rule(
    "early-collapse",
    "warning",
    "convolutions with k×k kernels on a 1×1 map",
    "Once the feature map is 1×1, a k×k convolution only ever multiplies its centre tap with real data; "
    "the other k²−1 taps see zero padding, so most of its weights are wasted (the input is too small or "
    "the network downsamples too often).",
    "Use a larger input or fewer stride-2 stages, or use 1×1 convolutions / linear layers at that depth.",
)
def _early_collapse(ctx: LintContext) -> Iterator[Hit]:
    wasted = []
    for n in _convs(ctx):
        ins = ctx.ins(n)
        step = n.layer.rf(ins)
        if len(ins[0]) > 2 and all(s == 1 for s in ins[0][2:]) and isinstance(step, RFStep) and prod(step.kernel) > 1:
            wasted.append(n)
    if wasted:
        first = wasted[0]
        yield Hit(
            first,
            f"`{first.name}` and {len(wasted) - 1} more convolution(s) run k×k kernels on a 1×1 map"
            if len(wasted) > 1
            else f"`{first.name}` runs a k×k kernel on a 1×1 map",
        )


@rule(
    "channels-shrink",
    "warning",
    "fewer channels leave a coarser resolution than left the finer one",
    "A feature pyramid trades resolution for channels: each time the map shrinks, the channel count should "
    "grow so the information has somewhere to go. Fewer channels at a lower resolution is a bottleneck that "
    "throws information away. Compared: the widest tensor that leaves each resolution of the trunk, so a "
    "1×1 reduction inside a block (ResNet's bottleneck, an inception branch) and side heads are not counted.",
    "Increase out_channels at the downsampling step (commonly double them when the resolution halves).",
)
def _channels_shrink(ctx: LintContext) -> Iterator[Hit]:
    trunk = _trunk(ctx.graph)
    decoder: set[str] = set()
    leaving: dict[int, int] = {}  # pixels -> the widest tensor that leaves that resolution
    first_at: dict[int, Node] = {}
    for node in ctx.graph.nodes:
        shape = ctx.shapes[node.name]
        if len(shape) < 3 or node.name not in trunk:
            continue  # not a map, or a side head (GoogLeNet's auxiliary classifiers)
        px = prod(shape[2:])
        in_px = [prod(s[2:]) for s in ctx.ins(node) if len(s) == len(shape)]
        if any(i in decoder for i in node.inputs) or (in_px and px > max(in_px)):
            decoder.add(node.name)  # upsampling: a decoder follows; only the encoder is checked
            continue
        if px <= 1:
            continue  # global pooling, squeeze-excitation gates: not a pyramid level
        first_at.setdefault(px, node)
        users = [u for u in ctx.consumers.get(node.name, []) if u in trunk]
        if not users or any(_pixels(ctx.shapes[u], len(shape)) != px for u in users):
            leaving[px] = max(leaving.get(px, 0), shape[1])
    levels = sorted(leaving, reverse=True)
    for finer, coarser in pairwise(levels):
        before, after = leaving[finer], leaving[coarser]
        if after < before:
            first = first_at[coarser]
            yield Hit(
                first,
                f"{before} channels leave the finer level but only {after} leave the "
                f"{'×'.join(map(str, ctx.shapes[first.name][2:]))} level",
            )


def _pixels(shape: Shape, rank: int) -> int:
    """Positions of a map of the given rank; -1 for a tensor of another rank (a flattened head)."""
    return prod(shape[2:]) if len(shape) == rank else -1


def _trunk(graph: Graph) -> set[str]:
    """The output and everything it depends on (what a side head computes is left out)."""
    seen: set[str] = set()
    stack = [graph.output]
    while stack:
        name = stack.pop()
        if name in seen or name == INPUT:
            continue
        seen.add(name)
        stack.extend(graph.node(name).inputs)
    return seen


@rule(
    "even-kernel-same",
    "warning",
    "`same`-style padding with an even kernel",
    "An even kernel has no centre: to keep the size PyTorch pads one pixel more on the bottom/right than on "
    "the top/left (or a symmetric pad grows the map by one), shifting features by half a pixel every layer.",
    "Use an odd kernel (3, 5, 7), or an even kernel with stride equal to it and no padding (patchify).",
)
def _even_kernel_same(ctx: LintContext) -> Iterator[Hit]:
    from cnnscope.fit import node_fits

    for node in _convs(ctx):
        fits = node_fits(node, ctx.ins(node), ctx.shapes[node.name])
        bad = [
            w
            for w in fits
            if w.kernel % 2 == 0
            and w.stride == 1
            and (w.pad_lo or w.pad_hi)
            and (w.pad_lo != w.pad_hi or w.out != w.size)
        ]
        if bad:
            w = bad[0]
            yield Hit(
                node,
                f"`{node.name}` has an even kernel {w.kernel} padded {w.pad_lo} + {w.pad_hi}: "
                f"output {w.out} from input {w.size}",
            )


HUGE_FC_SHARE = 0.5
HUGE_FC_MIN = 1_000_000


@rule(
    "huge-fc",
    "warning",
    "one fully connected layer on a large feature map holds most of the parameters",
    "Flattening a k×k×C map into a dense layer multiplies every position by every unit: VGG-16's first FC "
    "layer holds 103 M of its 138 M parameters. Those weights overfit and cost memory while doing little "
    "a pooled head would not.",
    "Pool the map first (global average pooling, or adaptive pooling to a small size), then a small linear.",
)
def _huge_fc(ctx: LintContext) -> Iterator[Hit]:
    total = sum(ctx.params.values())
    if total <= 0:
        return
    for node in ctx.graph.nodes:
        if node.layer.family != "linear":
            continue
        p = ctx.params[node.name]
        if p < HUGE_FC_MIN or p / total <= HUGE_FC_SHARE:
            continue
        fmap = _feature_map(ctx, node)
        if fmap is None or prod(fmap[2:]) <= 1:
            continue
        yield Hit(
            node,
            f"`{node.name}` holds {p:,} of {total:,} parameters ({100 * p / total:.0f}%), "
            f"fed from a {'×'.join(map(str, fmap[1:]))} map",
        )


def _feature_map(ctx: LintContext, node: Node) -> Shape | None:
    """The last shape with spatial dims before ``node``, through flatten / dropout / activations."""
    cur = node
    while len(cur.inputs) == 1:
        src = cur.inputs[0]
        shape = ctx.shapes[src]
        if len(shape) > 2:
            return shape
        if src == INPUT:
            return None
        p = ctx.graph.node(src)
        if p.layer.family not in ("reshape", "dropout", "activation"):
            return None
        cur = p
    return None


_KEEPS_LAYOUT = ("activation", "dropout", "norm", "scale", "elementwise")


def _channels_first_source(ctx: LintContext, node: Node) -> str | None:
    """The conv / pool (or the model input) whose channels-first map reaches ``node`` unchanged."""
    cur = node
    while len(cur.inputs) == 1:
        src = cur.inputs[0]
        if src == INPUT:
            return "the input" if len(ctx.shapes[INPUT]) >= 4 else None
        p = ctx.graph.node(src)
        if p.layer.family in ("conv", "pool"):
            return f"`{p.name}`"
        if p.layer.family not in _KEEPS_LAYOUT:
            return None
        cur = p
    return None


@rule(
    "linear-on-feature-map",
    "warning",
    "a linear layer applied straight to a convolutional feature map (a missing flatten)",
    "nn.Linear acts on the last dim only: on an N×C×H×W map it mixes the W positions of each row and keeps "
    "C and H apart, so the shapes pass and the classifier silently sees one row at a time. Its receptive "
    "field is then one row of the map, not the whole input.",
    "Add `flatten` before the linear (in_features becomes C·H·W), or pool first: "
    "`{type: adaptiveavgpool2d, output_size: 1}`, then `flatten`, then the linear.",
)
def _linear_on_feature_map(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if node.layer.family != "linear" or len(node.inputs) != 1:
            continue
        shape = ctx.shapes[node.inputs[0]]
        if len(shape) < 3:
            continue
        src = _channels_first_source(ctx, node)
        if src is None:
            continue
        yield Hit(
            node,
            f"`{node.name}` ({node.type}) gets the {'×'.join(map(str, shape[1:]))} map of {src} and mixes only "
            f"its last dim ({shape[-1]}); a flatten is missing before it",
        )


# -- running -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ()  # empty: every rule
    ignore: tuple[str, ...] = ()
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # rule -> layer globs


def _check_ids(ids: Iterable[str], where: str, loc: Location | None = None, spec: bool = False) -> list[str]:
    out = []
    for i in ids:
        if not isinstance(i, str) or i not in _RULES:
            cls = SpecError if spec else UsageError
            raise cls(
                "unknown-rule",
                f"{where} names no lint rule `{i}`{did_you_mean(str(i), _RULES)}",
                loc,
                "`cnnscope lint --list-rules` lists them",
            )
        out.append(i)
    return out


def spec_selection(graph: Graph) -> Selection:
    """The spec's own `lint:` section: ``{disable: [id, ...], allow: {id: [layer-glob, ...]}}``."""
    raw = graph.extras.get("lint")
    if raw is None:
        return Selection()
    top = graph.extras.get("locations", {}).get("top")
    loc = top.val_loc("lint") if top is not None and hasattr(top, "val_loc") else Location(graph.file)
    if not isinstance(raw, dict) or set(raw) - {"disable", "allow"}:
        raise SpecError(
            "bad-lint",
            "`lint:` must be a mapping with `disable: [rule, ...]` and/or `allow: {rule: [layer, ...]}`",
            loc,
        )
    disable = raw.get("disable", [])
    allow = raw.get("allow", {})
    if (
        not isinstance(disable, list)
        or not isinstance(allow, dict)
        or not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in allow.values())
    ):
        raise SpecError(
            "bad-lint",
            "`lint.disable` must be a list of rule ids and `lint.allow` a mapping of rule "
            "ids to lists of layer names (globs allowed)",
            loc,
        )
    _check_ids(disable, "`lint.disable`", loc, spec=True)
    _check_ids(allow, "`lint.allow`", loc, spec=True)
    return Selection(ignore=tuple(disable), allow={k: tuple(v) for k, v in allow.items()})


def lint(graph: Graph, batch: int = 1, selections: Sequence[Selection] = ()) -> list[Finding]:
    """Run the selected rules over ``graph``; the spec's own `lint:` section always applies."""
    shapes = infer_shapes(graph, batch)
    params = {n.name: (0 if n.shares else n.layer.params([shapes[i] for i in n.inputs]).total) for n in graph.nodes}
    ctx = LintContext(graph, shapes, receptive_fields(graph, shapes), params, graph.consumers())
    sels = [*selections, spec_selection(graph)]
    for s in sels:
        _check_ids([*s.select, *s.ignore, *s.allow], "the selection")
    chosen = [
        r
        for r in _RULES.values()
        if all(not s.select or r.id in s.select for s in sels) and not any(r.id in s.ignore for s in sels)
    ]
    findings = []
    for r in chosen:
        for hit in r.check(ctx):
            if any(fnmatchcase(hit.node.name, g) for s in sels for g in s.allow.get(r.id, ())):
                continue
            findings.append(
                Finding(r.id, hit.severity or r.severity, hit.node.name, hit.node.loc, hit.message, r.why, r.fix)
            )
    order = {n.name: i for i, n in enumerate(graph.nodes)}
    findings.sort(key=lambda f: (order.get(f.layer or "", -1), f.rule))
    return findings
