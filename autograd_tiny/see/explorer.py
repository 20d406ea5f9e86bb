"""Step through backpropagation on your own graph, in the browser: `explore(root)`.

The page shows the graph as `draw_dot` draws it (Graphviz's layout, as SVG) and walks through
it one node at a time:

* forward: each node after its inputs (topological order), with its op and its data;
* backward: each node in the order ``backward()`` visits it, with, on every edge to one of its
  inputs, ``local derivative × upstream gradient = contribution`` and the input's grad before
  and after ``+=``; a value used twice visibly adds up (``a * a`` at 3: 3, then 6). Each local
  derivative is shown with its formula from the engine's rule table (``y`` for the first input
  of ``*``), or the user's formula text of a custom primitive, or its value alone.

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
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Value
from ..formulas import FORMULA_NAMES
from ..neuron import NeuronOp
from .dot import layout
from .draw import digraph
from .neurons import activation_name, slope
from .page import controls, frame_height, iframe, number, page, svg_element
from .sketch import Sketch, neuron_title, parameter_places, sketch
from .style import data_text, format_number, grad_text, user_text
from .trace import GraphTooLargeError, TooManyValues, Trace, walk

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
    return Explorer(graph, title)


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
    return Graph(plan, digraph(plan, legend=legend), model)


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
    """

    def __init__(self, plan: Sketch, drawing: Any, model: Any = None) -> None:
        traced = plan.trace
        self.root = traced.root
        self.plan = plan
        self.drawing = drawing
        self.nodes = traced.nodes
        self.inputs = traced.inputs  # each node's inputs, numbers as Constants
        self.index = {v: i for i, v in enumerate(self.nodes)}
        self.drawn = {b.name for b in plan.boxes if b.copy_of is None} | {op[0] for op in plan.ops}
        self.edges, self.copies = _drawn_edges(plan)
        self.order = traced.order  # what backward() visits, reversed
        self.position = {v: k for k, v in enumerate(self.order)}
        self.units = self._units()
        self.unit_names, self.param_names = parameter_places(model)
        self.params = set(model.parameters()) if model is not None else set()

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

    def who(self, v, depth: int = 0) -> str:
        """A short name for v in explanations: its label (as `user_text` shows it), its number,
        a parameter's place ('w1.3[2]'), a neuron's ('neuron 1.3'), the expression that made it
        when that is short ('x*w'), 'out' for the output, or else '#i'."""
        if getattr(v, "label", ""):
            return user_text(v.label)
        if not isinstance(v, Value):  # a number written in the expression
            return format_number(v.data)
        if v in self.param_names:
            return self.param_names[v]
        if v in self.units and not self.has_op_node(v):
            return self.neuron_title(v)
        if self.inputs[v] and depth < 3:
            args = [self.who(p, depth + 1) for p in self.inputs[v]]
            text = None if any(a.startswith("#") for a in args) else _expression(v.op, args)
            if text is not None and len(text) <= 14:
                return text
        return "out" if v is self.root else f"#{self.index[v]}"

    def neuron_title(self, end: Value) -> str:
        """'neuron 1.3 (relu)' (layer, neuron) with a model, else 'relu neuron'."""
        return neuron_title(self.plan.neuron_at[end], self.unit_names)

    def activation(self, end: Value) -> str:
        return activation_name(end)


def _drawn_edges(plan: Sketch) -> tuple[dict[tuple[str, str], list[list]], dict[str, list[str]]]:
    """The drawing's edges by (the value's box, the node they enter), in the order drawn (an
    op's inputs in argument order), each as [title, k]: the SVG title of the edge
    ('v0->v2op:numerator', 'v0again1->v4op'; after ':' the input's slot) and which edge of that
    title it is (``a * a`` has two 'v0->v1op'); and each value's copies ('v0' -> ['v0again1', ...])."""
    copy_of = {b.name: b.copy_of for b in plan.boxes if b.copy_of is not None}
    copies: dict[str, list[str]] = {}
    for copy, of in copy_of.items():
        copies.setdefault(of, []).append(copy)
    edges: dict[tuple[str, str], list[list]] = {}
    titles: Counter = Counter()
    for tail, head, slot in plan.edges:
        title = f"{tail}->{head}" + (f":{slot}" if slot else "")
        edges.setdefault((copy_of.get(tail, tail), head), []).append([title, titles[title]])
        titles[title] += 1
    return edges, copies


_INFIX = {"+": "+", "*": "*", "/": "/", "**": "**"}


def _expression(op: str, args: list[str]) -> str | None:
    """How an op's result reads, given its inputs' names: 'x*w', 'tanh(n)'; None if long."""
    if op in _INFIX and len(args) == 2:
        a, b = (f"({s})" if op != "+" and re.search(r"[-+*/ ]", s.lstrip("-")) else s for s in args)
        return f"{a}{op}{b}"
    if len(args) == 1:
        return f"{op}({args[0]})"
    if op == "leaky_relu" and len(args) == 2:
        return f"leaky_relu({args[0]})"
    return None


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


def build_steps(graph: Graph) -> list[dict]:
    """The page's steps: start, one per drawn node forward, the seed, one per drawn node
    backward, done. Each says what changes on the drawing (``set``: box, field, before,
    after), what to highlight, and explains itself (``text``: lines of text and numbers)."""
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
        leaves = [v for v in graph.nodes if not graph.inputs[v] and graph.is_drawn(v)]
        what = f"The graph of {graph.who(root)}: {len(graph.units)} operations, {len(leaves)} leaves drawn."
        text = [
            [what + " The leaves' data is known; every other value is computed going forward."],
            [START],
            ["Step with → and ←, or the buttons."],
        ]
    return {"phase": "start", "node": None, "flows": [], "set": [], "text": text, "table": None}


def _forward(graph: Graph, end: Value, k: int, total: int) -> dict:
    name = graph.name(end)
    head = f"Forward step {k} of {total}: "
    if not graph.has_op_node(end):
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


def _forward_op(graph: Graph, v: Value) -> tuple[list, dict]:
    args = graph.inputs[v]
    names = [graph.who(p) for p in args]
    values = [number(p.data) for p in args]
    out = graph.who(v)
    if v.op in _INFIX and len(args) == 2:
        sign = {"*": "×", "/": "/", "+": "+", "**": "**"}[v.op]
        line = [
            f"{out} = {names[0]} {v.op} {names[1]} = ",
            values[0],
            f" {sign} ",
            values[1],
            " = ",
            number(v.data),
        ]
    elif isinstance(v.grad_fn, NeuronOp):
        return _forward_neuron(graph, v)
    else:
        inner: list = []
        for i, x in enumerate(values):
            inner += ([", "] if i else []) + [x]
        if len(values) > 6:
            inner = [f"{len(values)} values"]
        line = [
            f"{out} = {v.op}(",
            ", ".join(names) if len(names) <= 6 else "…",
            ") = ",
            f"{v.op}(",
            *inner,
            ") = ",
            number(v.data),
        ]
    table = {"head": ["input", "data"], "rows": [[n, x] for n, x in zip(names, values)]}
    return [line, ["(the op's forward function, run on its inputs' data)"]], table


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
    line = [f"{graph.who(end)}: z = w·x + b over {len(x)} inputs = ", number(z)]
    if act != "linear":
        line += [f"; out = {act}(z) = ", number(end.data)]
    rows = [
        [graph.who(xi), number(xi.data), number(wi.data), number(wi.data * xi.data)] for wi, xi in zip(w, x)
    ]
    if b is not None:
        rows.append(["bias", "", number(b.data), number(b.data)])
    table = {"head": ["input x", "x", "weight w", "w·x"], "rows": rows}
    return [line, ["(its weights and bias are inside the box: see the table)"]], table


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
            [f"Backward starts at the output: {name}.grad = d{name}/d{name} = ", number(1.0), "."],
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
            flow = {
                "input": p,
                # a node inside a box: the local derivative is the box's, d end / d p, not m's
                "formula": edge_formula(m, i, graph.inputs[m]) if m is end else None,
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
            flows.append(flow)
    return {
        "phase": "backward",
        "node": end,
        "edges": [f["edge"] for f in flows if f["edge"]],
        "flows": flows,
        "set": _grad_changes(graph, flows),
        "text": _backward_text(graph, end, flows, k, total),
        "table": _backward_table(graph, flows),
    }


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


def _names_in_formulas(graph: Graph, end: Value) -> list:
    """What the names in the step's formulas stand for: ' (x is a, y is b, out is a*b)'; for a
    neuron node, its s = act'(z) with its value."""
    op = end.grad_fn
    if op is None:
        return []
    if isinstance(op, NeuronOp):
        said = " (w, x, b: each weight, its input, the bias; "
        if op.act is None or not op.act.formulas:
            return [said + "s = 1: no activation)"]
        z = neuron_parts(graph, end)[3]
        s = slope(end, z)
        formula = applying_branch(op.act.formulas[0], {op.act.inputs[0]: z, "out": end.data})
        said += f"s = {op.activation}'(z) = {formula}"
        return [said + f": {op.activation} is flat at z)"] if s is None else [said + " = ", number(s), ")"]
    out = f"out is {graph.who(end)}"
    if op.each:
        return [f" (x is each input in turn, {out})"]
    names = [f"{n} is {graph.who(p)}" for n, p in zip(op.inputs, graph.inputs[end])]
    return [f" ({', '.join([*names, out])})"]


def _backward_text(graph: Graph, end: Value, flows: list[dict], k: int, total: int) -> list[list]:
    name = graph.who(end)
    up = number(flows[0]["upstream"] if flows else 0.0)
    what = name if not graph.has_op_node(end) else f"{name}, made by {end.op}"
    shown = any(f["formula"] and f["local"] is not None for f in flows)  # a line with a formula
    names = _names_in_formulas(graph, end) if shown else []
    lines = [
        [
            f"Backward step {k} of {total}: at {what}",
            *names,
            f", whose grad is {name}.grad = ",
            up,
            ". For each input, input.grad += local derivative × ",
            f"{name}.grad:",
        ]
    ]
    hidden = 0
    for f in flows:
        p = f["input"]
        if isinstance(p, Value) and not graph.is_drawn(p):  # a weight inside a neuron box
            hidden += 1
            continue
        who = graph.who(p)
        if f["local"] is None:
            lines.append([_why_nothing(graph, end, p) + "."])
            continue
        lines.append(
            [
                f"{who}: {f['formula']} = " if f["formula"] else f"{who}: ",
                number(f["local"]),
                " × ",
                up,
                " = ",
                number(f["contribution"]),
                f"; {who}.grad ",
                number(f["before"]),
                " → ",
                number(f["after"]),
            ]
        )
    if hidden:
        lines.append(
            [f"The {hidden} parameters inside the box (its weights and bias) get theirs the same way."]
        )
    return lines


def _backward_table(graph: Graph, flows: list[dict]) -> dict:
    rows: list[list[str | list[str]]] = []  # a cell is text, or a number as `number` gives it
    for f in flows:
        if f["local"] is None:
            rows.append([graph.who(f["input"]), "none", "", "", "", ""])
        else:
            rows.append(
                [
                    graph.who(f["input"]),
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
    root = graph.who(graph.root)
    lines: list[list] = [
        [f"Backward is done: every leaf holds d{root}/d(leaf), the gradient backward() gives."]
    ]
    for v in leaves[:12]:
        lines.append([f"{graph.who(v)}.grad = ", number(grads.get(v, 0.0))])
    if len(leaves) > 12:
        lines.append([f"… and {len(leaves) - 12} more leaves."])
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

    def __init__(self, graph: Graph, title: str | None = None) -> None:
        self.graph = graph
        self.title = user_text(title) if title else f"Backpropagation through {graph.who(graph.root)}"
        self.steps = build_steps(graph)
        self._html: str | None = None
        self._svg: str | None = None
        self.svg_size = (600.0, 400.0)

    def __repr__(self) -> str:
        phases = Counter(s["phase"] for s in self.steps)
        return (
            f"<Explorer of {self.graph.who(self.graph.root)}: {phases['forward']} forward and "
            f"{phases['backward']} backward steps; .save('page.html') writes the page>"
        )

    @property
    def html(self) -> str:
        """The whole page: one self-contained HTML document."""
        if self._html is None:
            self._html = page(self.title, "explorer", _body(self), self.page_data())
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
                "labels": _labels(s),
                "targets": _targets(graph, s["flows"]),
                "set": s["set"],
                "text": s["text"],
                "table": s["table"],
            })  # fmt: skip
        return {"boxes": boxes, "copies": graph.copies, "computed": computed, "steps": steps}

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


def _labels(step: dict) -> list:
    """What to write beside each highlighted edge in a backward step: 'local × grad = adds'.

    A neuron box with many inputs gets none (they would pile up): its table says it all.
    """
    if step["phase"] != "backward" or len(step["edges"]) > 6:
        return []
    labels = []
    for f in step["flows"]:
        edge = f["edge"]
        if edge is None:
            continue
        if f["local"] is None:
            labels.append([edge, "no gradient", ""])
        else:
            local, up, adds = (format_number(f[key]) for key in ("local", "upstream", "contribution"))
            product = f"{local} × {up} = {adds}"
            labels.append([edge, product, f"grad {format_number(f['before'])} → {format_number(f['after'])}"])
    return labels


def _body(explorer: Explorer) -> str:
    steps = len(explorer.steps)
    return f"""<main class="explorer">
<header><h1>{html.escape(explorer.title)}</h1>
<p class="hint">→ / ← step, space plays, Home / End jump. Forward computes each value from its inputs;
backward sends each node's grad to its inputs: <b>input.grad += local derivative × node.grad</b>.</p></header>
{controls(steps, 0, ((1600, "slow"), (800, "normal"), (350, "fast"), (120, "very fast")))}
<button id="zoom" type="button" title="fit the drawing to the window, or show it full size">full size</button>
</div>
<div class="story"><div id="explanation" aria-live="polite"></div><aside id="details"></aside></div>
<div id="graph">{explorer.svg}</div>
</main>"""
