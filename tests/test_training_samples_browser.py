"""The training page of the handwritten digits in headless Chromium (Debian's, driven by Playwright).

The page of a short run of the command line's network, MLP(64, [32, 10]) with softmax
cross-entropy, opens offline; what it shows (the class probabilities, the followed digit's
image, a neuron's weights on the pixels) is checked against the same network computed here in
plain floats from the weights of each recorded step. Every test ends with the checks of
`test_explore_browser.Tab`: no page error, no console error, no request, no dialog.
"""

from __future__ import annotations

import json
import re

import pytest
import test_explore_browser
from test_explore_browser import Saved, Tab
from test_training_samples import by_hand, digits_run

from autograd_tiny.cli import main

pytestmark = test_explore_browser.pytestmark  # Playwright, Chromium and Graphviz's dot

SIZES = [32, 10]



@pytest.fixture
def tab(browser, tmp_path):
    t = Tab(browser, tmp_path)
    t.page.set_viewport_size({"width": 1280, "height": 900})
    yield t
    t.check_clean()  # no page error, console error, request or dialog
    t.context.close()


@pytest.fixture(scope="module")
def run():
    """21 steps of Adam on 300 digits, recorded at steps 1, 6, 11, 16 and 21."""
    return digits_run(n=300, steps=21, every=5, hidden=32)


def bars(tab) -> list[float]:
    """The class probabilities the page shows, class 0 first, as numbers."""
    return [float(t) for t in tab.page.eval_on_selector_all("#probabilities text.chance", "els => els.map(e => e.textContent)")]


def class_marked(tab) -> str:
    """The class whose label the bars mark as the sample's own."""
    return tab.page.text_content("#probabilities text.class.true")


def fills(tab, selector) -> list[str]:
    return tab.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('fill'))")


def grey(v: float) -> str:
    """A pixel in [0, 1] as the page should paint it: white at 0, black at 1."""
    c = round(255 * (1 - v))
    return f"rgb({c},{c},{c})"


def box_of(recorder, title: str) -> str:
    (name,) = [recorder.view.name(end) for end in recorder.view.units if recorder.view.who(end) == title]
    return name


def test_the_digits_page_opens_and_every_text_is_readable_at_1280_px(tab, run):
    """The page opens at step 1 of 5; every text of the graph, of the probability bars and of
    the row of digits is at least 11 px tall at 1280 px; the graph has one box per neuron (32 + 10),
    the loss's, and the inputs' box with the digit's 64 cells drawn in it."""
    recorder, *_ = run
    tab.open(recorder, "digits.html")
    assert tab.page.text_content("#counter") == "step 1 (1 of 5 recorded)"
    heights = {}
    for where in ("#graph svg g.node text", "#probabilities text", "#samples .class", "#explanation"):
        heights[where] = tab.page.eval_on_selector_all(where, "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights[where] and min(heights[where]) >= 11, (where, sorted(heights[where])[:3])
    assert len(heights["#graph svg g.node text"]) == 3 * 42 + 2 + 1 + 1  # neurons, loss box, point_loss, inputs
    assert len(heights["#probabilities text"]) == 20 and len(heights["#samples .class"]) == 20
    assert tab.page.eval_on_selector_all("#graph g.node .pixels rect", "els => els.length") == 64


def test_the_probabilities_shown_are_the_softmax_of_the_models_outputs(tab, run):
    """At each recorded step the bars show the followed digit's probabilities, the softmax of the
    10 outputs of the network computed here in plain floats from that step's weights; the
    explanation says the probability of its class, whose bar is marked."""
    recorder, seen, X, y = run
    tab.open(recorder, "digits.html")
    i = tab.page.evaluate("window.explorer.point()")
    for k, step in enumerate(recorder.steps):
        if k:
            tab.press("ArrowRight")
        p = by_hand(seen[step - 1], SIZES, X[i], y[i])["p"]
        assert bars(tab) == [pytest.approx(v, rel=1e-3, abs=1e-12) for v in p]
        assert class_marked(tab) == str(y[i])
        line, numbers = tab.lines()[0]
        assert line.startswith(f"Sample #{i}, class {y[i]}: its loss is ")
        assert numbers[1] == pytest.approx(p[y[i]], rel=1e-3)
        assert tab.page.text_content("#counter").startswith(f"step {step} ")


def test_stepping_through_training_shows_the_true_class_probability_rising(tab, run):
    """From the first recorded step to the last, the page shows the followed digit's class
    probability rising, and that of most of the 20 digits it can follow, by 0.3 on average."""
    recorder, *_ = run
    tab.open(recorder, "digits.html")
    followed = tab.page.evaluate("window.explorer.point()")
    first, last = {}, {}
    for i in [followed, *(i for i in recorder.followed if i != followed)]:
        if i != followed:
            tab.page.click(f"#samples button[data-sample='{i}']")
        y = int(class_marked(tab))
        tab.press("Home")
        first[i] = bars(tab)[y]
        tab.press("End")
        last[i] = bars(tab)[y]
    assert last[followed] > first[followed]
    rising = [i for i in first if last[i] > first[i]]
    assert len(rising) >= 15 and sum(last[i] - first[i] for i in first) / len(first) > 0.3, (first, last)


def test_clicking_a_digit_in_the_row_follows_it(tab, run):
    """A click on another digit's thumbnail follows it: the explanation names it, its thumbnail
    is ringed, its pixels are painted (in its picture and in the graph's inputs box) and its
    probabilities are the ones of the plain-float network."""
    recorder, seen, X, y = run
    tab.open(recorder, "digits.html")
    tab.press("End")
    before = tab.page.evaluate("window.explorer.point()")
    target = next(i for i in reversed(recorder.followed) if y[i] != y[before])
    tab.page.click(f"#samples button[data-sample='{target}']")
    assert tab.page.evaluate("window.explorer.point()") == target
    text = tab.explanation()
    assert f"Sample #{target}, class {y[target]}: " in text and "You picked this sample in the row below." in text
    ringed = tab.page.eval_on_selector_all("#samples button.followed", "els => els.map(e => e.dataset.sample)")
    assert ringed == [str(target)]
    assert fills(tab, "#sample rect") == [grey(v) for v in X[target]]
    assert fills(tab, "#graph g.node .pixels rect") == [grey(v) for v in X[target]]
    p = by_hand(seen[recorder.steps[-1] - 1], SIZES, X[target], y[target])["p"]
    assert bars(tab) == [pytest.approx(v, rel=1e-3, abs=1e-12) for v in p]
    assert class_marked(tab) == str(y[target])
    tab.press("Home")  # the digit stays followed as the steps change
    assert tab.page.evaluate("window.explorer.point()") == target


def test_a_hidden_neurons_weights_are_drawn_in_the_pixels_places(tab, run):
    """Clicking a hidden neuron draws its 64 weights on the pixels as a grid (orange where the
    weight is positive, blue where negative) and lists them; clicking an output neuron hides the
    grid and colours its 32 incoming weights instead."""
    recorder, seen, *_ = run
    tab.open(recorder, "digits.html")
    tab.press("End")
    tab.page.click(f"g.node:has(title:text-is('{box_of(recorder, 'neuron 1.5 (relu)')}'))")
    assert tab.page.is_visible("#pixel-weights")
    weights = recorder.model.layers[0].neurons[4].w
    params = recorder.model.parameters()
    last = seen[recorder.steps[-1] - 1]
    values = [last[next(k for k, p in enumerate(params) if p is w)] for w in weights]
    colours = [tuple(map(int, re.findall(r"\d+", f))) for f in fills(tab, "#pixel-weights rect")]
    assert len(colours) == 64
    assert [(r > b) if w > 0 else (b > r) for (r, _, b), w in zip(colours, values) if w != 0] == [True] * 64
    assert tab.page.eval_on_selector_all("#details tbody tr", "rows => rows.length") == 65
    tab.page.click(f"g.node:has(title:text-is('{box_of(recorder, 'neuron 2.4 (linear)')}'))")
    assert not tab.page.is_visible("#pixel-weights")
    assert tab.page.eval_on_selector_all("g.edge.incoming", "els => els.length") == 32


def test_train_command_writes_the_digits_training_view(tab, capsys):
    """`autograd-tiny train --data digits --html` writes training.html: it opens at the first step
    and ends at the last one run (43: one epoch), whose losses are those run.json holds, and
    offers 20 digits to follow."""
    out = tab.tmp_path / "run"
    assert main(["train", "--data", "digits", "--epochs", "1", "--hidden", "8", "--html", "--out", str(out)]) == 0
    assert "20 training digits' class probabilities and graphs" in capsys.readouterr().out
    history = json.loads((out / "run.json").read_text())["history"]
    tab.open(Saved(out / "training.html"))
    assert tab.numbers()[0] == history["loss"][0]
    assert tab.page.eval_on_selector_all("#samples button", "els => els.length") == 20
    tab.press("End")
    assert tab.numbers()[0] == history["loss"][-1]
    assert tab.page.text_content("#counter").startswith("step 43 ")
