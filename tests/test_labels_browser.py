"""Labels of every kind in headless Chromium (Debian's, driven by Playwright), as a learner sees them.

The explorer's page of a graph labelled with every control character, lone surrogates,
invisible characters, line breaks, lone combining marks and very long labels opens offline with
no JavaScript error, and shows each label, visibly (its text has a width), in its box and in the
steps' table; leaves and single ops step from end to end; so do the training view and the page
the command line writes. Every test ends with the checks of `test_explore_browser.Tab`: no
page error, no console error, no request, no dialog.
"""

from __future__ import annotations

import pytest
import test_explore_browser
from test_explore_browser import Saved, Tab
from test_labels import CASES, LEAVES, LONG, MAX_TEXT, SINGLE_OPS, labelled_recorder, labelled_sum, shown

from autograd_tiny import Value, explore
from autograd_tiny.cli import main

pytestmark = test_explore_browser.pytestmark  # Playwright, Chromium and Graphviz's dot



@pytest.fixture
def tab(browser, tmp_path):
    t = Tab(browser, tmp_path)
    yield t
    t.check_clean()  # no page error, console error, request or dialog
    t.context.close()

WIDTHS = """name => {
    const g = [...document.querySelectorAll('g.node')].find(e => e.querySelector('title').textContent === name);
    return [...g.querySelectorAll('text')].map(t => t.getComputedTextLength());
}"""


def table(tab) -> list[str]:
    """The first cell of each row of the step's table, as the page holds it."""
    return tab.page.eval_on_selector_all("#details tbody tr", "rows => rows.map(r => r.cells[0].textContent)")


def test_every_label_shows_in_its_box_and_the_table(tab):
    """Every case, and the very long labels, read back in the boxes line by line, each line of
    text with a width; stepping to the end, the table of leaves lists each label as drawn; the
    page's title is the title as shown."""
    labels = [label for label, _ in CASES] + [label for label, _ in LONG]
    expected = [lines for _, lines in CASES] + [[line for line in text.split("\n") if line] for _, text in LONG]
    root, leaves = labelled_sum(labels)
    page = explore(root, title="t\x00\ud800")
    tab.open(page)
    assert tab.page.title() == "t\\x00\\ud800"
    for leaf, lines in zip(leaves, expected):
        name = page.graph.name(leaf)
        assert [t for t in tab.texts(name)[:-2] if t] == lines
        assert all(width > 0 for width in tab.page.evaluate(WIDTHS, name))
    tab.press("ArrowRight", len(page.steps))
    assert table(tab) == [shown(lines) for _, lines in CASES] + [text for _, text in LONG]


def test_a_label_in_the_step_text_is_visible(tab):
    """A label with a NUL, an escape, NEL and a lone surrogate, used by an op, is shown escaped
    in the explanation of each step that names it."""
    x = Value(2.0, label="x\x00\x1b\x85\ud800")
    out = (x * 3).tanh()
    page = explore(out)
    tab.open(page)
    said = []
    for _ in range(len(page.steps)):
        tab.press("ArrowRight")
        said.append(tab.explanation())
    assert any("x\\x00\\x1b\\x85\\ud800" in text for text in said)


def test_leaves_and_single_ops_step_from_end_to_end(tab):
    """Every leaf (a graph whose root is a leaf) and single op of test_labels: its page opens,
    steps forward past its end and back, and its root's box shows its label and data."""
    drawn = {"z": ["z"], "leaf\x1b\ud800": ["leaf\\x1b\\ud800"]}  # each root's label, as drawn
    roots = [make() for make in LEAVES.values()]
    roots += [make(Value(-1.5, label="x\x85")) for make in SINGLE_OPS.values()]
    for k, root in enumerate(roots):
        page = explore(root)
        tab.open(page, f"page{k}.html")
        name = page.graph.name(root)
        assert tab.explanation()
        tab.press("ArrowRight", len(page.steps) + 1)
        texts = tab.texts(name)
        short = page.graph.who(root)  # an unlabelled value is drawn under its short name ('leaf1', 'mul1')
        assert texts[:-2] == (drawn[root.label] if root.label else [short]) and (root.label or short)
        assert texts[-2] == f"data {root.data:.4g}" and texts[-1].startswith("grad ")
        assert all(width > 0 for width in tab.page.evaluate(WIDTHS, name))
        tab.press("Home")
        assert tab.explanation()


def test_the_training_view_lists_labelled_parameters(tab):
    """A model whose parameters carry every kind of label: clicking each neuron of the training
    view lists its parameters by their labels, as drawn."""
    recorder, params = labelled_recorder()
    tab.open(recorder, "training.html")
    graph = recorder.graph
    listed = []
    for end in graph.units:
        if not graph.has_op_node(end):
            tab.page.click(f"g.node:has(title:text-is('{graph.name(end)}'))")
            listed += table(tab)
    assert sorted(listed) == sorted(shown(CASES[k % len(CASES)][1]) for k in range(len(params)))


def test_the_command_line_page_of_a_long_name(tab, tmp_path, monkeypatch):
    """`autograd-tiny graph` with a name of 6,000 CJK characters (past Graphviz's limit on a
    string, uncut) writes a page that opens and shows the name cut with '…'."""
    monkeypatch.chdir(tmp_path)
    name = "我" * 6_000
    assert main(["graph", f"tanh({name})", f"{name}=0.5", "--html", "p.html", "--no-draw"]) == 0
    tab.open(Saved(tmp_path / "p.html"))
    tab.press("End")
    assert table(tab) == ["我" * (MAX_TEXT - 1) + "…"]
    assert tab.texts("v0")[0] == "我" * (MAX_TEXT - 1) + "…"
