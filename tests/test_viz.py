"""Drawings: trace, draw_dot rendered by the real `dot` and read back from the SVG, save_graph."""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest

from autograd_tiny import Value
from autograd_tiny.viz import GraphTooLargeError, GraphvizNotFoundError, draw_dot, save_graph, trace

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz program 'dot' is needed")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
# The lecture neuron's bias: tanh(x1*w1 + x2*w2 + b) = tanh(atanh(1/sqrt(2))) = 1/sqrt(2).
B = 6.8813735870195432


def show(x: float) -> str:
    """The documented precision: 4 significant digits."""
    return f"{x:.4g}"


class Drawing:
    """A drawing rendered to SVG by `dot` and parsed: nodes by name, with texts and shape style."""

    def __init__(self, graph):
        root = ET.fromstring(graph.pipe(format="svg"))
        self.nodes, self.edges = {}, []
        for g in root.iter(f"{SVG}g"):
            if g.get("class") == "node":
                name = g.find(f"{SVG}title").text
                texts = [t.text for t in g.iter(f"{SVG}text")]
                shape = next(e for e in g.iter() if e.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse"))
                link = next(g.iter(f"{SVG}a"), None)
                kind = link.get(f"{XLINK}title") if link is not None else None
                self.nodes[name] = {"texts": texts, "shape": shape.attrib, "kind": kind}
            elif g.get("class") == "edge":
                tail, head = g.find(f"{SVG}title").text.split("->")
                self.edges.append((tail, head))

    def values(self):
        """Records (not op nodes): name -> texts."""
        return {n: d["texts"] for n, d in self.nodes.items() if d["kind"] != "operation"}

    def ops(self):
        return {n: d["texts"] for n, d in self.nodes.items() if d["kind"] == "operation"}

    def by_label(self, label):
        (texts,) = [t for t in self.values().values() if t[0] == label]
        return texts


def lecture_neuron():
    """micrograd's lecture neuron, per op, with labels; after o.backward()."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(B, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


# ---------------------------------------------------------------------- trace


def test_trace_lists_leaves_and_one_edge_per_argument():
    """trace includes leaves and constants, and a*a contributes two edges from a."""
    a, b = Value(3.0, label="a"), Value(4.0, label="b")
    y = a * a + b * 2
    nodes, edges = trace(y)
    assert len(nodes) == 6  # a, a*a, b, 2, b*2, y
    assert len(edges) == 6  # two arguments per op, three ops
    assert sum(1 for p, c in edges if p is a) == 2
    assert nodes[-1] is y


def test_trace_is_a_deterministic_topological_order_of_everything_reachable():
    """On random graphs edges go forward, every reachable node appears, and a second trace is identical."""
    rng = random.Random(4)
    for _ in range(20):
        pool = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(4)]
        for _ in range(30):
            a, b = rng.choice(pool), rng.choice(pool)
            pool.append(rng.choice([a + b, a * b, a.tanh(), Value.sum([a, b, 1.0])]))
        root = pool[-1]
        nodes, edges = trace(root)
        position = {id(v): i for i, v in enumerate(nodes)}
        assert all(position[id(p)] < position[id(c)] for p, c in edges)
        reachable, todo, numbers = {id(root)}, [root], 0  # an independent search
        while todo:
            for p in todo.pop().parents:
                if not isinstance(p, Value):
                    numbers += 1  # a number in the expression: a constant box of its own
                elif id(p) not in reachable:
                    reachable.add(id(p))
                    todo.append(p)
        values = {id(v) for v in nodes if isinstance(v, Value)}
        assert values == reachable and len(nodes) == len(reachable) + numbers
        assert sum(len(v.parents) for v in nodes) == len(edges)
        again = trace(root)
        same = lambda v: id(v) if isinstance(v, Value) else ("constant", v.data)  # noqa: E731
        assert [same(v) for v in again[0]] == [same(v) for v in nodes]


def test_trace_handles_a_100k_node_chain():
    """trace is iterative: a chain of 100,000 additions (200,001 nodes) does not hit the recursion limit."""
    x = Value(0.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    nodes, edges = trace(y)
    assert len(nodes) == 200_001 and len(edges) == 200_000
    assert nodes[0] is x and nodes[-1] is y


# ---------------------------------------------------------------------- draw_dot, read back from SVG


@needs_dot
def test_lecture_neuron_shows_closed_form_values_and_gradients():
    """The lecture neuron's SVG: 10 records, 5 ops, 14 edges, every data and grad from closed form."""
    o, leaf = lecture_neuron()
    d = Drawing(draw_dot(o, params=[leaf["w1"], leaf["w2"], leaf["b"]]))
    assert len(d.values()) == 10 and len(d.ops()) == 5 and len(d.edges) == 14
    out = 1 / math.sqrt(2)  # tanh(atanh(1/sqrt 2))
    dn = 1 - out**2  # 0.5
    expected = {  # label: (data, grad)
        "x1": (2, -3 * dn), "w1": (-3, 2 * dn), "x2": (0, 1 * dn), "w2": (1, 0 * dn), "b": (B, dn),
        "x1*w1": (-6, dn), "x2*w2": (0, dn), "x1*w1 + x2*w2": (-6, dn),
        "n": (math.atanh(out), dn), "o": (out, 1),
    }  # fmt: skip
    for label, (data, grad) in expected.items():
        assert d.by_label(label) == [label, f"data {show(data)}", f"grad {show(grad)}"]
    assert d.by_label("o")[1:] == ["data 0.7071", "grad 1"]
    assert sorted(t[0] for t in d.ops().values()) == sorted(["*", "*", "+", "+", "tanh"])


@needs_dot
def test_a_times_a_has_two_edges():
    """a*a draws two edges from a into the * node, in the DOT source and in the SVG."""
    a = Value(3.0, label="a")
    y = a * a
    y.backward()
    g = draw_dot(y)
    assert g.source.count("v0 -> v1op") == 2
    d = Drawing(g)
    assert d.edges.count(("v0", "v1op")) == 2
    assert d.by_label("a") == ["a", "data 3", "grad 6"]  # d(a²)/da = 2a


@needs_dot
def test_micrograd_relu_example_and_constants():
    """(x*2+1).relu() at x=1: 6 records (2 constants), 3 ops, 8 edges; out 3, x.grad 2."""
    x = Value(1.0, label="x")
    y = (x * 2 + 1).relu()
    y.backward()
    d = Drawing(draw_dot(y))
    kinds = [n["kind"] for n in d.nodes.values()]
    assert kinds.count("constant") == 2 and kinds.count("input") == 1 and kinds.count("output") == 1
    assert len(d.ops()) == 3 and len(d.edges) == 8
    assert d.by_label("x") == ["x", "data 1", "grad 2"]
    (out,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "output"]
    assert out == ["data 3", "grad 1"]


@needs_dot
def test_kinds_are_told_apart_by_fill_and_border():
    """Inputs, parameters, constants, intermediates and the output each get a fill; constants are dashed."""
    x, w = Value(2.0, label="x"), Value(-1.0, label="w")
    y = (x * w + 3).tanh()
    y.backward()
    d = Drawing(draw_dot(y, params=[w]))
    fills = {}
    for node in d.nodes.values():
        fills.setdefault(node["kind"], set()).add(node["shape"]["fill"])
    wanted = ["input", "parameter", "constant", "value", "output"]
    assert all(len(fills[k]) == 1 for k in wanted)
    assert len({next(iter(fills[k])) for k in wanted}) == 5
    (const,) = [n for n in d.nodes.values() if n["kind"] == "constant"]
    assert "stroke-dasharray" in const["shape"]


@needs_dot
def test_color_by_grad_shades_larger_gradients_darker():
    """With color_by_grad, fills darken as |grad| grows; a zero gradient stays white."""
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(0.0, label="c")
    y = a * 5 + b * 2 + c * 0  # grads 5, 2, 0
    y.backward()
    d = Drawing(draw_dot(y, color_by_grad=True))

    def darkness(label):
        (node,) = [n for n in d.nodes.values() if n["texts"][0] == label]
        fill = node["shape"]["fill"].lstrip("#")
        return 765 - sum(int(fill[i : i + 2], 16) for i in (0, 2, 4))

    assert darkness("a") > darkness("b") > darkness("c") == 0


def _steps(d: Drawing):
    """numbered op node -> its step number, from labels such as '3: tanh'."""
    return {n: int(texts[0].split(":")[0]) for n, texts in d.ops().items() if ":" in texts[0]}


@needs_dot
def test_backward_numbering_is_a_reverse_topological_order():
    """Every op is numbered once, 1..k, and each op comes after every op that uses its output."""
    rng = random.Random(7)
    xs = [Value(rng.uniform(-1, 1), label=f"x{i}") for i in range(3)]
    pool = list(xs)
    for _ in range(25):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append(rng.choice([a + b, a * b, a.tanh(), (a * b).exp()]))
    y = pool[-1] + pool[-2]
    y.backward()
    d = Drawing(draw_dot(y, number_backward=True, max_nodes=None))
    assert len(_steps(d)) == len(d.ops())  # every op is numbered
    _assert_reverse_topological(d)


def _assert_reverse_topological(d: Drawing) -> None:
    """Steps are 1..k, the output's op is 1, and an op comes after every numbered op downstream of it."""
    steps = _steps(d)
    assert sorted(steps.values()) == list(range(1, len(steps) + 1))
    made_by = {head: tail for tail, head in d.edges if tail in steps}  # value -> the op that made it
    preds = {}
    for tail, head in d.edges:
        preds.setdefault(head, []).append(tail)
    for op, k in steps.items():  # walk back from each numbered op to the numbered ops feeding it
        todo, seen = list(preds.get(op, [])), set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            if n in steps:
                assert steps[n] > k, (n, op)  # n's output is used by op: backward visits op first
            else:
                todo.extend(preds.get(n, []))
    output = [n for n, v in d.nodes.items() if v["kind"] == "output"][0]
    assert steps[made_by[output]] == 1


@needs_dot
def test_expand_dot_draws_the_per_op_neuron_with_its_numbers():
    """A fused neuron with expand_dot has the per-op shape; products, sums and grads from closed form."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(B, label="b")
    o = Value.dot([w1, w2], [x1, x2], bias=b).tanh()
    o.backward()
    fused = Drawing(draw_dot(o))
    assert len(fused.values()) == 7 and len(fused.ops()) == 2  # 5 leaves, dot, o
    d = Drawing(draw_dot(o, expand_dot=True))
    assert len(d.values()) == 10 and len(d.ops()) == 5 and len(d.edges) == 14  # as per op
    dn = 1 - 0.5  # 1 - tanh(n)**2 with tanh(n) = 1/sqrt(2)
    unlabelled = sorted(tuple(t) for t in d.values().values() if t[0].startswith("data"))
    expected = [(f"data {show(v)}", f"grad {show(dn)}") for v in (-6.0, 0.0, -6.0, math.atanh(2**-0.5))]
    assert unlabelled == sorted(expected + [("data 0.7071", "grad 1")])


FLOAT_ACTIVATIONS = {  # closed forms, written independently of the engine
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1 / (1 + math.exp(-z)),
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
    "linear": lambda z: z,
}
SLOPES = {  # d act / dz at z
    "relu": lambda z: 1.0 if z > 0 else 0.0,
    "tanh": lambda z: 1 / math.cosh(z) ** 2,
    "sigmoid": lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2,
}


def _mlp_forward(model, xs, activation="tanh", output_activation="linear"):
    """An independent float forward pass: hidden layers with `activation`, then `output_activation`."""
    for i, layer in enumerate(model.layers):
        act = FLOAT_ACTIVATIONS[output_activation if i == len(model.layers) - 1 else activation]
        xs = [act(sum(w.data * x for w, x in zip(n.w, xs)) + n.b.data) for n in layer.neurons]
    return xs[0]


@needs_dot
@pytest.mark.parametrize("fused", [True, False])
def test_collapsed_mlp_has_one_box_per_neuron(fused):
    """MLP(2, [4, 4, 1]) collapsed: 9 neuron boxes, 28 edges, the output's data from a float forward pass."""
    nn = pytest.importorskip("autograd_tiny.nn")
    model = nn.MLP(2, [4, 4, 1], activation="tanh", seed=3, fused=fused)
    xs = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    out = model(xs)
    out.backward()
    full = Drawing(draw_dot(out, model=model, max_nodes=None))
    d = Drawing(draw_dot(out, collapse="neuron", model=model))
    boxes = [t for t in d.values().values() if "neuron" in t[0]]
    assert len(boxes) == 9 and len(d.nodes) == 11 and len(d.edges) == 2 * 4 + 4 * 4 + 4
    assert len(full.nodes) > 5 * len(d.nodes)
    titles = [f"neuron {i}.{j} (tanh)" for i in (1, 2) for j in (1, 2, 3, 4)] + ["neuron 3.1 (linear)"]
    assert sorted(t[0] for t in boxes) == sorted(titles)
    (top,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "output"]
    assert top == ["neuron 3.1 (linear)", f"data {show(_mlp_forward(model, [0.5, -1.0]))}", "grad 1"]


@needs_dot
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_collapsed_fused_mlp_matches_the_collapsed_per_op_mlp(activation):
    """Fused ('dot+act', or 'dot' then leaky_relu) and per-op MLPs collapse to the same boxes and edges."""
    nn = pytest.importorskip("autograd_tiny.nn")
    pictures = []
    for fused in (True, False):
        model = nn.MLP(3, [3, 2, 1], activation=activation, output_activation=activation, seed=5, fused=fused)
        out = model([Value(0.5, label="x1"), Value(-1.0, label="x2"), Value(2.0, label="x3")])
        out.backward()
        d = Drawing(draw_dot(out, collapse="neuron", model=model))
        boxes = [t for t in d.values().values() if "neuron" in t[0]]
        sizes = ((1, 3), (2, 2), (3, 1))
        titles = [f"neuron {i}.{j} ({activation})" for i, size in sizes for j in range(1, size + 1)]
        assert sorted(t[0] for t in boxes) == sorted(titles)
        assert len(d.nodes) == 3 + 6 and len(d.edges) == 3 * 3 + 3 * 2 + 2
        (top,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "output"]
        expected = _mlp_forward(model, [0.5, -1.0, 2.0], activation, activation)
        assert top == [f"neuron 3.1 ({activation})", f"data {show(expected)}", "grad 1"]
        pictures.append(_canonical([d])[0])
    assert pictures[0] == pictures[1]


def _canonical(drawings):
    """Each drawing as a multiset of node ids, where a node's id stands for its kind, its texts and
    the ids of the nodes feeding it (sorted): equal multisets mean the same picture up to names."""
    table = {}
    result = []
    for d in drawings:
        preds = {n: [] for n in d.nodes}
        for tail, head in d.edges:
            preds[head].append(tail)
        ids = {}
        todo = list(d.nodes)
        while todo:  # iterative: a node gets its id once all its inputs have one
            n = todo[-1]
            missing = [p for p in preds[n] if p not in ids]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            if n not in ids:
                node = d.nodes[n]
                key = (node["kind"], tuple(node["texts"]), tuple(sorted(ids[p] for p in preds[n])))
                ids[n] = table.setdefault(key, len(table))
        result.append((sorted(ids.values()), len(d.edges)))
    return result


@needs_dot
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
def test_expanded_fused_mlp_is_the_per_op_mlp(activation):
    """expand_dot draws a fused MLP as the per-op MLP of the same seed: same boxes, edges and numbers."""
    nn = pytest.importorskip("autograd_tiny.nn")
    drawings = []
    for fused in (True, False):
        model = nn.MLP(2, [3, 2, 1], activation, output_activation=activation, seed=11, fused=fused)
        out = model([Value(0.7, label="x1"), Value(-1.3, label="x2")])
        out.backward()
        drawings.append(Drawing(draw_dot(out, model=model, expand_dot=fused, max_nodes=None)))
    expanded, per_op = _canonical(drawings)
    assert expanded == per_op
    assert len(drawings[0].ops()) == len(drawings[1].ops()) > 3 * 6  # every * and + of the 6 neurons


@needs_dot
@pytest.mark.parametrize(
    "activation, bias", [("tanh", 0.3), ("sigmoid", -0.4), ("relu", 1.5), ("relu", -2.0), ("tanh", None)]
)
def test_expanded_neuron_shows_z_from_closed_form(activation, bias):
    """An expanded 'dot+act' node: the box z has data w·x+b and grad act'(z); the output is act(z)."""
    ws, xs = [0.5, -1.5, 2.0], [1.0, 0.4, -0.35]  # products 0.5, -0.6, -0.7: no two boxes alike
    w = [Value(v, label=f"w{i}") for i, v in enumerate(ws)]
    x = [Value(v, label=f"x{i}") for i, v in enumerate(xs)]
    b = None if bias is None else Value(bias, label="b")
    out = Value.dot(w, x, bias=b, activation=activation)
    out.backward()
    z = sum(wi * xi for wi, xi in zip(ws, xs)) + (bias or 0.0)
    d = Drawing(draw_dot(out, expand_dot=True, number_backward=True))
    (act_op,) = [n for n, texts in d.ops().items() if texts == [f"1: {activation}"]]
    (z_box,) = [tail for tail, head in d.edges if head == act_op]
    assert d.nodes[z_box]["texts"] == [f"data {show(z)}", f"grad {show(SLOPES[activation](z))}"]
    (top,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "output"]
    assert top == [f"data {show(FLOAT_ACTIVATIONS[activation](z))}", "grad 1"]
    assert len(d.ops()) == 3 + (3 if b else 2) + 1  # products, the chain of +, the activation
    for i, (wi, xi) in enumerate(zip(ws, xs)):  # every product carries z's grad
        (prod,) = [t for t in d.values().values() if t[0] == f"data {show(wi * xi)}"]
        assert prod == [f"data {show(wi * xi)}", f"grad {show(SLOPES[activation](z))}"]


@needs_dot
@pytest.mark.parametrize("n", [1, 2, 3])
def test_expanded_dot_without_bias_is_the_per_op_sum(n):
    """An expanded bias-free 'dot' is drawn as w0*x0 + w1*x1 + ... built op by op (one product: no +)."""
    drawings = []
    for fused in (True, False):
        w = [Value(0.5 - i, label=f"w{i}") for i in range(n)]
        x = [Value(1.5 + 2 * i, label=f"x{i}") for i in range(n)]
        if fused:
            out = Value.dot(w, x)
        else:
            out = w[0] * x[0]
            for wi, xi in zip(w[1:], x[1:]):
                out = out + wi * xi
        (out * out).backward()
        drawings.append(Drawing(draw_dot(out * out, expand_dot=fused)))
    expanded, per_op = _canonical(drawings)
    assert expanded == per_op


@needs_dot
def test_fused_neuron_op_reads_as_its_formula():
    """Unexpanded, a 'dot+tanh' op reads tanh(w·x+b) (relu(w·x) without bias); collapsed, 'tanh neuron'."""
    w, x, b = [Value(0.5), Value(-1.0)], [Value(2.0, label="x1"), Value(1.0, label="x2")], Value(0.1)
    out = Value.dot(w, x, bias=b, activation="tanh")
    out.backward()
    assert list(Drawing(draw_dot(out)).ops().values()) == [["tanh(w·x+b)"]]
    assert list(Drawing(draw_dot(Value.dot(w, x, activation="relu"))).ops().values()) == [["relu(w·x)"]]
    d = Drawing(draw_dot(out, collapse="neuron"))
    z = 0.5 * 2.0 - 1.0 * 1.0 + 0.1
    assert d.by_label("tanh neuron") == ["tanh neuron", f"data {show(math.tanh(z))}", "grad 1"]
    (box,) = [n for n, node in d.nodes.items() if node["kind"] == "output"]
    assert len(d.nodes) == 3 and sorted(d.edges) == sorted((n, box) for n in d.nodes if n != box)


@needs_dot
def test_backward_numbering_of_an_expanded_fused_mlp_is_a_reverse_topological_order():
    """Expanded and numbered, a fused MLP's steps sit on the activations, in reverse topological order."""
    nn = pytest.importorskip("autograd_tiny.nn")
    model = nn.MLP(2, [3, 3, 1], activation="sigmoid", seed=2)
    out = model([Value(1.0, label="x1"), Value(-2.0, label="x2")])
    out.backward()
    d = Drawing(draw_dot(out, model=model, expand_dot=True, number_backward=True, max_nodes=None))
    _assert_reverse_topological(d)
    numbered = sorted(t[0].split(": ")[1] for t in d.ops().values() if ":" in t[0])
    assert numbered == ["+"] + ["sigmoid"] * 6  # one step per engine node: 7 neurons, the last linear


def test_collapse_without_neurons_says_so():
    """collapse='neuron' on a graph with no neuron raises a message naming the option."""
    x = Value(1.0, label="x")
    with pytest.raises(ValueError, match="collapse='neuron' found no neuron"):
        draw_dot((x * 2).tanh(), collapse="neuron")


def test_node_cap_gives_a_clear_message_quickly():
    """A graph over max_nodes (even 100k nodes) raises GraphTooLargeError naming the count and the way out."""
    x = Value(0.0, label="x")
    y = x
    for _ in range(600):
        y = y + 1.0
    message = r"1801 nodes to draw, more than max_nodes=1000.*collapse='neuron'"
    with pytest.raises(GraphTooLargeError, match=message):
        draw_dot(y)  # x, 600 constants, 600 sums, 600 op nodes
    for _ in range(50_000):
        y = y * 1.0
    with pytest.raises(GraphTooLargeError, match="max_nodes=500"):
        draw_dot(y, max_nodes=500)


@needs_dot
def test_labels_with_record_syntax_are_shown_verbatim():
    """A label full of record syntax ({ } | < > \\ quotes) reads back exactly from the SVG."""
    label = 'a{b}|c<d> "e" \\f'
    y = Value(1.5, label=label).exp()
    y.backward()
    d = Drawing(draw_dot(y))
    assert d.by_label(label) == [label, "data 1.5", f"grad {show(math.exp(1.5))}"]


@needs_dot
def test_hide_grad_and_rankdir_tb():
    """show_grad=False drops the grad field; rankdir='TB' lays the graph out top to bottom."""
    x = Value(2.0, label="x")
    y = x.tanh()
    y.backward()
    g = draw_dot(y, show_grad=False, rankdir="TB")
    assert "rankdir=TB" in g.source
    d = Drawing(g)
    assert d.by_label("x") == ["x", "data 2"]


@needs_dot
def test_create_graph_gradients_are_shown_as_numbers():
    """After backward(create_graph=True) a grad is a Value; the drawing shows its number."""
    x = Value(3.0, label="x")
    y = x * x * x
    y.backward(create_graph=True)
    d = Drawing(draw_dot(y))
    assert d.by_label("x") == ["x", "data 3", "grad 27"]  # 3 x²


def test_bad_arguments_are_named():
    """A bad rankdir, collapse or root raises an error naming the argument and the value."""
    y = Value(1.0).tanh()
    with pytest.raises(ValueError, match="rankdir.*'XY'"):
        draw_dot(y, rankdir="XY")
    with pytest.raises(ValueError, match="collapse.*'layer'"):
        draw_dot(y, collapse="layer")
    with pytest.raises(TypeError, match="root must be a Value.*float"):
        draw_dot(1.0)


@needs_dot
def test_jupyter_renders_inline_svg():
    """The returned Digraph gives Jupyter an SVG through _repr_mimebundle_ (and IPython's formatter)."""
    x = Value(1.0, label="x")
    g = draw_dot(x.relu())
    bundle = g._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag == f"{SVG}svg"
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.DisplayFormatter().format(g)
    assert "image/svg+xml" in data


# ---------------------------------------------------------------------- saving


@needs_dot
def test_save_graph_picks_the_format_from_the_suffix(tmp_path):
    """save_graph writes svg, png, pdf and dot files with their own magic bytes and leaves no temp file."""
    x = Value(1.0, label="x")
    g = draw_dot(x.tanh())
    magic = {".svg": b"<?xml", ".png": b"\x89PNG", ".pdf": b"%PDF", ".dot": b"digraph"}
    for suffix, start in magic.items():
        path = save_graph(g, tmp_path / f"g{suffix}")
        assert path.read_bytes().startswith(start)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"g{s}" for s in magic)
    with pytest.raises(ValueError, match=r"'.*g\.jpg'.*\.svg, \.png, \.pdf or \.dot"):
        save_graph(g, tmp_path / "g.jpg")


def test_without_the_dot_program(tmp_path):
    """With no `dot` on PATH, building and .dot saving work; rendering raises one error on installing it."""
    script = textwrap.dedent(
        """
        import os, sys
        from autograd_tiny import Value
        from autograd_tiny.viz import GraphvizNotFoundError, draw_dot, save_graph
        x = Value(1.0, label="x")
        y = (x * 2 + 1).relu()
        y.backward()
        g = draw_dot(y)
        assert "x | data 1 | grad 2" in g.source
        assert save_graph(g, "g.dot").read_text().startswith("digraph")
        messages = []
        for attempt in (lambda: save_graph(g, "g.svg"), lambda: g.render("h"), lambda: g.pipe(),
                        lambda: g._repr_mimebundle_()):
            try:
                attempt()
            except GraphvizNotFoundError as err:
                messages.append(str(err))
        assert len(messages) == 4, messages
        for m in messages:
            assert "\\n" not in m
            for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz",
                         ".dot"):
                assert hint in m, (hint, m)
        print(sorted(os.listdir(".")))
        """
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(empty)}
    done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # no half-written g.svg and no temp file ('h' is the DOT source graphviz's render saves first)
    assert done.stdout.strip() == "['g.dot', 'h']"
