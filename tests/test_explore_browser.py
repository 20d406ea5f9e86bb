"""The explorer's pages in a real browser: headless Chromium (Debian's), driven by Playwright.

Every page is opened from its saved file with the network cut off (any http or https request
is aborted and counted), and every test ends by checking that the page raised no JavaScript
error, logged no console error and asked for nothing over the network. Keys are pressed as a
learner would; what the page says (#explanation, its numbers, the highlighted node, the boxes'
texts) is checked against closed forms and the engine's own backward().
"""

from __future__ import annotations

import math
import shutil
import statistics

import pytest
from test_explore import HOSTILE, B, lecture_neuron  # the same graphs as the Python-side tests

from autograd_tiny import TrainingRecorder, Value, data, explore, losses, nn
from autograd_tiny.cli import main
from autograd_tiny.engine import topological_order
from autograd_tiny.viz import format_number

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        sync_playwright is None, reason="Playwright is not installed (pip install playwright)"
    ),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' lays the pages out"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


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
            label = text.split(":")[0]
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


# ---------------------------------------------------------------------- user text


def test_hostile_labels_are_shown_as_text_and_run_nothing(tab):
    """Labels that try to end the script or add an element with an onerror handler are shown as
    text in the drawing and the explanation; no script of theirs runs (no dialog, no error)."""
    x = Value(2.0, label=HOSTILE)
    y = Value(-1.0, label="<img src=x onerror=alert(2)>")
    z = x * y + x
    z.label = "\u2028&amp; &alpha;"
    page = explore(z, title=HOSTILE)
    tab.open(page)
    names = {v.label: page.graph.name(v) for v in (x, y, z)}
    assert tab.texts(names[HOSTILE])[0] == HOSTILE
    assert tab.texts(names["<img src=x onerror=alert(2)>"])[0] == "<img src=x onerror=alert(2)>"
    assert tab.texts(names[z.label])[0] == z.label  # entities and odd line breaks as typed
    assert tab.page.title() == HOSTILE
    assert tab.page.eval_on_selector_all("img", "els => els.length") == 0
    assert tab.page.eval_on_selector_all("script", "els => els.length") == 2
    tab.press("End")
    assert HOSTILE in tab.explanation()
    tab.press("Home")
    tab.press("ArrowRight", len(page.steps))


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


def test_training_page_steps_through_recorded_steps(tab):
    """The training view opens at the last recorded step; Home shows the first with its loss, →
    the next; clicking a neuron lists its weights and gradients as recorded; the boundary is drawn."""
    X, y = data.moons(24, noise=0.1, seed=0)
    signs = data.signed_labels(y)
    model = nn.MLP(2, [4, 4, 1], seed=0)
    recorder = TrainingRecorder(model, X, y, grid=8, point_loss=lambda s: losses.hinge([s], [signs[0]]))
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
    assert tab.numbers()[0] == recorder.losses[-1]
    tab.press("Home")
    assert tab.numbers()[0] == recorder.losses[0]
    tab.press("ArrowRight")
    assert tab.numbers()[0] == recorder.losses[1]
    graph = recorder.graph
    (box,) = [graph.name(end) for end in graph.units if graph.who(end) == "neuron 2.3 (relu)"]
    tab.page.click(f"g.node:has(title:text-is('{box}'))")
    cells = tab.page.eval_on_selector_all(
        "#details tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('.num')].map(n => n.getAttribute('data-value')))",
    )
    assert [[float(w), float(g)] for w, g in cells] == [
        [float(format_number(w)), float(format_number(g))] for w, g in weights[1]
    ]
    painted = tab.page.evaluate("""() => {
        const c = document.getElementById('boundary');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return colours.size;
    }""")
    assert painted > 5


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
    """`autograd-tiny train --html` writes training.html beside the pictures; it opens at the last
    recorded step, whose loss is the last one run.json holds."""
    import json

    out = tab.tmp_path / "run"
    argv = ["train", "--samples", "40", "--hidden", "4", "--steps", "6", "--html", "--out", str(out)]
    assert main(argv) == 0
    assert "training.html" in capsys.readouterr().out
    history = json.loads((out / "run.json").read_text())["history"]
    tab.open(Saved(out / "training.html"))
    assert tab.numbers()[0] == history["loss"][-1]
    tab.press("Home")
    assert tab.numbers()[0] == history["loss"][0]
