// The explorer page of autograd_tiny: steps through a graph drawn by Graphviz.
// Every number was computed in Python from the engine's own records and arrives as text in
// the page's JSON; this script only shows it. User text goes in with textContent, never as HTML.
(function () {
  "use strict";
  var data = Page.data();
  var steps = data.steps;
  var svg = document.querySelector("#graph svg");
  var SVGNS = Page.SVGNS;
  var drawing = Page.index(svg);
  var nodes = drawing.nodes;
  var edges = drawing.edges;
  var layer = document.createElementNS(SVGNS, "g"); // the edge labels of the current step
  layer.setAttribute("class", "edge-labels");
  (svg.querySelector("g.graph") || svg).appendChild(layer);

  // A value's box and its copies (drawn again beside far uses) show the same data and grad.
  function drawn(name) { return [name].concat(data.copies[name] || []); }
  function setText(name, which, text) {
    var box = data.boxes[name];
    if (!box) return;
    drawn(name).forEach(function (n) {
      var el = Page.field(nodes[n], box[1] !== null, which);
      if (el) el.textContent = text;
    });
  }
  Object.keys(data.boxes).forEach(function (name) {
    var box = data.boxes[name];
    setText(name, "d", box[0]);
    if (box[1] !== null) setText(name, "g", box[1]);
  });

  var current = 0;
  function apply(step) {
    step.set.forEach(function (s) { setText(s[0], s[1], s[3]); });
  }
  function undo(step) {
    for (var i = step.set.length - 1; i >= 0; i--) setText(step.set[i][0], step.set[i][1], step.set[i][2]);
  }

  // ------------------------------------------------------------------ showing a step
  var marked = [];
  var placed = []; // the boxes of the labels shown
  function mark(el, cls) {
    if (!el) return;
    el.classList.add(cls);
    marked.push([el, cls]);
  }
  function edgeOf(ref) {
    var list = edges[ref[0]];
    return list ? list[ref[1]] : null;
  }
  // Where a label may go: inside the drawing, not on a node, not on another label. Places above
  // and below points along the edge, and beside them, are tried nearest first (a short edge
  // between two nodes has no room on it); the first free place wins.
  var PLACES = [0.5, 0.35, 0.65, 0.2, 0.8]; // along the edge
  var SIDES = [0, -0.5, 0.5, -1, 1]; // half label widths to the left or right
  var nodeBoxes = null;
  var bounds = null;
  function inside(b) {
    return !bounds || (b.x >= bounds.x && b.y >= bounds.y && b.x + b.width <= bounds.x + bounds.width &&
                       b.y + b.height <= bounds.y + bounds.height);
  }
  function overlaps(b, list) {
    for (var i = 0; i < list.length; i++) {
      var o = list[i];
      if (b.x < o.x + o.width && o.x < b.x + b.width && b.y < o.y + o.height && o.y < b.y + b.height) return true;
    }
    return false;
  }
  function label(ref, first, second) {
    var g = edgeOf(ref);
    var path = g && g.querySelector("path");
    if (!path) return;
    if (nodeBoxes === null) {
      nodeBoxes = [];
      Object.keys(nodes).forEach(function (name) { nodeBoxes.push(nodes[name].g.getBBox()); });
      var back = svg.querySelector("g.graph > polygon"); // the drawing's background: its bounds
      var margin = Number(svg.getAttribute("data-margin") || 0);
      bounds = back ? back.getBBox() : null;
      if (bounds) bounds = { x: bounds.x, y: bounds.y - margin, width: bounds.width, height: bounds.height + 2 * margin };
    }
    var text = document.createElementNS(SVGNS, "text");
    text.setAttribute("data-edge", ref[0] + "#" + ref[1]); // which edge it belongs to
    [first, second].forEach(function (line, i) {
      if (!line) return;
      var span = document.createElementNS(SVGNS, "tspan");
      if (i) span.setAttribute("dy", "1.15em");
      span.textContent = line;
      text.appendChild(span);
    });
    layer.appendChild(text);
    function moveTo(x, y) {
      text.setAttribute("x", x);
      text.setAttribute("y", y);
      text.querySelectorAll("tspan").forEach(function (s) { s.setAttribute("x", x); });
      var b = text.getBBox();
      return { x: b.x - 2, y: b.y - 1, width: b.width + 4, height: b.height + 2 };
    }
    var length = path.getTotalLength();
    var box = moveTo(0, 0); // the label's box when its text sits at (0, 0)
    var w = box.width, h = box.height;
    var tried = []; // [how far, the point of the edge, the box's left, top]
    PLACES.forEach(function (t) {
      var at = path.getPointAtLength(length * t);
      for (var away = 0; away < 6; away++) {
        [-h - 3 - away * (h + 3), 3 + away * (h + 3)].forEach(function (top) {
          SIDES.forEach(function (side) {
            var far = Math.abs(top + h / 2) + Math.abs(side) * (w / 2 + 3) +
                      Math.abs(t - 0.5) * Math.min(length, 4 * h); // the middle of a long edge first
            tried.push([far, at, at.x - w / 2 + side * (w / 2 + 3), at.y + top]);
          });
        });
      }
    });
    tried.sort(function (a, b) { return a[0] - b[0]; });
    var chosen = null;
    var anchor = path.getPointAtLength(length / 2);
    for (var i = 0; i < tried.length && chosen === null; i++) {
      var b = { x: tried[i][2], y: tried[i][3], width: w, height: h };
      if (!overlaps(b, nodeBoxes) && !overlaps(b, placed) && inside(b)) {
        chosen = moveTo(b.x - box.x, b.y - box.y);
        anchor = tried[i][1];
      }
    }
    if (chosen === null) { // no free place: on the middle of the edge, clear of other labels
      chosen = moveTo(anchor.x, anchor.y);
      while (overlaps(chosen, placed)) chosen = moveTo(anchor.x, Number(text.getAttribute("y")) + h + 2);
    }
    placed.push(chosen);
    var leader = document.createElementNS(SVGNS, "line"); // from the label to its edge
    leader.setAttribute("x1", anchor.x);
    leader.setAttribute("y1", anchor.y);
    leader.setAttribute("x2", chosen.x + chosen.width / 2);
    leader.setAttribute("y2", Math.min(Math.max(anchor.y, chosen.y), chosen.y + chosen.height));
    layer.insertBefore(leader, text);
    var back = document.createElementNS(SVGNS, "rect");
    back.setAttribute("x", chosen.x);
    back.setAttribute("y", chosen.y);
    back.setAttribute("width", chosen.width);
    back.setAttribute("height", chosen.height);
    layer.insertBefore(back, text);
  }
  var explanation = document.getElementById("explanation");
  var details = document.getElementById("details");
  function explain(step) {
    Page.explain(explanation, step.text);
    if (step.table) Page.table(details, step.table.head, step.table.rows);
    else details.textContent = "";
  }
  var counter = document.getElementById("counter");
  var PHASES = { start: "start", forward: "forward", seed: "backward", backward: "backward", done: "done" };
  function show() {
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    layer.textContent = "";
    placed = [];
    var step = steps[current];
    Object.keys(data.computed).forEach(function (name) {
      if (data.computed[name] > current) {
        drawn(name).forEach(function (n) { if (nodes[n]) mark(nodes[n].g, "pending"); });
      }
    });
    if (step.node && nodes[step.node]) mark(nodes[step.node].g, "current");
    if (step.op && nodes[step.op]) mark(nodes[step.op].g, "current");
    step.edges.forEach(function (ref) { mark(edgeOf(ref), "active"); });
    step.targets.forEach(function (name) { if (nodes[name]) mark(nodes[name].g, "target"); });
    step.labels.forEach(function (l) { label(l[0], l[1], l[2]); });
    explain(step);
    document.body.setAttribute("data-phase", PHASES[step.phase]);
    counter.textContent = "step " + current + " of " + (steps.length - 1) + " · " + PHASES[step.phase];
    buttons.scrub.value = current;
    if (zoomed && step.node && nodes[step.node]) {
      nodes[step.node].g.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  // ------------------------------------------------------------------ moving
  function go(to) {
    var t0 = performance.now();
    to = Math.max(0, Math.min(steps.length - 1, to));
    while (current < to) { current += 1; apply(steps[current]); }
    while (current > to) { undo(steps[current]); current -= 1; }
    show();
    window.explorer.lastStepMs = performance.now() - t0;
  }
  var buttons = Page.controls(steps.length, go, function () { return current; });

  // Fit the drawing to the window, or show it at its own size (and follow the current node).
  var zoomed = false;
  var zoom = document.getElementById("zoom");
  function fit() {
    var w = Number(svg.getAttribute("data-width"));
    svg.style.width = zoomed ? w + "pt" : "100%";
    svg.style.maxWidth = zoomed ? "none" : (1.5 * w) + "pt"; // a small graph is not blown up
    svg.style.height = zoomed ? svg.getAttribute("data-height") + "pt" : "auto";
    svg.style.maxHeight = zoomed ? "none" : "72vh";
    zoom.textContent = zoomed ? "fit" : "full size";
  }
  zoom.addEventListener("click", function () { zoomed = !zoomed; fit(); show(); });

  window.explorer = { go: go, steps: steps.length, current: function () { return current; }, lastStepMs: 0 };
  fit();
  show();
})();
