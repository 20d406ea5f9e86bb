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
  // What a practice page (practice.js) changes: how far one may go, whether a step's numbers
  // are shown, and what is said at a step whose numbers are not.
  var hooks = {
    limit: function () { return steps.length - 1; }, // the furthest step one may go to
    revealed: function () { return true; }, // whether step i's numbers are shown
    shown: function () { return null; }, // what step i says while they are not
    after: function () {}, // called once a step is shown
    blocked: function () {} // called when a move stops at the limit
  };
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
  function explain(step, open) {
    Page.explain(explanation, open ? step.text : hooks.shown(current) || step.text);
    if (step.table && open) Page.table(details, step.table.head, step.table.rows);
    else details.textContent = "";
  }
  var counter = document.getElementById("counter");
  var PHASES = { start: "start", forward: "forward", seed: "backward", backward: "backward", done: "done" };
  function show() {
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    var step = steps[current];
    var open = hooks.revealed(current);
    Object.keys(data.computed).forEach(function (name) {
      if (data.computed[name] > current) {
        drawn(name).forEach(function (n) { if (nodes[n]) mark(nodes[n].g, "pending"); });
      }
    });
    if (step.node && nodes[step.node]) mark(nodes[step.node].g, "current");
    if (step.op && nodes[step.op]) mark(nodes[step.op].g, "current");
    step.edges.forEach(function (ref) { mark(edgeOf(ref), "active"); });
    if (open) step.targets.forEach(function (name) { if (nodes[name]) mark(nodes[name].g, "target"); });
    labelled.forEach(function (l) {
      if (l[0] < current || (l[0] === current && open)) mark(l[1], l[0] === current ? "now" : "passed");
    });
    explain(step, open);
    document.body.setAttribute("data-phase", PHASES[step.phase]);
    counter.textContent = "step " + current + " of " + (steps.length - 1) + " · " + PHASES[step.phase];
    buttons.scrub.value = current;
    if (zoomed && step.node && nodes[step.node]) {
      nodes[step.node].g.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    hooks.after(current);
  }

  // ------------------------------------------------------------------ moving
  function go(to) {
    var t0 = performance.now();
    if (to > hooks.limit()) { buttons.stop(); hooks.blocked(); }
    to = Math.max(0, Math.min(hooks.limit(), to));
    while (current < to) { current += 1; if (hooks.revealed(current)) apply(steps[current]); }
    while (current > to) { if (hooks.revealed(current)) undo(steps[current]); current -= 1; }
    show();
    window.explorer.lastStepMs = performance.now() - t0;
  }
  var buttons = Page.controls(steps.length, go, function () { return current; });

  // ------------------------------------------------------------------ why is this right?
  // Each edge of the backward pass has a card (written in Python: the rule from the engine's
  // table, the values, the local derivative, a central difference). Clicking the edge or its
  // label, or focusing it with Tab, opens it; Escape or × closes it.
  var why = document.getElementById("why");
  var whyText = document.getElementById("why-text");
  var whyStep = {}; // the backward step of each edge with a card
  steps.forEach(function (step, i) {
    if (step.phase === "backward") step.edges.forEach(function (ref) { whyStep[ref[0] + "#" + ref[1]] = i; });
  });
  function openWhy(ref) {
    var card = data.why[ref];
    if (!card) return;
    var lines = card.lines;
    if (!hooks.revealed(whyStep[ref])) {
      lines = lines.slice(0, card.locked).concat([["The local derivative and its check show once this step is answered."]]);
    }
    Page.explain(whyText, lines);
    why.hidden = false;
    why.setAttribute("data-edge", ref);
  }
  function closeWhy() { why.hidden = true; why.removeAttribute("data-edge"); }
  document.getElementById("why-close").addEventListener("click", closeWhy);
  Object.keys(edges).forEach(function (title) {
    edges[title].forEach(function (g, k) {
      var ref = title + "#" + k;
      if (!data.why[ref]) return;
      var path = g.querySelector("path");
      if (path) { // a wider, invisible stroke: an edge is easy to click
        var hit = path.cloneNode(false);
        hit.setAttribute("class", "hit");
        hit.removeAttribute("stroke-dasharray");
        g.insertBefore(hit, path);
      }
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", "why: " + data.why[ref].lines[0][0]);
      g.addEventListener("click", function () { openWhy(ref); });
      g.addEventListener("focus", function () { openWhy(ref); });
      g.addEventListener("keydown", function (e) { if (e.key === "Enter") openWhy(ref); });
    });
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeWhy(); });

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

  window.explorer = {
    go: go, steps: steps.length, current: function () { return current; }, lastStepMs: 0,
    data: data, hooks: hooks, show: show, apply: function (i) { apply(steps[i]); }, openWhy: openWhy,
    edge: function (ref) { var at = ref.lastIndexOf("#"); return edgeOf([ref.slice(0, at), Number(ref.slice(at + 1))]); }
  };
  fit();
  show();
})();
