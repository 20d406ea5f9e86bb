// What the pages of autograd_tiny share: the drawing's nodes by name, text and numbers put in
// with textContent (user text is never markup), and the step controls.
var Page = (function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  // The drawing's nodes and edges by the names draw_dot gave them (each group's <title>).
  function index(svg) {
    var nodes = {};
    var edges = {};
    svg.querySelectorAll("g.node").forEach(function (g) {
      nodes[g.querySelector("title").textContent] = { g: g, texts: g.querySelectorAll("text") };
    });
    svg.querySelectorAll("g.edge").forEach(function (g) {
      var title = g.querySelector("title").textContent;
      (edges[title] = edges[title] || []).push(g);
    });
    return { nodes: nodes, edges: edges };
  }

  // A box's data and grad are its last two texts (a number in the expression has no grad).
  function field(node, hasGrad, which) {
    if (!node) return null;
    var last = node.texts.length - 1;
    return node.texts[which === "g" ? last : (hasGrad ? last - 1 : last)] || null;
  }

  // A line of the explanation: text, and numbers as [as shown, exact value].
  function put(parent, part) {
    if (typeof part === "string") {
      parent.appendChild(document.createTextNode(part));
      return;
    }
    var span = document.createElement("span");
    span.className = "num";
    span.setAttribute("data-value", part[1]);
    span.textContent = part[0];
    parent.appendChild(span);
  }
  function explain(el, lines) {
    el.textContent = "";
    var list = null;
    lines.forEach(function (line, i) {
      var p = document.createElement(i ? "li" : "p");
      line.forEach(function (part) { put(p, part); });
      if (i === 1) list = el.appendChild(document.createElement("ul"));
      (i ? list : el).appendChild(p);
    });
  }
  function table(el, head, rows) {
    el.textContent = "";
    var t = document.createElement("table");
    var tr = t.createTHead().insertRow();
    head.forEach(function (h) {
      var th = document.createElement("th");
      th.textContent = h;
      tr.appendChild(th);
    });
    var body = t.createTBody();
    rows.forEach(function (row) {
      var r = body.insertRow();
      row.forEach(function (cell) { put(r.insertCell(), cell); });
    });
    el.appendChild(t);
  }

  // The buttons, the slider and the keys: go(i) shows step i of count.
  function controls(count, go, current) {
    var timer = null;
    var playButton = document.getElementById("play");
    var scrub = document.getElementById("scrub");
    var speed = document.getElementById("speed");
    function stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      playButton.textContent = "play";
    }
    function play() {
      if (current() === count - 1) go(0);
      stop();
      timer = setInterval(function () {
        go(current() + 1);
        if (current() === count - 1) stop();
      }, Number(speed.value));
      playButton.textContent = "pause";
    }
    function toggle() { if (timer === null) play(); else stop(); }
    function jump(to) { return function () { stop(); go(to()); }; }
    document.getElementById("first").addEventListener("click", jump(function () { return 0; }));
    document.getElementById("prev").addEventListener("click", jump(function () { return current() - 1; }));
    document.getElementById("next").addEventListener("click", jump(function () { return current() + 1; }));
    document.getElementById("last").addEventListener("click", jump(function () { return count - 1; }));
    playButton.addEventListener("click", toggle);
    speed.addEventListener("change", function () { if (timer !== null) play(); });
    scrub.addEventListener("input", function () { stop(); go(Number(scrub.value)); });
    document.addEventListener("keydown", function (e) {
      if (e.target === scrub || e.target.tagName === "SELECT" || e.target.tagName === "INPUT" ||
          e.altKey || e.ctrlKey || e.metaKey) return; // typing in a box is not stepping
      var moves = { ArrowRight: 1, ArrowLeft: -1 };
      if (e.key in moves) { stop(); go(current() + moves[e.key]); }
      else if (e.key === "Home") { stop(); go(0); }
      else if (e.key === "End") { stop(); go(count - 1); }
      else if (e.key === " " && e.target.tagName !== "BUTTON") toggle();
      else return;
      e.preventDefault();
    });
    return { stop: stop, scrub: scrub };
  }

  // A number already rounded to 4 significant digits, written as Python's f"{x:.4g}" does
  // (what the drawings show); 'nan', 'inf' and '-inf' come as text.
  function g4(x) {
    if (typeof x === "string") return x;
    if (x === 0) return "0";
    var e = Number(x.toExponential(3).split("e")[1]);
    if (e < -4 || e >= 4) {
      var parts = x.toExponential(3).split("e");
      var mantissa = parts[0].indexOf(".") >= 0 ? parts[0].replace(/0+$/, "").replace(/\.$/, "") : parts[0];
      return mantissa + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
    }
    var fixed = x.toFixed(Math.max(0, 3 - e));
    return fixed.indexOf(".") >= 0 ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
  }

  // A number of the page's data: JSON has no nan or inf, so those come as text.
  var NOT_FINITE = { "nan": NaN, "inf": Infinity, "-inf": -Infinity };
  function value(x) { return typeof x === "string" && x in NOT_FINITE ? NOT_FINITE[x] : x; }

  function data() { return JSON.parse(document.getElementById("page-data").textContent); }

  return { SVGNS: SVGNS, index: index, field: field, put: put, explain: explain, table: table,
           controls: controls, data: data, g4: g4, value: value };
})();
