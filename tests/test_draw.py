"""`cnnscope draw`: folding, the emitters and the CLI's file handling (no browser here;
tests/test_draw_browser.py opens the pages in Chromium)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.draw import render, to_html
from cnnscope.draw.fold import Box, box_of, fold
from cnnscope.draw.model import from_graph
from cnnscope.draw.scene import scene

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
SVG = "{http://www.w3.org/2000/svg}"

STAGES = """
input: [8, 16, 16]
blocks:
  unit:
    args: [c]
    layers:
      - {name: conv, type: conv2d, out_channels: "${c}", kernel_size: 3, padding: 1}
      - {name: relu, type: relu}
      - {name: add, type: add, from: [relu, input]}
layers:
  - {name: stem, type: conv2d, out_channels: 8, kernel_size: 1}
  - {name: stage, block: unit, c: 8, repeat: 4}
  - {name: head, type: conv2d, out_channels: 4, kernel_size: 1}
"""


def _graph(tmp_path: Path, text: str, name: str = "net.yaml") -> cnnscope.Graph:
    p = tmp_path / name
    p.write_text(text)
    return cnnscope.load(str(p))


def _boxes(g: cnnscope.Graph, enabled: bool = True) -> list[Box]:
    return fold(from_graph(g, with_explain=False).items, enabled).boxes()


def _partition_ok(g: cnnscope.Graph, boxes: list[Box]) -> None:
    members = [m for b in boxes for m in b.members]
    assert sorted(members) == sorted(n.name for n in g.nodes)  # every layer in exactly one box


def test_repeat_folds_into_one_box(tmp_path: Path) -> None:
    g = _graph(tmp_path, STAGES)
    boxes = _boxes(g)
    _partition_ok(g, boxes)
    folds = [b for b in boxes if b.kind == "fold"]
    assert len(folds) == 1
    expected = [n.name for n in g.nodes if n.name.startswith("stage.")]
    assert folds[0].count == 4 and folds[0].members == expected
    assert [len(c) for c in folds[0].copies] == [3, 3, 3, 3]
    assert folds[0].inner is not None and [b.title for b in folds[0].inner.boxes()] == [
        n for n in expected if n.startswith("stage.0.")
    ]
    assert len(_boxes(g, enabled=False)) == len(g)


def test_copies_that_differ_do_not_fold(tmp_path: Path) -> None:
    text = STAGES.replace("c: 8, repeat: 4", 'c: "${8 + i}", repeat: 4')  # a wider conv in every copy
    g = _graph(tmp_path, text.replace("type: add, from: [relu, input]", "type: identity"))
    boxes = _boxes(g)
    _partition_ok(g, boxes)
    assert not [b for b in boxes if b.kind == "fold"]


def test_identical_parallel_branches_are_not_a_repeat(tmp_path: Path) -> None:
    text = """
input: [4, 8, 8]
layers:
  - {name: b.0, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, from: input}
  - {name: b.1, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, from: input}
  - {name: cat, type: concat, from: [b.0, b.1]}
"""
    g = _graph(tmp_path, text)
    assert [b.kind for b in _boxes(g)] == ["layer", "layer", "layer"]


def test_dense_copies_fold_though_their_inputs_differ(tmp_path: Path) -> None:
    # DenseNet: each copy concatenates the outputs of every copy before it
    lines = ["input: [4, 8, 8]", "layers:", "  - {name: stem, type: conv2d, out_channels: 4, kernel_size: 1}"]
    prev = ["stem"]
    for i in range(1, 5):
        lines.append(f"  - {{name: dense.l{i}.cat, type: concat, from: [{', '.join(prev)}]}}")
        lines.append(f"  - {{name: dense.l{i}.conv, type: conv2d, out_channels: 2, kernel_size: 3, padding: 1}}")
        prev.append(f"dense.l{i}.conv")
    g = _graph(tmp_path, "\n".join(lines) + "\n")
    boxes = _boxes(g)
    _partition_ok(g, boxes)
    folds = [b for b in boxes if b.kind == "fold"]
    assert len(folds) == 1 and folds[0].count == 4 and folds[0].title == "dense.l1–4"


def test_module_names_fold(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    src = tmp_path / "net.py"
    src.write_text(
        "import torch.nn as nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.relu = nn.ReLU()\n"
        "    def forward(self, x):\n"
        "        return self.relu(self.conv1(x)) + x\n"
        "class Net(nn.Module):\n"
        "    input_shape = (3, 16, 16)\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.stem = nn.Conv2d(3, 8, 1)\n"
        "        self.layer1 = nn.Sequential(*[Block() for _ in range(3)])\n"
        "        self.fc = nn.Conv2d(8, 2, 1)\n"
        "    def forward(self, x):\n"
        "        return self.fc(self.layer1(self.stem(x)))\n"
    )
    g = cnnscope.load(f"{src}:Net")
    boxes = _boxes(g)
    _partition_ok(g, boxes)
    folds = [b for b in boxes if b.kind == "fold"]
    assert len(folds) == 1 and folds[0].count == 3
    assert {m.split(".")[1] for m in folds[0].members} == {"0", "1", "2"}


def test_resnet152_folds_to_its_stages_and_blocks() -> None:
    g = cnnscope.load("resnet152")
    boxes = _boxes(g)
    _partition_ok(g, boxes)
    depths = {"layer1": 3, "layer2": 8, "layer3": 36, "layer4": 3}  # the paper's stage depths
    folds = {b.title.split(".")[0]: b for b in boxes if b.kind == "fold"}
    assert {k: v.count + 1 for k, v in folds.items()} == depths  # the first block of each stage differs
    assert len(boxes) < len(g) / 5


def test_box_figures_sum_the_layers(tmp_path: Path) -> None:
    g = _graph(tmp_path, STAGES)
    report = cnnscope.analyze(g)
    sc = scene(from_graph(g, report=report, with_explain=False), with_layout=False)
    for bid, b in sc.main.boxes.items():
        if b.kind == "input":
            continue
        f = sc.main.figs[bid]
        assert f.params == sum(report.row(m)["params"] for m in b.members)
        assert f.macs == sum(report.row(m)["macs"] for m in b.members)
    owner = box_of(sc.main.level)
    expected = {
        (owner[i].id if i in owner else f"in:{i}", owner[n.name].id)
        for n in g.nodes
        for i in n.inputs
        if owner.get(i) is not owner[n.name]
    }
    assert set(sc.main.edges) == expected and len(sc.main.edges) == len(expected)


def test_mermaid_has_every_box_and_edge() -> None:
    g = cnnscope.load("googlenet")
    text = render(from_graph(g, with_explain=False), "mermaid")
    assert text.startswith("flowchart TD")
    nodes = re.findall(r"^\s*(n_\w+)[\[(]", text, re.M)
    edges = re.findall(r"^\s*(n_\w+) --> (n_\w+)$", text, re.M)
    n_edges = len({(i, n.name) for n in g.nodes for i in n.inputs})
    assert len(nodes) == len(g) + 1  # googlenet folds nothing; + the input
    assert len(edges) == n_edges


@needs_dot
def test_dot_output_is_valid_graphviz(tmp_path: Path) -> None:
    import subprocess

    g = cnnscope.load("resnet50")
    text = render(from_graph(g, with_explain=False), "dot")
    out = subprocess.run(["dot", "-Tjson"], input=text.encode(), capture_output=True, check=True).stdout
    objs = [o for o in json.loads(out)["objects"] if "nodes" not in o and not o["name"].startswith("cluster")]
    folds = [b for b in _boxes(g) if b.kind == "fold"]
    assert len(objs) == len(_boxes(g)) + 1
    assert sum(1 for o in objs if o.get("peripheries") == "2") == len(folds)


@needs_dot
def test_svg_colours_follow_the_measure(tmp_path: Path) -> None:
    g = cnnscope.load("vgg11")
    report = cnnscope.analyze(g)
    for measure, key in (("macs", "macs"), ("params", "params")):
        root = ET.fromstring(render(g, "svg", measure).split("\n", 1)[1])
        boxes = [e for e in root.iter(f"{SVG}g") if "cs-layer" in e.get("class", "")]
        top = max(boxes, key=lambda e: float(e.get(f"data-{measure}", 0)))
        assert top.get("data-name") == max(report.rows, key=lambda r: r[key])["name"]
        frame = next(r for r in top.iter(f"{SVG}rect") if r.get("class") == "cs-frame")
        assert frame.get("fill") == "#990000"  # the darkest colour, on the costliest layer
        for e in boxes:
            row = report.row(e.get("data-name", ""))
            assert int(e.get("data-params", -1)) == row["params"] and int(e.get("data-macs", -1)) == row["macs"]


@needs_dot
def test_to_html_takes_a_graph_or_a_report() -> None:
    g = cnnscope.load("lenet5")
    a, b = to_html(g), to_html(cnnscope.analyze(g))
    for page in (a, b):
        assert page.startswith("<!DOCTYPE html>") and 'id="cs-graph"' in page
        assert "<script src" not in page and "<link" not in page  # everything inline
    assert '"explain"' in a  # the graph gives explain lines; a report alone cannot


# -- the CLI -------------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("suffix", ["html", "svg", "png", "dot", "mmd"])
def test_draw_writes_each_format(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"net.{suffix}"
    assert main(["draw", "lenet5", "-o", str(out)]) == 0
    data = out.read_bytes()
    magic = {"html": b"<!DOCTYPE html>", "svg": b"<?xml", "png": b"\x89PNG", "dot": b"// cnnscope", "mmd": b"flowchart"}
    assert data.startswith(magic[suffix])
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left behind
    capsys.readouterr()


def test_draw_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["draw", "lenet5", "-f", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")


def _one_error(err: str) -> None:
    assert err.count("error[") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (["lenet5", "-o", "{tmp}/net.xyz"], "bad-output"),
        (["lenet5", "-o", "{tmp}/missing/net.html"], "bad-output"),
        (["lenet5", "-o", "{tmp}"], "bad-output"),
        (["lenet5", "-o", "{tmp}/net.html", "--colour", "watts"], "bad-option"),
        (["nosuchmodel", "-o", "{tmp}/net.dot"], "source-not-found"),
        (["{tmp}/bad.yaml", "-o", "{tmp}/net.dot"], "unknown-field"),
    ],
)
def test_bad_input_is_one_diagnostic_and_no_file(
    args: list[str], kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 4, kernal_size: 3}\n"
    )
    before = set(tmp_path.iterdir())
    assert main(["draw", *(a.replace("{tmp}", str(tmp_path)) for a in args)]) == 2
    err = capsys.readouterr().err
    _one_error(err)
    assert f"error[{kind}]" in err
    assert set(tmp_path.iterdir()) == before
    if kind == "unknown-field":
        assert "bad.yaml:3:" in err  # located


def test_missing_graphviz_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("cnnscope.draw.layout.shutil.which", lambda name: None)
    assert main(["draw", "lenet5", "-o", str(tmp_path / "net.html")]) == 2
    err = capsys.readouterr().err
    _one_error(err)
    assert "Graphviz" in err and "apt-get install graphviz" in err
    assert list(tmp_path.iterdir()) == []
    assert main(["draw", "lenet5", "-o", str(tmp_path / "net.mmd")]) == 0  # mermaid needs no renderer
    capsys.readouterr()


def test_a_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("cnnscope.cli.draw_cmd.os.replace", fail)
    assert main(["draw", "lenet5", "-o", str(tmp_path / "net.mmd")]) == 2
    _one_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "net.mmd"
    out.write_text("old")
    assert main(["draw", "lenet5", "-o", str(out)]) == 0
    assert out.read_text().startswith("flowchart TD")
    capsys.readouterr()


def test_diff_markdown_embeds_a_mermaid_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    old.write_text(STAGES)
    new.write_text(STAGES.replace("out_channels: 4, kernel_size: 1}", "out_channels: 6, kernel_size: 1}"))
    assert main(["diff", str(old), str(new), "-f", "markdown"]) == 0
    md = capsys.readouterr().out
    chart = md.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert chart.startswith("flowchart TD")
    changed = re.findall(r"style (n_\w+) [^\n]*stroke:#bf8700", chart)
    assert len(changed) == 1  # only `head` changed
    assert "stem" not in chart  # not a neighbour of what changed
    assert main(["diff", str(old), str(old), "-f", "markdown"]) == 0
    assert "mermaid" not in capsys.readouterr().out  # nothing changed, nothing drawn


@needs_dot
def test_embedded_page_is_one_iframe() -> None:
    from html import unescape

    g = cnnscope.load("lenet5")
    frame = to_html(g, embed=True)
    assert frame.startswith("<iframe") and frame.count("<iframe") == 1 and "<script" not in frame
    inner = unescape(frame.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert inner == to_html(g)


@needs_dot
@pytest.mark.parametrize("fmt", ["html", "mermaid"])
def test_drawing_a_spec_does_not_import_torch(fmt: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / f"net.{'mmd' if fmt == 'mermaid' else fmt}"
    script = (
        "import sys\n"
        "from cnnscope.cli.main import main\n"
        f"assert main(['draw', 'resnet18', '-o', {str(out)!r}]) == 0\n"
        "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not leaked, leaked[:5]\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size > 0


@pytest.mark.parametrize("vmax", [1, 7, 99, 100, 101, 224, 379, 1_025_000, 3.2e9])
def test_chart_axes_cover_the_data_with_round_steps(vmax: float) -> None:
    from cnnscope.draw.charts import nice_top

    top = nice_top(vmax)
    step = top / 4
    assert vmax <= top < vmax * 2.1
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-9 for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10))


def test_pyramid_rows_come_from_the_shapes() -> None:
    from cnnscope.draw.charts import pyramid_rows

    g = cnnscope.load("resnet18")
    rows = [r for r in cnnscope.analyze(g).rows if len(r["output_shape"]) > 2]  # maps, not vectors
    got = pyramid_rows(from_graph(g, with_explain=False).items)
    sizes = list(dict.fromkeys(tuple(r["output_shape"][2:]) for r in rows))
    assert [k for k, _, _ in got] == sizes
    for k, c, n in got:
        at = [r for r in rows if tuple(r["output_shape"][2:]) == k]
        assert c == max(r["output_shape"][1] for r in at) and n == len(at)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["draw", "lenet5", "-o", str(locked / "net.mmd")]) == 2
    _one_error(capsys.readouterr().err)
    assert list(locked.iterdir()) == []


@needs_dot
def test_diff_draws_the_union(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(STAGES)
    new.write_text(
        STAGES.replace("repeat: 4", "repeat: 5").replace(
            "out_channels: 4, kernel_size: 1}", "out_channels: 6, kernel_size: 1}"
        )
    )
    assert main(["diff", str(old), str(new), "-o", str(tmp_path / "d.xyz")]) == 2
    _one_error(capsys.readouterr().err)
    assert not (tmp_path / "d.xyz").exists()
    out = tmp_path / "d.svg"
    assert main(["diff", str(old), str(new), "-o", str(out), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    status = {x["name"]: x["status"] for x in doc["layers"]}
    root = ET.fromstring(out.read_text().split("\n", 1)[1])
    boxes = [e for e in root.iter(f"{SVG}g") if "cs-box" in e.get("class", "") and "cs-input" not in e.get("class", "")]
    drawn: dict[str, str] = {}
    for e in boxes:
        for m in (e.get("data-members") or e.get("data-name", "")).split():
            drawn[m] = e.get("data-status", "")
    assert drawn.keys() == status.keys()
    assert {m for m, s in status.items() if s == "added"} == {"stage.4.conv", "stage.4.relu", "stage.4.add"}
    for m, s in status.items():
        if s != "unchanged":  # nothing that changed hides in a fold of unchanged copies
            assert drawn[m] == s
