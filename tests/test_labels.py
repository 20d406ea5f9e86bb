"""Any string label draws, visibly, in every renderer: draw_dot (its source and the picture),
explore's page, the training view, save_animation's GIF and `autograd-tiny graph`.

A label is shown as typed, a line break starting a new line, except characters that would not
show (or that Graphviz, a page or Pillow cannot take): those are written as Python's ``repr``
writes them. What each label must look like is written out here by hand (`written`), not
asked of the code. Leaves and single ops go through save_animation and explore as well.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from autograd_tiny import TrainingRecorder, Value, data, explore, losses, nn, no_grad
from autograd_tiny.cli import main
from autograd_tiny.see.draw import draw_dot, save_graph
from autograd_tiny.see.style import MAX_TEXT, user_text
from autograd_tiny.see.trace import trace

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is needed")
SVG = "{http://www.w3.org/2000/svg}"

C0 = [chr(c) for c in range(0x20) if chr(c) not in "\n\r"]  # \n and \r are line breaks
C1 = [chr(c) for c in range(0x80, 0xA0)]
CONTROLS = C0 + ["\x7f"] + C1  # NUL, ESC, tab, DEL, NEL (\x85) ... all of them
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]  # lone high and low surrogates
INVISIBLE = [
    "\ufeff",  # a byte order mark
    "\u200b",  # zero width space
    "\u202e",  # right-to-left override: would turn the rest of a sentence around
    "\u2066",  # left-to-right isolate
    "\xad",  # soft hyphen
    "\xa0",  # no-break space
    "\ufffe",  # noncharacters: not even allowed in XML
    "\uffff",
]
BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029"]  # each starts a new line
MARKS = ["\u0301", "\u20dd", "\u0903"]  # combining acute (Mn), enclosing circle (Me), visarga (Mc)
DOTTED_CIRCLE = "\u25cc"


def written(ch: str) -> str:
    """How a character that does not show is written: as Python's repr writes it."""
    if ch == "\t":
        return "\\t"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cases() -> list[tuple[str, list[str]]]:
    """(label, the lines its box must show), one for every character above, between letters,
    alone and mixed; the lines are written out by hand."""
    found = [(f"a{ch}b", [f"a{written(ch)}b"]) for ch in CONTROLS + SURROGATES + INVISIBLE]
    found += [(ch, [written(ch)]) for ch in ["\x00", "\x1b", "\x85", "\x7f", "\ud800", "\udfff", "\ufeff"]]
    found += [(f"a{br}b", ["a", "b"]) for br in BREAKS]
    found += [(m, [DOTTED_CIRCLE + m]) for m in MARKS]  # a mark alone sits on a dotted circle
    found += [(f"e{m}", [f"e{m}"]) for m in MARKS]  # one with a letter before it sits on the letter
    found += [(f"a\n{m}", ["a", DOTTED_CIRCLE + m]) for m in MARKS]  # a line break leaves it alone again
    found += [("\x00\u0301", ["\\x00" + DOTTED_CIRCLE + "\u0301"])]  # and so does an escaped character
    found += [
        ("\x1b[31mred\x1b[0m", ["\\x1b[31mred\\x1b[0m"]),  # a terminal's colour codes
        ("x\x00y\ud800z\u2028w\u0301\ufeff\x85!", ["x\\x00y\\ud800z", "w\u0301\\ufeff\\x85!"]),
        ("".join(C0[:8]), ["".join(written(ch) for ch in C0[:8])]),
        ("\udc00\ud800", ["\\udc00\\ud800"]),  # a low then a high surrogate: not a pair either
    ]
    return found


CASES = cases()
LONG = [  # (label, the text shown): cut after MAX_TEXT characters, '…' last, escapes kept whole
    ("w" * 100_000, "w" * (MAX_TEXT - 1) + "…"),
    ("我" * 6_000, "我" * (MAX_TEXT - 1) + "…"),  # 18,000 bytes: over Graphviz's 16,384 for a string
    ("\x00" * 5_000, "\\x00" * ((MAX_TEXT - 1) // 4) + "…"),
    ("\ud800" * 5_000, "\\ud800" * ((MAX_TEXT - 1) // 6) + "…"),
    ("ab\n" * 1_000, "\n".join(["ab"] * 67)[: MAX_TEXT - 1] + "…"),
    ("e" + "\u0301" * 1_000, "e" + "\u0301" * (MAX_TEXT - 2) + "…"),  # marks stacked on one letter
]


def shown(lines: list[str]) -> str:
    return "\n".join(lines)


def box_texts(svg: str | bytes) -> dict[str, list[str]]:
    """Each node of an SVG drawing by its name (its <title>): the texts it shows, in order.
    Parsing it as XML also shows the file is well-formed."""
    root = ET.fromstring(svg)
    return {
        g.find(f"{SVG}title").text: [t.text or "" for t in g.iter(f"{SVG}text")]
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "node"
    }


def page_data(document: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', document, re.S)
    assert found is not None
    return json.loads(found.group(1))


def only_printable(text: str) -> bool:
    """No control character, surrogate or invisible format character (Graphviz's and the pages'
    own layout whitespace, newlines and tabs, aside)."""
    return all(ch.isprintable() or ch in "\n\t" for ch in text)


def labelled_sum(labels: list[str]) -> tuple[Value, list[Value]]:
    leaves = [Value(float(k), label=label) for k, label in enumerate(labels)]
    return Value.sum(leaves), leaves


# ---------------------------------------------------------------------- the one function


@pytest.mark.parametrize("label, lines", CASES, ids=[ascii(c[0])[:40] for c in CASES])
def test_user_text_writes_what_does_not_show_as_repr_does(label, lines):
    """Each label becomes the lines written out by hand: control characters, surrogates and
    invisible characters escaped as repr writes them, line breaks as new lines, a lone mark on
    a dotted circle."""
    assert user_text(label) == shown(lines)
    assert user_text(user_text(label)) == user_text(label)  # what is shown is shown as it is


@pytest.mark.parametrize("label, expected", LONG, ids=["ascii", "cjk", "nul", "surrogate", "lines", "marks"])
def test_a_long_label_is_cut_visibly(label, expected):
    """A label past MAX_TEXT characters shown is cut, '…' last, never in the middle of an escape."""
    assert user_text(label) == expected and len(expected) <= MAX_TEXT


def test_labels_that_show_as_typed_are_untouched():
    """Letters of any script, emoji, markup, entities, backslashes and quotes are shown as typed."""
    for label in ["x", "w1.3[2]", "αβγ", "日本語", "مرحبا", "🔥", "é", "<b>&amp;</b>", "a\\nb", '"q"', "{a|b}"]:
        assert user_text(label) == label


def test_the_label_itself_stays_as_set():
    """Drawing a value does not change its label."""
    label = "a\x00\ud800\u2028"
    x = Value(1.0, label=label)
    draw_dot(x * 2)
    explore(x * 2)
    assert x.label == label


# ---------------------------------------------------------------------- draw_dot


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_every_label_draws(tmp_path, fmt):
    """One graph with every case as a leaf's label: the DOT source has nothing but printable text,
    Graphviz renders it, and the SVG (well-formed XML) shows each label's lines in its box."""
    root, leaves = labelled_sum([label for label, _ in CASES])
    drawing = draw_dot(root)
    assert only_printable(drawing.source)
    name = {v: f"v{i}" for i, v in enumerate(trace(root)[0])}
    for leaf, (_, lines) in zip(leaves, CASES):
        escaped = "\\n".join(line.replace("\\", "\\\\") for line in lines)
        assert f'{name[leaf]} [label="{{ {escaped} | data ' in drawing.source
    path = save_graph(drawing, tmp_path / f"labels.{fmt}")
    if fmt == "svg":
        texts = box_texts(path.read_bytes())
        for leaf, (_, lines) in zip(leaves, CASES):
            assert texts[name[leaf]][:-2] == lines  # then 'data k' and 'grad 0'
    elif fmt == "png":
        Image = pytest.importorskip("PIL.Image")
        with Image.open(path) as picture:
            assert picture.size[1] > 40 * len(leaves)  # a box per label, one above the other
    else:
        assert path.read_bytes().startswith(b"%PDF")


@needs_dot
@pytest.mark.parametrize("label, expected", LONG, ids=["ascii", "cjk", "nul", "surrogate", "lines", "marks"])
def test_a_long_label_draws_cut(label, expected):
    """Very long labels (past Graphviz's limit on a string, too) draw, cut with '…'."""
    x = Value(2.0, label=label)
    drawing = draw_dot(x * 3)
    texts = box_texts(drawing.pipe("svg"))
    assert [t for t in texts["v0"][:-2] if t] == [line for line in expected.split("\n") if line]


@needs_dot
def test_a_label_on_an_inner_value_and_the_root_draws():
    """Labels on an op's result and on the root, each in every way, draw in their boxes."""
    x = Value(1.0)
    y = x * 2
    y.label = "\x00mid\ud800"
    out = y.tanh()
    out.label = "out\x1b\u2029end"
    texts = box_texts(draw_dot(out, rankdir="TB", number_backward=True, legend=True).pipe("svg"))
    assert texts["v2"][:-2] == ["\\x00mid\\ud800"] and texts["v3"][:-2] == ["out\\x1b", "end"]


# ---------------------------------------------------------------------- explore


@needs_dot
def test_every_label_reaches_the_page_as_drawn(tmp_path):
    """The explorer's page of the same graph saves, holds only printable text (no surrogate, no
    control character), and shows each label the same in its box, its data and its title."""
    root, leaves = labelled_sum([label for label, _ in CASES])
    page = explore(root, title="<title>\x00\ud800\u202e")
    document = page.save(tmp_path / "page.html").read_text(encoding="utf-8")  # strict: no surrogate
    assert only_printable(document)
    assert "<title>&lt;title&gt;\\x00\\ud800\\u202e</title>" in document
    texts = box_texts(page.svg)
    for leaf, (_, lines) in zip(leaves, CASES):
        assert texts[page.graph.name(leaf)][:-2] == lines
    done = page_data(document)["steps"][-1]
    assert [row[0] for row in done["table"]["rows"]] == [shown(lines) for _, lines in CASES]
    assert page.title == "<title>\\x00\\ud800\\u202e"


@needs_dot
def test_a_custom_formula_text_is_shown_like_a_label(tmp_path):
    """A custom primitive's formula text with a NUL and a surrogate is shown escaped on the page."""
    from autograd_tiny.primitives import primitive

    @primitive(derivatives=lambda x, out: (2 * x,), formula="2\x00x\ud800")
    def square(x):
        return x * x

    x = Value(3.0, label="x")
    page = explore(square(x))
    document = page.save(tmp_path / "page.html").read_text(encoding="utf-8")
    flows = [f for s in page.steps if s["phase"] == "backward" for f in s["flows"]]
    assert [f["formula"] for f in flows] == ["2\\x00x\\ud800"]
    assert only_printable(document)


def labelled_recorder():
    """A TrainingRecorder of one step of a model whose parameters carry every kind of label."""
    X, y = data.moons(12, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    params = model.parameters()
    for k, p in enumerate(params):
        p.label = CASES[k % len(CASES)][0]
    recorder = TrainingRecorder(model, X, y, grid=4)
    loss = losses.hinge([model(x) for x in X], data.signed_labels(y))
    loss.backward()
    recorder.record(loss)
    return recorder, params


@needs_dot
def test_the_training_view_shows_labelled_parameters(tmp_path):
    """A model whose parameters carry every kind of label records and saves its training view;
    each parameter is listed under its neuron as drawn."""
    recorder, params = labelled_recorder()
    document = recorder.save(tmp_path / "training.html").read_text(encoding="utf-8")
    assert only_printable(document)
    listed = {name: k for neuron in page_data(document)["neurons"].values() for name, k in neuron["params"]}
    assert sorted(listed.values()) == list(range(len(params)))
    for name, k in listed.items():
        assert name == shown(CASES[k % len(CASES)][1])


# ---------------------------------------------------------------------- save_animation


def frames(path) -> int:
    Image = pytest.importorskip("PIL.Image")
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        gif.seek(gif.n_frames - 1)  # every frame decodes
        return gif.n_frames


@needs_dot
def test_every_label_is_painted_in_the_gif(tmp_path, painted):
    """The GIF of the same graph is written: three frames (the seed, the sum's step, done), each
    label's lines painted in its box, and Pillow never asked to paint a character that does not
    show (its text layout fails on some, e.g. NEL)."""
    pytest.importorskip("PIL")
    from autograd_tiny.see.animation import save_animation

    root, _ = labelled_sum([label for label, _ in CASES])
    path = save_animation(root, tmp_path / "labels.gif", seconds_per_step=0.1)
    assert frames(path) == 3
    assert all(text.isprintable() for text in painted)
    for _, lines in CASES:
        assert set(lines) <= set(painted)


@needs_dot
@pytest.mark.parametrize("label, expected", LONG[:4], ids=["ascii", "cjk", "nul", "surrogate"])
def test_a_long_label_is_painted_cut(tmp_path, painted, label, expected):
    """A very long label is painted cut, as drawn."""
    pytest.importorskip("PIL")
    from autograd_tiny.see.animation import save_animation

    x = Value(2.0, label=label)
    assert frames(save_animation(x * 3, tmp_path / "long.gif")) == 3
    assert expected in painted


# ---------------------------------------------------------------------- leaves and single ops


def detached() -> Value:
    x = Value(2.0, label="x")
    return (x * 3).detach()


def under_no_grad() -> Value:
    x = Value(2.0, label="x")
    with no_grad():
        return x * 3


LEAVES = {  # a graph whose root is a leaf: nothing to compute, nothing to propagate
    "a leaf": lambda: Value(1.0),
    "a labelled leaf": lambda: Value(1.0, label="leaf\x1b\ud800"),
    "a zero leaf": lambda: Value(0.0, label="z"),
    "made under no_grad": under_no_grad,
    "detached": detached,
}
SINGLE_OPS = {  # one op: the seed, its backward step, done
    "x * 2": lambda x: x * 2,
    "x * x": lambda x: x * x,
    "tanh": lambda x: x.tanh(),
    "relu, flat here": lambda x: x.relu(),
    "x / y": lambda x: x / Value(4.0, label="y\x00"),
}


@needs_dot
@pytest.mark.parametrize("make", LEAVES.values(), ids=LEAVES.keys())
def test_a_leaf_is_a_one_frame_gif(tmp_path, painted, make):
    """A graph whose root is a leaf gives a one-frame GIF, as its page has one step: the leaf's
    box, its data and grad 0, and the caption."""
    pytest.importorskip("PIL")
    from autograd_tiny.see.animation import save_animation

    root = make()
    assert [s["phase"] for s in explore(root).steps] == ["start"]
    path = save_animation(root, tmp_path / "leaf.gif")
    assert frames(path) == 1
    assert f"data {root.data:g}" in painted and "grad 0" in painted
    if root.label:
        assert user_text(root.label) in painted


@needs_dot
@pytest.mark.parametrize("make", SINGLE_OPS.values(), ids=SINGLE_OPS.keys())
def test_a_single_op_is_a_three_frame_gif(tmp_path, make):
    """One op: three frames (the seed, its backward step, the final gradients), as its page has
    one backward step."""
    pytest.importorskip("PIL")
    from autograd_tiny.see.animation import save_animation

    root = make(Value(-1.5, label="x\x85"))
    phases = [s["phase"] for s in explore(root).steps]
    assert phases == ["start", "forward", "seed", "backward", "done"]
    assert frames(save_animation(root, tmp_path / "op.gif")) == 3


# ---------------------------------------------------------------------- the command line


@needs_dot
@pytest.mark.parametrize("name, lines", [
    ("我" * 6_000, ["我" * (MAX_TEXT - 1) + "…"]),  # 18,000 bytes: past Graphviz's limit for a string
    ("x" * 9_000, ["x" * (MAX_TEXT - 1) + "…"]),
    ("x\u0301", ["x\u0301"]),  # a mark inside a name sits on its letter
    ("ǅ\u0903", ["ǅ\u0903"]),
], ids=["cjk", "ascii", "mark", "marks"])  # fmt: skip
def test_graph_command_draws_any_name(tmp_path, monkeypatch, capsys, name, lines):
    """`autograd-tiny graph` with a very long or combining name draws it and writes the page."""
    monkeypatch.chdir(tmp_path)
    assert main(["graph", f"{name} * 2", f"{name}=1.5", "-o", "g.svg", "--html", "p.html"]) == 0
    assert capsys.readouterr().err == ""
    texts = box_texts((tmp_path / "g.svg").read_bytes())
    assert texts["v0"][:-2] == lines
    document = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert [row[0] for row in page_data(document)["steps"][-1]["table"]["rows"]] == [shown(lines)]


@pytest.mark.parametrize("argv, option", [
    (["graph", "x*2", "x=1", "--html", ""], "--html"),
    (["graph", "x*2", "x=1", "--html", "  "], "--html"),
    (["graph", "x*2", "x=1", "--html=", "--no-draw"], "--html"),
    (["graph", "x*2", "x=1", "-o", ""], "-o/--output"),
    (["graph", "x*2", "x=1", "--output="], "-o/--output"),
    (["graph", "x*2", "x=1", "-o", "\t"], "-o/--output"),
    (["train", "--out", ""], "--out"),
    (["train", "--out", " "], "--out"),
    (["--out=", "--steps", "1"], "--out"),
])  # fmt: skip
def test_a_blank_path_is_refused(tmp_path, monkeypatch, capsys, argv, option):
    """An empty or blank path for any option that names a file or folder is one line, exit
    status 2, naming the option; nothing is printed before it and nothing is written."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("autograd-tiny: error: ") and f"{option}: " in line and "is not a path" in line
    assert list(tmp_path.iterdir()) == []
