# ruff: noqa: F811 (the tests take the browser tests' fixtures, browser and tab, imported below)
"""Practice pages and "why is this right?" cards: their data in Python, and the pages in Chromium.

The answers a learner types are worked out here from the engine alone (each node's recorded
local derivatives and the grads backward() leaves, added up edge by edge in backward order),
never read from the page; the why-cards' central differences are checked against the rule's
value; each of the four typical slips is typed in and must be explained at its edge.
"""

from __future__ import annotations

import math
import re
import shutil

import pytest
from conftest import CHROMIUM, sync_playwright
from test_explore import HOSTILE, lecture_neuron
from test_explore_browser import Saved, tab  # noqa: F401 (a fixture)
from test_explore_sentences import softsign

from autograd_tiny import Value, explore, losses, nn
from autograd_tiny.cli import main
from autograd_tiny.engine import topological_order
from autograd_tiny.see.style import format_number

in_chromium = pytest.mark.skipif(
    sync_playwright is None or CHROMIUM is None or shutil.which("dot") is None,
    reason="the pages run in Chromium (apt-get install chromium), driven by Playwright (pip install playwright), "
    "laid out by Graphviz's dot",
)


def neuron():
    return lecture_neuron()[0], None


def used_twice():
    a = Value(3.0, label="a")
    return a * a + a.tanh(), None


def divide():
    a, b = Value(1.7, label="a"), Value(-2.3, label="b")
    return (a / b).tanh(), None


def power():
    a, b = Value(1.7, label="a"), Value(2.3, label="b")
    return a**b + b, None


def custom():
    x = Value(1.0, label="x")
    return softsign(x * 2) * x, None


def mlp():
    model = nn.MLP(2, [3, 2, 1], seed=4)
    out = model([Value(0.5, label="x1"), Value(-1.5, label="x2")])
    return losses.hinge([out], [1]), model


GRAPHS = {"micrograd's neuron": neuron, "a*a + a.tanh()": used_twice, "/": divide,
          "** with a Value exponent": power, "a custom primitive": custom,
          "an MLP sample, one box per neuron": mlp}  # fmt: skip


def engine_answers(root: Value, model) -> list[list[float]]:
    """The answers of each backward step with something to ask, from the engine alone: after
    root.backward(), node m's grad is d root / d m; along the edge to its i-th input p, p's grad
    gains m.local_grads[i] × m.grad, in backward's order. Numbers written in the expression
    are not asked, nor (one box per neuron) the weights and biases folded into a neuron's box."""
    root.backward()
    folded = set(model.parameters()) if model is not None else set()
    running: dict = {}
    answers = []
    for m in reversed(topological_order(root)):
        step = []
        for p, d in zip(m.parents, m.local_grads):
            if not isinstance(p, Value) or p in folded:
                continue
            running[p] = running.get(p, 0.0) + (0.0 if d is None else d * m.grad)
            step.append(running[p])
        if step:
            answers.append(step)
    return answers


# ---------------------------------------------------------------------- in Python


@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_the_questions_answers_are_the_engines(make):
    """Each backward step asks one box per edge whose input is drawn, in edge order, and its
    answers are the engine's running sums; every listed slip gives another number."""
    root, model = make()
    page = explore(root, model=model, practice=True)
    asked = [[q["answer"] for q in page.questions[k]["inputs"]] for k in sorted(page.questions, key=int)]
    expected = engine_answers(root, model)
    assert len(asked) == len(expected)
    for mine, right in zip(asked, expected):
        assert mine == pytest.approx(right, rel=1e-12, abs=1e-15)
    for q in (q for step in page.questions.values() for q in step["inputs"]):
        assert all(abs(slip - q["answer"]) > 1e-6 for slip, _ in q["mistakes"])


@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_every_edge_has_a_card_whose_check_agrees(make):
    """Every edge of the backward pass has a why-card; its central difference (step size given)
    agrees with the rule's value to 1e-5, and that value is the engine's local derivative."""
    root, model = make()
    page = explore(root, model=model)
    edges = sum(len(s["edges"]) for s in page.steps if s["phase"] == "backward")
    assert len(page.cards) == edges
    checked = 0
    for step in (s for s in page.steps if s["phase"] == "backward"):
        for f in step["flows"]:
            card = page.cards.get(f"{f['edge'][0]}#{f['edge'][1]}") if f["edge"] else None
            if card is None or card["check"] is None:
                continue
            check = card["check"]
            assert 0 < check["h"] <= 1e-6 * max(1.0, abs(check["at"]))
            local = f["member"].local_grads[f["index"]] if f["member"] is step["node"] else f["local"]
            assert check["local"] == pytest.approx(local or 0.0, rel=1e-12)
            assert check["estimate"] == pytest.approx(check["local"], rel=1e-5, abs=1e-8)
            checked += 1
    assert checked >= 2


def test_practice_must_be_a_bool():
    """practice='yes' is a one-line TypeError naming it."""
    with pytest.raises(TypeError, match="explore: practice must be True or False, got 'yes'"):
        explore(Value(1.0) * 2, practice="yes")


def test_a_custom_primitives_card_shows_the_value_and_the_check():
    """A custom primitive without a formula text: its card says so, and gives the values, the local
    derivative (the closed form 1 / (1 + |x|)²) and the numeric check with its step."""
    root, _ = custom()
    page = explore(root)
    card = page.cards["v2->v3op#0"]  # mul1 -> softsign2
    text = ["".join(p if isinstance(p, str) else p[0] for p in line) for line in card["lines"]]
    assert text[1].startswith("softsign is a custom primitive without a formula text")
    assert text[2] == "Evaluated at x: mul1 = 2, out: softsign2 = 0.6667"
    assert text[3] == f"local derivative ∂softsign2/∂mul1 = {format_number(1 / 9)}"  # 1 / (1 + |2|)²
    assert text[4].startswith("Check, by a central difference with h = 2.0e-06: (f(x + h) − f(x − h)) / 2h = 0.1111")


# ---------------------------------------------------------------------- in Chromium


def open_practice(tab, root, model=None):
    page = explore(root, model=model, practice=True)
    tab.open(page)
    return page


def seed_step(page) -> int:
    return next(i for i, s in enumerate(page.steps) if s["phase"] == "seed")


def next_question(tab) -> None:
    """Step on (the page goes on by itself after a right answer) until a step asks something."""
    for _ in range(100):
        if tab.page.locator("#answers input").count():
            return
        tab.page.evaluate("() => window.explorer.go(window.explorer.current() + 1)")
    raise AssertionError("no question left")


def answer(tab, values: list[str]) -> dict:
    """Type `values` into the boxes of the step, in order, press Enter; what the page says."""
    inputs = tab.page.locator("#answers input")
    assert inputs.count() == len(values)
    for k, v in enumerate(values):
        inputs.nth(k).fill(v)
    inputs.nth(len(values) - 1).press("Enter")
    return {"verdict": tab.page.get_attribute("#feedback", "data-verdict"),
            "said": tab.page.inner_text("#feedback"), "current": tab.page.evaluate("window.explorer.current()")}  # fmt: skip


@in_chromium
@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_right_answers_go_through_to_the_end(tab, make):
    """Typed to 4 significant digits, the engine's answers pass, step after step, to the end: the
    score is all first try, and the boxes end with backward()'s gradients."""
    root, model = make()
    page = open_practice(tab, root, model)
    expected = engine_answers(root, model)
    tab.page.evaluate("k => window.explorer.go(k)", seed_step(page))
    done = 0
    for values in expected:
        next_question(tab)
        said = answer(tab, [f"{v:.4g}" for v in values])
        assert said["verdict"] == "right", said
        done += len(values)
    assert tab.page.evaluate("window.explorer.current()") == len(page.steps) - 1
    assert tab.page.text_content("#score") == f"{done} of {done} first try, 0 revealed"
    leaves = [v for v in page.graph.nodes if isinstance(v, Value) and not v.parents and page.graph.is_drawn(v)]
    for leaf in leaves:
        assert tab.texts(page.graph.name(leaf))[-1] == f"grad {format_number(leaf.grad)}"


SLIPS = {
    "upstream": ("forgot to multiply the local derivative by the upstream gradient", lambda b, d, g: b + d),
    "accumulate": ("forgot to add to what a.grad already held", lambda b, d, g: d * g),
    "sign": ("the sign is flipped", lambda b, d, g: b - d * g),
    "output": ("used the output mul1 = 9 where the rule has the input a", lambda b, d, g: b + 9 * g),
}


@in_chromium
@pytest.mark.parametrize("slip", SLIPS)
def test_each_typical_slip_is_explained_at_its_edge(tab, slip):
    """On (a*a + tanh(a)) * 2 at a = 3, at the step of a*a, the first edge (a as x) has a.grad
    0.0197 before it, local derivative 3 and upstream 2: each slip's answer is told as that slip,
    naming the edge, the rule ∂mul1/∂x = y and its value 3 here, and the edge is marked."""
    a = Value(3.0, label="a")
    root = (a * a + a.tanh()) * 2.0
    page = open_practice(tab, root)
    before = 2 * (1 - math.tanh(3.0) ** 2)  # what tanh sent back first
    says, wrong = SLIPS[slip]
    tab.page.evaluate("k => window.explorer.go(k)", seed_step(page))
    for values in engine_answers(root, None)[:-1]:  # up to the step of a*a, the last one
        next_question(tab)
        assert answer(tab, [f"{v:.6g}" for v in values])["verdict"] == "right"
    next_question(tab)
    right = [before + 3 * 2, before + 12]
    said = answer(tab, [f"{wrong(before, 3.0, 2.0):.6g}", f"{right[1]:.6g}"])
    assert said["verdict"] == "wrong" and said["current"] == len(page.steps) - 2
    assert "The edge a → mul1 (a as x): the rule gives ∂mul1/∂x = y, which is 3 here" in said["said"]
    assert f"Likely mistake: {says}" in said["said"]
    marked = tab.page.eval_on_selector_all("g.edge.wrong", "els => els.map(e => e.querySelector('title').textContent)")
    assert marked == ["v0->v1op"]
    assert tab.page.get_attribute("#answers input >> nth=0", "aria-invalid") == "true"
    said = answer(tab, [f"{v:.6g}" for v in right])  # then the right one: on to the end
    assert said["verdict"] == "right" and said["current"] == len(page.steps) - 1
    assert tab.page.text_content("#score") == "4 of 6 first try, 0 revealed"  # the two of a*a on a second try


@in_chromium
def test_no_key_skips_a_question_and_show_me_counts(tab):
    """At an unanswered step, →, End and the slider stay there and say why; 'show me' reveals the
    step (the boxes and labels show its numbers), counts it as revealed, and moves on."""
    root, _ = used_twice()
    page = open_practice(tab, root)
    first = seed_step(page) + 1
    tab.page.evaluate("k => window.explorer.go(k)", first)
    tab.page.locator("#explanation").click()  # the focus off the boxes: keys step the page
    for key in ("ArrowRight", "End"):
        tab.press(key)
        assert tab.page.evaluate("window.explorer.current()") == first
    tab.page.locator("#scrub").fill(str(len(page.steps) - 1))
    assert tab.page.evaluate("window.explorer.current()") == first
    assert "Answer this step first" in tab.page.inner_text("#feedback")
    assert tab.page.eval_on_selector_all('g.edge.now g[id$="-label"]', "els => els.length") == 0
    tab.page.click("#show-me")
    assert tab.page.evaluate("window.explorer.current()") == first + 1
    assert tab.page.get_attribute("#feedback", "data-verdict") == "revealed"
    assert tab.page.text_content("#score") == "0 of 2 first try, 2 revealed"
    assert tab.texts(page.graph.name(root.parents[0]))[-1] == "grad 1"
    tab.page.locator("#explanation").click()  # out of the next step's boxes
    tab.press("ArrowLeft")  # back to the revealed step: its labels show
    assert tab.page.eval_on_selector_all('g.edge.now g[id$="-label"]', "els => els.length") == 2


@in_chromium
def test_the_dom_contract(tab):
    """#practice holds one <input> per edge of the step, in edge order, each with data-input the
    input's name as drawn (the first text of its box); #feedback, #why and #explanation exist;
    a box not answered yet shows 'grad ?'."""
    x = Value(2.0, label="x")
    root = x * Value(-1.5) + x  # an unlabelled leaf: 'leaf1'
    page = open_practice(tab, root)
    for selector in ("#practice", "#feedback", "#why", "#explanation"):
        assert tab.page.locator(selector).count() == 1
    graph = page.graph
    assert tab.texts(graph.name(x))[-1] == "grad ?"
    tab.page.evaluate("k => window.explorer.go(k)", seed_step(page))
    for step in [s for s in page.steps if s["phase"] == "backward"]:
        next_question(tab)
        names = tab.page.eval_on_selector_all("#practice input", "els => els.map(e => e.getAttribute('data-input'))")
        drawn = [tab.texts(graph.name(f["input"]))[0] for f in step["flows"] if isinstance(f["input"], Value)]
        assert names == drawn
        tab.page.click("#show-me")
    assert "leaf1" in drawn


@in_chromium
def test_the_why_card_opens_by_click_and_by_keyboard_and_agrees(tab):
    """On the plain page, clicking an edge opens its card; Tab reaches the edges and focusing one
    opens its card; each card's central difference agrees with its local derivative to 1e-5."""
    root, _ = divide()
    page = explore(root)
    tab.open(page)
    assert tab.page.locator("#why").is_hidden()
    tab.page.click("g.edge:has(title:text-is('v0->v2op:numerator'))", force=True)
    assert tab.page.locator("#why").is_visible()
    assert tab.page.inner_text("#why-text").startswith("Why this edge: a → div")
    tab.page.keyboard.press("Escape")
    assert tab.page.locator("#why").is_hidden()
    seen = set()
    for _ in range(60):
        tab.page.keyboard.press("Tab")
        ref = tab.page.evaluate("() => document.activeElement.closest && document.activeElement.closest('g.edge') ? "
                                "document.getElementById('why').getAttribute('data-edge') : null")  # fmt: skip
        if ref:
            seen.add(ref)
            lines = tab.page.eval_on_selector_all(
                "#why-text li", "els => els.map(e => [e.textContent, [...e.querySelectorAll('.num')]"
                ".map(n => Number(n.getAttribute('data-value')))])")  # fmt: skip
            local = next(nums[0] for text, nums in lines if text.startswith("local derivative"))
            estimate = next(nums[0] for text, nums in lines if text.startswith("Check, by a central difference"))
            assert estimate == pytest.approx(local, rel=1e-5, abs=1e-8)
    assert seen == set(page.cards)


@in_chromium
def test_a_practice_card_keeps_the_answer_until_the_step_is_done(tab):
    """On a practice page, an open step's card shows the rule and its values but not the local
    derivative; once the step is answered, all of it."""
    root, _ = used_twice()
    page = open_practice(tab, root)
    tab.page.evaluate("k => window.explorer.go(k)", seed_step(page) + 1)
    tab.page.evaluate("() => window.explorer.openWhy('v1->v3op#0')")
    said = tab.page.inner_text("#why-text")
    assert "The rule of + in the engine's table" in said and "local derivative ∂" not in said
    answer(tab, ["1", "1"])
    tab.page.evaluate("() => window.explorer.openWhy('v1->v3op#0')")
    assert "local derivative ∂add3/∂mul1 = 1" in tab.page.inner_text("#why-text")


@in_chromium
def test_hostile_labels_on_a_practice_page_stay_text(tab):
    """Labels that try to end the script or add an element are the boxes' labels as typed; no
    script of theirs runs, and the right answers still go through."""
    x = Value(2.0, label=HOSTILE)
    y = Value(-1.0, label="<img src=x onerror=alert(2)>")
    root = x * y + x
    page = open_practice(tab, root)
    tab.page.evaluate("k => window.explorer.go(k)", seed_step(page))
    for values in engine_answers(root, None):
        next_question(tab)
        labels = tab.page.eval_on_selector_all("#answers label span", "els => els.map(e => e.textContent)")
        assert all(HOSTILE in t or "<img" in t or "add" in t or "mul" in t for t in labels)
        assert answer(tab, [f"{v:.6g}" for v in values])["verdict"] == "right"
    assert tab.page.eval_on_selector_all("img", "els => els.length") == 0
    assert tab.page.eval_on_selector_all("script", "els => els.length") == 2


@in_chromium
def test_graph_command_writes_a_practice_page(tab, capsys):
    """`autograd-tiny graph EXPR ... --practice page.html` writes a practice page whose answers
    are the gradients the command printed."""
    path = tab.tmp_path / "practice.html"
    assert main(["graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--practice", str(path), "--no-draw"]) == 0
    printed = dict(line.split(" = ") for line in capsys.readouterr().out.splitlines() if " = " in line)
    tab.open(Saved(path))
    assert tab.page.locator("#practice").count() == 1
    tab.press("End")
    while tab.page.locator("#answers input").count():
        tab.page.click("#show-me")
    tab.press("End")
    said = tab.page.inner_text("#explanation")
    for name in ("x", "w", "b"):
        assert re.search(rf"{name}\.grad = {re.escape(format_number(float(printed[f'{name}.grad'])))}", said)
