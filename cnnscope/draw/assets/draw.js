// cnnscope draw: the page's behaviour (inlined into every page; no network, no libraries).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cs-data").textContent);
  var palette = data.palette;
  var measure = data.measure;
  var stack = [];
  var zoom = 1;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function num(v) { return v === undefined || v === null ? "–" : Number(v).toLocaleString("en-US"); }
  function flat(v) {
    if (v === undefined || v === null) { return "–"; }
    return Array.isArray(v) ? v.join("×") : String(v);
  }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function colourIndex(rel) {
    return Math.min(palette.length - 1, Math.max(0, Math.floor(rel * (palette.length - 1) + 0.5)));
  }

  function recolour(svg) {
    var boxes = svg.querySelectorAll(".cs-box:not(.cs-input)");
    var total = data.totals[measure] || 0;
    var top = 0;
    boxes.forEach(function (b) { top = Math.max(top, Number(b.getAttribute("data-" + measure)) || 0); });
    boxes.forEach(function (b) {
      var v = Number(b.getAttribute("data-" + measure)) || 0;
      var k = colourIndex(top ? v / top : 0);
      b.setAttribute("data-share", total ? (v / total).toFixed(6) : "0");
      b.querySelectorAll(":scope > rect").forEach(function (r) { r.setAttribute("fill", palette[k]); });
      b.querySelectorAll(":scope > text").forEach(function (t) { t.setAttribute("fill", k >= 5 ? "#ffffff" : "#1f2328"); });
    });
    return total ? top / total : 0;
  }

  function legend(topShare) {
    var box = document.getElementById("cs-legend");
    box.textContent = "";
    box.appendChild(el("b", null, "0"));
    palette.forEach(function (c) { var i = el("i"); i.style.background = c; box.appendChild(i); });
    box.appendChild(el("b", null, pct(topShare) + " of all " + data.measureTitles[measure] + " (the costliest box)"));
  }

  function recolourAll() {
    var top = recolour(document.getElementById("cs-graph"));
    document.querySelectorAll("#cs-panel-body svg.cs-graph").forEach(recolour);
    legend(top);
  }

  function row(table, key, value) {
    var tr = el("tr");
    tr.appendChild(el("td", null, key));
    tr.appendChild(el("td", null, value));
    table.appendChild(tr);
  }

  function share(v, key) { var t = data.totals[key]; return t ? " (" + pct(v / t) + ")" : ""; }

  function showLayer(pane, name) {
    var L = data.layers[name];
    pane.appendChild(el("h2", null, name));
    var t = el("table");
    row(t, "type", L.type);
    row(t, "from", (L.inputs || []).join(", "));
    if (L.status) { row(t, "diff", L.status + (L.changes && L.changes.length ? ": " + L.changes.join("; ") : "")); }
    row(t, "output", flat(L.output_shape));
    row(t, "params", num(L.params) + share(L.params || 0, "params"));
    if (L.trainable_params !== undefined && L.trainable_params !== L.params) { row(t, "trainable", num(L.trainable_params)); }
    row(t, "MACs", num(L.macs) + share(L.macs || 0, "macs"));
    row(t, "FLOPs", num(L.flops));
    row(t, "other ops", num(L.other_ops_total));
    row(t, "activations", num(L.activation_bytes) + " B" + share(L.activation_bytes || 0, "activations"));
    if (L.rf) {
      row(t, "receptive field", flat(L.rf.display));
      row(t, "RF stride", flat(L.rf.stride));
      row(t, "RF padding", flat(L.rf.padding));
    }
    pane.appendChild(t);
    (L.warnings || []).forEach(function (w) { pane.appendChild(el("p", { "class": "cs-warning" }, "⚠ " + w)); });
    if (L.explain && L.explain.length) {
      pane.appendChild(el("h3", null, "explain"));
      var ol = el("ol", { "class": "cs-explain" });
      L.explain.forEach(function (line) { ol.appendChild(el("li", null, line)); });
      pane.appendChild(ol);
    }
  }

  function showBox(box) {
    var pane = document.getElementById("cs-detail");
    pane.textContent = "";
    document.querySelectorAll(".cs-selected").forEach(function (b) { b.classList.remove("cs-selected"); });
    box.classList.add("cs-selected");
    var kind = box.getAttribute("data-kind");
    if (kind === "layer") { showLayer(pane, box.getAttribute("data-name")); return; }
    pane.appendChild(el("h2", null, box.getAttribute("data-title") + (kind === "fold" ? " ×" + box.getAttribute("data-count") : "")));
    var t = el("table");
    row(t, "output", box.getAttribute("data-shape").split("x").join("×"));
    if (kind === "fold") {
      var members = box.getAttribute("data-members").split(" ");
      row(t, "layers", num(members.length) + " in " + box.getAttribute("data-count") + " copies");
      row(t, "params", num(box.getAttribute("data-params")) + share(Number(box.getAttribute("data-params")), "params"));
      row(t, "MACs", num(box.getAttribute("data-macs")) + share(Number(box.getAttribute("data-macs")), "macs"));
      row(t, "activations", num(box.getAttribute("data-activations")) + " B");
      row(t, "receptive field", box.getAttribute("data-rf").split("x").join("×"));
      pane.appendChild(t);
      var open = el("button", null, "open the first copy");
      open.addEventListener("click", function () { openFold(box.getAttribute("data-box"), true); });
      pane.appendChild(open);
    } else {
      pane.appendChild(t);
    }
  }

  function openFold(id, fresh) {
    var tpl = document.querySelector('template[data-fold="' + id + '"]');
    if (!tpl) { return; }
    if (fresh) { stack = []; }
    stack.push(id);
    renderPanel();
  }

  function renderPanel() {
    var panel = document.getElementById("cs-panel");
    var body = document.getElementById("cs-panel-body");
    body.textContent = "";
    if (!stack.length) { panel.hidden = true; return; }
    var tpl = document.querySelector('template[data-fold="' + stack[stack.length - 1] + '"]');
    document.getElementById("cs-panel-title").textContent =
      tpl.getAttribute("data-title") + " ×" + tpl.getAttribute("data-count");
    body.appendChild(tpl.content.cloneNode(true));
    body.querySelectorAll("svg.cs-graph").forEach(function (svg) { recolour(svg); wire(svg); });
    document.getElementById("cs-back").disabled = stack.length < 2;
    panel.hidden = false;
  }

  function wire(svg) {
    svg.querySelectorAll(".cs-box").forEach(function (b) {
      b.addEventListener("click", function (ev) {
        ev.stopPropagation();
        showBox(b);
        if (b.getAttribute("data-kind") === "fold") { openFold(b.getAttribute("data-box"), !svg.closest("#cs-panel")); }
      });
    });
  }

  function setZoom(z) {
    var svg = document.getElementById("cs-graph");
    zoom = Math.max(0.05, Math.min(4, z));
    var w = Number(svg.getAttribute("width")), h = Number(svg.getAttribute("height"));
    svg.style.width = (w * zoom).toFixed(0) + "px";
    svg.style.height = (h * zoom).toFixed(0) + "px";
  }

  document.getElementById("cs-measure").addEventListener("change", function (ev) {
    measure = ev.target.value;
    recolourAll();
  });
  document.getElementById("cs-zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  document.getElementById("cs-zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
  document.getElementById("cs-zoom-fit").addEventListener("click", function () {
    var svg = document.getElementById("cs-graph");
    var main = document.getElementById("cs-main");
    var zw = (main.clientWidth - 20) / Number(svg.getAttribute("width"));
    var zh = (main.clientHeight - 20) / Number(svg.getAttribute("height"));
    setZoom(Math.min(zw, zh));  // the whole graph in view
  });
  document.getElementById("cs-close").addEventListener("click", function () { stack = []; renderPanel(); });
  document.getElementById("cs-back").addEventListener("click", function () { stack.pop(); renderPanel(); });
  document.getElementById("cs-panel").addEventListener("click", function (ev) {
    if (ev.target.id === "cs-panel") { stack = []; renderPanel(); }
  });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { stack = []; renderPanel(); } });

  wire(document.getElementById("cs-graph"));
  recolourAll();
  document.documentElement.setAttribute("data-ready", "1");
})();
