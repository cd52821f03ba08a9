"""What changed between two architectures, per layer and in total.

Layers are matched by name. A layer is *changed* when its type, fields, inputs, output
shape or parameter count differ; the deltas are in params, MACs and activation memory
(whichever figures the analyzers give), and every numeric total is compared, in the unit
its analyzer declares. :func:`load_at_revision` reads a spec as it was at a git revision.
"""

from __future__ import annotations

import difflib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnscope.analyze.base import Report, analyze
from cnnscope.errors import Location, SourceError, UsageError
from cnnscope.graph import Graph, Node

LAYER_FIGURES = ("params", "macs", "activation_bytes")  # per-layer deltas, where the report has them


@dataclass(frozen=True)
class Change:
    """One difference of a layer present in both graphs: ``kind`` is ``type``, ``field``
    (``key`` names it; a value of None is the field at its default), ``inputs``,
    ``output_shape`` or ``params``."""

    kind: str
    old: Any
    new: Any
    key: str | None = None


@dataclass
class LayerDiff:
    """One layer of an architecture diff: added, removed, changed or unchanged, and how."""

    name: str
    status: str  # added | removed | changed | unchanged
    old_type: str | None = None
    new_type: str | None = None
    changes: list[Change] = field(default_factory=list)
    deltas: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # figure -> (old, new)
    loc: Location | None = None

    def delta(self, fig: str) -> int | float | None:
        """new - old (a layer that is not there counts 0); None when neither has the figure."""
        old, new = self.deltas.get(fig, (None, None))
        if old is None and new is None:
            return None
        d: int | float | None = difference(old or 0, new or 0)
        return d


@dataclass
class ArchDiff:
    """Two graphs compared: both reports, the layers matched by name, the totals before and after."""

    old: Report
    new: Report
    layers: list[LayerDiff]
    totals: dict[str, tuple[Any, Any]]
    units: dict[str, str]  # figure -> its declared unit

    def count(self, status: str) -> int:
        return sum(1 for d in self.layers if d.status == status)

    @property
    def differs(self) -> bool:
        return any(d.status != "unchanged" for d in self.layers) or any(o != n for o, n in self.totals.values())


def difference(old: Any, new: Any) -> Any:
    """``new - old`` for two numbers, else None."""
    if isinstance(new, (int, float)) and isinstance(old, (int, float)):
        return new - old
    return None


def percent_change(old: Any, new: Any) -> float | None:
    d = difference(old, new)
    if d is None or not old:
        return None
    return round(float(d) / float(old) * 100, 4)


def _top_numeric(report: Report) -> dict[str, Any]:
    return {k: v for k, v in report.totals.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _layer_changes(a: Node, b: Node, ra: dict[str, Any], rb: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    if a.type != b.type:
        out.append(Change("type", a.type, b.type))
    else:
        ca, cb = a.layer.config(), b.layer.config()
        for k in list(dict.fromkeys([*ca, *cb])):
            if ca.get(k) != cb.get(k):
                out.append(Change("field", ca.get(k), cb.get(k), k))
    if a.inputs != b.inputs:
        out.append(Change("inputs", a.inputs, b.inputs))
    if ra.get("output_shape") != rb.get("output_shape"):
        out.append(Change("output_shape", ra.get("output_shape"), rb.get("output_shape")))
    if ra.get("params") != rb.get("params") and not out:
        out.append(Change("params", ra.get("params"), rb.get("params")))
    return out


def diff_graphs(old: Graph, new: Graph, batch: int = 1) -> ArchDiff:
    ro, rn = analyze(old, None, batch=batch), analyze(new, None, batch=batch)
    figs = [f for f in LAYER_FIGURES if any(f in r for r in ro.rows) or any(f in r for r in rn.rows)]
    names_o, names_n = [n.name for n in old.nodes], [n.name for n in new.nodes]
    in_o, in_n = set(names_o), set(names_n)
    # interleave: the order of the new graph, removed layers where they stood in the old one
    order: list[str] = []
    sm = difflib.SequenceMatcher(a=names_o, b=names_n, autojunk=False)
    for _tag, i1, i2, j1, j2 in sm.get_opcodes():
        order.extend(n for n in names_o[i1:i2] if n not in in_n)
        order.extend(names_n[j1:j2])
    seen: set[str] = set()
    layers: list[LayerDiff] = []
    for name in order:
        if name in seen:
            continue
        seen.add(name)
        a = old.node(name) if name in in_o else None
        b = new.node(name) if name in in_n else None
        rowo = ro.row(name) if a else {}
        rown = rn.row(name) if b else {}
        deltas = {f: (rowo.get(f), rown.get(f)) for f in figs}
        if a is None and b is not None:
            layers.append(LayerDiff(name, "added", None, b.type, [], deltas, b.loc))
        elif b is None and a is not None:
            layers.append(LayerDiff(name, "removed", a.type, None, [], deltas, a.loc))
        elif a is not None and b is not None:
            ch = _layer_changes(a, b, rowo, rown)
            layers.append(LayerDiff(name, "changed" if ch else "unchanged", a.type, b.type, ch, deltas, b.loc))
    to, tn = _top_numeric(ro), _top_numeric(rn)
    totals = {k: (to.get(k), tn.get(k)) for k in dict.fromkeys([*to, *tn])}
    units = {k: rn.unit_of(k) or ro.unit_of(k) or "count" for k in [*totals, *figs]}
    return ArchDiff(ro, rn, layers, totals, units)


# -- git ------------------------------------------------------------------------------------


def load_at_revision(source: str, rev: str, input_shape: tuple[int, ...] | None = None) -> Graph:
    """The spec file ``source`` as it was at git revision ``rev`` (``git show REV:./file``)."""
    from cnnscope.frontends.yaml.loader import load_spec

    path = Path(source)
    if not path.is_file():
        raise SourceError("source-not-found", f"--against needs a spec file in a git work tree; no file `{source}`")
    folder = path.resolve().parent
    try:
        proc = subprocess.run(
            ["git", "cat-file", "blob", "--end-of-options", f"{rev}:./{path.name}"],  # REV is never an option
            cwd=folder,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("no-git", "--against needs git, which is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise SourceError("git-failed", f"`git show {rev}:{source}` did not finish in 60 s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(
            "git-failed",
            f"cannot read `{source}` at revision `{rev}`: " + (msg[0] if msg else "git show failed"),
            hint="is the file committed at that revision, and is it inside a git repository?",
        )
    return load_spec(proc.stdout, file=f"{rev}:{source}", source=f"{source}@{rev}", input_shape=input_shape)
