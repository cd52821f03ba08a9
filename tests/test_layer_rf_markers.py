"""Receptive-field claims of the view, parameter and attention layer types.

Where a claim is a number (a slice is a crop: an RFStep), it is held against the gradient
measurement of tests/rf_oracle.py; the markers (``constant``, not applicable, global) are
checked on the analyzer's output, since no measurement gives a field for them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import cnnscope
from cnnscope.analyze.rf import CONSTANT, UNKNOWN, WHOLE, receptive_fields
from cnnscope.graph import Graph


def spec(layers: list[dict[str, Any]], input_shape: list[int]) -> Graph:
    return cnnscope.load_spec(json.dumps({"name": "t", "input": input_shape, "layers": layers}))


def conv(k: int, s: int = 1, **kw: Any) -> dict[str, Any]:
    return {"type": "conv2d", "out_channels": 2, "kernel_size": k, "stride": s, **kw}


def test_a_parameter_added_to_a_map_leaves_its_field_as_it_was() -> None:
    # ViT's position embedding: a constant added to the patch embedding changes no field
    layers = [
        conv(3, 2, name="c1"),
        {"type": "parameter", "name": "pos", "shape": [1, 2, 1, 1], "from": "input"},
        {"type": "add", "broadcast": True, "name": "sum", "from": ["c1", "pos"]},
        conv(3, 1, name="c2"),
    ]
    g = spec(layers, [2, 24, 24])
    rf = receptive_fields(g)
    assert rf["pos"].status == CONSTANT
    assert rf["sum"] == rf["c1"]
    pytest.importorskip("torch")
    from rf_oracle import measure_rf

    m = measure_rf(g, "c2", (40, 40))
    assert not m.clipped
    assert (m.size, m.stride, m.padding) == (rf["c2"].size, rf["c2"].stride, rf["c2"].padding)


def test_a_node_of_constants_only_is_constant_and_says_so() -> None:
    layers = [
        {"type": "parameter", "name": "a", "shape": [1, 2, 3, 3], "from": "input"},
        {"type": "parameter", "name": "b", "shape": [1, 2, 3, 3], "from": "input"},
        {"type": "mul", "name": "ab", "from": ["a", "b"]},
        conv(3, 1, name="c", padding=1),
    ]
    g = spec(layers, [2, 8, 8])
    rf = receptive_fields(g)
    assert rf["ab"].status == CONSTANT and rf["c"].status == CONSTANT
    shown = rf["c"].to_json((8, 8))
    assert shown["size"] is None and shown["coverage"] is None and shown["status"] == "constant"
    from cnnscope.render.units import rf as rf_text

    assert rf_text(shown) == "none (a constant)"  # data carries the status; render writes the words


def test_a_spatial_slice_is_a_crop_measured() -> None:
    pytest.importorskip("torch")
    from rf_oracle import measure_rf

    layers = [
        conv(3, 2, name="c1"),
        {"type": "slice", "dim": 3, "start": 2, "stop": -1, "step": 2, "name": "crop"},
        conv(3, 1, name="c2"),
    ]
    g = spec(layers, [1, 40, 40])
    rf = receptive_fields(g)["c2"]
    assert rf.ok and rf.stride == (2, 4)  # the conv's 2, times the step along W
    m = measure_rf(g, "c2")
    assert not m.clipped
    assert (m.size, m.stride, m.padding) == (rf.size, rf.stride, rf.padding)


@pytest.mark.parametrize(
    ("layer", "status"),
    [
        ({"type": "reshape", "shape": [0, 0, 0, 0]}, "ok"),
        ({"type": "reshape", "shape": [0, -1]}, UNKNOWN),
        ({"type": "roll", "shifts": 1, "dims": 3}, UNKNOWN),
        ({"type": "roll", "shifts": 1, "dims": 1}, "ok"),
        ({"type": "reduce", "op": "mean", "dims": [2, 3]}, WHOLE),
        ({"type": "reduce", "op": "amax", "dims": [3], "keepdim": True}, UNKNOWN),
        ({"type": "reduce", "op": "sum", "dims": [1], "keepdim": True}, "ok"),
        ({"type": "reduce", "op": "sum", "dims": [1]}, UNKNOWN),  # H moves to dim 1
        ({"type": "slice", "dim": 2, "start": 0, "squeeze": True}, UNKNOWN),
        ({"type": "glu", "dim": 1}, "ok"),
        ({"type": "glu", "dim": -1}, UNKNOWN),
        ({"type": "linear", "out_features": 3}, UNKNOWN),  # mixes W only
        ({"type": "scaleddotproductattention", "from": ["c", "c", "c"]}, WHOLE),
    ],
    ids=lambda v: v if isinstance(v, str) else v["type"],
)
def test_markers(layer: dict[str, Any], status: str) -> None:
    g = spec([conv(3, 1, name="c", out_channels=4), {"name": "x", **layer}], [2, 6, 6])
    assert receptive_fields(g)["x"].status == status
