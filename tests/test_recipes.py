"""docs/architecture.md's four recipes, followed as written: a new layer type, a new capture
rule, a new lint rule and a new output format, each one new file in a copy of the package,
then used from the command line as a person would. Nothing else is edited, no registry is
told, and the copy has run before the files appear (a cache made then must not hide them).

The oracles: torch's own forward pass for the captured module's shapes, the element count
for the new type's ops, and the spec's own line numbers for the lint finding."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import cnnscope  # noqa: E402

LAYER = '''"""sinc: sin(pi x) / (pi x), elementwise."""

from __future__ import annotations

from typing import Any, ClassVar

from cnnscope.layers.base import Layer, layer_dataclass, register


@register
@layer_dataclass
class Sinc(Layer):
    torch_name: ClassVar[str] = "Sinc"
    summary: ClassVar[str] = "sin(pi x) / (pi x), the normalized sinc"
    keeps_layout: ClassVar[bool] = True
    ops_kind: ClassVar[str] = "elementwise"
    ops_per_element: ClassVar[int] = 3

    def to_torch(self, ins: Any) -> Any:
        import torch

        class Sinc(torch.nn.Module):
            def forward(self, x: Any) -> Any:
                return torch.sinc(x)

        return Sinc()
'''

RULE = '''"""torch.sinc as the sinc layer."""

from __future__ import annotations

from cnnscope.frontends.torch.rules import Call, Mapped, rule, try_make


@rule("sinc")
def _sinc(call: Call) -> Mapped | None:
    layer = try_make("sinc")
    return Mapped([layer]) if layer is not None else None
'''

LINT = '''"""`sinc-activation`: a sinc used as an activation."""

from __future__ import annotations

from collections.abc import Iterator

from cnnscope.learn.lint.base import Hit, LintContext, rule


@rule(
    "sinc-activation",
    "info",
    "a sinc used as an activation",
    "sinc oscillates, so its gradient changes sign again and again.",
    "Use a monotone activation (ReLU, GELU).",
)
def _sinc_activation(ctx: LintContext) -> Iterator[Hit]:
    for node in ctx.graph.nodes:
        if node.type == "sinc":
            yield Hit(node, f"`{node.name}` is a sinc")
'''

FORMAT = '''"""Tab-separated values: a header of keys, then one line per row."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from cnnscope.analyze.base import Report
from cnnscope.render.units import get_path

if TYPE_CHECKING:
    from cnnscope.render.document import Document


def report(report: Report, out: TextIO, err: TextIO, title: str | None = None) -> None:
    out.write("\\t".join(c.key for c in report.columns) + "\\n")
    for row in report.rows:
        out.write("\\t".join(str(get_path(row, c.key)) for c in report.columns) + "\\n")


def document(doc: Document, out: TextIO, err: TextIO) -> None:
    table = doc.csv_table()
    if table is None:
        return
    out.write("\\t".join(f.key for f in table.fields) + "\\n")
    for row in table.rows:
        out.write("\\t".join(str(get_path(row, f.key)) for f in table.fields) + "\\n")
'''

SPEC = """name: sinc-net
input: [3, 16, 16]
layers:
  - {type: conv2d, out_channels: 4, kernel_size: 3, name: conv}
  - {type: sinc, name: wave}
  - {type: conv2d, out_channels: 2, kernel_size: 3, name: head}
"""

MODULE = """import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.sinc(self.conv(x))[:, :, 1:]
"""


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package that has run once (its cache warm), then gets the four files."""
    root = tmp_path_factory.mktemp("recipes")
    shutil.copytree(Path(cnnscope.__file__).parent, root / "cnnscope", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "net.yaml").write_text(SPEC)
    (root / "net.py").write_text(MODULE)
    assert _run(root, "-c", "import cnnscope; print(cnnscope.__file__)").strip() == str(root / "cnnscope/__init__.py")
    before = json.loads(_cli(root, "shapes", "lenet5", "-f", "json"))
    assert before["layers"]  # the copy works, and has made its cache
    assert "unknown" in _cli(root, "shapes", "net.yaml", code=2)  # no sinc type yet
    files = {
        "layers/sinc.py": LAYER,
        "frontends/torch/rules/sinc.py": RULE,
        "learn/lint/rules/sinc_activation.py": LINT,
        "render/formats/tsv.py": FORMAT,
    }
    for where, text in files.items():
        (root / "cnnscope" / where).write_text(text)
    return root


def _run(root: Path, *args: str, code: int = 0) -> str:
    env = {**os.environ, "PYTHONPATH": str(root), "CNNSCOPE_CACHE_DIR": str(root / "cache"), "COLUMNS": "120"}
    env.pop("CNNSCOPE_NO_CACHE", None)
    proc = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == code, (args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout + proc.stderr


def _cli(root: Path, *args: str, code: int = 0) -> str:
    return _run(root, "-m", "cnnscope", *args, code=code)


def _json(root: Path, *args: str, code: int = 0) -> Any:
    return json.loads(_run(root, "-m", "cnnscope", *args, "-f", "json", code=code))


def test_a_new_layer_type_is_one_file(copy: Path) -> None:
    data = _json(copy, "flops", "net.yaml")
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["wave"]["type"] == "sinc"
    assert rows["wave"]["output_shape"] == [1, 4, 14, 14]  # conv 3x3 on 16: 14; sinc keeps it
    assert rows["head"]["output_shape"] == [1, 2, 12, 12]
    assert rows["wave"]["macs"] == 0
    assert rows["wave"]["other_ops"] == {"elementwise": 3 * 4 * 14 * 14}  # 3 per element, as declared
    assert data["totals"]["other_ops"]["elementwise"] == 3 * 4 * 14 * 14
    assert "sinc" in _cli(copy, "layers")
    explained = _json(copy, "explain", "net.yaml")
    assert [x["type"] for x in explained["layers"]] == ["conv2d", "sinc", "conv2d"]


def test_a_new_capture_rule_is_one_file(copy: Path) -> None:
    data = _json(copy, "shapes", "net.py:Net", "-i", "3,10,10")
    types = [r["type"] for r in data["layers"]]
    assert "sinc" in types and "unsupported" not in types
    import torch  # the oracle: torch runs the same class

    namespace: dict[str, Any] = {}
    exec(MODULE, namespace)
    expected = list(namespace["Net"]()(torch.zeros(1, 3, 10, 10)).shape)
    assert data["layers"][-1]["output_shape"] == expected


def test_a_new_lint_rule_is_one_file(copy: Path) -> None:
    assert "sinc-activation" in _cli(copy, "lint", "--list-rules")
    data = _json(copy, "lint", "net.yaml", "--select", "sinc-activation")  # info: below --fail-on warning
    hits = [d for d in data["findings"] if d["id"] == "sinc-activation"]
    assert len(hits) == 1
    assert hits[0]["location"]["line"] == SPEC.splitlines().index("  - {type: sinc, name: wave}") + 1


def test_a_new_output_format_is_one_file(copy: Path) -> None:
    lines = _cli(copy, "shapes", "net.yaml", "-f", "tsv").splitlines()
    header = lines[0].split("\t")
    assert "name" in header and len(lines) == 1 + 3
    assert lines[2].split("\t")[header.index("name")] == "wave"
    rules = _cli(copy, "lint", "--list-rules", "-f", "tsv").splitlines()  # a document, not a report
    assert any("sinc-activation" in line.split("\t") for line in rules[1:])
    assert "tsv" in _cli(copy, "shapes", "net.yaml", "-f", "nosuch", code=2)  # offered beside the others


def test_a_broken_rule_file_is_an_error_not_a_quiet_opaque_node(copy: Path, tmp_path: Path) -> None:
    """A capture rule whose module cannot import would leave its ops opaque, and the model's
    figures quietly wrong: it is cnnscope's internal error (exit 3), naming the file."""
    broken = copy / "cnnscope/frontends/torch/rules/zz_broken.py"
    broken.write_text("from cnnscope.frontends.torch.rules import no_such_name\n")
    try:
        out = _cli(copy, "shapes", "net.py:Net", "-i", "3,10,10", code=3)
    finally:
        broken.unlink()
    assert "zz_broken" in out and "no_such_name" in out
    assert "forward-failed" not in out  # not blamed on the model's forward
