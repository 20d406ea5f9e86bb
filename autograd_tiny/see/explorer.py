"""Step through backpropagation on your own graph, in the browser: `explore(root)`.

The page shows the graph as `draw_dot` draws it (Graphviz's layout, as SVG) and walks through
it one node at a time:

* forward: each node after its inputs (topological order), with its op and its data;
* backward: each node in the order ``backward()`` visits it, with, for every edge to one of its
  inputs, one clause per fact: ``local derivative ∂n/∂b = 1; × n.grad 0.5 = 0.5, added to
  b.grad: 0 → 0.5``; a value used twice visibly adds up (``a * a`` at 3: 0 → 3, then 3 → 6).
  Each local derivative is shown with its formula from the engine's rule table, written in the
  graph's names (``∂mul1/∂x1 = w1``), or the user's formula text of a custom primitive, or its
  value alone. Each edge's ``local × grad = adds`` is also written on it, laid out by Graphviz
  with the graph.

A value without a label is named by its op and the forward step that computes it (``mul1``),
or ``leaf1`` for a leaf: the same name in the drawing, the sentences and the tables. Every
sentence is written from the step's data (`build_steps`), which tests check against the engine.

Every edge of the backward pass opens a card when clicked or focused: why its local derivative
is right (`why`). ``explore(root, practice=True)`` makes a practice page: the gradients hidden,
asked for edge by edge and checked (`practice`).

Every number comes from the engine: each node's data and the local derivatives it recorded in
the forward pass (``v.local_grads``), combined here, in Python, exactly as ``backward()``
combines them (``input.grad += local * node.grad``). The page only shows them. It replays one
backward pass from zero gradients and never changes the graph's own ``.grad``.

The graph is walked once (`trace.walk`); that one trace is planned into the drawing
(`sketch.sketch`), from which come both the Graphviz source and what the steps light up. The
SVG that ``dot`` renders is only put in the page.

The page is one self-contained HTML file (`page`), shown inline by Jupyter through an iframe
(`Explorer._repr_html_`) and written by `Explorer.save`. User text (labels, formula texts, the
title) is shown as `style.user_text` writes it, and is data: in the drawing it is Graphviz's
text, escaped by `draw_dot`; elsewhere the page carries it as escaped JSON and puts it in the
document with ``textContent`` only.

Example:
    >>> from autograd_tiny import Value
    >>> a = Value(3.0, label="a")
    >>> page = explore(a * a)
    >>> [s["phase"] for s in page.steps]
    ['start', 'forward', 'seed', 'backward', 'done']
    >>> [(f["formula"], f["before"], f["after"]) for f in page.steps[3]["flows"]]   # a is used twice
    [('y', 0.0, 3.0), ('x', 3.0, 6.0)]
"""

from __future__ import annotations

import ast
import html
import os
import re
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Op, Value
from ..formulas import FORMULA_NAMES
from ..neuron import NeuronOp
from .dot import layout
from .draw import digraph
from .layout import lay_out
from .neurons import activation_name, slope
from .page import controls, frame_height, iframe, number, page, svg_element
from .practice import TOLERANCE, questions
from .sketch import Sketch, neuron_title, parameter_places, sketch, slots
from .style import count, data_text, format_number, grad_text, user_text
from .trace import GraphTooLargeError, TooManyValues, Trace, walk
from .why import cards

__all__ = [
    "MAX_VALUES",
    "Explorer",
    "Graph",
    "applying_branch",
    "build_steps",
    "drawn_graph",
    "edge_formula",
    "explore",
    "neuron_parts",
    "replay",
    "too_many_values",
]

MAX_VALUES = 50_000  # values in the traced graph: beyond this, even tracing it takes too long


# ---------------------------------------------------------------------- the public entry


def explore(
    root: Value,
    *,
    model: Any = None,
    params: Iterable[Value] | None = None,
    collapse: str | None = None,
    max_nodes: int | None = 500,
    title: str | None = None,
    legend: bool = False,
    practice: bool = False,
) -> Explorer:
    """A page that steps through the forward and backward pass of the graph of `root`.

    Args:
        root: the output (a loss, or any value).
        model: anything with ``parameters()`` (an `nn.MLP`): its parameters are marked, and
            the graph is drawn one box per neuron (``collapse='neuron'``), its weights and
            bias folded into the box and listed in the step's table.
        params: leaves to mark as parameters, without collapsing.
        collapse: 'neuron' (the default when `model` is given) or None, as in `draw_dot`.
        max_nodes: refuse graphs that draw more nodes than this (None: no cap).
        title: the page's title (default: what root is).
        legend: draw the key of the kinds of value beside the graph, as `draw_dot` does.
        practice: hide the gradients and ask for them, edge by edge, checking each answer and
            explaining a wrong one at its edge (`see.practice`).

    Every edge of the backward pass opens a card, "why is this right?", when clicked or
    focused: the op's rule from the engine's table, the values, the local derivative and a
    central-difference check of it (`see.why`).

    Returns:
        an `Explorer`: Jupyter shows it inline; ``.save("page.html")`` writes the page.

    Example:
        >>> x, w = Value(1.0, label="x"), Value(-2.0, label="w")
        >>> y = (x * w).tanh()
        >>> steps = explore(y).steps
        >>> len([s for s in steps if s["phase"] == "backward"])   # tanh, then *
        2
    """
    if not isinstance(root, Value):
        raise TypeError(f"explore: root must be a Value, got {type(root).__name__}: {root!r}")
    if not isinstance(practice, bool):
        raise TypeError(f"explore: practice must be True or False, got {practice!r}")
    if collapse is None and model is not None:
        collapse = "neuron"
    if collapse not in (None, "neuron"):
        raise ValueError(f"explore: collapse must be None or 'neuron', got {collapse!r}")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"explore: max_nodes must be a positive int or None, got {max_nodes!r}")
    try:
        graph = drawn_graph(root, model=model, params=params, collapse=collapse, max_nodes=max_nodes, legend=legend)
    except TooManyValues as err:
        raise too_many_values("explore", err) from None
    except GraphTooLargeError as err:
        hint = "" if collapse else "pass model= for one box per neuron, or "
        count = f"{err.nodes} nodes to draw, " if err.exact and err.edges is None else ""
        raise GraphTooLargeError(
            f"explore: the graph is too large to step through ({count}more than "
            f"max_nodes={max_nodes}); {hint}raise max_nodes",
            max_nodes=err.max_nodes, nodes=err.nodes, exact=err.exact, edges=err.edges,
        ) from None
    return Explorer(graph, title, practice=practice)


def drawn_graph(
    root: Value,
    *,
    model: Any = None,
    params: Iterable[Value] | None = None,
    collapse: str | None = None,
    max_nodes: int | None = None,
    legend: bool = False,
) -> Graph:
    """The graph of `root`, walked once and drawn as `draw_dot` would (options as there), its
    boxes sized for the gradients the steps end with.

    Raises `TooManyValues` past `MAX_VALUES` values, `GraphTooLargeError` past `max_nodes`.
    """
    traced = walk(root, max_nodes=max_nodes, collapse=collapse, max_values=MAX_VALUES)
    grads = replay(traced)
    chosen = set(params) if params is not None else set()
    if model is not None:
        chosen.update(model.parameters())
    plan = sketch(traced, params=chosen, model=model, collapse=collapse, max_nodes=max_nodes, grads=grads)
    return Graph(plan, model, legend)


def too_many_values(who: str, err: TooManyValues) -> GraphTooLargeError:
    """The error for a graph of more than `MAX_VALUES` values: too many to step through."""
    return GraphTooLargeError(
        f"{who}: the graph has more than {MAX_VALUES:,} values, too many to step through; "
        "explore a smaller piece of it (one sample, a smaller model)",
        max_nodes=MAX_VALUES, nodes=err.count, exact=False,
    )  # fmt: skip


# ---------------------------------------------------------------------- the graph as drawn


class Graph:
    """The traced graph of a root and what its drawing shows of it, read from the drawing's plan.

    The box of the i-th value of the trace is ``v{i}`` and its op node ``v{i}op``; a collapsed
    neuron is the box of its last node, with no op node, and the nodes inside it are not
    drawn. A value used far from where it was made may be drawn again beside that use, as
    ``v{i}again{k}``, the use's edge coming from the copy. Where the order of an op's inputs
    matters, each edge ends in a named slot of the op node ('v0 -> v2op:numerator').

    ``drawing`` (the ``graphviz.Digraph``) is made when first asked for, from the plan as it
    is then: a page may first add names and edge labels to it.
    """

    def __init__(self, plan: Sketch, model: Any = None, legend: bool = False) -> None:
        traced = plan.trace
        lay_out(plan)  # far uses drawn again: the boxes and edges are final from here on
        self.root = traced.root
        self.plan = plan
        self.legend = legend
        self.nodes = traced.nodes
        self.inputs = traced.inputs  # each node's inputs, numbers as Constants
        self.index = {v: i for i, v in enumerate(self.nodes)}
        self.drawn = {b.name for b in plan.boxes if b.copy_of is None} | {op[0] for op in plan.ops}
        self.edges, self.copies, self.edge_index = _drawn_edges(plan)
        self.order = traced.order  # what backward() visits, reversed
        self.position = {v: k for k, v in enumerate(self.order)}
        self.units = self._units()
        self.unit_names, self.param_names = parameter_places(model)
        self.params = set(model.parameters()) if model is not None else set()
        self.short_names = self._short_names()

    @cached_property
    def drawing(self) -> Any:
        """The drawing, as `draw_dot` would make it, with whatever the plan holds now."""
        return digraph(self.plan, legend=self.legend)

    def name(self, v) -> str:
        """The drawing's name of v's box."""
        return self.plan.name[v]

    def is_drawn(self, v) -> bool:
        return self.name(v) in self.drawn

    def has_op_node(self, v) -> bool:
        return f"{self.name(v)}op" in self.drawn

    def _units(self) -> dict[Value, list[Value]]:
        """Each drawn node with inputs, and the nodes it stands for, in the order backward visits
        them: itself, and for a collapsed neuron the nodes folded into its box."""
        units: dict[Value, list[Value]] = {}
        for v in reversed(self.order):
            if v in self.plan.neuron_at:
                units[v] = sorted(self.plan.neuron_at[v].members, key=self.position.__getitem__, reverse=True)
            elif self.is_drawn(v):
                units[v] = [v]
        return units

    def _short_names(self) -> dict[Value, str]:
        """A name for each value without one: its op and the forward step that computes it
        ('mul1', 'tanh2'), or for a leaf 'leaf1', 'leaf2', ...; never a label of the graph."""
        taken = {v.label for v in self.nodes if getattr(v, "label", "")}
        names = {}
        forward = [v for v in self.order if v in self.units]
        candidates = [(v, f"{_op_word(v)}{k}") for k, v in enumerate(forward, start=1)]
        leaves = [v for v in self.nodes if isinstance(v, Value) and not self.inputs[v] and not v.label]
        candidates += [(v, f"leaf{k}") for k, v in enumerate(leaves, start=1)]
        for v, name in candidates:
            while name in taken:
                name += "′"
            taken.add(name)
            names[v] = name
        return names

    def who(self, v) -> str:
        """v's name, the same in the drawing, the sentences and the tables: its label; a number
        written in the expression as that number; a parameter's place ('w1.3[2]'); a neuron's
        ('neuron 1.3 (relu)'); or else a short name, its op and the forward step that computes
        it ('mul1'), or for a leaf 'leaf1'."""
        if getattr(v, "label", ""):
            return user_text(v.label)
        if not isinstance(v, Value):  # a number written in the expression
            return format_number(v.data)
        if v in self.param_names:
            return self.param_names[v]
        if v in self.units and not self.has_op_node(v):
            return self.neuron_title(v)
        return self.short_names.get(v) or f"#{self.index[v]}"

    def is_named(self, v) -> bool:
        """Whether v has a name of its own (a label, a parameter's or a neuron's place), not a
        short name given here."""
        return bool(getattr(v, "label", "")) or v in self.param_names or (v in self.units and not self.has_op_node(v))

    def expression(self, v, depth: int = 1) -> str:
        """How v is computed, in its inputs' names ('mul1 + b'); values without a name of their
        own are written out too, `depth` ops deep ('x1*w1 + b' at depth 2). Its name when it
        has no op node (a leaf, a neuron box) or no short form (more than 6 inputs)."""
        return _written(self, v, depth, top=True)[0]

    def neuron_title(self, end: Value) -> str:
        """'neuron 1.3 (relu)' (layer, neuron) with a model, else 'relu neuron'."""
        return neuron_title(self.plan.neuron_at[end], self.unit_names)

    def activation(self, end: Value) -> str:
        return activation_name(end)


def _drawn_edges(plan: Sketch) -> tuple[dict[tuple[str, str], list[list]], dict[str, list[str]], dict]:
    """The drawing's edges by (the value's box, the node they enter), in the order drawn (an
    op's inputs in argument order), each as [title, k]: the SVG title of the edge
    ('v0->v2op:numerator', 'v0again1->v4op'; after ':' the input's slot) and which edge of that
    title it is (``a * a`` has two 'v0->v1op'); each value's copies ('v0' -> ['v0again1', ...]);
    and each edge's place in ``plan.edges`` by (title, k)."""
    copy_of = {b.name: b.copy_of for b in plan.boxes if b.copy_of is not None}
    copies: dict[str, list[str]] = {}
    for copy, of in copy_of.items():
        copies.setdefault(of, []).append(copy)
    edges: dict[tuple[str, str], list[list]] = {}
    index: dict[tuple[str, int], int] = {}
    titles: Counter = Counter()
    for i, (tail, head, slot) in enumerate(plan.edges):
        title = f"{tail}->{head}" + (f":{slot}" if slot else "")
        edges.setdefault((copy_of.get(tail, tail), head), []).append([title, titles[title]])
        index[(title, titles[title])] = i
        titles[title] += 1
    return edges, copies, index


OP_WORDS = {"+": "add", "*": "mul", "/": "div", "**": "pow"}  # for short names: 'mul1'
PRECEDENCE = {"+": 1, "*": 2, "/": 2, "**": 3}  # of the ops written infix; a name or call: 4


def _op_word(v: Value) -> str:
    if isinstance(v.grad_fn, NeuronOp):
        return "neuron"
    word = OP_WORDS.get(v.op, v.op)
    return word if word.isidentifier() else "op"


def _is_atom(text: str) -> bool:
    """Whether a name reads as one operand without parentheses: 'x1', 'w1.3[2]', '2.5', 'mul1′'."""
    return re.fullmatch(r"[\w.′\[\]]+", text) is not None


def _written(graph: Graph, v, depth: int, top: bool) -> tuple[str, float]:
    """(how v reads, its precedence): see `Graph.expression`."""
    name = graph.who(v)
    opened = isinstance(v, Value) and graph.inputs[v] and graph.has_op_node(v) and depth > 0
    if not opened or (not top and graph.is_named(v)) or isinstance(v.grad_fn, NeuronOp):
        return name, 4 if _is_atom(name) else 1.5  # a name of several words: in parentheses but in a sum
    args = graph.inputs[v]
    parts = [_written(graph, p, depth - 1, top=False) for p in args]
    if v.op in PRECEDENCE and len(parts) == 2:
        rank = PRECEDENCE[v.op]
        (a, ra), (b, rb) = parts
        a = f"({a})" if ra < rank or (v.op == "**" and ra == rank) else a
        b = f"({b})" if rb < rank or (v.op == "/" and rb == rank) else b
        return (f"{a} + {b}" if v.op == "+" else f"{a}{v.op}{b}"), rank
    if len(parts) > 6:
        return name, 4 if _is_atom(name) else 1.5
    return f"{v.op}({', '.join(text for text, _ in parts)})", 4


# ---------------------------------------------------------------------- formulas


def edge_formula(v: Value, i: int, inputs: list) -> str | None:
    """The formula of d v / d (its i-th input), from the engine's table: ``op.formulas[i]``
    (the one formula of an op of any number of inputs), or of a neuron node its group's (``s *
    x`` for a weight). Where the table's formula is a conditional, the branch that applies at
    this node. A custom primitive's formula is the user's text, shown as written and never
    run. None when the op has none.

    Example:
        >>> x = Value(-2.0)
        >>> y = x.relu()
        >>> y.grad_fn.formulas[0], edge_formula(y, 0, [x])
        ('None if out <= 0 else 1.0', 'None')
    """
    op = v.grad_fn
    if op is None or not op.formulas:
        return None
    if isinstance(op, NeuronOp):  # parents (w..., x..., b); formulas for w, x and b
        n = len(inputs) // 2
        return op.formulas[0 if i < n else 1 if i < 2 * n else 2]
    k = 0 if op.each else i
    if k >= len(op.formulas):
        return None
    if not op.from_formulas:
        return user_text(op.formulas[k])
    datas = [p.data for p in inputs]
    # an op of any number of inputs: x is the input at hand, i its position, xs all of them (pick's k is xs[-1])
    names = {op.inputs[0]: datas[i], "i": i, "xs": datas} if op.each else dict(zip(op.inputs, datas))
    return applying_branch(op.formulas[k], {**names, "out": v.data})


def applying_branch(formula: str, names: dict[str, float]) -> str:
    """Of a conditional formula of the engine's table, the branch that applies where its names
    have these values; the formula itself when it has no condition (or one that cannot be told).

    Example:
        >>> applying_branch("out * log(x) if x > 0 else 0.0 if x >= 0 else nan", {"x": 0.0, "out": 0.0})
        '0.0'
    """
    try:
        tree = ast.parse(formula, mode="eval").body
        while isinstance(tree, ast.IfExp):
            test = compile(ast.Expression(tree.test), "<formula>", "eval")
            tree = tree.body if eval(test, dict(FORMULA_NAMES), dict(names)) else tree.orelse
    except (SyntaxError, ArithmeticError, NameError, TypeError, ValueError):
        return formula
    return ast.get_source_segment(formula, tree) or formula


def in_names(formula: str, names: dict[str, str]) -> str:
    """A formula of the engine's table written in the graph's names: each name of the rule
    (``x``, ``y``, ``out``, ...) replaced, all at once, by the name of what it stands for here;
    a name that is not one operand gets parentheses.

    Example:
        >>> in_names("-out / y", {"x": "a", "y": "b", "out": "div1"})
        '-div1 / b'
        >>> in_names("y * pow(x, y - 1)", {"x": "a", "y": "-2", "out": "pow1"})
        '(-2) * pow(a, (-2) - 1)'
    """
    if formula in names:
        return names[formula]
    return re.sub(r"[A-Za-z_]\w*", lambda m: _operand(names.get(m.group(), m.group())), formula)


def _operand(name: str) -> str:
    return name if _is_atom(name) else f"({name})"


def _partial(of: str, by: str) -> str:
    """'∂n/∂b': the derivative of `of` with respect to `by`."""
    return f"∂{_operand(of)}/∂{_operand(by)}"


# ---------------------------------------------------------------------- the steps


def replay(root: Value | Trace) -> dict:
    """d root / d v for every value v of the graph, as ``root.backward()`` would compute it
    from zero grads: from each node's recorded local derivatives, in backward's order. No
    ``.grad`` is touched. `root` may be given as its `Trace`, which is then not walked again.

    Example:
        >>> a = Value(3.0)
        >>> replay(a * a)[a]
        6.0
    """
    traced = root if isinstance(root, Trace) else walk(root)
    grads: dict = {traced.root: 1.0}
    for node in reversed(traced.order):
        g = grads.get(node, 0.0)
        for p, d in zip(traced.inputs[node], node.local_grads):
            if d is not None:
                grads[p] = grads.get(p, 0.0) + d * g  # the chain rule
    return grads


PENDING = "data ?"  # a value not computed yet
HIDDEN = "grad ?"  # on a practice page, a grad not answered yet


def build_steps(graph: Graph) -> list[dict]:
    """The page's steps: start, one per drawn node forward, the seed, one per drawn node
    backward, done.

    Each step is data first: what changes on the drawing (``set``: box, field, before,
    after), what to highlight, and for a backward step its ``flows``, one per edge: the
    input, its name, the local derivative (``local``, with the formula it comes from), the
    node's grad (``upstream``), their product (``contribution``), and the input's grad
    ``before`` and ``after`` adding it. Its ``text`` (lines of text and numbers, one clause per
    fact) and ``table`` are written from that data.
    """
    steps = [_start(graph)]
    units = [v for v in graph.order if v in graph.units]  # inputs first
    for k, end in enumerate(units, start=1):
        steps.append(_forward(graph, end, k, len(units)))
    if not units:
        return steps
    grads: dict[Any, float] = {graph.root: 1.0}
    steps.append(_seed(graph))
    backward = [v for v in reversed(graph.order) if v in graph.units]
    for k, end in enumerate(backward, start=1):
        steps.append(_backward(graph, end, grads, k, len(backward)))
    steps.append(_done(graph, grads))
    return steps


START = (
    "Then backward() starts from the output and applies the chain rule at each node: "
    "input.grad += local derivative × node.grad."
)
SEED = "Every other grad starts at 0; each node passes its grad back to its inputs, output to leaves."


def _start(graph: Graph) -> dict:
    root = graph.root
    if not graph.inputs[root]:
        text = [[graph.who(root), " is a leaf: there is nothing to compute and nothing to propagate."]]
    else:
        drawn = [v for v in graph.nodes if not graph.inputs[v] and graph.is_drawn(v)]
        leaves = sum(isinstance(v, Value) for v in drawn)
        numbers = f" and {count(len(drawn) - leaves, 'number')}" if len(drawn) > leaves else ""
        what = (f"The graph of {graph.who(root)}: {count(len(graph.units), 'operation')}, "
                f"{count(leaves, 'leaf', 'leaves')}{numbers} drawn.")  # fmt: skip
        text = [
            [what + " Leaves hold known data; every other value is computed going forward."],
            [START],
            ["Step with → and ←, or the buttons."],
        ]
    return {"phase": "start", "node": None, "flows": [], "set": [], "text": text, "table": None}


def _forward(graph: Graph, end: Value, k: int, total: int) -> dict:
    name = graph.name(end)
    head = f"Forward step {k} of {total}: "
    if not graph.has_op_node(end) or isinstance(end.grad_fn, NeuronOp):
        text, table = _forward_neuron(graph, end)
    else:
        text, table = _forward_op(graph, end)
    edges = _edges_into(graph, end, [p for m in graph.units[end] for p in graph.inputs[m]])
    return {
        "phase": "forward",
        "node": end,
        "edges": edges,
        "flows": [],
        "set": [[name, "d", PENDING, data_text(end.data)]],
        "text": [[head, *text[0]], *text[1:]],
        "table": table,
    }


SIGNS = {"*": "×", "/": "/", "+": "+", "**": "**"}


def _forward_op(graph: Graph, v: Value) -> tuple[list, dict]:
    args = graph.inputs[v]
    names = [graph.who(p) for p in args]
    values = [number(p.data) for p in args]
    out = graph.who(v)
    written = graph.expression(v, 1)
    if v.op in SIGNS and len(args) == 2:
        base = ["(", values[0], ")"] if v.op == "**" and args[0].data < 0 else [values[0]]  # (-2) ** 2
        numbers = [*base, f" {SIGNS[v.op]} ", values[1]]
    else:
        numbers = [f"{v.op}("]
        for i, x in enumerate(values):
            numbers += ([", "] if i else []) + [x]
        numbers.append(")")
        if len(values) > 6:
            written, numbers = f"{v.op}(…)", [f"{v.op} of {count(len(values), 'value')}"]
    lines = [[f"{out} = {written} = ", *numbers, " = ", number(v.data)]]
    longer = graph.expression(v, 4)
    if not graph.is_named(v) and longer != written and len(longer) <= 60:
        lines.append([f"{out} stands for {longer}."])  # its expression, once
    lines.append(["(the op's forward function, run on its inputs' data)"])
    table = {"head": ["input", "data"], "rows": [[n, x] for n, x in zip(names, values)]}
    return lines, table


def neuron_parts(graph: Graph, end: Value) -> tuple[list, list, Any, float]:
    """A neuron's (weights, inputs, bias or None, z = w·x + b) from its nodes' recorded data."""
    if isinstance(end.grad_fn, NeuronOp):  # one node: parents (w..., x..., b)
        args = graph.inputs[end]
        n = len(args) // 2
        w, x, b = args[:n], args[n : 2 * n], (args[2 * n] if len(args) % 2 else None)
        z = sum(wi.data * xi.data for wi, xi in zip(w, x)) + (b.data if b is not None else 0.0)
        return w, x, b, z
    # a per-op neuron: products w*x, a chain of + with the bias, maybe an activation
    members = graph.units[end]
    inner = set(members)
    w, x = [], []
    for m in reversed(members):  # forward order
        if m.op == "*":
            a, c = graph.inputs[m]
            is_weight = a in graph.params or (not graph.inputs[a] and graph.inputs[c])
            weight, inp = (a, c) if is_weight else (c, a)
            w.append(weight)
            x.append(inp)
    sums = [m for m in members if m.op in ("+", "sum")]
    top = sums[0] if sums else end
    b = next((p for m in sums for p in graph.inputs[m] if p not in inner and p not in w and p not in x), None)
    return w, x, b, top.data


def _forward_neuron(graph: Graph, end: Value) -> tuple[list, dict]:
    w, x, b, z = neuron_parts(graph, end)
    act = graph.activation(end)
    line = [f"{graph.who(end)}: z = w·x + b over {count(len(x), 'input')} = ", number(z)]
    if act != "linear":
        line += [f"; out = {act}(z) = ", number(end.data)]
    rows = [
        [graph.who(xi), number(xi.data), number(wi.data), number(wi.data * xi.data)] for wi, xi in zip(w, x)
    ]
    if b is not None:
        rows.append(["bias", "", number(b.data), number(b.data)])
    table = {"head": ["input x", "x", "weight w", "w·x"], "rows": rows}
    where = "each weight with its input" if graph.has_op_node(end) else "its weights and bias are inside the box"
    return [line, [f"({where}: see the table)"]], table


def _edges_into(graph: Graph, end: Value, args: list) -> list[list]:
    """The drawing's edges that bring `args` into end's box (or its op node)."""
    used: Counter = Counter()
    inside = set(graph.units[end])
    return [e for e in (_edge(graph, end, p, used) for p in args if p not in inside) if e]


def _edge(graph: Graph, end: Value, p, used: Counter) -> list | None:
    """The next edge of the drawing from p's box (or a copy of it) into end's box or op node,
    as [title, k] (see `_drawn_edges`), or None if the drawing has no more."""
    if p not in graph.index or not graph.is_drawn(p):
        return None
    pair = (graph.name(p), f"{graph.name(end)}op" if graph.has_op_node(end) else graph.name(end))
    drawn = graph.edges.get(pair, [])
    if used[pair] >= len(drawn):
        return None
    used[pair] += 1
    return drawn[used[pair] - 1]


def _seed(graph: Graph) -> dict:
    root = graph.root
    name = graph.who(root)
    return {
        "phase": "seed",
        "node": root,
        "edges": [],
        "flows": [],
        "set": [[graph.name(root), "g", grad_text(0.0), grad_text(1.0)]],
        "text": [
            [f"Backward starts at the output: {_operand(name)}.grad = {_partial(name, name)} = ", number(1.0), "."],
            [SEED],
        ],
        "table": None,
    }


def _backward(graph: Graph, end: Value, grads: dict, k: int, total: int) -> dict:
    """One backward step: the chain rule at `end` (at every node inside it, for a neuron box).

    The grads are updated as backward() updates them: for each node in its order, for each
    input p with local derivative d: ``grads[p] += d * grads[node]``.
    """
    members = graph.units[end]
    inside = set(members)
    upstream = grads.get(end, 0.0)
    rule = _rule(graph, end) if graph.has_op_node(end) else None
    # d end / d member, for a box: how much of end's grad reaches each node inside it
    reach = {end: 1.0}
    for m in members:
        for p, d in zip(graph.inputs[m], m.local_grads):
            if p in inside and d is not None:
                reach[p] = reach.get(p, 0.0) + d * reach.get(m, 0.0)
    flows = []
    used: Counter = Counter()  # edges of the drawing taken, by (input, node)
    for m in members:
        g = grads.get(m, 0.0)
        for i, (p, d) in enumerate(zip(graph.inputs[m], m.local_grads)):
            if p in inside:
                if d is not None:
                    grads[p] = grads.get(p, 0.0) + d * g  # the chain rule, inside the box
                continue
            # a node inside a box: the local derivative is the box's, d end / d p, not m's
            formula = edge_formula(m, i, graph.inputs[m]) if m is end else None
            wrt = rule["wrt"][i] if rule else graph.who(p)  # what the ∂ is taken with respect to
            flow = {
                "input": p,
                "member": m,  # the edge: the i-th input of m (end, or a node inside its box)
                "index": i,
                "name": graph.who(p),
                "wrt": wrt,
                "partial": _partial(graph.who(end), wrt),  # '∂n/∂b'
                "formula": formula,  # the table's (the branch that applies), or the user's text
                "shown": _shown(rule, i, formula) if rule and formula and d is not None else None,  # as said
                "local": None,
                "upstream": upstream,
                "edge": _edge(graph, end, p, used),
            }
            if d is not None:
                before = grads.get(p, 0.0)
                flow.update(
                    local=d * reach.get(m, 0.0) if m is not end else d,
                    contribution=d * g,
                    before=before,
                    after=before + d * g,
                )
                grads[p] = flow["after"]  # the chain rule
            else:
                flow["why"] = _why_nothing(graph, end, p)
                if isinstance(p, Value):  # its grad stays as it was
                    flow.update(before=grads.get(p, 0.0), after=grads.get(p, 0.0))
            flows.append(flow)
    return {
        "phase": "backward",
        "node": end,
        "name": graph.who(end),
        "rewritten": bool(rule and rule["names"]),  # formulas in the graph's names, not the rule's
        "edges": [f["edge"] for f in flows if f["edge"]],
        "flows": flows,
        "set": _grad_changes(graph, flows),
        "text": _backward_text(graph, end, flows, rule, k, total),
        "table": _backward_table(graph, flows),
    }


def _op_of(v: Value) -> Op:
    """The op that made v, a node with inputs."""
    if v.grad_fn is None:
        raise ValueError(f"explore: {v!r} is a leaf: no op made it")
    return v.grad_fn


def _rule(graph: Graph, end: Value) -> dict:
    """How a step at end's op node names its inputs, in the ∂ of each edge and in the formulas.

    Each input by its own name, and the engine's formulas rewritten in the graph's names
    ('∂mul1/∂x1 = w1'), unless that would be ambiguous: an input used twice (``a * a``), two
    inputs of one name, or a name a formula uses for something else. Then each input goes by
    its name in the rule (x, y; for a neuron node w1, x1, b; for an op of any number of
    inputs, input 1, input 2, ...), and the step says what those stand for. A custom
    primitive's formula text is the user's: shown as written, its names said.

    Returns {'wrt': the name of each input in its ∂, 'names': each input's names for
    `in_names` (None: the formulas stay as written), 'said': the clause that says what the
    rule's names stand for, or ''}.
    """
    op = _op_of(end)
    args = graph.inputs[end]
    out = graph.who(end)
    values = [p for p in args if isinstance(p, Value)]
    own = [graph.who(p) for p in values]
    distinct = len({id(p) for p in values}) == len(values) and len(set(own)) == len(own)
    names = [_rule_names(graph, end, i) for i in range(len(args))]
    formulas = [edge_formula(end, i, args) or "" for i in range(len(args))]
    free = {n for f in formulas for n in re.findall(r"[A-Za-z_]\w*", f)} - {n for m in names for n in m}
    neuron = isinstance(op, NeuronOp)
    rewrite = distinct and (op.from_formulas or neuron) and not free & ({out, *own})
    slots = _slot_names(end, len(args))
    said = ""
    if neuron:
        said = _slope_said(graph, end, rewrite)
    elif not rewrite and (not distinct or any(formulas)):
        whose = f"the rule of {op.name}" if op.from_formulas else f"{op.name}'s formula"
        if op.each:
            which = "" if distinct else "; " + ", ".join(f"{s} is {graph.who(p)}" for s, p in zip(slots, args))
            said = f" (in {whose}, x is each input in turn, out is {out}{which})"
        else:
            pairs = [f"{s} is {graph.who(p)}" for s, p in zip(slots, args)]
            said = f" (in {whose}, {', '.join([*pairs, f'out is {out}'])})"
    return {
        "wrt": [graph.who(p) if distinct else s for p, s in zip(args, slots)],
        "names": names if rewrite else None,
        "said": said,
    }


def _rule_names(graph: Graph, end: Value, i: int) -> dict[str, str]:
    """What the names in the formula of end's i-th input stand for here: {'x': 'a', 'y': 'b',
    'out': 'mul1'}; a neuron node's w, x and b are the weight, input and bias of that edge."""
    op = _op_of(end)
    args = graph.inputs[end]
    if isinstance(op, NeuronOp):
        n = len(args) // 2
        names = {"b": args[2 * n]} if len(args) % 2 else {}
        if i < 2 * n:
            names.update(w=args[i % n], x=args[n + i % n])
    elif op.each:
        names = {op.inputs[0]: args[i]}
    else:
        names = dict(zip(op.inputs, args))
    return {**{k: graph.who(p) for k, p in names.items()}, "out": graph.who(end)}


def _slot_names(v: Value, n: int) -> list[str]:
    """The name of each of v's n inputs in its op's rule: 'x', 'y'; 'w1', 'x1', 'b' for a
    neuron node; 'input 1', 'input 2', ... for an op of any number of inputs."""
    op = _op_of(v)
    if isinstance(op, NeuronOp):
        return slots(v, n)
    if op.each or len(op.inputs) < n:
        return [f"input {i}" for i in range(1, n + 1)]
    return list(op.inputs[:n])


def _shown(rule: dict, i: int, formula: str) -> str | None:
    """The formula as the sentence writes it: in the graph's names where `rule` says so; None
    when it is a bare number (the value says it all: '∂n/∂b = 1')."""
    text = in_names(formula, rule["names"][i]) if rule["names"] else formula
    return None if re.fullmatch(r"\(?-?[\d.]+(e[-+]?\d+)?\)?", text) else text


def _slope_said(graph: Graph, end: Value, rewrite: bool) -> str:
    """What s stands for in a neuron node's formulas: s = act'(z), its formula and value."""
    op = end.grad_fn
    assert isinstance(op, NeuronOp)
    said = "" if rewrite else "w, x, b: each weight, its input, the bias; "
    if op.act is None or not op.act.formulas:
        return f" ({said}s = 1: no activation)"
    z = neuron_parts(graph, end)[3]
    s = slope(end, z)
    formula = applying_branch(op.act.formulas[0], {op.act.inputs[0]: z, "out": end.data})
    formula = in_names(formula, {op.act.inputs[0]: "z", "out": graph.who(end)})
    said += f"s = {op.activation}'(z), the slope of {op.activation} at z = w·x + b: {formula}"
    return f" ({said}; {op.activation} is flat at z)" if s is None else f" ({said} = {format_number(s)})"


def _grad_changes(graph: Graph, flows: list[dict]) -> list[list]:
    return [
        [graph.name(f["input"]), "g", grad_text(f["before"]), grad_text(f["after"])]
        for f in flows
        if f["local"] is not None and graph.is_drawn(f["input"])
    ]


def _why_nothing(graph: Graph, end: Value, p) -> str:
    if not isinstance(p, Value):
        return f"{graph.who(p)} is a number written in the expression: it has no grad"
    return f"nothing flows back to {graph.who(p)}: {end.op or 'the op'} is flat here (local derivative 0)"


def _backward_text(graph: Graph, end: Value, flows: list[dict], rule: dict | None, k: int, total: int) -> list[list]:
    """The step in words, from its data: a head line, then one line per edge, one clause per
    fact: 'local derivative ∂n/∂b = 1; × n.grad 0.5 = 0.5, added to b.grad: 0 → 0.5'."""
    name = graph.who(end)
    written = graph.expression(end, 1)
    at = name if written == name else f"{name} = {written}"
    shown = any(f["shown"] for f in flows)
    said = rule["said"] if rule and (shown or rule["names"] is None) else ""
    head = [
        f"Backward step {k} of {total}: at {at}{said}, whose grad is {_operand(name)}.grad = ",
        number(flows[0]["upstream"] if flows else 0.0),
        f". For each input: input.grad += local derivative × {_operand(name)}.grad.",
    ]
    lines = [head]
    hidden = 0
    for f in flows:
        p = f["input"]
        if isinstance(p, Value) and not graph.is_drawn(p):  # a weight inside a neuron box
            hidden += 1
            continue
        lines.append(edge_clauses(name, f))
    if hidden:
        lines.append(
            [f"Inside the box, {count(hidden, 'parameter')} (its weights and bias) "
             f"{'gets its grad' if hidden == 1 else 'get theirs'} the same way: see the table."]
        )  # fmt: skip
    return lines


def edge_clauses(node: str, f: dict) -> list:
    """One edge of a backward step in words, from its flow: 'local derivative ∂n/∂b = 1;
    × n.grad 0.5 = 0.5, added to b.grad: 0 → 0.5' (text, and numbers as `number` gives them)."""
    if f["local"] is None:
        return [f["why"] + "."]
    formula = [f"{f['shown']} = "] if f["shown"] else []
    return [
        f"local derivative {f['partial']} = ", *formula, number(f["local"]),
        f"; × {_operand(node)}.grad ", number(f["upstream"]), " = ", number(f["contribution"]),
        f", added to {_operand(f['name'])}.grad: ", number(f["before"]), " → ", number(f["after"]),
    ]  # fmt: skip


def _backward_table(graph: Graph, flows: list[dict]) -> dict:
    rows: list[list[str | list[str]]] = []  # a cell is text, or a number as `number` gives it
    for f in flows:
        who = f["name"] if f["wrt"] == f["name"] else f"{f['name']} (as {f['wrt']})"
        if f["local"] is None:
            rows.append([who, "none", "", "", "", ""])
        else:
            rows.append(
                [
                    who,
                    number(f["local"]),
                    number(f["upstream"]),
                    number(f["contribution"]),
                    number(f["before"]),
                    number(f["after"]),
                ]
            )
    return {"head": ["input", "local", "× grad", "= adds", "before", "after"], "rows": rows}


def _done(graph: Graph, grads: dict) -> dict:
    leaves = [v for v in graph.nodes if isinstance(v, Value) and not graph.inputs[v] and v is not graph.root]
    leaves.sort(key=lambda v: not graph.is_drawn(v))  # the drawn ones first
    root = _operand(graph.who(graph.root))
    lines: list[list] = [
        [f"Backward is done: every leaf holds ∂{root}/∂(leaf), the gradient backward() gives."]
    ]
    for v in leaves[:12]:
        lines.append([f"{_operand(graph.who(v))}.grad = ", number(grads.get(v, 0.0))])
    if len(leaves) > 12:
        lines.append([f"… and {count(len(leaves) - 12, 'more leaf', 'more leaves')}."])
    rows = [[graph.who(v), number(v.data), number(grads.get(v, 0.0))] for v in leaves]
    return {
        "phase": "done",
        "node": None,
        "edges": [],
        "flows": [],
        "set": [],
        "text": lines,
        "table": {"head": ["leaf", "data", "grad"], "rows": rows},
    }


# ---------------------------------------------------------------------- the page


class Explorer:
    """What `explore` returns: Jupyter shows it inline; `save` writes the page as one file.

    ``steps`` holds the steps as Python data (nodes as Values, numbers as floats), ``html``
    the page (laid out by Graphviz when first asked for).
    """

    def __init__(self, graph: Graph, title: str | None = None, practice: bool = False) -> None:
        self.graph = graph
        self.practice = practice
        self.steps = build_steps(graph)
        self.cards = cards(graph, self.steps)  # why is each edge's local derivative right?
        self.questions = questions(graph, self.steps) if practice else None
        root = graph.root
        written = graph.expression(root, 4)
        what = written if not graph.is_named(root) and len(written) <= 40 else graph.who(root)
        self.title = user_text(title) if title else f"Backpropagation through {what}"
        _fit_boxes(graph, self.steps)
        labels = edge_labels(graph, self.steps)
        graph.plan.labels = {graph.edge_index[ref]: lines for ref, lines in labels.items()}
        self._html: str | None = None
        self._svg: str | None = None
        self.svg_size = (600.0, 400.0)

    def __repr__(self) -> str:
        phases = Counter(s["phase"] for s in self.steps)
        return (
            f"<Explorer of {self.graph.who(self.graph.root)}: {count(phases['forward'], 'forward step')} and "
            f"{count(phases['backward'], 'backward step')}; .save('page.html') writes the page>"
        )

    @property
    def html(self) -> str:
        """The whole page: one self-contained HTML document."""
        if self._html is None:
            scripts = ("explorer", "practice") if self.practice else ("explorer",)
            self._html = page(self.title, scripts, _body(self), self.page_data())
        return self._html

    def page_data(self) -> dict:
        """The steps as the page's script reads them (names instead of Values, numbers as text)."""
        graph = self.graph
        boxes = {}
        computed = {}
        for v in graph.nodes:
            if not graph.is_drawn(v):
                continue
            boxes[graph.name(v)] = [  # [data, grad]: what the box shows at the start
                PENDING if graph.inputs[v] else data_text(v.data),
                grad_text(0.0) if isinstance(v, Value) else None,
            ]
        labelled = {ref for ref, i in graph.edge_index.items() if i in graph.plan.labels}
        steps = []
        for i, s in enumerate(self.steps):
            node = s["node"]
            if s["phase"] == "forward":
                computed[graph.name(node)] = i
            on_op = s["phase"] in ("forward", "backward") and graph.has_op_node(node)  # the op at work
            steps.append({
                "phase": s["phase"],
                "node": graph.name(node) if node is not None else None,
                "op": f"{graph.name(node)}op" if on_op else None,
                "edges": s.get("edges", []),
                "labels": [f["edge"] for f in s["flows"] if f["edge"] and tuple(f["edge"]) in labelled],
                "targets": _targets(graph, s["flows"]),
                "set": [list(change) for change in s["set"]],
                "text": s["text"],
                "table": s["table"],
            })  # fmt: skip
        data = {"boxes": boxes, "copies": graph.copies, "computed": computed, "steps": steps,
                "why": {ref: {"lines": card["lines"], "locked": card["locked"]} for ref, card in self.cards.items()}}
        if self.practice:  # the grads are hidden until answered: '?' until a box's first change
            data["practice"] = {"questions": self.questions, "tolerance": TOLERANCE}
            hidden = set()
            for name, box in boxes.items():
                if box[1] is not None:
                    box[1] = HIDDEN
                    hidden.add(name)
            for step in steps:
                for change in step["set"]:
                    if change[1] == "g" and change[0] in hidden:
                        change[2] = HIDDEN
                        hidden.discard(change[0])
        return data

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to `path` (one HTML file that works offline); returns the path.

        The file appears complete or not at all.
        """
        path = Path(path)
        write_atomically(path, self.html)
        return path

    def _repr_html_(self) -> str:
        document = self.html  # lays the drawing out, so its size is known
        return iframe(document, height=frame_height(self.svg_size))

    @property
    def svg(self) -> str:
        """The drawing, laid out by Graphviz, as an SVG element for the page."""
        if self._svg is None:
            self._svg, self.svg_size = svg_element(layout(self.graph.drawing.source, "svg").decode("utf-8"))
        return self._svg


def _targets(graph: Graph, flows: list[dict]) -> list[str]:
    """The boxes whose grad a step changes: each input's box, and the copy of it (drawn beside
    this use) that the step's edge comes from."""
    names = set()
    for f in flows:
        if f["input"] in graph.index and graph.is_drawn(f["input"]):
            names.add(graph.name(f["input"]))
            if f["edge"] is not None:
                names.add(f["edge"][0].split("->")[0])
    return sorted(names)


def edge_labels(graph: Graph, steps: list[dict]) -> dict[tuple[str, int], list[str]]:
    """What each edge says at its backward step, by its drawing's [title, k]: 'local × grad =
    adds' and the input's grad before and after, or 'no gradient'. Graphviz lays them out
    with the graph (`draw.digraph`); the page shows each at its step, and dims it after.

    A neuron box gets none (its inputs' numbers are in its table), nor a step of more than
    6 edges: they would crowd the drawing.
    """
    labels = {}
    for step in steps:
        if step["phase"] != "backward" or len(step["edges"]) > 6 or not graph.has_op_node(step["node"]):
            continue
        for f in step["flows"]:
            if f["edge"] is None:
                continue
            if f["local"] is None:
                lines = ["no gradient"]
            else:
                local, up, adds = (format_number(f[key]) for key in ("local", "upstream", "contribution"))
                lines = [f"{local} × {up} = {adds}", f"grad {format_number(f['before'])} → {format_number(f['after'])}"]
            labels[tuple(f["edge"])] = lines
    return labels


def _fit_boxes(graph: Graph, steps: list[dict]) -> None:
    """Make the drawing say what the sentences say: the short name of each value without a
    label of its own at the top of its box and its copies ('mul1', 'leaf1'; a neuron box has
    its title, a number is its value), and each box as wide as the widest data and grad it
    will show (the page writes the numbers of each step into it)."""
    value_of = {graph.name(v): v for v in graph.nodes}
    widest: dict[tuple[str, str], str] = {}
    for step in steps:
        for name, field, before, after in step["set"]:
            for text in (before, after):
                if len(text) > len(widest.get((name, field), "")):
                    widest[name, field] = text
    for box in graph.plan.boxes:
        of = box.copy_of or box.name
        v = value_of.get(of)
        fields = list(box.fields)
        has_grad = isinstance(v, Value)
        for field, k in (("d", -2 if has_grad else -1), ("g", -1)):
            text = widest.get((of, field), "")
            if (field == "d" or has_grad) and len(text) > len(fields[k]):
                fields[k] = text
        if isinstance(v, Value) and not v.label and not box.stacked:
            fields.insert(0, graph.who(v))
        box.fields = fields


def _body(explorer: Explorer) -> str:
    steps = len(explorer.steps)
    if explorer.practice:
        hint = """Practice: the gradients are hidden. Step forward with → to the backward pass; at each backward
step, type each input's <b>.grad</b> once its edge has added its contribution (<b>input.grad += local
derivative × node.grad</b>), one box per edge, and press Enter. Click an edge, or Tab to it, to see why its
rule is right."""
        form = """<form id="practice" autocomplete="off" data-asking="no"><div id="answers"></div>
<button id="check" type="submit">check</button>
<button id="show-me" type="button" title="show this step's answers (counted as shown)">show me</button>
<span id="score"></span></form>
<div id="feedback" aria-live="polite"></div>
"""
    else:
        hint = """→ / ← step, space plays, Home / End jump. Forward computes each value from its inputs;
backward sends each node's grad to its inputs: <b>input.grad += local derivative × node.grad</b>.
Click an edge, or Tab to it, to see why its rule is right."""
        form = ""
    return f"""<main class="explorer">
<header><h1>{html.escape(explorer.title)}</h1>
<p class="hint">{hint}</p></header>
{controls(steps, 0, ((1600, "slow"), (800, "normal"), (350, "fast"), (120, "very fast")))}
<button id="zoom" type="button" title="fit the drawing to the window, or show it full size">full size</button>
</div>
<div class="story"><div id="explanation" aria-live="polite"></div><aside id="details"></aside></div>
{form}<div id="graph">{explorer.svg}</div>
<aside id="why" hidden aria-live="polite"><button id="why-close" type="button" aria-label="close">×</button>
<div id="why-text"></div></aside>
</main>"""
