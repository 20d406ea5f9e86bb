// The training page of autograd_tiny: the recorded steps of a training run, one at a time.
// Every number was recorded in Python from the model and the engine; this script only shows it.
// Numbers that JSON cannot hold come as text ('nan', 'inf', '-inf'): Page.value reads them.
(function () {
  "use strict";
  var data = Page.data();
  var steps = data.steps;
  var value = Page.value;
  var svg = document.querySelector("#graph svg");
  var drawing = Page.index(svg);
  var nodes = drawing.nodes;
  var current = data.open;
  var SCORE = [[94, 159, 208], [255, 255, 255], [255, 166, 77]]; // blue, white, orange: as the PNGs
  var LIGHT = ["#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99"];
  var STRONG = ["#1f78b4", "#ff7f00", "#33a02c", "#e31a1c", "#6a3d9a", "#b15928"];
  var NAN_CELL = [168, 162, 158]; // grey: the model's output is nan there

  // ------------------------------------------------------------------ the point followed
  var slot = {}; // point index -> its place in each step's points
  data.followed.forEach(function (p, j) { slot[p] = j; });
  var point = data.point;
  var picked = false; // true once the learner clicks a point
  function follow(i) {
    point = i;
    picked = true;
    go(current);
  }
  // point's boxes at a step: box k's data and grad are values[2k], values[2k + 1] (null: none)
  function boxes(step) { return step.points[slot[point]]; }

  // ------------------------------------------------------------------ the point's graph
  var weightEdges = data.edges.map(function (e) {
    var list = drawing.edges[e[0]];
    var g = list ? list[e[1]] : null;
    if (g) g.classList.add("weight");
    return { g: g, path: g && g.querySelector("path"), param: e[2], head: e[3] };
  });
  function showGraph(step) {
    var values = boxes(step);
    data.boxes.forEach(function (name, k) {
      var d = values[2 * k], g = values[2 * k + 1];
      var hasGrad = g !== null;
      [name].concat(data.copies[name] || []).forEach(function (n) { // a box and its copies
        var field = Page.field(nodes[n], hasGrad, "d");
        if (field) field.textContent = "data " + Page.g4(d);
        field = hasGrad && Page.field(nodes[n], true, "g");
        if (field) field.textContent = "grad " + Page.g4(g);
      });
    });
  }
  // The selected neuron's weights in colour, thicker when larger (inf: the thickest); the others grey.
  function showWeights(step) {
    var mine = weightEdges.filter(function (e) { return e.g && e.head === selected; });
    var largest = 0;
    mine.forEach(function (e) {
      var w = Math.abs(value(step.weights[e.param]));
      if (isFinite(w)) largest = Math.max(largest, w);
    });
    weightEdges.forEach(function (e) {
      if (!e.g) return;
      ["incoming", "positive", "negative", "not-a-number"].forEach(function (c) { e.g.classList.remove(c); });
      e.path.style.strokeWidth = "";
    });
    mine.forEach(function (e) {
      var w = value(step.weights[e.param]);
      e.g.classList.add("incoming");
      if (w > 0) e.g.classList.add("positive");
      else if (w < 0) e.g.classList.add("negative");
      else if (isNaN(w)) e.g.classList.add("not-a-number");
      var width = isFinite(w) ? 0.6 + 3.4 * Math.abs(w) / (largest || 1) : 4;
      e.path.style.strokeWidth = width.toFixed(2) + "px";
      e.g.parentNode.appendChild(e.g); // drawn over the grey ones
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
  if (data.kind === "samples" && data.outputs.length && nodes[data.outputs[data.labels[slot[point]]]]) {
    selected = data.outputs[data.labels[slot[point]]]; // the output of the followed sample's class
  }
  function select(name) {
    if (selected && nodes[selected]) nodes[selected].g.classList.remove("selected");
    selected = name;
    if (nodes[name]) nodes[name].g.classList.add("selected");
    showWeights(steps[current]);
    showNeuron(steps[current]);
    showPixelWeights(steps[current]);
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

  // ------------------------------------------------------------------ the explanation
  var explanation = document.getElementById("explanation");
  function explain(step) {
    var values = boxes(step);
    var p = data.kind === "plane" ? data.points[point] : null;
    var loss = values[2 * data.root];
    var flat = true; // every grad is 0 but the loss's own
    data.boxes.forEach(function (name, k) {
      if (k !== data.root && values[2 * k + 1] !== null && value(values[2 * k + 1]) !== 0) flat = false;
    });
    var about;
    if (data.kind === "plane") {
      about = "Point #" + point + " at (" + Page.g4(p[0]) + ", " + Page.g4(p[1]) + "), class " +
        data.classes[p[2]] + ": " + data.text[data.what] + " is ";
    } else {
      about = "Sample #" + point + ", class " + data.classes[data.labels[slot[point]]] + ": " +
        data.text[data.what] + " is ";
    }
    var line = [about, [Page.g4(loss), String(loss)]];
    if (data.kind === "samples" && step.probabilities) { // the probability of its class
      var chance = step.probabilities[slot[point]][data.labels[slot[point]]];
      line.push("; " + data.text.chance + " is ", [Page.g4(chance), String(chance)]);
    }
    var after = ".";
    if (data.what === "loss" && value(loss) === 0 && flat) after += " " + data.text.zero;
    line.push(after);
    var why = picked ? data.text.picked : data.why;
    if (data.followed.length > 1) why += " " + data.text.click;
    Page.explain(explanation, step.text.concat([line, [why]]));
  }

  // ------------------------------------------------------------------ the loss curve
  var curve = document.getElementById("loss-curve");
  var W = 380, H = 220, left = 44, right = 30, top = 10, bottom = 26;
  var losses = data.losses.map(value);
  var finite = losses.filter(isFinite);
  var lo = finite.length ? Math.min.apply(null, finite) : 0;
  var hi = finite.length ? Math.max.apply(null, finite) : 1;
  var logScale = finite.length > 0 && lo > 0 && hi / lo > 100; // spanning decades: a log axis
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
  // A line through the finite values only: a gap where a value is nan or inf (a lone value: a dot).
  function line(values, y) {
    var d = "", run = 0;
    values.forEach(function (v, i) {
      if (v === null || !isFinite(v)) { run = 0; return; }
      var at = lx(i + 1).toFixed(2) + "," + y(v).toFixed(2);
      d += (run ? " L" : " M") + at;
      var lone = i + 1 === values.length || values[i + 1] === null || !isFinite(values[i + 1]);
      if (!run && lone) d += " h0.01";
      run += 1;
    });
    return d.trim();
  }
  el("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis" });
  el("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" });
  if (finite.length) {
    el("text", { x: left - 4, y: ly(hi) + 4, "text-anchor": "end", class: "tick" }, fmt(hi));
    el("text", { x: left - 4, y: ly(lo) + 4, "text-anchor": "end", class: "tick" }, fmt(lo));
  }
  el("text", { x: left, y: H - 8, class: "tick" }, "step 1");
  el("text", { x: W - right, y: H - 8, "text-anchor": "end", class: "tick" }, "step " + calls);
  if (logScale) el("text", { x: (left + W - right) / 2, y: H - 8, "text-anchor": "middle", class: "tick" }, "log scale");
  el("path", { class: "loss", d: line(losses, ly) });
  if (!finite.length) el("text", { x: (left + W - right) / 2, y: H / 2, "text-anchor": "middle", class: "tick" }, "no step's loss is finite");
  losses.forEach(function (v, i) { // a step whose loss is nan or inf: a red mark at the top
    if (!isFinite(v)) {
      el("rect", { class: "not-finite", x: lx(i + 1) - 1.5, y: top - 8, width: 3, height: 8 }).appendChild(
        document.createElementNS(Page.SVGNS, "title")).textContent = "step " + (i + 1) + ": loss " + data.losses[i];
    }
  });
  var accuracies = data.accuracies.map(function (a) { return a === null ? null : value(a); });
  if (accuracies.some(function (a) { return a !== null && isFinite(a); })) {
    el("path", { class: "accuracy", d: line(accuracies, function (a) { return top + (H - top - bottom) * (1 - a); }) });
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
  var showPicture; // the boundary (points of the plane), or the followed sample and the row of samples
  if (data.kind === "plane") {
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
    var drawn = []; // [point index, x, y] of the points with finite coordinates
    data.points.forEach(function (p, i) {
      var x = value(p[0]), y = value(p[1]);
      if (isFinite(x) && isFinite(y)) drawn.push([i, px(x), py(y)]);
    });
    function showBoundary(step) {
      var image = cellsCtx.createImageData(n, n);
      step.boundary.forEach(function (v, i) { // a class, or a shade from -20 to 20; null: nan
        var rgb;
        if (v === null) {
          rgb = NAN_CELL;
        } else if (data.classes.length > 2) {
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
      drawn.forEach(function (d) {
        var i = d[0], ringed = i === point;
        ctx.globalAlpha = i in slot ? 1 : 0.35; // pale: not recorded, cannot be followed
        ctx.beginPath();
        ctx.arc(d[1], d[2], ringed ? 4.5 : 3, 0, 2 * Math.PI);
        ctx.fillStyle = STRONG[data.points[i][2] % STRONG.length];
        ctx.fill();
        ctx.lineWidth = ringed ? 2.5 : 0.6;
        ctx.strokeStyle = ringed ? "#dc2626" : "#000";
        ctx.stroke();
      });
      ctx.globalAlpha = 1;
    }
    canvas.addEventListener("click", function (e) { // follow the recorded point nearest the click
      var box = canvas.getBoundingClientRect();
      var x = (e.clientX - box.left) * canvas.width / box.width, y = (e.clientY - box.top) * canvas.height / box.height;
      var best = null, reach = 12 * 12;
      drawn.forEach(function (d) {
        var r = (d[1] - x) * (d[1] - x) + (d[2] - y) * (d[2] - y);
        if (d[0] in slot && r < reach) { reach = r; best = d[0]; }
      });
      if (best !== null) follow(best);
    });
    if (data.followed.length > 1) canvas.classList.add("pickable");
    showPicture = showBoundary;
  } else {
    showPicture = samplesView();
  }

  // ------------------------------------------------------------------ samples that are not points
  // The followed sample's inputs as grey cells (in its own picture and in the graph's inputs
  // box), its class probabilities as bars, and a row of the samples that can be followed.
  function svgEl(parent, name, attrs, text) {
    var e = document.createElementNS(Page.SVGNS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return parent.appendChild(e);
  }
  // One cell per input, row by row, in a square of `size` at (x, y).
  function paint(parent, x, y, size, colours) {
    var rows = data.shape[0], cols = data.shape[1], cell = size / Math.max(rows, cols);
    colours.forEach(function (colour, k) {
      svgEl(parent, "rect", { x: x + (k % cols) * cell, y: y + Math.floor(k / cols) * cell, width: cell,
        height: cell, fill: colour, stroke: colour, "stroke-width": 0.3, class: "cell" });
    });
  }
  function grey(v) { // white at the lowest input, black at the highest; red: nan or inf
    v = value(v);
    if (!isFinite(v)) return "#dc2626";
    var t = Math.max(0, Math.min(1, (v - data.ink[0]) / (data.ink[1] - data.ink[0])));
    var c = Math.round(255 * (1 - t));
    return "rgb(" + c + "," + c + "," + c + ")";
  }
  // A weight's colour: orange positive, blue negative, deeper when larger (inf: the deepest).
  function tone(w, largest) {
    if (w === null) return "#f5f5f4"; // an input this neuron does not weigh
    w = value(w);
    if (isNaN(w)) return "#78716c";
    var t = isFinite(w) ? Math.min(1, Math.abs(w) / (largest || 1)) : 1;
    var to = w > 0 ? [249, 115, 22] : [37, 99, 235];
    return "rgb(" + to.map(function (c) { return Math.round(255 + (c - 255) * t); }).join(",") + ")";
  }

  var pixelFigure = document.getElementById("pixel-weights-figure");
  var pixelGrid = document.getElementById("pixel-weights");
  // The selected neuron's weights on the inputs, in the inputs' places (if it weighs them).
  function showPixelWeights(step) {
    if (!pixelFigure) return;
    var row = selected !== null && data.pixels[selected];
    pixelFigure.hidden = !row;
    if (!row) return;
    var ws = row.map(function (k) { return k === null ? null : step.weights[k]; });
    var largest = 0;
    ws.forEach(function (w) { if (w !== null && isFinite(value(w))) largest = Math.max(largest, Math.abs(value(w))); });
    pixelGrid.textContent = "";
    paint(pixelGrid, 0, 0, 120, ws.map(function (w) { return tone(w, largest); }));
  }

  function samplesView() {
    var picture = document.getElementById("sample");
    var bars = document.getElementById("probabilities");
    // the graph's box for the inputs: the image in its top part, its label below
    var inputs = nodes[data.image], inGraph = null, at = null;
    if (inputs) {
      var box = inputs.g.querySelector("path, polygon").getBBox();
      var size = Math.min(box.width - 12, box.height - 24);
      var wide = data.shape[1] / Math.max(data.shape[0], data.shape[1]);
      at = { x: box.x + (box.width - size * wide) / 2, y: box.y + 6, size: size };
      inGraph = svgEl(inputs.g, "g", { class: "pixels" });
    }
    var thumbs = [];
    var row = document.getElementById("samples");
    if (row) {
      thumbs = data.followed.map(function (i, j) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "thumb";
        button.setAttribute("data-sample", i);
        button.title = "sample #" + i + ", class " + data.classes[data.labels[j]];
        var pic = svgEl(button, "svg", { viewBox: "0 0 36 36", "aria-hidden": "true" });
        paint(pic, 0, 0, 36, data.samples[j].map(grey));
        var name = document.createElement("span");
        name.className = "class";
        name.textContent = data.classes[data.labels[j]];
        button.appendChild(name);
        var fill = null;
        if (data.outputs.length) {
          var meter = button.appendChild(document.createElement("span"));
          meter.className = "meter";
          fill = meter.appendChild(document.createElement("span"));
        }
        button.addEventListener("click", function () { follow(i); });
        row.appendChild(button);
        return { button: button, fill: fill };
      });
    }
    var shown = null; // the sample drawn: redrawn only when another is followed
    return function (step) {
      var j = slot[point];
      if (shown !== point) {
        shown = point;
        var colours = data.samples[j].map(grey);
        picture.textContent = "";
        paint(picture, 0, 0, 120, colours);
        if (inGraph) {
          inGraph.textContent = "";
          paint(inGraph, at.x, at.y, at.size, colours);
        }
      }
      thumbs.forEach(function (t, k) {
        t.button.classList.toggle("followed", k === j);
        if (t.fill && step.probabilities) {
          var c = value(step.probabilities[k][data.labels[k]]);
          t.fill.style.width = (isFinite(c) ? 100 * c : 0).toFixed(1) + "%";
        }
      });
      if (!bars || !step.probabilities) return;
      var chances = step.probabilities[j].map(value), label = data.labels[j], best = -1;
      chances.forEach(function (c, k) { if (isFinite(c) && (best < 0 || c > chances[best])) best = k; });
      bars.textContent = "";
      step.probabilities[j].forEach(function (c, k) {
        var y = 4 + 20 * k, kind = k === label ? " true" : k === best ? " picked" : "";
        svgEl(bars, "text", { x: 10, y: y + 13, "text-anchor": "middle", class: "class" + kind }, data.classes[k]);
        svgEl(bars, "rect", { x: 22, y: y + 2, width: 120, height: 14, class: "track" });
        var width = isFinite(chances[k]) ? 120 * chances[k] : 0;
        svgEl(bars, "rect", { x: 22, y: y + 2, width: width.toFixed(2), height: 14, class: "bar" + kind });
        svgEl(bars, "text", { x: 208, y: y + 13, "text-anchor": "end", class: "chance", "data-value": String(c) },
          Page.g4(c));
      });
    };
  }

  // ------------------------------------------------------------------ moving
  var counter = document.getElementById("counter");
  function go(to) {
    var t0 = performance.now();
    current = Math.max(0, Math.min(steps.length - 1, to));
    var step = steps[current];
    explain(step);
    showGraph(step);
    showWeights(step);
    showPicture(step);
    showNeuron(step);
    showPixelWeights(step);
    now.setAttribute("x1", lx(data.at[current]));
    now.setAttribute("x2", lx(data.at[current]));
    counter.textContent = "step " + data.at[current] + " (" + (current + 1) + " of " + steps.length + " recorded)";
    buttons.scrub.value = current;
    window.explorer.lastStepMs = performance.now() - t0;
  }
  var buttons = Page.controls(steps.length, go, function () { return current; });
  window.explorer = {
    go: go, steps: steps.length, current: function () { return current; }, lastStepMs: 0,
    point: function () { return point; }, follow: follow,
  };
  // The drawing at one pixel per point (its text at its own size), smaller only to fit, down to
  // a floor that keeps the text readable; past that, the frame scrolls sideways.
  var width = Number(svg.getAttribute("data-width")), height = Number(svg.getAttribute("data-height"));
  var frame = document.getElementById("graph");
  function fit() {
    var w = Math.max(data.minScale * width, Math.min(width, frame.clientWidth - 2));
    svg.style.width = w + "px";
    svg.style.height = (w * height / width) + "px";
  }
  fit();
  window.addEventListener("resize", fit);
  if (selected) select(selected);
  go(current);
})();
