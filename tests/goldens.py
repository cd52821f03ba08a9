"""Golden files (tests/golden/): the one way a test compares output against one.

``check_golden(name, text, update)`` compares ``text`` byte for byte with tests/golden/NAME
(``pytest --update-goldens`` rewrites it instead) and, every time, runs the invariant that
INVARIANTS gives that file name: the document's figures held against facts from outside
cnnscope, so a golden regenerated from wrong output fails even when it is compared with
itself. A name with no invariant fails, unless NO_INVARIANT names it with the reason.

The oracles: torch (a real forward pass of the built module for every output shape, the
``numel()`` of each layer's parameters and buffers), the published or hand-worked totals in
tests/published.py, and, for the zoo table, receptive fields measured by gradients
(tests/rf_oracle.py). tests/test_goldens.py checks that every file has an invariant and that
each invariant fails on a golden with one figure changed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from published import BY_HAND, expected_classes, expected_input, expected_params, torchvision_reference

GOLDEN = Path(__file__).parent / "golden"
SPECS_DIR = Path(__file__).resolve().parents[1] / "specs"
# goldens whose figures have nothing outside cnnscope to be held against, each with the reason
NO_INVARIANT: dict[str, str] = {}


def check_golden(name: str, text: str, update: bool) -> None:
    """Hold ``text`` to its invariant, then to tests/golden/NAME (or rewrite the file)."""
    invariant_for(name)(name, text)
    path = GOLDEN / name
    if update:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden {name}: run the test with --update-goldens and review the file")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; if intended, run with --update-goldens"


def invariant_for(name: str) -> Callable[[str, str], None]:
    for pattern, check in INVARIANTS:
        if re.fullmatch(pattern, name):
            return check
    if name in NO_INVARIANT:
        return lambda name, text: None
    pytest.fail(f"golden {name} has no invariant: add one to INVARIANTS in tests/goldens.py")


# -- layer tables (shapes and params, in every format) ---------------------------------------


# a column's name in any format -> the key used here
COLUMNS = {"layer": "name", "name": "name", "type": "type", "output shape": "output_shape"}
COLUMNS |= {"output_shape": "output_shape", "params": "params", "trainable": "trainable"}
COLUMNS |= {"trainable_params": "trainable", "buffers": "buffers"}
COUNTS = ("params", "trainable", "buffers")


def _value(key: str, cell: Any) -> Any:
    if key == "output_shape":
        return tuple(int(d) for d in re.split("[x×]", cell.strip())) if isinstance(cell, str) else tuple(cell)
    if key in COUNTS and isinstance(cell, str):
        return int(cell.strip().strip("*").replace(",", ""))
    return cell


def table_rows(fmt: str, text: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The layer rows of a shapes or params document as {name, type, output_shape[, params,
    trainable, buffers]}, and its total row's counts (None where the format prints none)."""
    if fmt == "json":
        doc = json.loads(text)
        raw = [*doc["layers"], {"name": "total", **doc["totals"]}]
    elif fmt == "csv":
        raw = list(csv.DictReader(io.StringIO(text)))
    else:  # markdown or the rich table: cells between the bars
        lines = [
            [c.strip() for c in re.split("[|│┃]", ln.strip())[1:-1]]
            for ln in text.splitlines()
            if ln.startswith(("| ", "│", "┃"))
        ]
        raw = [dict(zip(lines[0], cells, strict=True)) for cells in lines[1:] if not cells[0].startswith("---")]
    rows: list[dict[str, Any]] = []
    total = None
    for r in raw:
        row = {COLUMNS[k]: v for k, v in r.items() if k in COLUMNS and v != ""}
        if str(row["name"]).strip("*") == "total":
            total = {k: _value(k, v) for k, v in row.items() if k in COUNTS} or None
        else:
            rows.append({k: _value(k, v) for k, v in row.items()})
    return rows, total


@cache
def torch_facts(spec: str) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, int, int]]]:
    """From the spec's built module: each layer's output shape on a real forward pass (batch 1),
    and its (parameters, trainable parameters, buffers) by ``numel()``."""
    import torch

    import cnnscope
    from cnnscope.profile.build import build_module

    graph = cnnscope.load(spec)
    module = build_module(graph)
    with torch.no_grad():
        outs = module(torch.zeros(1, *graph.input_shape), return_all=True)
    shapes = {n: tuple(t.shape) for n, t in outs.items()}
    counts = {}
    for node in graph.nodes:
        m = module.layer(node.name)
        params = list(m.parameters())
        counts[node.name] = (
            sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in m.buffers()),
        )
    return shapes, counts


LAYER_TABLE = r"(shapes|params)-(.+)\.(json|csv|md|txt)"


def check_layer_table(name: str, text: str) -> None:
    """shapes-SPEC.FMT / params-SPEC.FMT: every output shape is torch's, every count is torch's
    numel(), the counts add up to the published or hand-worked total, the input is the one the
    spec's source states and the last layer gives the spec's classes."""
    match = re.fullmatch(LAYER_TABLE, name)
    assert match is not None, name
    command, spec, fmt = match.groups()
    rows, total = table_rows(fmt, text)
    shapes, counts = torch_facts(spec)
    assert [r["name"] for r in rows] == list(counts), f"{name}: not the spec's layers, in order"
    for r in rows:
        assert r["output_shape"] == shapes[r["name"]], f"{name}: {r['name']} {r['output_shape']}, torch's differs"
    assert rows[-1]["output_shape"] == (1, expected_classes(spec)), name
    stated = expected_input(spec)  # without the batch
    if fmt == "json":
        doc = json.loads(text)
        assert isinstance(doc["schema_version"], int) and doc["model"] == spec, name
        assert tuple(doc["totals"]["output_shape"]) == rows[-1]["output_shape"], name
        assert stated is None or doc["input_shape"] == [1, *stated], f"{name}: input"
    elif fmt != "csv":  # the caption: "input 1×3×224×224"
        assert stated is None or re.search(f"(?i)input {'×'.join(map(str, (1, *stated)))}\\b", text), name
    if command == "shapes":
        assert all("params" not in r for r in rows) and total is None, f"{name}: counts in a shapes table"
        return
    for r in rows:
        assert (r["params"], r["trainable"], r["buffers"]) == counts[r["name"]], f"{name}: {r['name']}, numel() differs"
    published = expected_params(spec)
    assert published is not None, f"{name}: no published or hand-worked parameter count for {spec}"
    assert sum(r["params"] for r in rows) == published, f"{name}: the rows do not add up to {published:,}"
    if fmt == "csv":  # rows only
        assert total is None, name
        return
    assert total == {k: sum(r[k] for r in rows) for k in COUNTS}, f"{name}: the total row is not the rows' sum"


# -- the zoo table ---------------------------------------------------------------------------

# Araujo, Norris & Sim, "Computing Receptive Fields of CNNs" (Distill, 2019), Table 1: VGG-16 at pool5
DISTILL_VGG16 = {"size": [212, 212], "stride": [32, 32], "padding": [90, 90]}
# ConvNeXt-T's field, by hand: stem 4×4/4, then per stage j = 4, 8, 16, 32 the blocks' 7×7
# depthwise convs add 6·j each and the 2×2/2 downsampling adds 1·j
CONVNEXT_TINY_RF = 4 + 3 * 6 * 4 + (1 * 4 + 3 * 6 * 8) + (1 * 8 + 9 * 6 * 16) + (1 * 16 + 3 * 6 * 32)


def check_zoo(name: str, text: str) -> None:
    """zoo.json: one row per spec in specs/, each with its published (or hand-worked) params,
    MACs and input, its title from the spec's header, and the receptive field measured by
    gradients at the layer it names (after which every unit sees the whole input)."""
    import cnnscope

    rows = json.loads(text)["specs"]
    assert [r["name"] for r in rows] == sorted(p.stem for p in SPECS_DIR.glob("*.yaml")), name
    tv = torchvision_reference()
    for row in rows:
        spec = row["name"]
        if spec in BY_HAND:
            exp = BY_HAND[spec]
            assert (row["params"], row["macs"], tuple(row["input_shape"])) == (exp["params"], exp["macs"], exp["input"])
        elif tv:
            exp = tv[spec]
            assert row["params"] == exp["params"], spec
            assert round(row["macs"] / 1e9, 3) == exp["gflops"], spec  # printed with 3 decimals
            assert row["input_shape"] == [3, exp["crop"], exp["crop"]], spec
        assert row["title"] and row["title"] in (SPECS_DIR / f"{spec}.yaml").read_text(encoding="utf-8"), spec
        check_zoo_rf(cnnscope.load(spec), row["rf"])
    by_name = {r["name"]: r for r in rows}
    assert {k: by_name["vgg16"]["rf"][k] for k in DISTILL_VGG16} == DISTILL_VGG16
    assert by_name["convnext_tiny"]["rf"]["size"] == [CONVNEXT_TINY_RF] * 2 == [1688, 1688]


def check_zoo_rf(graph: Any, rf: dict[str, Any]) -> None:
    """The zoo row's field is the measured one. Measured at the last layer that is not an
    adaptive pool (tests/test_zoo_rf.py's choice: an adaptive pool's windows change with the
    input, and the measurement needs a larger one), on an input 4 strides wider than the field;
    an adaptive pool the row names instead must be the identity at the spec's input (torch's
    shapes say so). After it nothing maps to a window any more: one unit of the first layer that
    reads it, and of the output, sees every input position the row's layer sees as a whole."""
    import torch
    from rf_oracle import measure_rf, seen_positions
    from test_zoo_rf import measured_layers, thin

    from cnnscope.profile.build import build_module

    names = [n.name for n in graph.nodes]
    layer, last = rf["layer"], measured_layers(graph)[-1]
    small = thin(graph)
    spatial = tuple(r + 4 * j + 8 for r, j in zip(rf["size"], rf["stride"], strict=True))
    m = measure_rf(small, last, spatial)
    assert not m.clipped, (graph.name, m)
    measured = {"size": list(m.size), "stride": list(m.stride), "padding": list(m.padding)}
    assert measured == {k: rf[k] for k in measured}, (graph.name, m)
    if layer != last:
        with torch.device("meta"):
            outs = build_module(graph)(torch.empty(1, *graph.input_shape), return_all=True)
        for node in graph.nodes[names.index(last) + 1 : names.index(layer) + 1]:
            assert node.type.startswith("adaptive"), (graph.name, node.name)
            assert outs[node.name].shape == outs[node.inputs[0]].shape, (graph.name, node.name, "not the identity")
    readers = [n.name for n in graph.nodes if layer in n.inputs][:1]
    after = [a for a in dict.fromkeys([*readers, graph.output]) if a != layer]
    seen = seen_positions(small, {layer: False} | dict.fromkeys(after, True))
    for a in after:
        assert torch.equal(seen[a] | seen[layer], seen[a]), (graph.name, a, "maps to a window")


INVARIANTS: list[tuple[str, Callable[[str, str], None]]] = [
    (r"(shapes|params)-.+\.(json|csv|md|txt)", check_layer_table),
    (r"zoo\.json", check_zoo),
]
