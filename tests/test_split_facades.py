"""The modules split for size (#18) that keep their names where they were: each name still
imports from the old module and is the object its new home defines; the parts an analytic
command does not need are not loaded at start-up; ``trunk`` is the one walk lint and the
shift summary share."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

import cnnscope
from cnnscope.analyze.base import trunk

ROOT = Path(__file__).resolve().parents[1]

# facade -> the modules it serves names from on first use (PEP 562 __getattr__)
LAZY = {
    "cnnscope.analyze.shift": ("cnnscope.analyze._shift_lattice", "cnnscope.analyze._shift_summary"),
    "cnnscope.layers.fields": ("cnnscope.layers._field_lists",),
}


def _type_checking_names(module: str) -> dict[str, str]:
    """name -> its home, as the facade's ``if TYPE_CHECKING:`` block imports it (what mypy sees)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                out.update({a.asname or a.name: imp.module for a in imp.names})
    return out


@pytest.mark.parametrize("facade", sorted(LAZY))
def test_each_name_the_type_checker_sees_resolves_to_its_home(facade: str) -> None:
    names = _type_checking_names(facade)
    assert names and set(names.values()) == set(LAZY[facade])
    mod = import_module(facade)
    for name, home in names.items():
        assert getattr(mod, name) is getattr(import_module(home), name), name
    with pytest.raises(AttributeError):
        mod.no_such_name  # noqa: B018


def test_lazily_served_names_are_exactly_the_type_checked_ones() -> None:
    from cnnscope.analyze import shift
    from cnnscope.layers import fields

    assert set(shift._HOME) == set(_type_checking_names("cnnscope.analyze.shift"))
    assert set(fields._LIST_KINDS) == set(_type_checking_names("cnnscope.layers.fields"))


def test_old_import_paths_still_work() -> None:
    from cnnscope.api import ModelReport, split_input  # noqa: F401
    from cnnscope.profile.runner import (  # noqa: F401
        DTYPES,
        BatchResult,
        ProfileResult,
        Stats,
        is_oom,
        measure,
        normalize_dtype,
        profile,
        quantile,
        resolve_device,
    )
    from cnnscope.profile.shift import LayerShift, ShiftMeasurement, measure_shifts, table_fields  # noqa: F401
    from cnnscope.whatif.formula import legend, show_poly, show_terms, steps, trace, used_atoms  # noqa: F401


def test_start_up_does_not_load_the_parts_it_does_not_use() -> None:
    # what `cnnscope summary` imports: the analyzer registry and the layer contract
    code = (
        "import sys, cnnscope.analyze, cnnscope.layers.base\n"
        "print(' '.join(m for m in sys.modules if m.startswith('cnnscope')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = set(out.stdout.split())
    assert "cnnscope.analyze.shift" in loaded  # registered, so `cnnscope shift` finds it
    for parts in LAZY.values():
        assert not loaded & set(parts)


def test_trunk_leaves_out_a_side_head_and_the_input() -> None:
    text = (ROOT / "tests" / "lint_specs" / "channels-shrink-aux.good.yaml").read_text(encoding="utf-8")
    g = cnnscope.load_spec(text)
    side = {"aux_pool", "aux_conv", "aux_relu", "aux_flat", "aux_fc"}  # read by no layer on the way to fc
    assert trunk(g) == {n.name for n in g.nodes} - side
    assert "input" not in trunk(g)
