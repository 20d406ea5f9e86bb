"""Drawings: trace, draw_dot rendered by the real `dot` and read back from the SVG, save_graph."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET

import pytest
from conftest import SVG, needs_dot

from autograd_tiny import Value
from autograd_tiny.see.draw import draw_dot, save_graph
from autograd_tiny.see.trace import GraphTooLargeError, trace

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
        self.nodes, self.edges, self.slots = {}, [], []
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
                head, _, slot = head.partition(":")  # an input's slot in its op: 'v2op:base'
                self.edges.append((tail, head))
                self.slots.append((tail, head, slot))

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
        same = lambda v: id(v) if isinstance(v, Value) else ("constant", v.data)
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
    output = next(n for n, v in d.nodes.items() if v["kind"] == "output")
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
    for wi, xi in zip(ws, xs):  # every product carries z's grad
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
    """Unexpanded, a neuron op reads tanh(w·x+b) (relu(w·x) without bias), each input in its slot
    (w1 w2 x1 x2 b); collapsed, 'tanh neuron'."""
    w, x, b = [Value(0.5), Value(-1.0)], [Value(2.0, label="x1"), Value(1.0, label="x2")], Value(0.1)
    out = Value.dot(w, x, bias=b, activation="tanh")
    out.backward()
    d = Drawing(draw_dot(out))
    assert list(d.ops().values()) == [["w1", "w2", "x1", "x2", "b", "tanh(w·x+b)"]]
    slot_of = {id(v): f"v{i}" for i, v in enumerate(trace(out)[0])}
    wanted = [(slot_of[id(v)], slot) for v, slot in zip([*w, *x, b], ["w1", "w2", "x1", "x2", "b"])]
    assert sorted((tail, slot) for tail, _, slot in d.slots if slot) == sorted(wanted)
    assert list(Drawing(draw_dot(Value.dot(w, x, activation="relu"))).ops().values()) == [
        ["w1", "w2", "x1", "x2", "relu(w·x)"]
    ]
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


def test_node_cap_counts_the_drawing_exactly_near_the_cap():
    """Just over max_nodes, GraphTooLargeError gives the exact count (x, 600 numbers, 600 sums, 600 ops)
    as text and attributes, and the ways out for an API user."""
    x = Value(0.0, label="x")
    y = x
    for _ in range(600):
        y = y + 1.0
    with pytest.raises(GraphTooLargeError) as caught:
        draw_dot(y)
    err = caught.value
    assert (err.nodes, err.exact, err.max_nodes, err.edges) == (1 + 3 * 600, True, 1000, None)
    message = str(err)
    assert "1801 nodes to draw, more than max_nodes=1000" in message and "\n" not in message
    for way_out in ("draw_dot(an inner value)", "collapse='neuron'", "max_nodes", "None: no cap"):
        assert way_out in message, way_out


def _count_parents_read(monkeypatch) -> list:
    """Make Value.parents count how many times a value's inputs are looked at."""
    reads = []
    original = Value.parents

    def counted(self):
        reads.append(1)
        return original.fget(self)

    monkeypatch.setattr(Value, "parents", property(counted))
    return reads


@pytest.mark.parametrize("collapse, looked_at", [(None, 10 * 10), ("neuron", 1000 * 10)])
def test_node_cap_stops_counting_early(monkeypatch, collapse, looked_at):
    """max_nodes=10 on a 300,001-node chain refuses after looking at about 10 x the cap (1000 x when
    collapsing, which must see the neurons' insides), not at the whole graph."""
    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):
        y = (y * 1.0).tanh()
    reads = _count_parents_read(monkeypatch)
    with pytest.raises(GraphTooLargeError, match="max_nodes=10") as caught:
        draw_dot(y, max_nodes=10, collapse=collapse)
    assert not caught.value.exact and caught.value.nodes == looked_at and caught.value.max_nodes == 10
    assert len(reads) <= looked_at + 10  # each value's inputs are read once, as it is found
    assert "over" in str(caught.value)


def test_edge_cap_refuses_dense_drawings():
    """A collapsed MLP(2, [80, 80, 1]) has 2*80 + 80*80 + 80 edges for 163 boxes: over 5 x max_nodes."""
    nn = pytest.importorskip("autograd_tiny.nn")
    model = nn.MLP(2, [80, 80, 1], seed=0)
    out = model([Value(1.0, label="x1"), Value(-1.0, label="x2")])
    with pytest.raises(GraphTooLargeError, match="6640 edges, more than 5 x max_nodes=1000") as caught:
        draw_dot(out, collapse="neuron", model=model)
    assert (caught.value.edges, caught.value.nodes, caught.value.exact) == (6640, 2 + 80 + 80 + 1, True)
    assert draw_dot(out, collapse="neuron", model=model, max_nodes=2000).counts[2] == 6640


@needs_dot
def test_labels_with_record_syntax_are_shown_verbatim():
    """A label full of record syntax ({ } | < > \\ quotes) reads back exactly from the SVG."""
    label = 'a{b}|c<d> "e" \\f'
    y = Value(1.5, label=label).exp()
    y.backward()
    d = Drawing(draw_dot(y))
    assert d.by_label(label) == [label, "data 1.5", f"grad {show(math.exp(1.5))}"]


@needs_dot
@pytest.mark.parametrize(
    "label", ["&amp;", "&alpha;", "&#38; & ;", "<b>", "two\nlines", "</script>", "a\r\nb"]
)
def test_labels_with_entities_and_line_breaks_are_shown_as_typed(label):
    """Graphviz reads entities in a record ('&amp;' as '&'): a label's '&' is escaped, so the SVG
    text reads back as typed, and a line break starts a new line of the box."""
    y = Value(2.0, label=label) * 3
    texts = Drawing(draw_dot(y)).values()["v0"]
    assert texts[-2:] == ["data 2", "grad 0"]
    assert texts[:-2] == label.replace("\r\n", "\n").split("\n")


@needs_dot
def test_op_names_with_markup_are_shown_verbatim():
    """A custom primitive made from a lambda is named '<lambda>': its op node reads '<lambda>' (text,
    not HTML), with one input or with two in slots named as its parameters."""
    primitive = pytest.importorskip("autograd_tiny.primitives").primitive
    one = primitive(derivatives=lambda x, out: (1.0,))(lambda x: 2 * x)
    two = primitive(derivatives=lambda x, y, out: (1.0, 1.0))(lambda x, y: x + y)
    y = one(two(Value(1.0, label="x"), 2.0))
    y.backward()
    assert sorted(Drawing(draw_dot(y)).ops().values()) == [["<lambda>"], ["x", "y", "<lambda>"]]


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


# ---------------------------------------------------------------------- constants, slots, key


GREY = "#f3f4f6"  # a constant's fill


def _constants(d: Drawing) -> list[dict]:
    return [n for n in d.nodes.values() if n["kind"] == "constant"]


@needs_dot
@pytest.mark.parametrize(
    "options",
    [{}, {"number_backward": True}, {"color_by_grad": True}, {"legend": True},
     {"number_backward": True, "color_by_grad": True, "legend": True}, {"rankdir": "TB"}],
)  # fmt: skip
def test_constants_show_no_gradient_in_any_drawing(options):
    """Every number in (x**2 + 2**x)/3 - x*0.5 is a grey box with its data and no grad, whatever the
    options; x's grad is (2x + 2**x ln 2)/3 - 0.5 and no box reads 'grad 0'."""
    x = Value(1.5, label="x")
    y = (x**2 + 2**x) / 3 - x * 0.5
    y.backward()
    d = Drawing(draw_dot(y, **options))
    consts = _constants(d)
    # 2, 2, 3, 0.5 and the -1 of the subtraction (a - b is a + b * -1)
    assert sorted(n["texts"][0] for n in consts) == sorted(f"data {c}" for c in ("2", "2", "3", "0.5", "-1"))
    assert all(len(n["texts"]) == 1 and n["shape"]["fill"] == GREY for n in consts)
    assert d.by_label("x") == ["x", "data 1.5", f"grad {show((2 * 1.5 + 2**1.5 * math.log(2)) / 3 - 0.5)}"]
    assert not any("grad 0" == t for n in d.nodes.values() for t in n["texts"])


@needs_dot
def test_collapsed_and_expanded_neurons_show_no_gradient_for_numbers():
    """A neuron with number weights, collapsed or expanded, draws the numbers without grad; expanded,
    each product w*x carries the neuron's grad act'(z), from closed form."""
    x1, x2, b = Value(0.5, label="x1"), Value(-1.0, label="x2"), Value(0.25, label="b")
    out = Value.dot([2.0, -3.0], [x1, x2], bias=b, activation="tanh") * 2.0
    out.backward()
    z = 2.0 * 0.5 - 3.0 * -1.0 + 0.25
    slope = 2.0 * (1 - math.tanh(z) ** 2)
    for options in (
        {"collapse": "neuron"},
        {"expand_dot": True},
        {"expand_dot": True, "color_by_grad": True},
    ):
        d = Drawing(draw_dot(out, **options))
        assert all(len(n["texts"]) == 1 and n["shape"]["fill"] == GREY for n in _constants(d))
        assert sorted(n["texts"][0] for n in _constants(d)) == sorted(
            ["data 2"] + (["data 2", "data -3"] if "expand_dot" in options else [])
        )  # collapsed, the weights are inside the box
        assert d.by_label("x1")[2] == f"grad {show(slope * 2.0)}"
    d = Drawing(draw_dot(out, expand_dot=True))
    for product in (1.0, 3.0):
        (box,) = [t for t in d.values().values() if t[0] == f"data {show(product)}"]
        assert box == [f"data {show(product)}", f"grad {show(slope)}"]


def _slots_into(d: Drawing, op: str) -> dict[str, list[str]]:
    """slot -> the texts of the box that feeds it, for one op node."""
    return {slot: d.nodes[tail]["texts"] for tail, head, slot in d.slots if head == op and slot}


@needs_dot
def test_order_matters_inputs_enter_named_slots():
    """** (Value or number on either side), /, leaky_relu and a custom primitive draw a slot per input,
    and each edge enters the slot of its role in the engine's table (the base, the numerator), or for
    a custom primitive, which has no roles, the slot of its parameter."""
    primitive = pytest.importorskip("autograd_tiny.primitives").primitive

    @primitive(derivatives=lambda x, y, out: (1.0, -2.0))
    def minus_twice(x, y):
        return x - 2 * y

    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    cases = [  # (value, op text, {slot: the texts' first entry of what feeds it})
        (a**b, "**", {"base": "a", "exponent": "b"}),
        (a**3, "**", {"base": "a", "exponent": "data 3"}),
        (2**a, "**", {"base": "data 2", "exponent": "a"}),
        (a / b, "/", {"numerator": "a", "denominator": "b"}),
        (3 / a, "/", {"numerator": "data 3", "denominator": "a"}),
        (a.leaky_relu(0.1), "leaky_relu", {"x": "a", "slope": "data 0.1"}),
        (minus_twice(b, a), "minus_twice", {"x": "b", "y": "a"}),
    ]
    for out, text, wanted in cases:
        d = Drawing(draw_dot(out))
        ((op, texts),) = d.ops().items()
        assert texts == [*wanted, text]  # the slots, then the op's name
        assert {slot: feed[0] for slot, feed in _slots_into(d, op).items()} == wanted
    for rankdir in ("TB", "RL", "BT"):  # the slots face the inputs in every direction
        d = Drawing(draw_dot(a**b, rankdir=rankdir))
        assert {slot: feed[0] for slot, feed in _slots_into(d, "v2op").items()} == {"base": "a", "exponent": "b"}


@needs_dot
def test_slots_are_the_roles_of_the_engines_table():
    """The slots of **, / and leaky_relu are their ops' roles in the rule table, in argument order,
    each fed by its argument; ops without roles (+, *, sum) have no slots."""
    a, b = Value(3.0, label="a"), Value(2.0, label="b")
    for out in (a**b, b**a, a / b, b / a, a.leaky_relu(b)):
        d = Drawing(draw_dot(out))
        ((op, texts),) = d.ops().items()
        assert texts == [*out.grad_fn.roles, out.op]
        fed = {slot: d.nodes[tail]["texts"][0] for tail, head, slot in d.slots if head == op}
        assert fed == dict(zip(out.grad_fn.roles, [p.label for p in out.parents]))
    for out in (a + b, a * b, Value.sum([a, b, a])):
        assert out.grad_fn.roles is None
        d = Drawing(draw_dot(out))
        assert list(d.ops().values()) == [[out.op]] and all(slot == "" for *_, slot in d.slots)


@needs_dot
def test_a_power_of_itself_has_two_edges_into_its_two_slots():
    """a ** a draws two edges from a, one into base and one into exponent; grad a**a (ln a + 1) from closed form."""
    a = Value(2.0, label="a")
    y = a**a
    y.backward()
    d = Drawing(draw_dot(y))
    assert sorted(slot for tail, _, slot in d.slots if tail == "v0") == ["base", "exponent"]
    assert d.by_label("a") == ["a", "data 2", f"grad {show(4 * (math.log(2) + 1))}"]


@needs_dot
def test_division_is_one_op():
    """a / b is drawn as one '/' op (not ** -1 then *), with a / b and the grads 1/b, -a/b**2."""
    a, b = Value(3.0, label="a"), Value(7.0, label="b")
    y = a / b
    y.backward()
    d = Drawing(draw_dot(y))
    assert list(d.ops().values()) == [["numerator", "denominator", "/"]] and len(d.values()) == 3
    assert d.by_label("a") == ["a", "data 3", f"grad {show(1 / 7)}"]
    assert d.by_label("b") == ["b", "data 7", f"grad {show(-3 / 49)}"]
    (out,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "output"]
    assert out == [f"data {show(3 / 7)}", "grad 1"]


@needs_dot
def test_repr_says_what_the_drawing_is_and_how_to_save_it():
    """repr(draw_dot(y)) counts the values, ops and edges the SVG has and says how to save and show it."""
    o, _ = lecture_neuron()
    g = draw_dot(o)
    d = Drawing(g)
    text = repr(g)
    assert f"{len(d.values())} values, {len(d.ops())} operations, {len(d.edges)} edges" in text
    assert "save_graph(drawing, 'graph.svg')" in text and "view()" in text and " at 0x" not in text


@needs_dot
def test_key_explains_kinds_steps_and_shading():
    """With number_backward, color_by_grad and legend, the key names each kind drawn, says what the
    step numbers mean, and shows the fill for |grad| 0, half and the largest (1.5 = |x1.grad|)."""
    o, leaf = lecture_neuron()
    d = Drawing(draw_dot(o, params=[leaf["w1"], leaf["w2"], leaf["b"]], number_backward=True,
                         color_by_grad=True, legend=True))  # fmt: skip
    (key,) = [n["texts"] for n in d.nodes.values() if n["kind"] == "key"]
    for kind in ("input", "parameter", "value", "output"):
        assert kind in key
    assert "constant" not in key  # none drawn
    assert "k: op" in key and any("step k of backward()" in t for t in key)
    assert any(t.startswith("fill: |grad|") for t in key)
    assert [t for t in key if t.startswith("|grad| ")] == ["|grad| 0", "|grad| 0.75", "|grad| 1.5"]
    x = Value(2.0, label="x")
    y = x * 3
    y.backward()
    (key,) = [n["texts"] for n in Drawing(draw_dot(y, legend=True)).nodes.values() if n["kind"] == "key"]
    assert "constant" in key and any("no grad" in t for t in key)


@needs_dot
def test_box_names_follow_trace_order():
    """The box of trace(root)[0][i] is v{i} and its op v{i}op, the contract tools built on drawings use."""
    rng = random.Random(12)
    pool = [Value(rng.uniform(0.5, 1.5), label=f"x{i}") for i in range(3)]
    for _ in range(20):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append(rng.choice([a + b, a * b, a.tanh(), a / b, a**2, 2 * b]))
    root = pool[-1] + pool[-2]
    root.backward()
    nodes, _ = trace(root)
    d = Drawing(draw_dot(root, max_nodes=None))
    for i, v in enumerate(nodes):
        texts = d.nodes[f"v{i}"]["texts"]
        assert f"data {show(v.data)}" in texts
        assert (f"v{i}op" in d.nodes) == bool(v.parents)
        if v.parents:
            assert d.nodes[f"v{i}op"]["texts"][-1] == v.op


@needs_dot
def test_far_uses_are_drawn_again_beside_them():
    """x + x + ... + x (100 terms): x is drawn once and again beside far uses, marked 'again' and dotted;
    the 100 uses all keep their edge, and small drawings have no copies."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(99):
        y = y + x
    y.backward()
    d = Drawing(draw_dot(y))
    copies = [n for n in d.nodes if n.startswith("v0again")]
    assert copies and all(d.nodes[n]["texts"] == ["again", "x", "data 1", "grad 100"] for n in copies)
    assert all("stroke-dasharray" in d.nodes[n]["shape"] for n in copies)
    assert d.by_label("x") == ["x", "data 1", "grad 100"]
    uses = [head for tail, head in d.edges if tail == "v0" or tail in copies]
    assert len(uses) == 100 and all(head.endswith("op") for head in uses)
    o, _ = lecture_neuron()
    assert not any("again" in n for n in Drawing(draw_dot(o)).nodes)


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
        from autograd_tiny.see.dot import GraphvizNotFoundError
        from autograd_tiny.see.draw import draw_dot, save_graph
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
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    # no half-written g.svg and no temp file ('h' is the DOT source graphviz's render saves first)
    assert done.stdout.strip() == "['g.dot', 'h']"
