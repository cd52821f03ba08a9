"""The golden files' invariants (tests/goldens.py): every golden has one, and each one bites.

A bite is shown on the stored golden itself: one figure changed (an output shape, a layer's
parameter count, a total, a published figure, a receptive field) and its invariant must fail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from goldens import GOLDEN, NO_INVARIANT, check_zoo_rf, invariant_for, table_rows

TESTS = Path(__file__).parent
LAYER_TABLES = sorted(p.name for p in GOLDEN.iterdir() if p.name != "zoo.json")


def test_every_golden_has_an_invariant() -> None:
    names = sorted(p.name for p in GOLDEN.iterdir())
    assert len(names) == 25 and "zoo.json" in names
    for name in names:
        assert name in NO_INVARIANT or invariant_for(name) is not None
    assert not NO_INVARIANT  # none is exempt today; an exemption names its reason there
    with pytest.raises(pytest.fail.Exception, match="has no invariant"):
        invariant_for("summary-lenet5.html")


def test_goldens_are_compared_only_through_the_helper() -> None:
    # a test that read tests/golden/ itself would skip the invariant
    for path in sorted(TESTS.glob("*.py")):
        if path.name not in ("goldens.py", "test_goldens.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"""["']golden["']|golden/\w""", text), f"{path.name} reads tests/golden/ itself"


def _fails(name: str, text: str) -> None:
    with pytest.raises(AssertionError):
        invariant_for(name)(name, text)


def _shape_text(ext: str, shape: tuple[int, ...]) -> str:
    return {"json": str(list(shape)), "csv": "x".join(map(str, shape))}.get(ext, "×".join(map(str, shape)))


@pytest.mark.parametrize("name", LAYER_TABLES)
def test_layer_table_invariant_bites(name: str) -> None:
    ext = name.rsplit(".", 1)[1]
    text = (GOLDEN / name).read_text(encoding="utf-8")
    invariant_for(name)(name, text)  # the stored golden holds
    rows, total = table_rows(ext, text)
    first = rows[0]
    # one output shape one wider than torch's
    shape = first["output_shape"]
    wider = (*shape[:-1], shape[-1] + 1)
    assert _shape_text(ext, shape) in text
    _fails(name, text.replace(_shape_text(ext, shape), _shape_text(ext, wider), 1))
    if "params" not in first:
        return
    # one layer's parameter count one more than numel(), in that layer's line only
    lines = text.splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if first["name"] in ln and _shape_text(ext, shape) in ln)
    n = first["params"]
    cell = f'"params": {n}' if ext == "json" else (f",{n}," if ext == "csv" else f" {n:,} ")
    bumped = f'"params": {n + 1}' if ext == "json" else (f",{n + 1}," if ext == "csv" else f" {n + 1:,} ")
    assert cell in lines[k], (name, lines[k])
    _fails(name, "".join([*lines[:k], lines[k].replace(cell, bumped, 1), *lines[k + 1 :]]))
    if total is not None:  # the total one more than the rows' sum
        t = total["params"]
        cell, bumped = (f'"params": {t}', f'"params": {t + 1}') if ext == "json" else (f"{t:,}", f"{t + 1:,}")
        assert cell in text
        _fails(name, text.replace(cell, bumped))


def test_zoo_invariant_bites() -> None:
    text = (GOLDEN / "zoo.json").read_text(encoding="utf-8")
    doc = json.loads(text)
    first = doc["specs"][0]
    doc["specs"][0] = {**first, "params": first["params"] + 1}  # not the published count
    _fails("zoo.json", json.dumps(doc))
    # a receptive field one pixel off the measured one (held alone: the whole table is slow)
    import cnnscope

    row = next(r for r in json.loads(text)["specs"] if r["name"] == "lenet5")
    check_zoo_rf(cnnscope.load("lenet5"), row["rf"])
    for key in ("size", "stride", "padding"):
        off = {**row["rf"], key: [row["rf"][key][0] + 1, row["rf"][key][1]]}
        with pytest.raises(AssertionError):
            check_zoo_rf(cnnscope.load("lenet5"), off)
