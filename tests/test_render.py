"""render/: the unit formatters (the one place numbers are written out) and the formats."""

from __future__ import annotations

import csv
import io
import json

import pytest

import cnnscope
from cnnscope.cli.main import main
from cnnscope.render import to_csv, to_json, to_markdown
from cnnscope.render.formats.json import SCHEMA_VERSION
from cnnscope.render.units import count, dims, fmt, get_path, ms, nbytes, percent, shape, si


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (999, "999"), (11_689_512, "11,689,512"), (None, "–"), (1.5, "1.50")],
)
def test_count(value: object, text: str) -> None:
    assert count(value) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1_814_073_344, "MAC", "1.81 GMAC"),  # 1,814,073,344 / 10**9 = 1.814...
        (3_628_146_688, "FLOP", "3.63 GFLOP"),
        (25_557_032, "", "25.56 M"),
        (1_500, "op", "1.50 Kop"),
        (12, "MAC", "12 MAC"),
        (2 * 10**12, "FLOP/s", "2.00 TFLOP/s"),
    ],
)
def test_si(value: int, unit: str, text: str) -> None:
    assert si(value, unit) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(512, "512 B"), (3 * 2**20 + 2**19, "3.50 MiB"), (2**30, "1.00 GiB"), (1024, "1.00 KiB"), (None, "–")],
)
def test_nbytes(value: int | None, text: str) -> None:
    assert nbytes(value) == text


def test_small_formatters() -> None:
    assert shape([1, 64, 112, 112]) == "1×64×112×112"
    assert dims([212, 212]) == "212×212" and dims("whole input") == "whole input" and dims(7) == "7"
    assert dims([2.5, 2.0]) == "2.5×2"
    assert percent(0.0654) == "6.5%" and percent(None) == "–"
    assert ms(0.25) == "250.0 µs" and ms(12.3456) == "12.346 ms"
    assert fmt(["a", "b"], "text") == "a, b" and fmt(None, "text") == ""
    assert fmt(3, "no-such-unit") == "3"
    assert get_path({"rf": {"size": [3, 3]}}, "rf.size") == [3, 3]
    assert get_path({"rf": None}, "rf.size") is None


@pytest.fixture(scope="module")
def report() -> cnnscope.Report:
    return cnnscope.analyze(cnnscope.load("lenet5"), ["params", "compute"])


def test_json_is_one_line_per_layer_and_parses(report: cnnscope.Report) -> None:
    text = to_json(report)
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION  # every document carries the one version
    assert len(data["layers"]) == 12
    layer_lines = [line for line in text.splitlines() if line.startswith('    {"name"')]
    assert len(layer_lines) == 12


def test_csv_has_a_column_per_report_column(report: cnnscope.Report) -> None:
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == [c.key for c in report.columns]
    assert len(rows) == 1 + 12
    by_name = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_name["conv1"]["output_shape"] == "1x6x28x28"  # (32 − 5)/1 + 1 = 28
    assert by_name["conv1"]["params"] == str((5 * 5 * 1 + 1) * 6)


def test_markdown_table_totals_and_figures(report: cnnscope.Report) -> None:
    md = to_markdown(report)
    assert md.startswith("### lenet5")
    assert "| **total** |" in md and "**61,706**" in md  # LeNet-5: 61,706 parameters
    assert "FLOPs (= 2 × MACs)" in md


def test_csv_markdown_and_table_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params", "cs231n-conv", "-f", "csv"]) == 0
    assert capsys.readouterr().out.startswith("name,type,output_shape,params")
    assert main(["summary", "cs231n-conv", "-f", "markdown"]) == 0
    assert "| conv1 |" in capsys.readouterr().out


@pytest.mark.parametrize("fmt_name", ["table", "json", "csv", "markdown"])
def test_layers_command_in_every_format(fmt_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", "-f", fmt_name]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "adaptiveavgpool2d" in out
    if fmt_name == "json":
        doc = json.loads(out)
        types = {t["type"] for t in doc["layers"]}
        assert types == set(__import__("cnnscope.layers", fromlist=["registry"]).registry())
        assert doc["schema_version"] == SCHEMA_VERSION
    if fmt_name == "csv":  # csv.writer quotes a summary with a comma; nothing is replaced by ";"
        rows = list(csv.DictReader(io.StringIO(out)))
        by_type = {r["type"]: r for r in rows}
        from cnnscope.layers import registry

        assert by_type["conv2d"]["summary"] == registry()["conv2d"].summary
        assert any("," in r["summary"] for r in rows)


def test_layers_command_one_type_and_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layers", "conv2d"]) == 0
    out = capsys.readouterr().out
    assert "kernel_size" in out and "required" in out
    assert main(["layers", "conv2"]) == 2
    assert "did you mean" in capsys.readouterr().err


# -- one emitter per format ---------------------------------------------------------------


def test_every_format_is_one_module_with_both_emitters() -> None:
    import pkgutil

    from cnnscope.render import formats

    listed = {m.name for m in pkgutil.iter_modules(formats.__path__) if not m.name.startswith("_")}
    assert set(formats.FORMATS) == listed >= {"table", "json", "csv", "markdown", "github"}
    for name in formats.FORMATS:
        e = formats.emitter(name)
        assert callable(e.report) and callable(e.document), name


def _doc() -> object:
    from cnnscope.diagnostics import Diagnostic, Location
    from cnnscope.render.document import Document, Field, Table, Text, heading

    table = Table(
        [Field("name", "layer", code=True), Field("params", "params", "count")], [{"name": "fc_1", "params": 5130}]
    )
    d = Diagnostic(
        "huge-fc", "warning", "fc_1 holds 5,130 params", Location("a,b:c.yaml", 3, 5), subject="fc_1", why="w"
    )
    return Document([heading("net: lint"), table, Text("a note", "note"), d], {"n": 1}, "net: 1 warning")


@pytest.mark.parametrize("fmt_name", __import__("cnnscope.render.formats", fromlist=["FORMATS"]).FORMATS)
def test_a_document_in_every_format(fmt_name: str) -> None:
    from cnnscope.render import emit

    out, err = io.StringIO(), io.StringIO()
    emit(_doc(), fmt_name, out, err)  # type: ignore[arg-type]
    text = out.getvalue()
    assert text.strip() and err.getvalue() == ""
    if fmt_name == "json":
        assert json.loads(text) == {"schema_version": SCHEMA_VERSION, "n": 1}
    elif fmt_name == "csv":
        assert list(csv.reader(io.StringIO(text))) == [["name", "params"], ["fc_1", "5130"]]  # raw, unformatted
    elif fmt_name == "github":
        assert text.endswith("net: 1 warning\n")
    else:
        assert "5,130" in text and "huge-fc" in text and "net: 1 warning" in text
    if fmt_name == "markdown":
        assert "| `fc_1` | 5,130 |" in text and "> a note" in text and text.startswith("### net: lint\n")


def test_github_annotation_escapes_properties_and_message() -> None:
    from cnnscope.render.formats.github import annotation

    line = annotation(_doc().diagnostics[0])  # type: ignore[attr-defined]
    head, body = line.split("::", 2)[1:]
    assert head == "warning file=a%2Cb%3Ac.yaml,line=3,col=5,title=cnnscope huge-fc (fc_1)"
    assert "\n" not in body and body.replace("%0A", "\n").startswith("warning[huge-fc]: fc_1 holds 5,130 params\n")


def test_the_json_path_never_imports_rich() -> None:
    import subprocess
    import sys

    for args in (["summary", "lenet5"], ["check", "lenet5", "--max-params", "1M"], ["zoo"], ["lint", "lenet5"]):
        code = (
            "import sys; from cnnscope.cli.main import main; "
            f"rc = main({[*args, '-f', 'json']!r}); assert 'rich' not in sys.modules, 'rich imported'; sys.exit(rc)"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, (args, proc.stderr)


EVERY_COMMAND = [
    ["summary", "lenet5"],
    ["check", "lenet5", "--no-config", "--max-params", "60K"],  # 61,706 > 60,000: exceeded
    ["lint", "vgg16_bn", "--select", "huge-fc"],
    ["explain", "lenet5", "--layer", "conv1"],
    ["fit", "lenet5", "--range", "31:32"],
    ["layers"],
]


@pytest.mark.parametrize("fmt_name", __import__("cnnscope.render.formats", fromlist=["FORMATS"]).FORMATS)
@pytest.mark.parametrize("argv", EVERY_COMMAND, ids=lambda a: a[0])
def test_every_command_takes_every_format(argv: list[str], fmt_name: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*argv, "--format", fmt_name])
    out, err = capsys.readouterr()
    assert rc in (0, 1) and "Traceback" not in err and "internal error" not in err, err
    if fmt_name == "github" and argv[0] == "check":  # the one exceeded budget, annotated at the fc1 layer
        assert out.count("::error ") == 1 and "title=cnnscope budget-exceeded (max_params)" in out
    if fmt_name == "json":
        assert json.loads(out)["schema_version"] == SCHEMA_VERSION
