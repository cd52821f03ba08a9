"""Pictures of a network: the layer graph drawn with its numbers on it (``cnnscope draw``).

``to_html(graph_or_report)`` is the one-file HTML page (what a Report's ``_repr_html_`` can
show in Jupyter); :func:`render` writes any of the formats. The layout is Graphviz's ``dot``
(:mod:`cnnscope.draw.layout`); ``--format dot`` and ``--format mermaid`` need no renderer.
"""

from __future__ import annotations

from typing import Any

from cnnscope.analyze.base import Report
from cnnscope.draw.model import MEASURES, Picture, picture_of
from cnnscope.graph import Graph

FORMATS = ("html", "svg", "png", "dot", "mermaid")


def to_html(
    obj: Graph | Report | Picture, measure: str = "macs", fold: bool = True, batch: int = 1, embed: bool = False
) -> str:
    """The self-contained HTML page of a graph, a report or a diff picture.

    ``embed=True`` wraps the page in an ``<iframe srcdoc=...>``: what a notebook's
    ``_repr_html_`` should return, so the page's style, ids and script stay out of the
    notebook's own document (and several drawings can share one notebook).
    """
    from html import escape

    from cnnscope.draw.html import page
    from cnnscope.draw.scene import scene

    text = page(scene(picture_of(obj, batch), measure, fold))
    if not embed:
        return text
    return (
        f'<iframe class="cnnscope-draw" srcdoc="{escape(text, quote=True)}" '
        'style="width: 100%; height: 720px; border: 1px solid #d0d7de; border-radius: 6px"></iframe>'
    )


def to_svg(obj: Graph | Report | Picture, measure: str = "macs", fold: bool = True, batch: int = 1) -> str:
    from cnnscope.draw.scene import scene
    from cnnscope.draw.svg import to_svg as svg

    return svg(scene(picture_of(obj, batch), measure, fold))


def render(obj: Graph | Report | Picture, fmt: str, measure: str = "macs", fold: bool = True, batch: int = 1) -> Any:
    """The picture in ``fmt`` (str; bytes for png)."""
    if fmt == "html":
        return to_html(obj, measure, fold, batch)
    if fmt == "svg":
        return to_svg(obj, measure, fold, batch)
    from cnnscope.draw.scene import scene

    sc = scene(picture_of(obj, batch), measure, fold, with_layout=fmt == "png")
    if fmt == "png":
        from cnnscope.draw.png import to_png

        return to_png(sc)
    if fmt == "dot":
        from cnnscope.draw.dot import to_dot

        return to_dot(sc)
    from cnnscope.draw.mermaid import to_mermaid

    return to_mermaid(sc)


__all__ = ["FORMATS", "MEASURES", "render", "to_html", "to_svg"]
