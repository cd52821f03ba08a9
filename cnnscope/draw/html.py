"""The one-file HTML page: the drawing, its charts, a details pane and the folds' copies.

Everything is inline (the script and style are package data, :mod:`cnnscope.draw.assets`),
and a Content-Security-Policy forbids the page any network request, so it works offline
and shows the same thing everywhere. The SVG is drawn in Python (:mod:`cnnscope.draw.svg`);
the script only adds behaviour: click a box for its full figures and its ``explain`` lines,
click a fold to open its first copy (a nested fold opens in turn), recolour by another
measure, zoom.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from typing import Any

from cnnscope.draw import labels
from cnnscope.draw.charts import charts
from cnnscope.draw.fold import Box
from cnnscope.draw.scene import Scene
from cnnscope.draw.svg import drawing_svg
from cnnscope.render.units import dims, nbytes, shape, si

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
MEASURE_TITLES = {"macs": "MACs", "params": "parameters", "activations": "activation memory"}


def asset(name: str) -> str:
    return files("cnnscope.draw").joinpath("assets", name).read_text(encoding="utf-8")


def _json_script(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _copies_table(sc: Scene, box: Box) -> str:
    rows = []
    for k, copy in enumerate(box.copies):
        last = sc.items[copy[-1]].row
        params = sum(sc.items[m].figure("params") for m in copy)
        macs = sum(sc.items[m].figure("macs") for m in copy)
        head = copy[0].rsplit(".", 1)[0] if len(copy) > 1 else copy[0]
        out = escape(shape(last.get("output_shape")))
        rows.append(
            f"<tr><td>{k + 1}</td><td><code>{escape(head)}</code></td><td>{out}</td>"
            f"<td>{int(params):,}</td><td>{int(macs):,}</td><td>{escape(dims(labels.rf_display(last)))}</td></tr>"
        )
    return (
        '<table class="cs-copies"><thead><tr><th>#</th><th>copy</th><th>output</th><th>params</th><th>MACs</th>'
        "<th>RF</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _data(sc: Scene) -> dict[str, Any]:
    layers: dict[str, Any] = {}
    drawn = {b.members[0] for b in sc.all_boxes().values() if b.kind == "layer"}
    for it in sc.picture.items:
        if it.name not in drawn:  # inside a fold's later copies: summed in the fold, never a box of its own
            continue
        entry = {k: v for k, v in it.row.items() if v != [] and k != "rf"}  # the page shows rf in three parts
        rf = it.row.get("rf")
        if isinstance(rf, dict):
            shown = labels.rf_display(it.row)
            entry["rf"] = {"display": shown, "stride": rf.get("stride"), "padding": rf.get("padding")}
        if it.explain:
            entry["explain"] = it.explain
        if it.status:
            entry["status"] = it.status
            entry["changes"] = it.changes
        layers[it.name] = entry
    boxes = {
        bid: {"kind": b.kind, "title": b.title, "count": b.count, "copies": len(b.copies)}
        for bid, b in sc.all_boxes().items()
        if b.kind == "fold"
    }
    return {
        "model": sc.picture.model,
        "measure": sc.measure,
        "palette": list(labels.PALETTE),
        "totals": sc.totals,
        "measureTitles": MEASURE_TITLES,
        "layers": layers,
        "folds": boxes,
    }


def _header(sc: Scene) -> str:
    pic = sc.picture
    t = pic.totals
    n_boxes = sum(1 for b in sc.main.boxes.values() if b.kind != "input")
    facts = [
        f"source <code>{escape(pic.source)}</code>",
        f"input {escape(shape(pic.input_shape))}",
        f"{int(t.get('params', 0)):,} params",
        f"{escape(si(t.get('macs', 0), 'MAC'))}",
        f"activations {escape(nbytes(t.get('activation_bytes', 0)))}" if "activation_bytes" in t else "",
        f"{len(pic.items):,} layers in {n_boxes:,} boxes",
    ]
    if pic.diff:
        s = pic.diff["summary"]
        facts.insert(0, ", ".join(f'<span class="cs-tag cs-{k}">{s[k]} {k}</span>' for k in s))
    opts = "".join(
        f'<option value="{k}"{" selected" if k == sc.measure else ""}>{v}</option>' for k, v in MEASURE_TITLES.items()
    )
    return (
        f"<header><h1>{escape(pic.title or pic.model)}</h1>"
        f'<p class="cs-meta">{" · ".join(f for f in facts if f)}</p>'
        f'<div class="cs-controls"><label>colour by <select id="cs-measure">{opts}</select></label>'
        '<span id="cs-legend" class="cs-legend"></span>'
        '<span class="cs-zoom"><button id="cs-zoom-out" title="zoom out">−</button>'
        '<button id="cs-zoom-fit" title="fit the width">fit</button>'
        '<button id="cs-zoom-in" title="zoom in">+</button></span>'
        '<span class="cs-hint">hover a box for its figures · click for details and explain · click a ×N box to '
        "open it</span></div></header>"
    )


def page(sc: Scene) -> str:
    """The HTML document (a str; write it as UTF-8)."""
    templates = []
    boxes = sc.all_boxes()
    for fid, d in sc.panels.items():
        box = boxes[fid]
        note = (
            f"the first of {box.count} copies; every copy has the same layers, wired the same way; colours are "
            "relative to this copy's costliest layer"
        )
        templates.append(
            f'<template data-fold="{fid}" data-title="{escape(box.title, quote=True)}" data-count="{box.count}">'
            f'<p class="cs-panel-note">{note}</p>{drawing_svg(sc, d)}{_copies_table(sc, box)}</template>'
        )
    title = escape(f"cnnscope: {sc.picture.title or sc.picture.model}")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta name="generator" content="cnnscope draw"><title>{title}</title>',
            f"<style>{asset('draw.css')}</style></head><body>",
            _header(sc),
            '<div class="cs-main-row"><section id="cs-main" class="cs-scroll">',
            drawing_svg(sc, sc.main, "cs-graph"),
            '</section><aside id="cs-detail"><p class="cs-muted">Click a box to see its figures and the '
            "formulas behind them.</p></aside></div>",
            f'<section id="cs-charts">{charts(sc.picture.items, sc.picture.input_shape)}</section>',
            '<div id="cs-panel" hidden><div class="cs-panel-box"><div class="cs-panel-head">'
            '<button id="cs-back" title="back">←</button><h2 id="cs-panel-title"></h2>'
            '<button id="cs-close" title="close">×</button></div><div id="cs-panel-body"></div></div></div>',
            *templates,
            f'<script type="application/json" id="cs-data">{_json_script(_data(sc))}</script>',
            f"<script>{asset('draw.js')}</script>",
            "</body></html>",
        ]
    )
