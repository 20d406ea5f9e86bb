"""The explorer's sentences are true: every step of several graphs, its data against the engine
(backward()'s grads, central differences of each op's function) and its words against its data
(numbers parsed back out of each clause, the arithmetic redone on them); plurals; and the names
of values without a label, the same in the drawing, the sentences and the tables.
"""

from __future__ import annotations

import math
import re
import shutil

import pytest
from test_explore import lecture_neuron

from autograd_tiny import Value, explore, nn, primitive
from autograd_tiny.formulas import FORMULA_NAMES
from autograd_tiny.neuron import NeuronOp
from autograd_tiny.see.style import format_number

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is needed")


@primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,))
def softsign(x):
    """A custom primitive without a formula text: x / (1 + |x|)."""
    return x / (1 + abs(x))


@primitive(derivatives=lambda x, y, out: (y * out, x * out), formula=["y * out", "x * out"])
def exp_of_product(x, y):
    """A custom primitive with the user's formula texts: exp(x * y)."""
    return math.exp(x * y)


def micrograds_neuron():
    return lecture_neuron()[0]


def micrograds_labels():
    """The lecture's neuron with the lecture's labels, which are expressions: 'x1*w1'."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1*w1", "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + Value(6.8813735870195432, label="b")
    n.label = "n"
    return n.tanh()


def used_twice():
    a = Value(3.0, label="a")
    return a * a + a.tanh()


def custom():
    x = Value(1.0, label="x")
    return softsign(x * 2)


def custom_with_formula():
    a, b = Value(0.3, label="a"), Value(-0.7, label="b")
    return exp_of_product(a, b) + exp_of_product(a, a)


def divide():
    a, b = Value(1.7, label="a"), Value(-2.3, label="b")
    return a / b


def power():
    a, b = Value(1.7, label="a"), Value(2.3, label="b")
    return a**b * b**2


def number_operand():
    x = Value(-1.5, label="x")
    return (x * 2).relu() + x * 2


def neuron_node():
    w = [Value(0.5, label="w1"), Value(-1.0, label="w2")]
    x = [Value(1.5, label="x1"), Value(0.25, label="x2")]
    return Value.dot(w, x, bias=Value(0.1, label="c"), activation="tanh")


def unlabelled():
    a, b = Value(0.4), Value(-1.2)
    return Value.sum([a, a, b]).sigmoid() * Value.logsumexp([a, b])


GRAPHS = {
    "micrograd's neuron": micrograds_neuron,
    "micrograd's neuron, its labels expressions": micrograds_labels,
    "a*a + a.tanh()": used_twice,
    "a custom primitive": custom,
    "a custom primitive with formula texts": custom_with_formula,
    "a / b": divide,
    "a ** b, b ** 2": power,
    "x * 2": number_operand,
    "a neuron node": neuron_node,
    "unlabelled, sum and logsumexp": unlabelled,
}

NUMBER = r"-?(?:\d+(?:\.\d*)?(?:e[-+]\d+)?|inf|nan)"
EDGE = re.compile(
    rf"local derivative ∂(?P<node>.+?)/∂(?P<wrt>.+?) = (?:(?P<formula>.+) = )?(?P<local>{NUMBER}); "
    rf"× (?P<node2>.+?)\.grad (?P<up>{NUMBER}) = (?P<adds>{NUMBER}), "
    rf"added to (?P<name>.+?)\.grad: (?P<before>{NUMBER}) → (?P<after>{NUMBER})"
)


def said(line: list) -> str:
    return "".join(part if isinstance(part, str) else part[0] for part in line)


def exact(line: list) -> list[float]:
    """The exact values of a line's numbers (each carries its repr)."""
    return [float(part[1]) for part in line if not isinstance(part, str)]


def central_difference(fn, datas: list[float], i: int, h: float = 1e-6) -> float:
    up, down = list(datas), list(datas)
    up[i] += h
    down[i] -= h
    return (fn(*up) - fn(*down)) / (2 * h)


def backward_steps(page):
    return [s for s in page.steps if s["phase"] == "backward"]


@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_each_steps_data_is_the_engines(make):
    """At every backward step, each edge's local derivative is a central difference of the op's
    function, the node's grad is what backward() leaves in it, the contribution is their
    product, and the input's grad before and after is the running sum of what reached it; the
    leaves end with backward()'s gradients."""
    root = make()
    page = explore(root)
    root.backward()
    running: dict = {}
    checked = 0
    for step in backward_steps(page):
        node = step["node"]
        datas = [p.data if isinstance(p, Value) else p for p in node.parents]
        for i, f in enumerate(step["flows"]):
            assert f["upstream"] == pytest.approx(node.grad, rel=1e-12, abs=1e-300)
            p = f["input"]
            if f["local"] is None:
                assert not isinstance(p, Value) or central_difference(node.grad_fn.fn, datas, i) == 0.0
                continue
            assert f["local"] == pytest.approx(central_difference(node.grad_fn.fn, datas, i), rel=1e-6, abs=1e-9)
            assert f["contribution"] == pytest.approx(f["local"] * f["upstream"], rel=1e-15, abs=1e-300)
            assert f["before"] == running.get(p, 0.0)
            running[p] = f["before"] + f["contribution"]
            assert f["after"] == running[p]
            checked += 1
    assert checked >= 2
    for p, g in running.items():
        assert g == pytest.approx(p.grad, rel=1e-12, abs=1e-300)


def formula_value(step: dict, f: dict, i: int, page) -> float:
    """The value of an edge's formula as the sentence writes it, evaluated on the node's
    numbers: in the graph's names, or in the rule's (x, y, out) where the step keeps those."""
    node = step["node"]
    op = node.grad_fn
    graph = page.graph
    args = graph.inputs[node]
    if step["rewritten"]:
        names = {graph.who(p): p.data for p in args} | {graph.who(node): node.data}
    elif op.each:
        names = {"x": args[i].data, "out": node.data}
    else:
        names = dict(zip(op.inputs, (p.data for p in args))) | {"out": node.data}
    if getattr(op, "act", None) is not None:  # a neuron node's s = act'(z), from the closed form
        names["s"] = 1 - node.data**2
    names = {k: v for k, v in names.items() if k.isidentifier()}  # a number is written as itself
    return eval(f["shown"], dict(FORMULA_NAMES), names)


@pytest.mark.parametrize("make", GRAPHS.values(), ids=GRAPHS.keys())
def test_each_sentence_says_its_data(make):
    """Each edge's line, parsed back: its numbers are the step's (shown to 4 digits, carried
    exactly), the product and the sum redone on the numbers shown hold to their rounding, the
    formula shown evaluates to the local derivative (the engine's own formulas: a user's formula
    text is never run), and the ∂ names the node and the input it says."""
    root = make()
    page = explore(root)
    data = {id(s): d for s, d in zip(page.steps, page.page_data()["steps"])}
    lines_checked = 0
    for step in backward_steps(page):
        text = data[id(step)]["text"]
        head = said(text[0])
        up = format_number(step["flows"][0]["upstream"])
        assert re.search(rf"whose grad is \(?{re.escape(step['name'])}\)?\.grad = {re.escape(up)}\.", head), head
        edge_lines = [line for line in text[1:] if said(line).startswith("local derivative")]
        with_grad = [f for f in step["flows"] if f["local"] is not None]
        assert len(edge_lines) == len(with_grad)
        for line, f in zip(edge_lines, with_grad):
            m = EDGE.fullmatch(said(line))
            assert m, said(line)
            values = [f[k] for k in ("local", "upstream", "contribution", "before", "after")]
            shown = [m[k] for k in ("local", "up", "adds", "before", "after")]
            assert shown == [format_number(v) for v in values]
            assert exact(line) == values
            local, up, adds, before, after = map(float, shown)
            assert local * up == pytest.approx(adds, rel=2e-3, abs=1e-12)
            assert before + adds == pytest.approx(after, abs=1e-3 * max(abs(before), abs(adds), abs(after), 1e-9))
            for said_name, name in ((m["node"], step["name"]), (m["node2"], step["name"]),
                                    (m["wrt"], f["wrt"]), (m["name"], f["name"])):  # fmt: skip
                assert said_name in (name, f"({name})")  # a name of several words in parentheses
            assert m["formula"] == f["shown"]
            op = step["node"].grad_fn
            if f["shown"] and (op.from_formulas or isinstance(op, NeuronOp)):  # the engine's own formulas
                i = step["flows"].index(f)
                assert formula_value(step, f, i, page) == pytest.approx(f["local"], rel=1e-9, abs=1e-12)
            lines_checked += 1
    assert lines_checked >= 2


def test_a_value_used_twice_is_named_by_its_place_in_the_rule():
    """a * a: '∂mul1/∂a = a' would be false (d(a·a)/da = 2a); each edge is named by its place
    in the rule instead, and the step says both places are a."""
    a = Value(3.0, label="a")
    page = explore(a * a)
    (step,) = backward_steps(page)
    lines = [said(line) for line in page.page_data()["steps"][3]["text"]]
    assert "(in the rule of *, x is a, y is a, out is mul1)" in lines[0]
    assert lines[1].startswith("local derivative ∂mul1/∂x = y = 3; × mul1.grad 1 = 3, added to a.grad: 0 → 3")
    assert lines[2].startswith("local derivative ∂mul1/∂y = x = 3; × mul1.grad 1 = 3, added to a.grad: 3 → 6")
    assert not any("∂mul1/∂a" in line for line in lines)


def test_the_tours_example_adds_up_as_the_tour_says():
    """a*a + a.tanh() at 3: a.grad gets tanh'(3) first, then 3 from each side of a*a: the
    numbers docs/tour.md quotes (0.009866, 3.01, 6.01), with the closed form 2a + 1 - tanh²(a)."""
    from pathlib import Path

    tour = (Path(__file__).resolve().parent.parent / "docs" / "tour.md").read_text(encoding="utf-8")
    assert "0.009866 → 3.01 → 6.01" in tour and "a = Value(3.0" in tour and "y = a * a + a.tanh()" in tour
    a = Value(3.0, label="a")
    page = explore(a * a + a.tanh())
    afters = [f["after"] for s in backward_steps(page) for f in s["flows"] if f["input"] is a]
    assert [format_number(g) for g in afters] == ["0.009866", "3.01", "6.01"]
    assert afters[-1] == pytest.approx(2 * 3 + 1 - math.tanh(3) ** 2, rel=1e-12)


# ---------------------------------------------------------------------- plurals


def all_text(page) -> list[str]:
    return [repr(page)] + [said(line) for s in page.page_data()["steps"] for line in s["text"]]


PLURAL_NOUNS = "step|leaf|operation|parameter|input|value|number|edge"
WRONG = re.compile(
    rf"\b1 (?:{PLURAL_NOUNS.replace('leaf', 'leave')})s\b|\b(?:0|[2-9]|\d\d+) (?:more )?(?:{PLURAL_NOUNS})\b"
)


def test_plurals_are_right():
    """One of a thing is singular and any other count plural, in the repr and every sentence:
    '1 forward step and 1 backward step', '1 leaf', '2 leaves', '1 input', '… and 1 more leaf'."""
    a = Value(3.0, label="a")
    one = explore(a * a)
    assert repr(one).startswith("<Explorer of mul1: 1 forward step and 1 backward step;")
    assert "1 operation, 1 leaf drawn" in all_text(one)[1]
    b, c = Value(1.0, label="b"), Value(2.0, label="c")
    two = explore(a * b + c * 2)
    assert "3 operations, 3 leaves and 1 number drawn" in all_text(two)[1]
    w, x = Value(0.5, label="w"), Value(2.0, label="x")
    neuron = explore(Value.dot([w], [x], activation="tanh"), collapse="neuron")
    assert any("over 1 input = " in t for t in all_text(neuron))
    assert any("Inside the box, 1 parameter (its weights and bias) gets its grad" in t for t in all_text(neuron))
    for n, tail in ((13, "… and 1 more leaf."), (14, "… and 2 more leaves.")):
        leaves = [Value(float(k), label=f"x{k}") for k in range(n)]
        page = explore(Value.sum(leaves))
        assert tail in all_text(page)
    model = nn.MLP(2, [3, 1], seed=0)
    mlp = explore(model([Value(0.5, label="x1"), Value(1.5, label="x2")]), model=model)
    for page in (one, two, neuron, mlp, *(explore(make()) for make in GRAPHS.values())):
        for text in all_text(page):
            assert not WRONG.search(text), text


# ---------------------------------------------------------------------- names


@needs_dot
@pytest.mark.parametrize("make", [used_twice, micrograds_neuron, unlabelled], ids=["a*a", "neuron", "leaves"])
def test_unlabelled_values_have_one_name_everywhere(make):
    """A value without a label gets a short name (its op and forward step, 'mul1', or 'leaf1'):
    the first text of its box in the SVG, the name its forward step computes, the name in the
    tables and in every ∂ and .grad of the sentences; no two values share one."""
    root = make()
    page = explore(root)
    graph = page.graph
    svg = page.svg
    boxes = dict(re.findall(r"<title>(v\d+)</title>.*?<text[^>]*>([^<]*)</text>", svg, flags=re.DOTALL))
    named = {v: graph.who(v) for v in graph.nodes if isinstance(v, Value) and not v.label}
    assert named and len(set(named.values())) == len(named)
    for v, name in named.items():
        assert re.fullmatch(r"(mul|add|tanh|sum|sigmoid|logsumexp|leaf)\d+", name), name
        assert boxes[graph.name(v)] == name  # the drawing
    data = page.page_data()["steps"]
    forward = [s for s in data if s["phase"] == "forward"]
    for step, v in zip(forward, [v for v in graph.order if v in graph.units]):
        assert said(step["text"][0]).split(": ", 1)[1].startswith(f"{graph.who(v)} = ")  # the sentence
    in_tables = {row[0] for s in data if s["table"] for row in s["table"]["rows"]}
    in_tables = {re.sub(r" \(as .*\)$", "", cell) for cell in in_tables}
    mentioned = set()
    for s in data:
        for line in s["text"]:
            mentioned |= set(re.findall(r"(?:∂|\b)((?:mul|add|tanh|sum|sigmoid|logsumexp|leaf)\d+)\b", said(line)))
    drawn_names = set(named.values())
    assert mentioned <= drawn_names  # every short name in a sentence is one the drawing shows
    inputs = {graph.who(p) for v in graph.units for p in graph.inputs[v] if p in named}
    assert inputs <= in_tables and inputs <= mentioned


def test_a_short_name_never_takes_a_label():
    """A label that looks like a short name keeps it; the value that would have had it gets a prime."""
    a = Value(2.0, label="mul1")
    page = explore(a * 3.0)
    assert page.graph.who(page.graph.root) == "mul1′"
    assert said(page.page_data()["steps"][1]["text"][0]) == "Forward step 1 of 1: mul1′ = mul1*3 = 2 × 3 = 6"
