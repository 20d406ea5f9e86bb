// The training page of autograd_tiny: the recorded steps of a training run, one at a time.
// Every number was recorded in Python from the model and the engine; this script only shows it.
(function () {
  "use strict";
  var data = Page.data();
  var steps = data.steps;
  var svg = document.querySelector("#graph svg");
  var drawing = Page.index(svg);
  var nodes = drawing.nodes;
  var current = steps.length - 1;
  var SCORE = [[94, 159, 208], [255, 255, 255], [255, 166, 77]]; // blue, white, orange: as the PNGs
  var LIGHT = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99"];
  var STRONG = ["#1f78b4", "#ff7f00", "#33a02c", "#e31a1c", "#6a3d9a", "#b15928"];

  // ------------------------------------------------------------------ the point's graph
  var weightEdges = data.edges.map(function (e) {
    var list = drawing.edges[e[0]];
    var g = list ? list[e[1]] : null;
    if (g) g.classList.add("weight");
    return { g: g, path: g && g.querySelector("path"), param: e[2] };
  });
  function showGraph(step) {
    Object.keys(step.boxes).forEach(function (name) {
      var box = step.boxes[name];
      var hasGrad = box[1] !== null;
      [name].concat(data.copies[name] || []).forEach(function (n) { // a box and its copies
        var d = Page.field(nodes[n], hasGrad, "d");
        if (d) d.textContent = "data " + Page.g4(box[0]);
        var g = hasGrad && Page.field(nodes[n], true, "g");
        if (g) g.textContent = "grad " + Page.g4(box[1]);
      });
    });
    var largest = 0;
    weightEdges.forEach(function (e) { largest = Math.max(largest, Math.abs(Number(step.weights[e.param])) || 0); });
    weightEdges.forEach(function (e) {
      if (!e.g) return;
      var w = Number(step.weights[e.param]);
      e.g.classList.toggle("positive", w > 0);
      e.g.classList.toggle("negative", w < 0);
      e.path.style.strokeWidth = (0.4 + 3.6 * Math.abs(w) / (largest || 1)).toFixed(2) + "px";
    });
  }

  // A neuron's weights and their gradients, in the side table; click a neuron to pick it.
  var selected = null;
  var details = document.getElementById("details");
  var names = Object.keys(data.neurons).filter(function (name) { return nodes[name]; });
  names.forEach(function (name) {
    nodes[name].g.classList.add("pickable");
    nodes[name].g.addEventListener("click", function () { select(name); });
  });
  if (names.length) selected = names[0]; // the output's neuron: backward meets it first
  function select(name) {
    if (selected && nodes[selected]) nodes[selected].g.classList.remove("selected");
    selected = name;
    if (nodes[name]) nodes[name].g.classList.add("selected");
    showNeuron(steps[current]);
  }
  function showNeuron(step) {
    if (!selected) return;
    var neuron = data.neurons[selected];
    var rows = neuron.params.map(function (p) {
      var w = step.weights[p[1]], g = step.grads[p[1]];
      return [p[0], [Page.g4(w), String(w)], [Page.g4(g), String(g)]];
    });
    Page.table(details, [neuron.title, "value", "grad (whole loss)"], rows);
  }

  // ------------------------------------------------------------------ the loss curve
  var curve = document.getElementById("loss-curve");
  var W = 380, H = 220, left = 44, right = 30, top = 10, bottom = 26;
  var losses = data.losses.map(Number);
  var positive = losses.every(function (v) { return v > 0; });
  var lo = Math.min.apply(null, losses), hi = Math.max.apply(null, losses);
  var logScale = positive && hi / lo > 100; // spanning decades: a log axis
  function ly(v) {
    var a = logScale ? Math.log(lo) : lo, b = logScale ? Math.log(hi) : hi, t = logScale ? Math.log(v) : v;
    return top + (H - top - bottom) * (b === a ? 0.5 : 1 - (t - a) / (b - a));
  }
  // x: the training step (the curve has every step's loss; the records are some of them)
  var calls = losses.length;
  function lx(step) { return left + (W - left - right) * (calls > 1 ? (step - 1) / (calls - 1) : 0.5); }
  function el(name, attrs, text) {
    var e = document.createElementNS(Page.SVGNS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return curve.appendChild(e);
  }
  el("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis" });
  el("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" });
  el("text", { x: left - 4, y: ly(hi) + 4, "text-anchor": "end", class: "tick" }, fmt(hi));
  el("text", { x: left - 4, y: ly(lo) + 4, "text-anchor": "end", class: "tick" }, fmt(lo));
  el("text", { x: left, y: H - 8, class: "tick" }, "step 1");
  el("text", { x: W - right, y: H - 8, "text-anchor": "end", class: "tick" }, "step " + calls);
  if (logScale) el("text", { x: left + 4, y: top + 10, class: "tick" }, "log scale");
  el("polyline", { class: "loss", points: losses.map(function (v, i) { return lx(i + 1) + "," + ly(v); }).join(" ") });
  var acc = data.accuracies.filter(function (a) { return a !== null; });
  if (acc.length === calls) {
    el("polyline", { class: "accuracy", points: data.accuracies.map(function (a, i) {
      return lx(i + 1) + "," + (top + (H - top - bottom) * (1 - a));
    }).join(" ") });
    el("text", { x: W - right + 3, y: top + 8, class: "tick" }, "100%");
    el("text", { x: W - right + 3, y: H - bottom, class: "tick" }, "0%");
  }
  var now = el("line", { y1: top, y2: H - bottom, class: "now" });
  function fmt(v) { return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(+v.toPrecision(3)); }
  curve.addEventListener("click", function (e) {
    var box = curve.getBoundingClientRect();
    var x = (e.clientX - box.left) * W / box.width;
    var step = 1 + (x - left) / (W - left - right) * (calls - 1);
    var nearest = 0;
    data.at.forEach(function (s, i) { if (Math.abs(s - step) < Math.abs(data.at[nearest] - step)) nearest = i; });
    buttons.stop();
    go(nearest);
  });

  // ------------------------------------------------------------------ the decision boundary
  var canvas = document.getElementById("boundary");
  var ctx = canvas.getContext("2d");
  var n = data.grid;
  var cells = document.createElement("canvas");
  cells.width = n;
  cells.height = n;
  var cellsCtx = cells.getContext("2d");
  var b = data.bounds; // x0, x1, y0, y1
  function px(x) { return (x - b[0]) / (b[1] - b[0]) * canvas.width; }
  function py(y) { return (1 - (y - b[2]) / (b[3] - b[2])) * canvas.height; }
  function hex(c) { return [1, 3, 5].map(function (i) { return parseInt(c.substr(i, 2), 16); }); }
  function showBoundary(step) {
    var image = cellsCtx.createImageData(n, n);
    step.boundary.forEach(function (v, i) { // a class, or a shade from -20 to 20
      var rgb;
      if (data.classes > 2) {
        rgb = hex(LIGHT[v % LIGHT.length]);
      } else {
        var t = v / 20;
        var from = SCORE[1], to = t < 0 ? SCORE[0] : SCORE[2];
        rgb = from.map(function (c, k) { return Math.round(c + (to[k] - c) * Math.abs(t)); });
      }
      image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
    });
    cellsCtx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    // grid points are the centres of the cells' corners: stretch so they land on them
    var cw = canvas.width / (n - 1), ch = canvas.height / (n - 1);
    ctx.drawImage(cells, -cw / 2, -ch / 2, canvas.width + cw, canvas.height + ch);
    data.points.forEach(function (p, i) {
      ctx.beginPath();
      ctx.arc(px(p[0]), py(p[1]), i === data.point ? 4.5 : 3, 0, 2 * Math.PI);
      ctx.fillStyle = STRONG[p[2] % STRONG.length];
      ctx.fill();
      ctx.lineWidth = i === data.point ? 2.5 : 0.6;
      ctx.strokeStyle = i === data.point ? "#dc2626" : "#000";
      ctx.stroke();
    });
  }

  // ------------------------------------------------------------------ moving
  var explanation = document.getElementById("explanation");
  var counter = document.getElementById("counter");
  function go(to) {
    var t0 = performance.now();
    current = Math.max(0, Math.min(steps.length - 1, to));
    var step = steps[current];
    Page.explain(explanation, step.text);
    showGraph(step);
    showBoundary(step);
    showNeuron(step);
    now.setAttribute("x1", lx(data.at[current]));
    now.setAttribute("x2", lx(data.at[current]));
    counter.textContent = "step " + data.at[current] + " (" + (current + 1) + " of " + steps.length + " recorded)";
    buttons.scrub.value = current;
    window.explorer.lastStepMs = performance.now() - t0;
  }
  var buttons = Page.controls(steps.length, go, function () { return current; });
  window.explorer = { go: go, steps: steps.length, current: function () { return current; }, lastStepMs: 0 };
  svg.style.width = "100%";
  svg.style.maxWidth = (1.5 * Number(svg.getAttribute("data-width"))) + "pt";
  svg.style.height = "auto";
  svg.style.maxHeight = "85vh";
  if (selected) select(selected);
  go(current);
})();
