"""The explorer's pages in a real browser: headless Chromium (Debian's), driven by Playwright.

Every page is opened from its saved file with the network cut off (any http or https request
is aborted and counted), and every test ends by checking that the page raised no JavaScript
error, logged no console error and asked for nothing over the network. Keys are pressed as a
learner would; what the page says (#explanation, its numbers, the highlighted node, the boxes'
texts) is checked against closed forms and the engine's own backward().
"""

from __future__ import annotations

import math
import re
import statistics

import pytest
from conftest import needs_browser, needs_dot
from test_explore import HOSTILE, B, lecture_neuron  # the same graphs as the Python-side tests
from test_explore_training import by_hand  # an MLP's hinge loss and its gradients, by hand

from autograd_tiny import TrainingRecorder, Value, data, explore, losses, nn
from autograd_tiny.cli import main
from autograd_tiny.engine import topological_order
from autograd_tiny.neuron import NeuronOp
from autograd_tiny.see.draw import draw_dot
from autograd_tiny.see.style import format_number
from autograd_tiny.see.trace import trace

pytestmark = [*needs_browser, needs_dot]  # Playwright, Chromium, and Graphviz's dot to lay the pages out


class Tab:
    """A browser page opened from a saved file, offline, that records what went wrong."""

    def __init__(self, browser, tmp_path):
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type in ("error", "warning") else None)  # fmt: skip
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.tmp_path = tmp_path

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route):
        url = route.request.url
        if url.startswith(("http:", "https:")):
            self.requests.append(url)
            route.abort()
        else:
            route.continue_()

    def open(self, saved, name="page.html"):
        path = saved.save(self.tmp_path / name)
        self.page.goto(path.as_uri())
        self.page.wait_for_function("() => window.explorer !== undefined")
        return self

    def press(self, key, times=1):
        for _ in range(times):
            self.page.keyboard.press(key)

    def explanation(self) -> str:
        return self.page.text_content("#explanation")

    def numbers(self, where="#explanation") -> list[float]:
        """The exact values of the numbers shown (each carries its repr in data-value)."""
        return [float(v) for v in self.page.eval_on_selector_all(
            f"{where} .num", "els => els.map(e => e.getAttribute('data-value'))")]  # fmt: skip

    def lines(self) -> list[tuple[str, list[float]]]:
        """The explanation's list items: (text, exact numbers)."""
        return [(t, [float(v) for v in vs]) for t, vs in self.page.eval_on_selector_all(
            "#explanation li", "els => els.map(e => [e.textContent, "
            "[...e.querySelectorAll('.num')].map(n => n.getAttribute('data-value'))])")]  # fmt: skip

    def current(self) -> str | None:
        """The name of the highlighted box (not its op node)."""
        names = self.page.eval_on_selector_all(
            "g.node.current", "els => els.map(e => e.querySelector('title').textContent)"
        )
        boxes = [n for n in names if not n.endswith("op")]
        return boxes[0] if boxes else None

    def texts(self, name: str) -> list[str]:
        return self.page.eval_on_selector_all(
            "g.node",
            "(els, name) => { const g = els.find(e => e.querySelector('title').textContent === name);"
            " return g ? [...g.querySelectorAll('text')].map(t => t.textContent) : null; }",
            name,
        )

    def check_clean(self):
        assert self.problems == [], self.problems
        assert self.requests == [], self.requests
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def tab(browser, tmp_path):
    t = Tab(browser, tmp_path)
    yield t
    t.check_clean()
    t.context.close()


# ---------------------------------------------------------------------- stepping


def test_a_value_used_twice_visibly_accumulates(tab):
    """a * a at 3: the backward step shows a.grad 0 -> 3 then 3 -> 6 on the page and in a's box,
    with a*a highlighted; stepping back puts a's box to grad 0 again."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    tab.open(page)
    name = {v: page.graph.name(v) for v in page.graph.nodes}
    tab.press("ArrowRight", 3)  # forward, seed, backward
    assert tab.current() == name[page.graph.root]
    lines = tab.lines()
    assert [nums for _, nums in lines] == [[3.0, 1.0, 3.0, 0.0, 3.0], [3.0, 1.0, 3.0, 3.0, 6.0]]
    assert tab.texts(name[a])[-1] == "grad 6"
    tab.press("ArrowLeft")
    assert "Backward starts" in tab.explanation()
    assert tab.texts(name[a])[-1] == "grad 0"


def test_lecture_neuron_step_by_step(tab):
    """Every backward step highlights the node backward() visits next and explains it with the
    closed-form numbers; at the end the leaves' grads are backward()'s and the closed forms."""
    o, leaves = lecture_neuron()
    x1, w1 = leaves["x1"], leaves["w1"]
    page = explore(o)
    tab.open(page)
    slope = 1 - math.tanh(B - 6) ** 2
    closed = {"n": (slope, 1.0), "b": (1.0, slope), "x1": (-3.0, slope), "w1": (2.0, slope)}
    closed.update({"x2": (1.0, slope), "w2": (0.0, slope)})
    order = [page.graph.name(v) for v in reversed(topological_order(o))]
    tab.press("ArrowRight", 6)  # the start, then five forward steps: now at the seed
    assert tab.numbers()[0] == 1.0 and tab.texts(page.graph.name(o))[-1] == "grad 1"
    checked = set()
    for name in order:
        tab.press("ArrowRight")
        assert tab.current() == name
        for text, (local, up, contribution, before, after) in tab.lines():
            label = re.search(r"added to (.+?)\.grad", text).group(1)
            if label in closed:
                assert local == pytest.approx(closed[label][0], abs=1e-12)
                assert up == pytest.approx(closed[label][1], abs=1e-12)
                assert contribution == pytest.approx(closed[label][0] * closed[label][1], abs=1e-12)
                assert (before, after) == (0.0, contribution)
                checked.add(label)
    assert checked == set(closed)
    tab.press("End")
    o.backward()
    shown = dict(zip(["x1", "w1", "x2", "w2", "b"], tab.numbers()))
    assert shown == {name: leaves[name].grad for name in shown}
    assert shown["w1"] == pytest.approx(x1.data * slope) and shown["x1"] == pytest.approx(w1.data * slope)


def test_forward_steps_reveal_each_value_in_order(tab):
    """Before its forward step a value's box says 'data ?' and is dimmed; at its step it is
    highlighted and shows its data."""
    o, _ = lecture_neuron()
    page = explore(o)
    tab.open(page)
    order = topological_order(o)
    names = [page.graph.name(v) for v in order]
    assert all(tab.texts(n)[-2] == "data ?" for n in names)
    for k, (v, name) in enumerate(zip(order, names), start=1):
        tab.press("ArrowRight")
        assert tab.current() == name
        assert tab.texts(name)[-2] == f"data {format_number(v.data)}"
        pending = tab.page.eval_on_selector_all("g.node.pending", "els => els.length")
        assert pending == len(order) - k
        assert tab.numbers()[-1] == v.data


def test_buttons_slider_and_play(tab):
    """The end and start buttons jump, the slider goes where it is put, and play runs to the end
    and stops by itself."""
    o, _ = lecture_neuron()
    page = explore(o)
    tab.open(page)
    last = len(page.steps) - 1
    current = "() => window.explorer.current()"
    tab.page.click("#last")
    assert tab.page.evaluate(current) == last and "done" in tab.explanation()
    tab.page.click("#first")
    assert tab.page.evaluate(current) == 0
    tab.page.locator("#scrub").fill("4")
    assert tab.page.evaluate(current) == 4
    tab.page.select_option("#speed", "120")
    tab.page.click("#play")
    assert tab.page.text_content("#play") == "pause"
    tab.page.wait_for_function("n => window.explorer.current() === n", arg=last, timeout=10_000)
    tab.page.wait_for_function("() => document.getElementById('play').textContent === 'play'", timeout=2_000)


# ---------------------------------------------------------------------- every edge of every step
# Where the order of an op's inputs matters, draw_dot ends each edge in a named port of the op
# node, named by its role in the engine's table ('v0 -> v2op:numerator'); a value used far away is drawn again beside the use ('v0again3'),
# the edge coming from the copy. Each backward step must still label and light up the edge of
# every input, and the numbers must be the engine's.

STATE = """() => {
    const seen = {}, active = [];
    document.querySelectorAll("g.edge").forEach(g => {  // [title, k]: the k-th edge of that title
        const title = g.querySelector("title").textContent;
        const k = seen[title] = (seen[title] ?? -1) + 1;
        if (g.classList.contains("active")) active.push(title + "#" + k);
    });
    const labels = [];  // [title#k, its lines]: the labels shown as this step's (class "now")
    const counted = {};
    document.querySelectorAll("g.edge").forEach(g => {
        const title = g.querySelector("title").textContent;
        const k = counted[title] = (counted[title] ?? -1) + 1;
        const label = g.querySelector('g[id$="-label"]');
        if (label && getComputedStyle(label).visibility === "visible" && g.classList.contains("now"))
            labels.push([title + "#" + k, ...[...label.querySelectorAll("text")].map(t => t.textContent)]);
    });
    const marked = cls => [...document.querySelectorAll("g.node." + cls)].map(
        g => g.querySelector("title").textContent);
    return {active, labels, targets: marked("target"), current: marked("current")};
}"""


def slope_of(neuron: Value, z: float) -> float:
    """act'(z) of a fused neuron node's activation, from its closed form."""
    act = neuron.grad_fn.activation
    out = neuron.data
    return {None: 1.0, "relu": float(z > 0), "tanh": 1 - out**2, "sigmoid": out * (1 - out)}[act]


def closed_form(node: Value, i: int) -> float | None:
    """d node / d (its i-th input), written out by hand; None where nothing can flow (a number
    written in the expression)."""
    args = node.parents
    if not isinstance(args[i], Value):
        return None
    x = [a.data if isinstance(a, Value) else a for a in args]
    if node.op == "+" or node.op == "sum":
        return 1.0
    if node.op == "*":
        return x[1 - i]
    if node.op == "/":
        return 1 / x[1] if i == 0 else -x[0] / x[1] ** 2
    if node.op == "**":
        return x[1] * x[0] ** (x[1] - 1) if i == 0 else x[0] ** x[1] * math.log(x[0])
    if node.op == "tanh":
        return 1 - math.tanh(x[0]) ** 2
    if node.op == "leaky_relu":
        return (1.0 if x[0] > 0 else x[1]) if i == 0 else min(x[0], 0.0)
    if isinstance(node.grad_fn, NeuronOp):
        n = len(args) // 2
        z = sum(x[j] * x[n + j] for j in range(n)) + (x[2 * n] if len(args) % 2 else 0.0)
        return slope_of(node, z) * (x[n + i] if i < n else x[i - n] if i < 2 * n else 1.0)
    raise AssertionError(f"no closed form for {node.op}")


def inputs_drawn(node: Value, folded: bool) -> list[tuple[Value, int, str, float | None, float | None]]:
    """(owner, i, port, engine's local derivative, closed form) for each input the drawing has an
    edge for, the i-th input of `owner`: every input of the node, or for a neuron drawn as one
    box (`folded`) the x's of its neuron node, with d box / d x through the activation after the
    neuron node, if any."""
    if not folded:
        ports = node.grad_fn.roles or ([""] * len(node.parents))
        if isinstance(node.grad_fn, NeuronOp):
            n = len(node.parents) // 2
            ports = [f"w{j}" for j in range(1, n + 1)] + [f"x{j}" for j in range(1, n + 1)] + ["b"]
        return [(node, i, port, d, closed_form(node, i))
                for i, (port, d) in enumerate(zip(ports, node.local_grads))]  # fmt: skip
    neuron, after = (node, None) if isinstance(node.grad_fn, NeuronOp) else (node.parents[0], node)
    n = len(neuron.parents) // 2
    found = []
    for i in range(n, 2 * n):
        d = neuron.local_grads[i]
        closed = closed_form(neuron, i)
        if after is not None:  # the chain rule through the activation in the same box
            d = None if d is None or after.local_grads[0] is None else d * after.local_grads[0]
            closed = closed * closed_form(after, 0)
        found.append((neuron, i, "", d, closed))
    return found


def numbers_in(text: str) -> list[float]:
    return [float(t) for t in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)]


def table_rows(tab) -> dict[str, list[float]]:
    """The step's table: each input's name and the exact numbers of its row."""
    rows = tab.page.eval_on_selector_all(
        "#details tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent,"
        " [...r.querySelectorAll('.num')].map(n => n.getAttribute('data-value'))])",
    )
    return {name: [float(v) for v in values] for name, values in rows}


def check_every_backward_step(tab, page, root: Value, *, folded: bool = False) -> int:
    """Step through the backward pass; at each step check that every input's edge (from its box
    or a copy of it, into the right port) is lit and labelled, once, with the engine's local
    derivative (and the closed form) × the node's grad from backward() = the contribution, and
    the input's grad before and after (for a neuron box, whose edges carry no label, its table
    says so); returns the number of edges with a gradient checked."""
    nodes, edges = trace(root)  # draw_dot's names: the i-th value (or number) is 'v{i}'
    name = {v: f"v{i}" for i, v in enumerate(nodes)}
    box_of: dict = {}  # (node, i) -> the box of its i-th input (a number's is trace's Constant)
    for parent, child in edges:
        box_of[(child, sum(1 for key in box_of if key[0] is child))] = name[parent]
    root.backward()  # the oracle for each node's grad: d root / d node
    running: dict = {}
    checked = 0
    seed = next(i for i, s in enumerate(page.steps) if s["phase"] == "seed")
    tab.page.evaluate("k => window.explorer.go(k)", seed)
    for _ in range(sum(s["phase"] == "backward" for s in page.steps)):
        tab.press("ArrowRight")
        state = tab.page.evaluate(STATE)
        (box,) = [n for n in state["current"] if not n.endswith("op")]
        node = nodes[int(box[1:])]
        up = node.grad
        head = f"{box}op" if f"{box}op" in state["current"] else box  # a neuron box has no op node
        labels = {ref: lines for ref, *lines in state["labels"]}
        labelled = head != box and len(state["active"]) <= 6  # a neuron box's numbers are in its table
        assert len(labels) == len(state["labels"]) == (len(state["active"]) if labelled else 0), state
        assert set(labels) <= set(state["active"]), state  # every label is on a lit edge
        expected = inputs_drawn(node, folded and head == box)
        assert len(state["active"]) == len(expected), (node.op, state)
        rows = {} if labelled else table_rows(tab)
        free = sorted(state["active"])
        for owner, i, port, d, closed in expected:  # its edge: from its box or a copy, into its port
            edge = rf"{box_of[(owner, i)]}(again\d+)?->{head}{':' + port if port else ''}#\d+"
            found = [r for r in free if re.fullmatch(edge, r)]
            assert found, (edge, free)  # its edge is lit and labelled
            ref = found[0]
            free.remove(ref)
            p = owner.parents[i]
            if not labelled:  # the numbers are in the step's table, the row of the input
                row = rows[page.graph.who(p)]
                if d is None:
                    assert row == [] and (closed is None or closed == 0.0), row
                    continue
                before = running.get(p, 0.0)
                running[p] = after = before + d * up
                assert row == pytest.approx([closed, up, closed * up, before, after], rel=1e-12, abs=1e-15)
                checked += 1
                continue
            first, *second = labels[ref]
            if d is None:
                assert first == "no gradient" and (closed is None or closed == 0.0), (ref, first)
                continue
            assert d == pytest.approx(closed, rel=1e-12, abs=1e-15)
            before = running.get(p, 0.0)
            running[p] = after = before + d * up
            assert first == f"{format_number(d)} × {format_number(up)} = {format_number(d * up)}"
            assert numbers_in(first) == pytest.approx([closed, up, closed * up], rel=1e-3, abs=1e-12)
            assert second == [f"grad {format_number(before)} → {format_number(after)}"]
            assert {box_of[(owner, i)], ref.split("->")[0]} <= set(state["targets"])  # box and copy glow
            checked += 1
    for value, g in running.items():
        if not value.parents:
            assert g == pytest.approx(value.grad, rel=1e-12)
    return checked


def test_ported_edges_are_labelled_at_every_step(tab):
    """/, ** in all three forms (x ** y, 2 ** x, x ** 2) and leaky_relu with a number slope and
    with a Value slope: at every backward step each input's edge, which ends in its named port,
    is lit and labelled with the closed-form local derivative."""
    x, y, s = Value(2.0, label="x"), Value(3.0, label="y"), Value(0.1, label="s")
    out = x / y + x**y + 2**x + x**2 + (x * -1.5).leaky_relu(0.2)
    out = out + (x * -0.5).leaky_relu(s) + (y / 4).leaky_relu(s)
    source = draw_dot(out).source
    assert all(f":{port}" in source for port in ("numerator", "denominator", "base", "exponent", "x", "slope"))
    page = explore(out)
    tab.open(page)
    assert check_every_backward_step(tab, page, out) == sum(
        d is not None for v in topological_order(out) for d in v.local_grads
    )


def test_fused_neuron_node_edges_are_labelled_at_every_step(tab):
    """A fused neuron node (tanh(w·x+b)) drawn with its slots w1 w2 x1 x2 b: all five edges are
    lit and labelled with x·tanh', w·tanh' and tanh'."""
    w = [Value(0.5, label="w1"), Value(-1.0, label="w2")]
    x = [Value(1.5, label="x1"), Value(0.25, label="x2")]
    out = Value.dot(w, x, bias=Value(0.1, label="b"), activation="tanh")
    assert ":w1" in draw_dot(out).source
    page = explore(out)
    tab.open(page)
    assert check_every_backward_step(tab, page, out) == 5


@pytest.mark.parametrize("activation", ["tanh", "leaky_relu"])
def test_model_neurons_edges_are_lit_and_tabled_at_every_step(tab, activation):
    """MLP(2, [3, 1]) with model=: one box per neuron (a leaky_relu neuron is a neuron node and
    its activation, in one box); each step lights the edge of every input x, its table gives
    w·act'(z), and the leaves end with backward()'s gradients."""
    model = nn.MLP(2, [3, 1], seed=2, activation=activation)
    out = model([Value(0.5, label="x1"), Value(-1.5, label="x2")])
    loss = (out - 1.0) ** 2
    page = explore(loss, model=model)
    tab.open(page)
    assert check_every_backward_step(tab, page, loss, folded=True) >= 3 * 2 + 3


LABEL_BOXES = """() => {
    const box = e => { const b = e.getBBox(); return {x: b.x, y: b.y, w: b.width, h: b.height}; };
    const edges = [...document.querySelectorAll("g.edge")].map(g => {
        const path = g.querySelector("path"), length = path.getTotalLength(), points = [];
        for (let t = 0; t <= length; t += 0.5) { const p = path.getPointAtLength(t); points.push([p.x, p.y]); }
        const labels = [...g.querySelectorAll('g[id$="-label"]')];
        return {title: g.querySelector("title").textContent, points, count: labels.length,
                label: labels.length ? box(labels[0].querySelector("polygon")) : null,
                shown: labels.length ? getComputedStyle(labels[0]).visibility === "visible" : false};
    });
    const nodes = [...document.querySelectorAll("g.node")].map(g => box(g.querySelector("polygon, ellipse, path")));
    return {edges, nodes};
}"""


def apart(a: dict, b: dict) -> bool:
    return a["x"] + a["w"] <= b["x"] or b["x"] + b["w"] <= a["x"] or a["y"] + a["h"] <= b["y"] or b["y"] + b["h"] <= a["y"]


def distance(point, b: dict) -> float:
    dx = max(b["x"] - point[0], 0.0, point[0] - b["x"] - b["w"])
    dy = max(b["y"] - point[1], 0.0, point[1] - b["y"] - b["h"])
    return math.hypot(dx, dy)


@pytest.mark.parametrize("graph", ["a*a + a.tanh()", "neuron"])
def test_edge_labels_keep_apart(tab, graph):
    """Measured in the SVG, at the end of the backward pass (every label shown): each edge has at
    most one label and each edge of a backward step has one; no two labels overlap, no label
    covers a node, each label is beside its own edge (within 5 units of the drawing, 11-point
    text being 11 units tall), and no other edge comes within 1 unit of it: on a*a the two edges
    from a, and the tanh edge, each keep their own."""
    if graph == "neuron":
        root, _ = lecture_neuron()
    else:
        a = Value(3.0, label="a")
        root = a * a + a.tanh()
    page = explore(root)
    tab.open(page)
    tab.press("End")
    found = tab.page.evaluate(LABEL_BOXES)
    edges, nodes = found["edges"], found["nodes"]
    assert all(e["count"] <= 1 for e in edges)
    labelled = [e for e in edges if e["label"] is not None]
    assert len(labelled) == len(edges) - len(topological_order(root)) and all(e["shown"] for e in labelled)
    for i, e in enumerate(labelled):
        for other in labelled[i + 1 :]:
            assert apart(e["label"], other["label"]), (e["title"], other["title"])
        for node in nodes:
            assert apart(e["label"], node), e["title"]
        own = min(distance(p, e["label"]) for p in e["points"])
        assert own <= 5, e["title"]
        for other in edges:
            if other is not e:
                near = min(distance(p, e["label"]) for p in other["points"])
                assert near >= 1, (e["title"], other["title"])


@pytest.mark.parametrize("shape", ["sum", "chain"])
def test_copies_carry_their_values_labels_and_highlight(tab, shape):
    """x + x + ... + x (50 terms) and z = tanh(z * 0.999) + x (40 steps) are drawn with copies of
    x beside its far uses: at each step the edge from the copy is lit and labelled, the copy glows
    with x, and every copy shows x's grad as it grows."""
    x = Value(0.5, label="x")
    out = x
    for _ in range(49 if shape == "sum" else 40):
        out = out + x if shape == "sum" else (out * 0.999).tanh() + x
    assert "v0again" in draw_dot(out).source
    page = explore(out)  # under its cap of 500 nodes
    tab.open(page)
    copies = tab.page.eval_on_selector_all(
        "g.node", "els => els.map(e => e.querySelector('title').textContent).filter(t => t.includes('again'))"
    )
    of_x = [c for c in copies if c.startswith("v0again")]
    assert len(of_x) >= 10
    lit = []
    seed = next(i for i, s in enumerate(page.steps) if s["phase"] == "seed")
    for k in range(seed + 1, len(page.steps) - 1):
        tab.page.evaluate("k => window.explorer.go(k)", k)
        shown, glowing = tab.page.evaluate("""() => {
            const texts = {}, glowing = [];
            document.querySelectorAll("g.node").forEach(g => {
                const name = g.querySelector("title").textContent;
                texts[name] = [...g.querySelectorAll("text")].map(t => t.textContent);
                if (g.classList.contains("target")) glowing.push(name);
            });
            return [texts, glowing];
        }""")
        for copy in copies:  # 'again', then what its value's box shows: label, data, grad
            assert shown[copy] == ["again", *shown[copy.split("again")[0]]]
        lit += glowing
    assert set(of_x) <= set(lit)  # each copy of x glowed at the step that uses it
    def f(t: float) -> float:  # the same function on floats, for central differences
        z = t
        for _ in range(49 if shape == "sum" else 40):
            z = z + t if shape == "sum" else math.tanh(z * 0.999) + t
        return z

    h = 1e-6
    shown = float(tab.texts(of_x[0])[-1].split()[1])  # 'grad 50'
    assert shown == pytest.approx((f(0.5 + h) - f(0.5 - h)) / (2 * h), rel=1e-3)
    tab.page.evaluate("() => window.explorer.go(0)")
    assert check_every_backward_step(tab, page, out) >= 49 * 2


def test_the_key_node_is_drawn_and_labels_keep_off_it(tab):
    """explore(..., legend=True) draws draw_dot's key (one node, 'legend'); the page runs, and the
    labels of a step are not put on it."""
    x, y = Value(2.0, label="x"), Value(3.0, label="y")
    out = x / y + x**y
    page = explore(out, legend=True)
    tab.open(page)
    assert tab.texts("legend")[0] == "key"
    check_every_backward_step(tab, page, out)
    for k in range(len(page.steps)):
        tab.page.evaluate("k => window.explorer.go(k)", k)
        clear = tab.page.evaluate("""() => {
            const key = [...document.querySelectorAll("g.node")].find(
                g => g.querySelector("title").textContent === "legend").getBBox();
            return [...document.querySelectorAll('g.edge g[id$="-label"] polygon')].every(r => {
                const b = r.getBBox();
                return b.x > key.x + key.width || key.x > b.x + b.width
                    || b.y > key.y + key.height || key.y > b.y + b.height;
            });
        }""")
        assert clear, k


# ---------------------------------------------------------------------- user text


def test_hostile_labels_are_shown_as_text_and_run_nothing(tab):
    """Labels that try to end the script or add an element with an onerror handler are shown as
    text in the drawing and the explanation; no script of theirs runs (no dialog, no error)."""
    x = Value(2.0, label=HOSTILE)
    y = Value(-1.0, label="<img src=x onerror=alert(2)>")
    z = x * y + x
    z.label = "a\u2028&amp; &alpha;"
    page = explore(z, title=HOSTILE)
    tab.open(page)
    names = {v.label: page.graph.name(v) for v in (x, y, z)}
    assert tab.texts(names[HOSTILE])[0] == HOSTILE
    assert tab.texts(names["<img src=x onerror=alert(2)>"])[0] == "<img src=x onerror=alert(2)>"
    assert tab.texts(names[z.label])[:-2] == ["a", "&amp; &alpha;"]  # entities as typed; U+2028 breaks the line
    assert tab.page.title() == HOSTILE
    assert tab.page.eval_on_selector_all("img", "els => els.length") == 0
    assert tab.page.eval_on_selector_all("script", "els => els.length") == 2
    tab.press("End")
    assert HOSTILE in tab.explanation()
    tab.press("Home")
    tab.press("ArrowRight", len(page.steps))


USER_TEXT = ["&amp;", "&alpha;", "<b>", "two\nlines", "</script>"]


def test_labels_are_shown_exactly_as_typed(tab):
    """Labels holding entities, markup, a line break or '</script>' read back as typed: in the
    drawing (one line of the box per line of the label), in the explanation and in the table,
    as the learner sees them (innerText: line breaks kept)."""
    leaves = [Value(1.0 + k, label=text) for k, text in enumerate(USER_TEXT)]
    a, b, c, d, e = leaves
    out = a * b + c / d + e.tanh()
    page = explore(out)
    tab.open(page)
    name = {v: f"v{i}" for i, v in enumerate(trace(out)[0])}
    for leaf in leaves:
        assert "\n".join(tab.texts(name[leaf])[:-2]) == leaf.label
    seen = set()
    for _ in range(len(page.steps)):
        tab.press("ArrowRight")
        said = tab.page.inner_text("#explanation")
        seen.update(leaf.label for leaf in leaves if f"added to ({leaf.label}).grad: " in said)
    assert seen == set(USER_TEXT)  # each one, on the line of its edge
    cells = tab.page.eval_on_selector_all("#details tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    assert set(USER_TEXT) <= set(cells)  # the last step's table of leaves
    assert tab.page.eval_on_selector_all("b", "els => els.length") == 1  # the hint's own, no other


@pytest.mark.parametrize("width", [1100, 800, 560])
def test_the_step_table_fits_beside_or_below_the_explanation(tab, width):
    """At 1100 and 800 px the table of a backward step (input, local, × grad, = adds, before,
    after) shows every column beside the explanation; at 560 px it goes below it, whole."""
    o, _ = lecture_neuron()
    page = explore(o)
    tab.page.set_viewport_size({"width": width, "height": 700})
    tab.open(page)
    seed = next(i for i, s in enumerate(page.steps) if s["phase"] == "seed")
    for k in range(seed + 1, len(page.steps)):
        tab.page.evaluate("k => window.explorer.go(k)", k)
        fit = tab.page.evaluate("""() => {
            const d = document.getElementById("details"), e = document.getElementById("explanation");
            const box = d.getBoundingClientRect(), text = e.getBoundingClientRect();
            const heads = [...d.querySelectorAll("th")].map(th => th.getBoundingClientRect());
            return {clipped: d.scrollWidth > d.clientWidth, right: box.right, page: window.innerWidth,
                    heads: heads.every(h => h.right <= box.right + 0.5 && h.left >= box.left - 0.5),
                    beside: box.top < text.bottom, below: box.top >= text.bottom,
                    n: heads.length, scrolls: document.documentElement.scrollWidth > window.innerWidth};
        }""")
        assert not fit["clipped"] and fit["heads"] and fit["right"] <= fit["page"], fit
        assert not fit["scrolls"], fit
        if fit["n"] == 6:  # a backward step's table; the last step's has 3 columns
            assert fit["beside"] if width >= 800 else fit["below"], fit


# ---------------------------------------------------------------------- bigger pages


def test_collapsed_mlp_page_is_light_and_stays_fast(tab):
    """A one-sample graph of MLP(2, [16, 16, 1]) drawn one box per neuron: under 2 MB, and each
    step in the browser is quick (a loose bound here; the bar of 50 ms is measured in
    benchmarks/bench_explore.py). At the end the table holds backward()'s parameter gradients."""
    model = nn.MLP(2, [16, 16, 1], seed=0)
    out = model([Value(0.5, label="x1"), Value(-1.0, label="x2")])
    loss = losses.hinge([out], [1])
    page = explore(loss, model=model)
    tab.open(page)
    assert (tab.tmp_path / "page.html").stat().st_size < 2_000_000
    times = tab.page.evaluate(
        """async (n) => {
        const times = [];
        for (let i = 0; i < n; i++) {
            const t0 = performance.now();
            document.dispatchEvent(new KeyboardEvent("keydown", {key: "ArrowRight", bubbles: true}));
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            times.push(performance.now() - t0);
        }
        return times;
    }""",
        len(page.steps) - 1,
    )
    assert statistics.median(times) < 250, times
    loss.backward()
    rows = tab.page.eval_on_selector_all(
        "#details tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent,"
        " r.cells[2].querySelector('.num').getAttribute('data-value')])",
    )
    grads = {name: float(g) for name, g in rows}
    first = model.layers[0].neurons[0]
    assert grads["w1.1[1]"] == first.w[0].grad and grads["b1.1"] == first.b.grad
    assert len(grads) == len(model.parameters()) + 2  # and the inputs x1, x2


def test_number_format_matches_the_drawings(tab):
    """The page writes numbers as the drawings do (Python's 4 significant digits, 'g' format)."""
    a = Value(3.0, label="a")
    tab.open(explore(a * a))
    values = [0.0, 1.0, -2.5, 1234.0, 12345.0, 0.0001234, 0.00001234, 1e-300, -6.02e23, 0.5, 100.0, 99999.0]
    values = [float(format_number(v)) for v in values] + ["nan", "inf", "-inf"]
    shown = tab.page.evaluate("vs => vs.map(Page.g4)", values)
    assert shown == [format_number(float(v)) for v in values]


def test_notebook_iframe_runs_the_page(tab):
    """What Jupyter shows (an iframe with the page as srcdoc) runs: keys step it inside the frame."""
    a = Value(3.0, label="a")
    tab.page.set_content(explore(a * a)._repr_html_())
    frame = tab.page.frame_locator("iframe")
    frame.locator("#explanation").wait_for()
    frame.locator("body").click(position={"x": 5, "y": 5})
    for _ in range(3):
        tab.page.keyboard.press("ArrowRight")
    assert "3 → 6" in frame.locator("#explanation").text_content()


# ---------------------------------------------------------------------- the training page


def moons_run(n=40, steps=12, every=5, sizes=(16, 16, 1), **kwargs):
    """The README's training loop on n moons points (MLP(2, [16, 16, 1]), hinge loss + L2, the
    falling learning rate), recorded with each point's hinge loss. Returns the recorder, the
    weights each step recorded, X and the signed labels."""
    X, y = data.moons(n, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, list(sizes), init="uniform", seed=1)
    recorder = TrainingRecorder(model, X, y, every=every, point_loss=lambda s, i: losses.hinge([s], [signs[i]]),
                                **kwargs)  # fmt: skip
    seen = []
    for k in range(steps):
        loss = losses.hinge([model(x) for x in X], signs) + losses.l2(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        seen.append([p.data for p in model.parameters()])
        recorder.record(loss, accuracy=0.5)
        for p in model.parameters():
            p.data -= (1.0 - 0.9 * k / steps) * p.grad
    return recorder, seen, X, signs


def box_texts(tab, recorder) -> dict:
    """Each neuron's box on the page, by its place 'L.u': [data, grad] as numbers (nan and inf too)."""
    found = {}
    for end in recorder.view.units:
        title = recorder.view.who(end)
        if title.startswith("neuron"):
            data_text, grad_text = tab.texts(recorder.view.name(end))[-2:]
            found[title.split()[1]] = [float(data_text.split()[1]), float(grad_text.split()[1])]
    return found


def canvas_position(recorder, i) -> dict:
    """Where point i is drawn in the boundary picture (its canvas is 260 x 220, unscaled)."""
    x0, x1, y0, y1 = recorder.bounds
    x, y = recorder.X[i]
    return {"x": (x - x0) / (x1 - x0) * 260, "y": (1 - (y - y0) / (y1 - y0)) * 220}


def test_training_page_opens_at_the_first_step_and_follows_a_point_with_gradients(tab):
    """The README's network at 1280 px: the page opens at step 1 and ends at the last step run
    (12, with every=5); it follows a point whose loss at step 1 is not 0 (by the closed form),
    whose neurons show gradients that are not 0; every text of the neuron graph is at least
    11 px tall on screen. A point whose loss is 0 is said to pass no gradient back, and shows none."""
    recorder, seen, X, signs = moons_run()
    tab.page.set_viewport_size({"width": 1280, "height": 900})
    tab.open(recorder, "training.html")
    assert tab.page.text_content("#counter") == "step 1 (1 of 4 recorded)"
    assert tab.numbers()[0] == recorder.losses[0]
    point = tab.page.evaluate("window.explorer.point()")
    loss, neurons = by_hand(seen[0], [16, 16, 1], X[point], signs[point])
    assert loss > 0 and f"Point #{point} " in tab.explanation()
    shown = box_texts(tab, recorder)
    assert any(grad != 0 for _, grad in shown.values())
    for where, (value, grad) in neurons.items():
        assert shown[where] == [pytest.approx(value, rel=1e-3, abs=1e-12), pytest.approx(grad, rel=1e-3, abs=1e-12)]
    heights = tab.page.eval_on_selector_all(
        "#graph svg g.node text", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert len(heights) == 3 * (2 + 33) + 2 + 1 and min(heights) >= 11, sorted(heights)[:5]
    tab.press("End")
    assert tab.page.text_content("#counter") == "step 12 (4 of 4 recorded)"
    assert tab.numbers()[0] == recorder.losses[-1] and recorder.steps == [1, 6, 11, 12]
    done = next(i for i in range(len(X)) if by_hand(seen[-1], [16, 16, 1], X[i], signs[i])[0] == 0)
    tab.page.evaluate("i => window.explorer.follow(i)", done)  # a point the hinge no longer pushes
    assert "So no gradient flows back from it: every grad below is 0." in tab.explanation()
    assert all(grad == 0 for _, grad in box_texts(tab, recorder).values())


def test_clicking_a_point_follows_it(tab):
    """A click on a point of the boundary picture follows it: the explanation names it, says it
    was picked, and its neurons' boxes show the closed forms of that point at the step shown."""
    recorder, seen, X, signs = moons_run(n=30, steps=6, sizes=(4, 4, 1))
    tab.open(recorder, "training.html")
    tab.press("ArrowRight")  # step 6, the last
    followed = tab.page.evaluate("window.explorer.point()")
    spots = [canvas_position(recorder, i) for i in range(len(X))]

    def room(i):  # how far the nearest other point is drawn
        return min(math.dist((spots[i]["x"], spots[i]["y"]), (s["x"], s["y"])) for j, s in enumerate(spots) if j != i)

    target = max((i for i in range(len(X)) if i != followed), key=room)
    tab.page.click("#boundary", position=spots[target])
    assert tab.page.evaluate("window.explorer.point()") == target
    text = tab.explanation()
    assert f"Point #{target} " in text and "You picked this point in the picture." in text
    loss, neurons = by_hand(seen[5], [4, 4, 1], X[target], signs[target])
    assert tab.lines()[0][1] == [pytest.approx(loss, rel=1e-3, abs=1e-12)]
    shown = box_texts(tab, recorder)
    for where, (value, grad) in neurons.items():
        assert shown[where] == [pytest.approx(value, rel=1e-3, abs=1e-12), pytest.approx(grad, rel=1e-3, abs=1e-12)]
    tab.press("Home")  # the point stays followed as the steps change
    assert tab.page.evaluate("window.explorer.point()") == target


def test_training_page_steps_through_recorded_steps(tab):
    """Home shows the first step with its loss, → the next; clicking a neuron lists its weights
    and gradients as recorded and draws its incoming weights in colour; the boundary is drawn."""
    X, y = data.moons(24, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [4, 4, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=8, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
    weights = []
    for _ in range(4):
        loss = losses.hinge([model(x) for x in X], signs)
        model.zero_grad()
        loss.backward()
        weights.append([(p.data, p.grad) for p in model.layers[1].neurons[2].parameters()])
        recorder.record(loss)
        for p in model.parameters():
            p.data -= 0.3 * p.grad
    tab.open(recorder, "training.html")
    assert tab.numbers()[0] == recorder.losses[0]
    tab.press("End")
    assert tab.numbers()[0] == recorder.losses[-1]
    tab.press("Home")
    tab.press("ArrowRight")
    assert tab.numbers()[0] == recorder.losses[1]
    view = recorder.view
    (box,) = [view.name(end) for end in view.units if view.who(end) == "neuron 2.3 (relu)"]
    tab.page.click(f"g.node:has(title:text-is('{box}'))")
    cells = tab.page.eval_on_selector_all(
        "#details tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('.num')].map(n => n.getAttribute('data-value')))",
    )
    assert [[float(w), float(g)] for w, g in cells] == [
        [float(format_number(w)), float(format_number(g))] for w, g in weights[1]
    ]
    coloured = tab.page.eval_on_selector_all(
        "g.edge.incoming", "els => els.map(e => [e.querySelector('title').textContent,"
        " e.classList.contains('positive') ? 1 : -1])"
    )
    first = {view.who(end): view.name(end) for end in view.units}
    assert sorted(map(tuple, coloured)) == sorted(
        (f"{first[f'neuron 1.{j} (relu)']}->{box}", 1 if w > 0 else -1) for j, (w, _) in enumerate(weights[1][:4], 1)
    )
    painted = tab.page.evaluate("""() => {
        const c = document.getElementById('boundary');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return colours.size;
    }""")
    assert painted > 5


def test_training_page_with_a_ported_point_loss(tab):
    """A point loss with ** and / (edges into named ports): every weight is an edge of the
    drawing, the selected neuron's coloured by sign, and the loss box shows the closed form
    (s - 1)² / 2 of the recorded step's output s."""
    X, y = data.moons(16, noise=0.1, seed=1)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [4, 1], seed=1)
    recorder = TrainingRecorder(model, X, y, grid=6, point=0, point_loss=lambda s, i: (s - 1.0) ** 2 / 2)
    outputs = []
    for _ in range(3):
        loss = losses.hinge([model(x) for x in X], signs)
        model.zero_grad()
        loss.backward()
        outputs.append(model(X[0]).data)
        recorder.record(loss)
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    assert ":exponent" in recorder.graph.drawing.source and ":denominator" in recorder.graph.drawing.source
    tab.open(recorder, "training.html")
    assert tab.page.eval_on_selector_all("g.edge.weight", "els => els.length") == 2 * 4 + 4 * 1
    shown = tab.page.eval_on_selector_all(
        "g.edge.incoming", "els => els.map(e => ['positive', 'negative'].filter(c => e.classList.contains(c)))"
    )
    assert len(shown) == 4 and all(len(sign) == 1 for sign in shown)
    root = recorder.view.name(recorder.view.root)
    for k, s in enumerate(outputs):
        tab.page.evaluate("k => window.explorer.go(k)", k)
        assert float(tab.texts(root)[-2].split()[1]) == pytest.approx((s - 1.0) ** 2 / 2, rel=1e-3)


def diverging_run(*, loss=None, accuracy=None, weights=None, point=None):
    """Four steps on 12 moons points; from step 3 on, the loss or the accuracy recorded is the
    one given, or `weights` changes the model before step 3 is recorded. Returns the recorder
    and each step's hinge loss of each point, as the engine computes it."""
    X, y = data.moons(12, noise=0.1, seed=0)
    X = [list(x) for x in X]
    if point is not None:
        X[point[0]][point[1]] = point[2]
    signs = data.signed_labels(y)
    model = nn.MLP(2, [3, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=6, point_loss=lambda s, i: losses.hinge([s], [signs[i]]))
    point_losses = []
    for step in range(1, 5):
        value = losses.hinge([model(x) for x in X], signs)
        point_losses.append([losses.hinge([model(x)], [t]).data for x, t in zip(X, signs)])
        model.zero_grad()
        value.backward()
        if step == 3 and weights is not None:
            weights(model)
        later = step >= 3
        recorder.record(loss if later and loss is not None else value,
                        accuracy=accuracy if later and accuracy is not None else 0.5)  # fmt: skip
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    return recorder, point_losses


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_training_page_shows_a_loss_that_is_not_finite(tab, value):
    """A nan, inf or -inf loss at steps 3 and 4: the page opens without an error, says the loss
    as such, draws the curve through the finite steps only, and marks the others in red."""
    recorder, _ = diverging_run(loss=value)
    tab.open(recorder, "training.html")
    tab.press("End")
    assert f"loss {value!r}, training accuracy 50%, from {value!r} at step 3." in tab.explanation()
    assert tab.numbers()[:2] == [value, value] or all(map(math.isnan, tab.numbers()[:2]))
    curve = tab.page.get_attribute("#loss-curve path.loss", "d")
    assert "NaN" not in curve and "Infinity" not in curve and curve.count("L") == 1  # steps 1 to 2
    assert tab.page.eval_on_selector_all("#loss-curve rect.not-finite", "els => els.length") == 2


def test_training_page_shows_an_accuracy_that_is_not_finite(tab):
    """A nan accuracy at steps 3 and 4: said as nan, and the accuracy curve skips those steps."""
    recorder, _ = diverging_run(accuracy=math.nan)
    tab.open(recorder, "training.html")
    tab.press("End")
    assert "training accuracy nan" in tab.explanation()
    curve = tab.page.get_attribute("#loss-curve path.accuracy", "d")
    assert "NaN" not in curve and curve.count("M") == 1 and curve.count("L") == 1


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_training_page_draws_a_weight_that_is_not_finite(tab, value):
    """A first-layer weight at inf, -inf or nan: its neuron's table says so, and its edge is drawn:
    the thickest, orange for inf, blue for -inf, dashed grey for nan."""
    def set_weight(model):
        model.layers[0].neurons[0].w[0].data = value

    recorder, _ = diverging_run(weights=set_weight)
    tab.open(recorder, "training.html")
    tab.press("End")
    view = recorder.view
    (box,) = [view.name(end) for end in view.units if view.who(end) == "neuron 1.1 (relu)"]
    tab.page.click(f"g.node:has(title:text-is('{box}'))")
    cells = tab.page.eval_on_selector_all("#details tbody tr", "rows => rows.map(r => r.textContent)")
    assert cells[0].startswith(f"w1.1[1]{value!r}")
    (x1,) = [view.name(v) for v in view.nodes if getattr(v, "label", "") == "x1"]
    edge = tab.page.eval_on_selector(
        f"g.edge.incoming:has(title:text-is('{x1}->{box}'))",
        "e => [e.getAttribute('class'), e.querySelector('path').style.strokeWidth]",
    )
    kind = {math.inf: "positive", -math.inf: "negative"}.get(value, "not-a-number")
    assert kind in edge[0].split() and edge[1] == "4px"


@pytest.mark.parametrize("where", [(2, 0, math.nan), (5, 1, math.inf), (0, 0, -math.inf)])
def test_training_page_with_a_point_that_is_not_finite(tab, where):
    """A nan or inf coordinate in X: the page opens, follows a finite point, and following the
    other one shows its coordinate and its loss (nan, inf or a number) as the engine gives it."""
    i, axis, value = where
    recorder, point_losses = diverging_run(point=where)
    tab.open(recorder, "training.html")
    assert tab.page.evaluate("window.explorer.point()") != i
    tab.page.evaluate("i => window.explorer.follow(i)", i)
    coordinates = [format_number(v) for v in recorder.X[i]]
    assert repr(value) in coordinates
    assert f"Point #{i} at ({coordinates[0]}, {coordinates[1]})" in tab.explanation()
    assert format_number(tab.lines()[0][1][0]) == format_number(point_losses[0][i])


# ---------------------------------------------------------------------- from the command line


class Saved:
    """A page already written (by the command line): open() just needs its path."""

    def __init__(self, path):
        self.path = path

    def save(self, _):
        return self.path


def test_graph_command_writes_the_explorer(tab, capsys):
    """`autograd-tiny graph EXPR ... --html` writes the explorer: at its end, the leaves' grads are
    those the command printed, and the closed forms of d tanh(x*w + b)."""
    path = tab.tmp_path / "neuron.html"
    assert main(["graph", "tanh(x*w + b)", "x=1", "w=-2", "b=0.5", "--html", str(path), "--no-draw"]) == 0
    printed = dict(line.split(" = ") for line in capsys.readouterr().out.splitlines() if " = " in line)
    tab.open(Saved(path))
    tab.press("End")
    lines = tab.page.eval_on_selector_all("#explanation li", "els => els.map(e => e.textContent)")
    shown = {line.split(".grad")[0]: value for line, value in zip(lines, tab.numbers())}
    slope = 1 - math.tanh(-1.5) ** 2
    assert shown == pytest.approx({"x": -2 * slope, "w": slope, "b": slope}, rel=1e-12)
    assert {k: float(printed[f"{k}.grad"]) for k in shown} == pytest.approx(shown, rel=1e-9)


def test_train_command_writes_the_training_view(tab, capsys):
    """`autograd-tiny train --html` writes training.html beside the pictures; it opens at the
    first step and ends at the last one run (6), whose losses are those run.json holds."""
    import json

    out = tab.tmp_path / "run"
    argv = ["train", "--samples", "40", "--hidden", "4", "--steps", "6", "--html", "--out", str(out)]
    assert main(argv) == 0
    assert "training.html" in capsys.readouterr().out
    history = json.loads((out / "run.json").read_text())["history"]
    tab.open(Saved(out / "training.html"))
    assert tab.numbers()[0] == history["loss"][0]
    tab.press("End")
    assert tab.numbers()[0] == history["loss"][-1]
    assert tab.page.text_content("#counter").startswith("step 6 ")
