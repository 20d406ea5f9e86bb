// The explorer's practice mode: the backward pass as questions, one box per edge.
// The questions, the right answers, what a wrong answer is told and the likely slips were all
// written in Python (see/practice.py); this script compares numbers, shows those sentences,
// keeps the score, and lets no question be skipped. User text goes in with textContent only.
(function () {
  "use strict";
  var ex = window.explorer;
  var questions = ex.data.practice.questions;
  var tolerance = ex.data.practice.tolerance;
  var done = {}; // step -> "right" or "revealed"
  var tries = {}; // step -> how many times it was checked
  var score = { first: 0, done: 0, revealed: 0 }; // counted in questions (edges)
  var form = document.getElementById("practice");
  var answers = document.getElementById("answers");
  var feedback = document.getElementById("feedback");
  var scoreText = document.getElementById("score");
  var wrongEdge = null;

  function open(i) { return !questions[i] || done[i] !== undefined; }
  ex.hooks.revealed = open;
  ex.hooks.limit = function () {
    for (var i = 0; i < ex.steps; i++) if (!open(i)) return i;
    return ex.steps - 1;
  };
  ex.hooks.shown = function (i) { return questions[i] ? questions[i].prompt : null; };
  ex.hooks.blocked = function () {
    if (!open(ex.current())) say("wait", [["Answer this step first, or press “show me”."]]);
  };

  function close(a, b) { return Math.abs(a - b) <= Math.max(tolerance.rel * Math.abs(b), tolerance.abs); }
  function parse(text) { // a plain number: 3, -0.5, .25, 1e-3
    text = text.trim();
    return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
  }
  function say(verdict, lines) {
    feedback.setAttribute("data-verdict", verdict);
    Page.explain(feedback, lines);
  }
  function markWrong(ref) {
    if (wrongEdge) wrongEdge.classList.remove("wrong");
    wrongEdge = ref ? ex.edge(ref) : null;
    if (wrongEdge) wrongEdge.classList.add("wrong");
  }

  // The boxes of the current step (none where nothing is asked), in edge order.
  var shownFor = -1;
  ex.hooks.after = function (i) {
    if (i === shownFor) return;
    shownFor = i;
    markWrong(null);
    answers.textContent = "";
    var q = questions[i];
    var asking = q && !open(i) && q.inputs.length > 0;
    form.setAttribute("data-asking", asking ? "yes" : "no");
    if (!asking) return;
    feedback.textContent = "";
    feedback.removeAttribute("data-verdict");
    q.inputs.forEach(function (item) {
      var label = document.createElement("label");
      var text = document.createElement("span");
      text.textContent = item.label;
      var input = document.createElement("input");
      input.type = "text";
      input.setAttribute("inputmode", "decimal");
      input.setAttribute("autocomplete", "off");
      input.setAttribute("spellcheck", "false");
      input.setAttribute("data-input", item.name);
      input.setAttribute("data-edge", item.edge);
      input.setAttribute("aria-label", item.label);
      label.appendChild(text);
      label.appendChild(input);
      answers.appendChild(label);
    });
    answers.querySelector("input").focus({ preventScroll: true });
  };

  function finish(i, how) {
    var q = questions[i];
    var n = q.inputs.length;
    done[i] = how;
    score.done += n;
    if (how === "revealed") score.revealed += n;
    else if (tries[i] === 1) score.first += n;
    scoreText.textContent = score.first + " of " + score.done + " first try, " + score.revealed + " revealed";
    ex.apply(i); // the boxes take the step's grads
    var lines = [[how === "right" ? "Right: " + q.right.join("; ") + "." : "Shown: " + q.right.join("; ") + "."]];
    ex.go(i + 1);
    say(how, lines);
  }

  function check() {
    var t0 = performance.now();
    var i = ex.current();
    var q = questions[i];
    if (!q || open(i)) return;
    tries[i] = (tries[i] || 0) + 1;
    var inputs = answers.querySelectorAll("input");
    var wrong = -1;
    q.inputs.forEach(function (item, k) {
      var ok = close(parse(inputs[k].value), item.answer);
      inputs[k].setAttribute("aria-invalid", ok ? "false" : "true");
      if (!ok && wrong < 0) wrong = k;
    });
    if (wrong < 0) {
      finish(i, "right");
    } else {
      var item = q.inputs[wrong];
      var typed = inputs[wrong].value;
      var value = parse(typed);
      var lines = [["Not yet: " + item.label + "."], item.wrong];
      if (isNaN(value)) {
        lines.push(["“" + typed + "” is not a number: write it as 0.5, -3 or 1e-3."]);
      } else {
        var slip = item.mistakes.filter(function (m) { return close(value, m[0]); })[0];
        lines.push([slip ? "Likely mistake: " + slip[1] + "." : item.hint]);
      }
      say("wrong", lines);
      markWrong(item.edge);
      inputs[wrong].focus({ preventScroll: true });
    }
    ex.lastCheckMs = performance.now() - t0;
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); check(); });
  document.getElementById("show-me").addEventListener("click", function () {
    var i = ex.current();
    if (questions[i] && !open(i)) finish(i, "revealed");
  });
  ex.check = check;
  ex.score = function () { return { first: score.first, done: score.done, revealed: score.revealed }; };
  scoreText.textContent = "0 of 0 first try, 0 revealed";
  shownFor = -1;
  ex.go(ex.current());
})();
