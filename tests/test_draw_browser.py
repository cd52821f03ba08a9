"""`cnnscope draw` pages in a real browser: headless Chromium, offline, network blocked.

Each page must load without a console error or a request beyond its own file; its DOM must
have one box per layer or folded block (every layer in exactly one) and one edge per
connection, both checked against the graph as ``--format json`` gives it; the figures in the
DOM must be the analyzers'; clicking a fold opens its first copy; clicking a layer shows its
``explain`` lines. A screenshot of each page is kept (the path is printed).

Chromium missing: skipped locally, a failure where CNNSCOPE_REQUIRE_BROWSER=1 (CI sets it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, chromium

from cnnscope.cli.main import main
from cnnscope.render.units import rf_shown, shape, si

ARTIFACTS = Path(os.environ.get("CNNSCOPE_ARTIFACT_DIR", Path(tempfile.gettempdir()) / "cnnscope-artifacts"))

BOXES_JS = """
Array.from(document.querySelectorAll('#cs-graph .cs-box')).map(b => ({
  id: b.getAttribute('data-box'), kind: b.getAttribute('data-kind'), name: b.getAttribute('data-name'),
  title: b.getAttribute('data-title'), members: (b.getAttribute('data-members') || '').split(' ').filter(x => x),
  count: b.getAttribute('data-count'), params: b.getAttribute('data-params'), macs: b.getAttribute('data-macs'),
  activations: b.getAttribute('data-activations'), shape: b.getAttribute('data-shape'),
  rf: b.getAttribute('data-rf'), status: b.getAttribute('data-status'), type: b.getAttribute('data-type'),
  text: Array.from(b.querySelectorAll('text')).map(t => t.textContent),
  fill: b.querySelector('rect.cs-frame').getAttribute('fill')}))
"""
EDGES_JS = """
Array.from(document.querySelectorAll('#cs-graph .cs-edge'))
  .map(e => [e.getAttribute('data-src'), e.getAttribute('data-dst')])
"""


def _click(browser: Browser, selector: str) -> None:
    browser.eval(
        f"document.querySelector({json.dumps(selector)}).dispatchEvent(new MouseEvent('click', {{bubbles: true}}))"
    )


def _all(browser: Browser, selector: str, what: str) -> list[Any]:
    """``what`` (a JS expression of ``e``) for every element matching ``selector``."""
    out: list[Any] = browser.eval(f"Array.from(document.querySelectorAll({json.dumps(selector)})).map(e => {what})")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    exe = chromium()
    if exe is None:
        if os.environ.get("CNNSCOPE_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required here (CNNSCOPE_REQUIRE_BROWSER=1): apt-get install chromium")
        pytest.skip("needs Chromium (apt-get install chromium)")
    if shutil.which("dot") is None:
        pytest.skip("needs Graphviz's dot (apt-get install graphviz)")
    with Browser(exe) as b:
        yield b


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(list(argv)) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def _flat(v: Any) -> str:
    return "x".join(str(x) for x in v) if isinstance(v, list) else ("" if v is None else str(v))


def _open(browser: Browser, page: Path, name: str) -> None:
    browser.events.clear()
    browser.open(page)
    assert browser.eval("document.documentElement.getAttribute('data-ready')") == "1"
    assert browser.errors() == []
    assert browser.requests() == [page.resolve().as_uri()]  # nothing fetched beyond the file itself
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = browser.screenshot(ARTIFACTS / f"{name}.png")
    print(f"screenshot: {shot}")


def _check_graph(browser: Browser, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Boxes partition the layers; edges are the connections between boxes; figures match."""
    boxes: list[dict[str, Any]] = browser.eval(BOXES_JS)
    by_name = {r["name"]: r for r in rows}
    owner: dict[str, str] = {}
    inputs = [b for b in boxes if b["kind"] == "input"]
    assert len(inputs) == 1
    for b in boxes:
        members = [b["name"]] if b["kind"] == "layer" else b["members"]
        for m in members:
            assert m not in owner, f"{m} drawn twice"
            owner[m] = b["id"]
    assert sorted(owner) == sorted(by_name)  # one box per layer or per folded block
    owner["input"] = inputs[0]["id"]
    expected = {(owner[i], owner[r["name"]]) for r in rows for i in r["inputs"] if owner[i] != owner[r["name"]]}
    edges = [tuple(e) for e in browser.eval(EDGES_JS)]
    assert len(edges) == len(set(edges)) and set(edges) == expected  # one edge per connection
    for b in boxes:
        if b["kind"] == "input":
            continue
        members = [by_name[m] for m in ([b["name"]] if b["kind"] == "layer" else b["members"])]
        assert int(b["params"]) == sum(r["params"] for r in members)
        assert int(b["macs"]) == sum(r["macs"] for r in members)
        assert int(b["activations"]) == sum(r["activation_bytes"] for r in members)
        assert b["shape"] == _flat(members[-1]["output_shape"])
        assert b["rf"] == _flat(rf_shown(members[-1]["rf"]))  # the row's sizes, or the words for none
        text = " ".join(b["text"])
        assert shape(members[-1]["output_shape"]) in text and si(int(b["macs"]), "MAC") in text
        if b["kind"] == "layer":
            assert b["type"] == members[0]["type"] and b["type"] in text
        else:
            assert int(b["count"]) >= 2 and len(members) % int(b["count"]) == 0
    return boxes


@pytest.mark.parametrize("src", ["resnet18", "googlenet"])
def test_builtin_pages(src: str, browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / f"{src}.html"
    assert main(["draw", src, "-o", str(page)]) == 0
    rows = _json(capsys, "summary", src, "-f", "json")["layers"]
    _open(browser, page, src)
    boxes = _check_graph(browser, rows)
    # the costliest box is the darkest, and switching the measure recolours
    for measure in ("macs", "params", "activations"):
        browser.eval(
            f"(() => {{ const s = document.getElementById('cs-measure'); s.value = '{measure}'; "
            "s.dispatchEvent(new Event('change')); })()"
        )
        fills = _all(browser, "#cs-graph .cs-box:not(.cs-input) rect.cs-frame", "e.getAttribute('fill')")
        vals = [int(b[measure]) for b in boxes if b["kind"] != "input"]
        assert fills[vals.index(max(vals))] == "#990000"
        assert all(f != "#990000" for f, v in zip(fills, vals) if v < max(vals) * 0.9)


def test_fold_opens_and_layers_explain(browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "resnet50.html"
    assert main(["draw", "resnet50", "-o", str(page)]) == 0
    rows = _json(capsys, "summary", "resnet50", "-f", "json")["layers"]
    _open(browser, page, "resnet50")
    boxes = _check_graph(browser, rows)
    fold = next(b for b in boxes if b["kind"] == "fold")
    first_copy = fold["members"][: len(fold["members"]) // int(fold["count"])]
    _click(browser, f'#cs-graph [data-box="{fold["id"]}"]')
    assert browser.eval("document.getElementById('cs-panel').hidden") is False
    inner = _all(browser, "#cs-panel-body .cs-box.cs-layer", "e.getAttribute('data-name')")
    assert sorted(inner) == sorted(first_copy)
    browser.screenshot(ARTIFACTS / "resnet50-fold-open.png")
    layer = first_copy[0]
    _click(browser, f'#cs-panel-body [data-name="{layer}"]')
    steps = _json(capsys, "explain", "resnet50", "--layer", layer, "-f", "json")["layers"][0]["steps"]
    shown = _all(browser, "#cs-detail .cs-explain li", "e.textContent")
    assert len(shown) == len(steps)
    for line, step in zip(shown, steps):
        assert line.startswith(step["what"]) and step["formula"] in line and step["result"] in line
    assert browser.errors() == []


def test_module_page(browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    src = tmp_path / "net.py"
    src.write_text(
        "import torch, torch.nn as nn\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.b = nn.Conv2d(8, 8, 1)\n"
        "    def forward(self, x):\n"
        "        return torch.cat([self.a(x), self.b(x)], 1)[:, :8] + x\n"
        "class Net(nn.Module):\n"
        "    input_shape = (3, 16, 16)\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.stem = nn.Conv2d(3, 8, 1)\n"
        "        self.blocks = nn.Sequential(*[Block() for _ in range(4)])\n"
        "    def forward(self, x):\n"
        "        return self.blocks(self.stem(x))\n"
    )
    page = tmp_path / "module.html"
    assert main(["draw", f"{src}:Net", "-o", str(page)]) == 0
    rows = _json(capsys, "summary", f"{src}:Net", "-f", "json")["layers"]
    _open(browser, page, "module")
    boxes = _check_graph(browser, rows)
    assert [int(b["count"]) for b in boxes if b["kind"] == "fold"] == [4]


def test_diff_page(browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "diff.html"
    assert main(["diff", "resnet18", "resnet34", "-o", str(page)]) == 0
    d = _json(capsys, "diff", "resnet18", "resnet34", "-f", "json")
    _open(browser, page, "diff")
    boxes: list[dict[str, Any]] = browser.eval(BOXES_JS)
    status = {x["name"]: x["status"] for x in d["layers"]}
    seen = []
    for b in boxes:
        if b["kind"] == "input":
            continue
        members = [b["name"]] if b["kind"] == "layer" else b["members"]
        seen += members
        sts = {status[m] for m in members}
        assert b["status"] == (sts.pop() if len(sts) == 1 else "changed")
    assert sorted(seen) == sorted(status)  # the union of both graphs
    marked = {b["status"] for b in boxes if b["kind"] != "input"}
    assert {"added", "changed", "unchanged"} <= marked


@pytest.mark.torchvision
@pytest.mark.parametrize("name", ["resnet18", "densenet121"])
def test_torchvision_pages(name: str, browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torchvision")
    src = f"torchvision:{name}"
    page = tmp_path / f"{name}.html"
    assert main(["draw", src, "-o", str(page)]) == 0
    rows = _json(capsys, "summary", src, "-f", "json")["layers"]
    _open(browser, page, f"torchvision-{name}")
    boxes = _check_graph(browser, rows)
    folds = {b["title"]: int(b["count"]) for b in boxes if b["kind"] == "fold"}
    if name == "resnet18":  # layer1.0 and layer1.1 are the same BasicBlock; layer2.0 downsamples, 2.1 does not
        assert folds == {"layer1.0–1": 2}
    else:  # the dense layers of each block fold, though each concatenates every one before it
        blocks = {k.split(".")[1]: v for k, v in folds.items()}
        assert blocks == {"denseblock1": 6, "denseblock2": 12, "denseblock3": 24, "denseblock4": 16}
