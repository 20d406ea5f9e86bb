// The explorer page of autograd_tiny: steps through a graph drawn by Graphviz.
// Every number was computed in Python from the engine's own records and arrives as text in
// the page's JSON; this script only shows it. User text goes in with textContent, never as HTML.
(function () {
  "use strict";
  var data = Page.data();
  var steps = data.steps;
  var svg = document.querySelector("#graph svg");
  var drawing = Page.index(svg);
  var nodes = drawing.nodes;
  var edges = drawing.edges;
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
  function mark(el, cls) {
    if (!el) return;
    el.classList.add(cls);
    marked.push([el, cls]);
  }
  function edgeOf(ref) {
    var list = edges[ref[0]];
    return list ? list[ref[1]] : null;
  }
  // Each edge's label (Graphviz placed it with the graph, on its own edge) is shown at its
  // backward step, and dimmed after it; before, it is hidden.
  var labelled = []; // [step, edge]
  steps.forEach(function (step, i) {
    step.labels.forEach(function (ref) { labelled.push([i, edgeOf(ref)]); });
  });
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
    labelled.forEach(function (l) { if (l[0] <= current) mark(l[1], l[0] === current ? "now" : "passed"); });
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
