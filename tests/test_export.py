"""export -> load_spec gives the same figures; the export and verify commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnnscope
from cnnscope.analyze.shapes import infer_shapes
from cnnscope.cli.main import main
from cnnscope.errors import SpecError
from cnnscope.spec.export import export_yaml
from cnnscope.spec.loader import load_spec


def figures(graph: cnnscope.Graph) -> tuple[list[tuple[str, tuple[int, ...], int, int, str | None]], str]:
    shapes = infer_shapes(graph)
    rows = []
    for n in graph.nodes:
        ins = [shapes[i] for i in n.inputs]
        rows.append((n.name, shapes[n.name], n.layer.params(ins).total, n.layer.macs(ins, shapes[n.name]), n.shares))
    return rows, graph.output


@pytest.mark.parametrize("name", ["resnet18", "lenet5", "cs231n-conv"])
def test_builtin_specs_round_trip(name: str) -> None:
    g = cnnscope.load(name)
    g2 = load_spec(export_yaml(g))
    assert figures(g2) == figures(g)
    assert [n.layer for n in g2.nodes] == [n.layer for n in g.nodes]


def test_module_round_trip_every_test_module() -> None:
    pytest.importorskip("torch")
    from cnnscope.spec.module import capture
    from tests.test_module import CASES

    for case, (cls, shape, _) in CASES.items():
        g = capture(cls(), shape, name=case)
        text = export_yaml(g)
        g2 = load_spec(text)
        assert figures(g2) == figures(g), case
        r1, r2 = cnnscope.analyze(g, ["params"]), cnnscope.analyze(g2, ["params"])
        assert r1.totals == r2.totals, case


def test_unsupported_nodes_refuse_to_export() -> None:
    pytest.importorskip("torch")
    from cnnscope.spec.module import capture
    from tests.test_module import WithUnsupported

    with pytest.raises(SpecError) as exc:
        export_yaml(capture(WithUnsupported(), (3, 8, 8)))
    assert exc.value.kind == "unsupported-export"
    assert "sin" in exc.value.message


def test_export_command_writes_loadable_yaml(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["export", "lenet5"]) == 0
    out = capsys.readouterr().out
    p = tmp_path / "lenet.yaml"
    p.write_text(out)
    assert figures(cnnscope.load(str(p))) == figures(cnnscope.load("lenet5"))


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
