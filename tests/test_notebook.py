"""A real notebook, executed by a real Jupyter kernel (nbclient + ipykernel): the report of a
live module displays as an HTML table with the right totals.

Needs the `test` extra's nbclient, nbformat and ipykernel; skipped without them, except in CI
(the CI env var set), where a missing piece is a failure, not a silent skip.
"""

from __future__ import annotations

import os

import pytest


def _need(name: str) -> object:
    try:
        return __import__(name)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the notebook test: pip install -e '.[test]' ({name} is missing)")
        pytest.skip(f"{name} is not installed (the `test` extra)")


CELLS = [
    "import torch, torch.nn as nn\nimport cnnscope",
    "torch.manual_seed(0)\n"
    "model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),\n"
    "                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))\n"
    "n_params = sum(p.numel() for p in model.parameters())\n"
    "print(n_params)",
    "cnnscope.summary(model, input_size=(1, 3, 32, 32))",
    'cnnscope.flops("lenet5")',
]


def test_a_notebook_shows_the_report_as_html() -> None:
    _need("torch")
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    nb = nbformat.v4.new_notebook()  # type: ignore[attr-defined]
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]  # type: ignore[attr-defined]
    client = nbclient.NotebookClient(  # type: ignore[attr-defined]
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": os.getcwd()}}
    )
    client.execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    n_params = int(printed.strip())
    assert n_params == 16 * 3 * 9 + 16 + 32 + 16 * 10 + 10
    html = next(o for o in nb.cells[2].outputs if o.output_type == "execute_result")["data"]
    assert "text/html" in html and "text/plain" in html
    page = html["text/html"]
    assert '<div class="cnnscope-report">' in page and "<table>" in page
    assert f'<td class="num">{n_params:,}</td>' in page  # the params total in the footer
    assert "Sequential" in page and "1×3×32×32" in page
    lenet = next(o for o in nb.cells[3].outputs if o.output_type == "execute_result")["data"]["text/html"]
    import cnnscope
    from cnnscope.render.units import fmt

    macs = cnnscope.flops("lenet5").totals["macs"]
    assert f'<td class="num">{fmt(macs, "macs")}</td>' in lenet  # the MACs total, as the CLI prints it
