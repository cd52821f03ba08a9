"""Folding: repeated blocks become one box marked ×N.

Both frontends name a layer by where it sits: the YAML loader names the ``i``-th copy of
``{block: bottleneck, name: layer3, repeat: 36}`` ``layer3.<i>.conv1``, the module frontend
uses qualified module names (``layer3.4.conv1``, ``features.denseblock1.denselayer2.conv1``).
So blocks are read from the names alone: the dotted prefixes form a tree; siblings whose
keys are one stem with consecutive numbers (``0``, ``1``, … or ``denselayer1``, ``denselayer2``)
fold into one box when

- they are structurally identical: the same layers (relative names, types, fields) wired the
  same way inside; what comes in from outside may differ (a DenseNet layer concatenates
  every earlier one), and
- they form a chain: each copy takes an input from the copy before it (two identical
  parallel branches are not a repeat).

A prefix with several layers that does not fold is a :class:`Level` (a cluster in the
drawing: a stage, one block). A fold keeps the :class:`Level` of its first copy, which the
HTML page shows when the box is clicked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cnnscope.draw.model import Item

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass
class Box:
    """One node of the drawing: a layer, a fold of ``count`` copies, or the model input."""

    id: str
    kind: str  # layer | fold | input
    title: str
    members: list[str]  # layer names (every copy's, for a fold)
    count: int = 1
    inner: Level | None = None  # fold: the first copy, for the expanded view
    copies: list[list[str]] = field(default_factory=list)  # fold: members per copy


@dataclass
class Level:
    """A group of boxes drawn together (a cluster), or a whole drawing."""

    title: str
    children: list[Box | Level]

    def boxes(self) -> list[Box]:
        out: list[Box] = []
        for c in self.children:
            out.extend(c.boxes() if isinstance(c, Level) else [c])
        return out

    def members(self) -> list[str]:
        return [m for b in self.boxes() for m in b.members]


class Folder:
    def __init__(self, items: Mapping[str, Item], fold: bool = True) -> None:
        self.items = items
        self.fold_on = fold
        self.count = 0

    def new_id(self) -> str:
        self.count += 1
        return f"b{self.count}"

    def level(self, names: Sequence[str], prefix: str = "", title: str = "") -> Level:
        """The boxes and clusters of ``names`` (all starting with ``prefix``), in order."""
        groups: dict[str, list[str]] = {}
        for n in names:
            rest = n[len(prefix) :]
            groups.setdefault(rest.split(".", 1)[0], []).append(n)
        keys = list(groups)
        children: list[Box | Level] = []
        k = 0
        while k < len(keys):
            run = self.run_from(keys, k, groups, prefix) if self.fold_on else 1
            if run > 1:
                children.append(self.folded(keys[k : k + run], groups, prefix))
                k += run
                continue
            key = keys[k]
            members = groups[key]
            if members == [prefix + key]:
                children.append(Box(self.new_id(), "layer", prefix + key, members))
            else:
                sub = self.level(members, prefix + key + ".", prefix + key)
                children.append(sub.children[0] if len(sub.children) == 1 else sub)
            k += 1
        return Level(title, children)

    def signature(self, names: Sequence[str], base: str) -> tuple[object, ...]:
        inside = set(names)
        sig = []
        for n in names:
            it = self.items[n]
            ins = tuple(i[len(base) :] if i in inside else "^" for i in it.inputs)
            if "^" in ins:  # how many come in from outside may differ (DenseNet); that some do may not
                ins = (*(i for i in ins if i != "^"), "^")
            sig.append((n[len(base) :], it.key, ins, it.status))
        return tuple(sig)

    def run_from(self, keys: Sequence[str], k: int, groups: Mapping[str, list[str]], prefix: str) -> int:
        """How many siblings from ``keys[k]`` on fold together (1: none)."""
        m = _NUMBERED.match(keys[k])
        if m is None:
            return 1
        stem, start = m.group(1), int(m.group(2))
        first = prefix + keys[k]
        sig = self.signature(groups[keys[k]], first)
        prev = set(groups[keys[k]])
        run = 1
        while k + run < len(keys):
            key = keys[k + run]
            mk = _NUMBERED.match(key)
            if mk is None or mk.group(1) != stem or int(mk.group(2)) != start + run:
                break
            members = groups[key]
            if self.signature(members, prefix + key) != sig:
                break
            if not any(i in prev for n in members for i in self.items[n].inputs):
                break  # not a chain
            prev = set(members)
            run += 1
        return run

    def folded(self, keys: Sequence[str], groups: Mapping[str, list[str]], prefix: str) -> Box:
        copies = [groups[k] for k in keys]
        m0, m1 = _NUMBERED.match(keys[0]), _NUMBERED.match(keys[-1])
        assert m0 is not None and m1 is not None
        title = f"{prefix}{keys[0]}–{m1.group(2)}"
        first = copies[0]
        inner = self.level(first, prefix + keys[0] + ".", prefix + keys[0]) if first != [prefix + keys[0]] else None
        if inner is None:
            inner = Level(prefix + keys[0], [Box(self.new_id(), "layer", first[0], list(first))])
        members = [n for c in copies for n in c]
        return Box(self.new_id(), "fold", title, members, len(keys), inner, copies)


def fold(items: Sequence[Item], enabled: bool = True) -> Level:
    """The drawing's top level: every layer in a box, repeated blocks folded."""
    f = Folder({it.name: it for it in items}, enabled)
    return f.level([it.name for it in items])


def box_of(level: Level) -> dict[str, Box]:
    """Layer name -> the box that shows it, at this level."""
    return {m: b for b in level.boxes() for m in b.members}


def edges(level: Level, items: Mapping[str, Item], outside: str = "input") -> list[tuple[str, str]]:
    """The connections between this level's boxes (box ids), once each, none inside a box.

    A source outside the level (the model input, or, for a fold's expanded copy, the layers
    around it) maps to ``outside + ":" + name``.
    """
    owner = box_of(level)
    seen: dict[tuple[str, str], None] = {}
    for b in level.boxes():
        for m in b.members:
            for src in items[m].inputs:
                s = owner[src].id if src in owner else f"{outside}:{src}"
                if s != b.id:
                    seen[(s, b.id)] = None
    return list(seen)
