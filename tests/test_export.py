"""export -> load_spec gives the same figures; the export and verify commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnnscope
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.cli.main import main
from cnnscope.errors import SpecError
from cnnscope.export import export_yaml
from cnnscope.frontends.sources import builtin_names
from cnnscope.frontends.yaml.loader import load_spec


def figures(graph: cnnscope.Graph) -> tuple[list[tuple[str, tuple[int, ...], int, int, str | None]], str]:
    shapes = infer_shapes(graph)
    rows = []
    for n in graph.nodes:
        ins = [shapes[i] for i in n.inputs]
        rows.append((n.name, shapes[n.name], n.layer.params(ins).total, n.layer.macs(ins, shapes[n.name]), n.shares))
    return rows, graph.output


def same(g: cnnscope.Graph, text: str) -> None:
    g2 = load_spec(text)
    assert figures(g2) == figures(g)
    assert [n.layer for n in g2.nodes] == [n.layer for n in g.nodes]
    assert cnnscope.analyze(g, ["params"]).totals == cnnscope.analyze(g2, ["params"]).totals


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_specs_round_trip(name: str) -> None:
    g = cnnscope.load(name)
    same(g, export_yaml(g, strict=True))  # strict: the block form itself, no flat fallback
    same(g, export_yaml(g, flat=True))


def test_module_round_trip_every_test_module() -> None:
    pytest.importorskip("torch")
    from cnnscope.frontends.torch.capture import capture
    from tests.test_module import CASES

    for case, (cls, shape, _) in CASES.items():
        g = capture(cls(), shape, name=case)
        same(g, export_yaml(g, strict=True))
        same(g, export_yaml(g, flat=True))


@pytest.mark.parametrize("name", builtin_names())
def test_modules_built_from_builtin_specs_round_trip(name: str) -> None:
    pytest.importorskip("torch")
    from cnnscope.frontends.torch.capture import capture
    from cnnscope.profile.build import build_module

    spec = cnnscope.load(name)
    g = capture(build_module(spec), spec.input_shape, name=name)
    if g.extras["unsupported"]:
        with pytest.raises(SpecError):
            export_yaml(g)
        return
    text = export_yaml(g, strict=True)
    same(g, text)
    assert [r[1:4] for r in figures(g)[0]] == [r[1:4] for r in figures(spec)[0]]  # names may differ (`out.cat`)


def test_repeated_blocks_are_written_as_blocks() -> None:
    pytest.importorskip("torch")
    import yaml

    from bench.models import resnet50
    from cnnscope.frontends.torch.capture import capture

    g = capture(resnet50(), (3, 224, 224), name="resnet50")
    text = export_yaml(g, strict=True)
    doc = yaml.safe_load(text)
    assert set(doc["blocks"]) == {"bottleneck", "downsample"}
    stages = {e["name"]: e for e in doc["layers"] if "block" in e}
    assert {k: (v["block"], v["repeat"]) for k, v in stages.items()} == {
        f"layer{k}": ("bottleneck", r) for k, r in zip((1, 2, 3, 4), (3, 4, 6, 3))
    }
    assert stages["layer1"]["downsample"] == "${i == 0}"
    body = {e["name"]: e for e in doc["blocks"]["bottleneck"]["layers"]}
    assert body["downsample"]["when"] == "${downsample}"
    assert body["conv3"]["out_channels"].startswith("${4 * ")
    assert len(text.splitlines()) < 45  # 175 layers in a few dozen lines
    assert "layer3.5.conv2" in load_spec(text)
    same(g, export_yaml(g, flat=True))
    assert "blocks:" not in export_yaml(g, flat=True)


def test_unsupported_nodes_refuse_to_export() -> None:
    pytest.importorskip("torch")
    from cnnscope.frontends.torch.capture import capture
    from tests.test_module import WithUnsupported

    with pytest.raises(SpecError) as exc:
        export_yaml(capture(WithUnsupported(), (3, 8, 8)))
    assert exc.value.kind == "unsupported-export"
    assert "cumsum" in exc.value.message


@pytest.mark.parametrize("flat", [False, True])
def test_export_command_writes_loadable_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path, flat: bool) -> None:
    assert main(["export", "resnet18", *(["--flat"] if flat else [])]) == 0
    out = capsys.readouterr().out
    assert ("blocks:" in out) is not flat
    p = tmp_path / "r18.yaml"
    p.write_text(out)
    assert figures(cnnscope.load(str(p))) == figures(cnnscope.load("resnet18"))


def test_verify_passes_on_a_spec(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["verify", "lenet5", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert {c["check"] for c in doc["checks"]} == {"shape", "params", "macs"}


def test_verify_fails_when_an_analytic_figure_is_wrong(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from cnnscope.layers import linear

    monkeypatch.setattr(linear.Linear, "macs", lambda self, ins, out: 1)
    assert main(["verify", "lenet5", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    bad = [c for c in doc["checks"] if not c["ok"]]
    assert [c["check"] for c in bad] == ["macs"]


def test_verify_module_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    from tests.test_module import MODEL_PY

    p = tmp_path / "model.py"
    p.write_text(MODEL_PY)
    assert main(["verify", f"{p}:Net", "--kwargs", '{"width": 5}']) == 0
    assert "macs" in capsys.readouterr().out
    assert main(["shapes", f"{p}:build"]) == 2
    assert "missing-input" in capsys.readouterr().err
