"""Receptive fields of the built-in backbones: the analytic numbers against measurement.

Parametrized over ``specs/*.yaml`` at collection time. For each spec the measured layers are
its last layer that still maps to an input window (the one `cnnscope zoo` reports; adaptive
pools are passed over, since their windows depend on the input size) and two layers a third
and two thirds of the way there. Layers after global pooling or flatten are not measured:
every unit there sees the whole input.

The oracle is tests/rf_oracle.py (positive weights, identity nonlinearities and norms,
max-pool as a sum over the same windows, float64; the span of non-zero input gradient of
one output unit is its receptive field). Channel counts do not enter a receptive field, so
the measurement runs on a one-channel copy of the graph (every convolution with one output
channel and no groups), which keeps full-depth backprop through ResNet-152 at a 1,600² input
cheap on a CPU; the test first checks that the copy's analytic fields equal the original's.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import cnnscope
from cnnscope.analyze.rf import receptive_fields
from cnnscope.graph import Graph, Node

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.yaml"))
HEAVY = {"resnet34", "resnet101", "resnet152"}  # deepest nets at their last layer: slow only


def thin(graph: Graph) -> Graph:
    """The same geometry with one channel everywhere (and a one-channel input)."""
    nodes: list[Node] = []
    for n in graph.nodes:
        names = {f.name for f in dataclasses.fields(n.layer)} if dataclasses.is_dataclass(n.layer) else set()
        change: dict[str, Any] = {k: 1 for k in ("out_channels", "groups") if k in names}
        nodes.append(dataclasses.replace(n, layer=dataclasses.replace(n.layer, **change)) if change else n)
    return Graph.build(graph.name, (1, *graph.input_shape[1:]), nodes, output=graph.output, source=graph.source)


def measured_layers(graph: Graph) -> list[str]:
    fields = receptive_fields(graph)
    spatial = [
        n.name
        for n in graph.nodes
        if fields[n.name].ok and not fields[n.name].collapsed and not n.type.startswith("adaptive")
    ]
    picks = [spatial[len(spatial) // 3], spatial[2 * len(spatial) // 3], spatial[-1]]
    return list(dict.fromkeys(picks))


def _cases() -> list[object]:
    cases: list[object] = []
    for name in SPECS:
        layers = measured_layers(cnnscope.load(name))
        for layer in layers:
            heavy = name in HEAVY and layer == layers[-1]
            marks = [pytest.mark.slow] if heavy else []
            cases.append(pytest.param(name, layer, marks=marks, id=f"{name}:{layer}"))
    return cases


@pytest.mark.parametrize(("name", "layer"), _cases())
def test_backbone_rf_matches_measurement(name: str, layer: str) -> None:
    from rf_oracle import measure_rf

    graph = cnnscope.load(name)
    rf = receptive_fields(graph)[layer]
    assert rf.ok, rf
    small = thin(graph)
    assert receptive_fields(small)[layer] == rf  # channels do not enter the field
    # the centre unit's span sits about (n − r)/2 from either border: 4 strides of margin
    spatial = tuple(r + 4 * j + 8 for r, j in zip(rf.size, rf.stride, strict=True))
    m = measure_rf(small, layer, spatial)
    assert not m.clipped, (m, rf)
    assert (m.size, m.stride, m.padding) == (rf.size, rf.stride, rf.padding), (m, rf)


def test_every_spec_is_measured_at_its_zoo_layer() -> None:
    # the layer measured last is the one `cnnscope zoo` reports the final RF of
    from cnnscope.analyze.shapes import infer_shapes
    from cnnscope.zoo import final_rf

    for name in SPECS:
        graph = cnnscope.load(name)
        zoo_layer = final_rf(graph, infer_shapes(graph))["layer"]
        last = measured_layers(graph)[-1]
        if zoo_layer != last:  # only an adaptive pool that is the identity at this size may follow
            between = [n for n in graph.nodes if n.name == zoo_layer]
            assert between and between[0].type.startswith("adaptive"), (name, zoo_layer, last)
            assert receptive_fields(graph)[zoo_layer] == receptive_fields(graph)[last], name
