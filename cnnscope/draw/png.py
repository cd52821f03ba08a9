"""PNG: Graphviz renders the ``--format dot`` file itself (``dot -Tpng``, cairo)."""

from __future__ import annotations

from cnnscope.draw.dot import to_dot
from cnnscope.draw.layout import run_dot
from cnnscope.draw.scene import Scene


def to_png(sc: Scene) -> bytes:
    return run_dot(to_dot(sc), "png")
