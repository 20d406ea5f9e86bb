"""Step through backpropagation on your own graph, in the browser: `explore(root)`.

The page shows the graph as `draw_dot` draws it (Graphviz's layout, as SVG) and walks through
it one node at a time:

* forward: each node after its inputs (topological order), with its op and its data;
* backward: each node in the order ``backward()`` visits it, with, on every edge to one of its
  inputs, ``local derivative × upstream gradient = contribution`` and the input's grad before
  and after ``+=``; a value used twice visibly adds up (``a * a`` at 3: 3, then 6).

Every number comes from the engine: each node's data and the local derivatives it recorded in
the forward pass (``v.local_grads``), combined here, in Python, exactly as ``backward()``
combines them (``input.grad += local * node.grad``). The page only shows them. It replays one
backward pass from zero gradients and never changes the graph's own ``.grad``.

The page is one self-contained HTML file (script and style inline, nothing fetched; its
Content-Security-Policy forbids any request), shown inline by Jupyter through an iframe
(`Explorer._repr_html_`) and written by `Explorer.save`. User text (labels) is data: in the
drawing it is Graphviz's text, escaped by `draw_dot`; elsewhere the page carries it as escaped
JSON and puts it in the document with ``textContent`` only.

Example:
    >>> from autograd_tiny import Value
    >>> a = Value(3.0, label="a")
    >>> page = explore(a * a)
    >>> [s["phase"] for s in page.steps]
    ['start', 'forward', 'seed', 'backward', 'done']
    >>> [(f["before"], f["after"]) for f in page.steps[3]["flows"]]   # a is used twice
    [(0.0, 3.0), (3.0, 6.0)]
"""

from __future__ import annotations

import html
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ..engine import Value, topological_order
from ..neuron import NeuronOp
from .viz import GraphTooLargeError, draw_dot, format_number, run_dot, trace

__all__ = [
    "explore",
    "Explorer",
    "Graph",
    "build_steps",
    "read_drawing",
    "check_size",
    "svg_element",
    "MARGIN",
    "MAX_VALUES",
    "LAYOUT_TIMEOUT",
    "replay",
    "lent_grads",
    "layout",
    "script_json",
    "page",
    "iframe",
    "frame_height",
    "controls",
    "number",
]

MAX_VALUES = 50_000  # values in the traced graph: beyond this, even tracing it takes too long
LAYOUT_TIMEOUT = 60.0  # seconds for Graphviz to lay out a drawing


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
    check_size("explore", root)
    try:
        with lent_grads(trace(root)[0], replay(root)):  # boxes sized for the final gradients
            drawing = draw_dot(
                root, collapse=collapse, model=model, params=params, max_nodes=max_nodes, legend=legend
            )
    except GraphTooLargeError as err:
        hint = "" if collapse else "pass model= for one box per neuron, or "
        count = f"{err.nodes} nodes to draw, " if err.exact and err.edges is None else ""
        raise GraphTooLargeError(
            f"explore: the graph is too large to step through ({count}more than "
            f"max_nodes={max_nodes}); {hint}raise max_nodes",
            max_nodes=err.max_nodes, nodes=err.nodes, exact=err.exact, edges=err.edges,
        ) from None
    graph = Graph(root, drawing, model)
    return Explorer(graph, title)


def check_size(who: str, root: Value) -> None:
    """Refuse, before any real work, a graph of more than `MAX_VALUES` values (counting stops there)."""
    limit = MAX_VALUES
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in stack.pop().parents:
            if isinstance(p, Value) and id(p) not in seen:
                seen.add(id(p))
                if len(seen) > limit:
                    raise GraphTooLargeError(
                        f"{who}: the graph has more than {limit:,} values, too many to step through; "
                        "explore a smaller piece of it (one sample, a smaller model)",
                        max_nodes=limit, nodes=len(seen), exact=False,
                    )
                stack.append(p)


# ---------------------------------------------------------------------- the graph as drawn


class Graph:
    """The traced graph of `root` and what its `draw_dot` drawing shows of it.

    draw_dot names the box of the i-th value of ``trace(root)[0]`` ``v{i}`` and its op node
    ``v{i}op``; a collapsed neuron is the box of its last node, with no op node, and the nodes
    inside it are not drawn. A value used far from where it was made may be drawn again beside
    that use, as ``v{i}again{k}``, the use's edge coming from the copy. Where the order of an
    op's inputs matters, each edge ends in a named port of the op node ('v0 -> v2op:num').
    Those names are read from the drawing's DOT statements (`read_drawing`).
    """

    def __init__(self, root: Value, drawing: Any, model: Any = None) -> None:
        self.root = root
        self.drawing = drawing
        self.nodes, edges = trace(root)
        self.index = {v: i for i, v in enumerate(self.nodes)}
        self.inputs: dict[Any, list] = {v: [] for v in self.nodes}  # parents, numbers as Constants
        for parent, child in edges:
            self.inputs[child].append(parent)
        self.drawn, self.edges, self.copies = read_drawing(drawing)
        self.order = topological_order(root)  # what backward() visits, reversed
        self.position = {v: k for k, v in enumerate(self.order)}
        self.units = self._units()
        self.unit_names, self.param_names = _unit_names(model)
        self.params = set(model.parameters()) if model is not None else set()

    def name(self, v) -> str:
        """The drawing's name of v's box."""
        return f"v{self.index[v]}"

    def is_drawn(self, v) -> bool:
        return self.name(v) in self.drawn

    def has_op_node(self, v) -> bool:
        return f"{self.name(v)}op" in self.drawn

    def _units(self) -> dict[Value, list[Value]]:
        """Each drawn node with inputs, and the nodes it stands for, in the order backward visits
        them: itself, and for a collapsed neuron the nodes folded into its box."""
        units: dict[Value, list[Value]] = {}
        for v in reversed(self.order):
            if not self.is_drawn(v):
                continue
            members, stack = [v], [v]
            if not self.has_op_node(v):  # a neuron box: gather the hidden nodes inside it
                seen = {v}
                while stack:
                    for p in stack.pop().parents:
                        if isinstance(p, Value) and p.parents and p not in seen and not self.is_drawn(p):
                            seen.add(p)
                            members.append(p)
                            stack.append(p)
                members.sort(key=self.position.__getitem__, reverse=True)
            units[v] = members
        return units

    def who(self, v, depth: int = 0) -> str:
        """A short name for v in explanations: its label, its number, a parameter's place
        ('w1.3[2]'), a neuron's ('neuron 1.3'), the expression that made it when that is short
        ('x*w'), 'out' for the output, or else '#i'."""
        if getattr(v, "label", ""):
            return v.label
        if not isinstance(v, Value):  # a number written in the expression
            return format_number(v.data)
        if v in self.param_names:
            return self.param_names[v]
        if v in self.units and not self.has_op_node(v):
            return self.neuron_title(v)
        if v.parents and depth < 3:
            args = [self.who(p, depth + 1) for p in self.inputs[v]]
            text = None if any(a.startswith("#") for a in args) else _expression(v.op, args)
            if text is not None and len(text) <= 14:
                return text
        return "out" if v is self.root else f"#{self.index[v]}"

    def neuron_title(self, end: Value) -> str:
        """'neuron 1.3 (relu)' (layer, neuron) with a model, else 'relu neuron'."""
        act = self.activation(end)
        where = next(
            (self.unit_names[p] for m in self.units[end] for p in m.parents if p in self.unit_names), None
        )
        return f"{act} neuron" if where is None else f"neuron {where} ({act})"

    def activation(self, end: Value) -> str:
        if isinstance(end.grad_fn, NeuronOp):
            return end.grad_fn.activation or "linear"
        return end.op if end.op not in ("+", "sum", "dot") else "linear"


EDGE = re.compile(r'\t(v\d+(?:op|again\d+)?) -> (v\d+(?:op)?)(?::"?(\w+)"?)?\s*(?:\[|$)')
NODE = re.compile(r"\t(v\d+(?:op|again\d+)?) \[")
COPY = re.compile(r"(v\d+)again\d+")


def read_drawing(drawing: Any) -> tuple[set[str], dict[tuple[str, str], list[list]], dict[str, list[str]]]:
    """What a draw_dot drawing shows, from its DOT statements (one per body entry: a label's
    text never starts one).

    Returns:
        the names of its value boxes and op nodes (not the copies, nor the key);
        its edges by (the value's box, the node they enter), in the order drawn (an op's
        inputs in argument order), each as [title, k]: the SVG title of the edge ('v0->v2op:num',
        'v0again1->v4op'; the port is the input's slot) and which edge of that title it is
        (``a * a`` has two 'v0->v1op');
        each value's copies ('v0' -> ['v0again1', ...]), for a value drawn again beside far uses.

    Example:
        >>> from autograd_tiny import draw_dot
        >>> x = Value(2.0, label="x")
        >>> nodes, edges, copies = read_drawing(draw_dot(x / 3))
        >>> edges[("v0", "v2op")], edges[("v1", "v2op")]
        ([['v0->v2op:num', 0]], [['v1->v2op:den', 0]])
    """
    nodes: set[str] = set()
    edges: dict[tuple[str, str], list[list]] = {}
    copies: dict[str, list[str]] = {}
    titles: Counter = Counter()
    for line in drawing.body:
        edge = EDGE.match(line)
        if edge:
            tail, head, port = edge.groups()
            title = f"{tail}->{head}" + (f":{port}" if port else "")
            copy = COPY.fullmatch(tail)
            edges.setdefault((copy.group(1) if copy else tail, head), []).append([title, titles[title]])
            titles[title] += 1
            continue
        node = NODE.match(line)
        if node:
            copy = COPY.fullmatch(node.group(1))
            if copy:
                copies.setdefault(copy.group(1), []).append(node.group(1))
            else:
                nodes.add(node.group(1))
    return nodes, edges, copies


def _unit_names(model: Any) -> tuple[dict[Value, str], dict[Value, str]]:
    """For a model made of layers of neurons (counted from 1): parameter -> 'layer.neuron',
    and parameter -> its own name, 'w1.3[2]' (weight 2 of neuron 3 of layer 1) or 'b1.3'."""
    where: dict[Value, str] = {}
    names: dict[Value, str] = {}
    for i, layer in enumerate(getattr(model, "layers", []) or [], start=1):
        for j, unit in enumerate(getattr(layer, "neurons", []) or [], start=1):
            where.update((p, f"{i}.{j}") for p in unit.parameters())
            names.update((w, f"w{i}.{j}[{k}]") for k, w in enumerate(getattr(unit, "w", []), start=1))
            if isinstance(getattr(unit, "b", None), Value):
                names[unit.b] = f"b{i}.{j}"
    return where, names


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


# ---------------------------------------------------------------------- the steps


def replay(root: Value) -> dict:
    """d root / d v for every value v of the graph, as ``root.backward()`` would compute it
    from zero grads: from each node's recorded local derivatives, in backward's order. No
    ``.grad`` is touched.

    Example:
        >>> a = Value(3.0)
        >>> replay(a * a)[a]
        6.0
    """
    grads: dict = {root: 1.0}
    for node in reversed(topological_order(root)):
        g = grads.get(node, 0.0)
        for p, d in zip(node.parents, node.local_grads):
            if d is not None:
                grads[p] = grads.get(p, 0.0) + d * g  # the chain rule
    return grads


def number(x: Any) -> list[str]:
    """A number for the page: [as drawings show it (4 significant digits), its exact repr].

    JSON has no nan or inf, and the page must not round what it shows twice, so both are text.
    """
    x = float(x)
    return [format_number(x), repr(x)]


def _data_text(x: float) -> str:
    return f"data {format_number(x)}"


def _grad_text(x: float) -> str:
    return f"grad {format_number(x)}"


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
    if not root.parents:
        text = [[graph.who(root), " is a leaf: there is nothing to compute and nothing to propagate."]]
    else:
        leaves = [v for v in graph.nodes if not getattr(v, "parents", ()) and graph.is_drawn(v)]
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
        "set": [[name, "d", PENDING, _data_text(end.data)]],
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
            weight, inp = (a, c) if a in graph.params or (not a.parents and c.parents) else (c, a)
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
    as [title, k] (see `read_drawing`), or None if the drawing has no more."""
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
        "set": [[graph.name(root), "g", _grad_text(0.0), _grad_text(1.0)]],
        "text": [
            [f"Backward starts at the output: {name}.grad = d{name}/d{name} = ", number(1.0), "."],
            [SEED],
        ],
        "table": None,
    }


# The local derivative of each op, as words for the explanation (the numbers are the engine's).
RULES: dict[str, tuple[str, ...]] = {
    "+": ("1", "1"), "/": ("1/{1}", "-{0}/{1}²"), "**": ("{1}·{0}^({1}-1)", "{0}^{1}·ln {0}"),
    "exp": ("exp({0})",), "log": ("1/{0}",), "tanh": ("1 - tanh²",), "sigmoid": ("σ·(1 - σ)",),
    "softplus": ("σ({0})",), "relu": ("1 ({0} > 0)",), "leaky_relu": ("1 or slope", "{0} (if {0} ≤ 0)"),
    "abs": ("sign({0})",), "sin": ("cos({0})",), "cos": ("-sin({0})",), "sum": ("1",),
    "logsumexp": ("softmax",),
}  # fmt: skip


def _rule(v: Value, k: int, names: list[str]) -> str:
    """The local derivative d v / d (its k-th input) as a formula in words."""
    if v.op == "*":
        return names[1 - k] if len(names) == 2 else "the other factor"
    if isinstance(v.grad_fn, NeuronOp):
        n = len(names) // 2
        slope = "" if v.grad_fn.activation is None else f"·{v.grad_fn.activation}'(z)"
        if k < n:
            return f"{names[n + k]}{slope}"
        if k < 2 * n:
            return f"{names[k - n]}{slope}"
        return slope[1:] or "1"
    forms = RULES.get(v.op)
    if forms is None:
        return f"d{v.op}/d{names[k]}"
    form = forms[min(k, len(forms) - 1)]
    try:
        return form.format(*names)
    except IndexError:
        return form


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
        names = [graph.who(p) for p in graph.inputs[m]]
        for i, (p, d) in enumerate(zip(graph.inputs[m], m.local_grads)):
            if p in inside:
                if d is not None:
                    grads[p] = grads.get(p, 0.0) + d * g  # the chain rule, inside the box
                continue
            flow = {
                "input": p,
                "rule": _rule(m, i, names),
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
        [graph.name(f["input"]), "g", _grad_text(f["before"]), _grad_text(f["after"])]
        for f in flows
        if f["local"] is not None and graph.is_drawn(f["input"])
    ]


def _why_nothing(graph: Graph, end: Value, p) -> str:
    if not isinstance(p, Value):
        return f"{graph.who(p)} is a number written in the expression: it has no grad"
    return f"nothing flows back to {graph.who(p)}: {end.op or 'the op'} is flat here (local derivative 0)"


def _backward_text(graph: Graph, end: Value, flows: list[dict], k: int, total: int) -> list[list]:
    name = graph.who(end)
    up = number(flows[0]["upstream"] if flows else 0.0)
    what = name if not graph.has_op_node(end) else f"{name}, made by {end.op}"
    lines = [
        [
            f"Backward step {k} of {total}: at {what}, whose grad is {name}.grad = ",
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
                f"{who}: {f['rule']} = ",
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
    leaves = [v for v in graph.nodes if isinstance(v, Value) and not v.parents and v is not graph.root]
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
    the page (built, with Graphviz, when first asked for).
    """

    def __init__(self, graph: Graph, title: str | None = None) -> None:
        self.graph = graph
        self.title = title or f"Backpropagation through {graph.who(graph.root)}"
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
            known = not getattr(v, "parents", ())
            boxes[graph.name(v)] = [  # [data, grad]: what the box shows at the start
                _data_text(v.data) if known else PENDING,
                _grad_text(0.0) if isinstance(v, Value) else None,
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
                "labels": _labels(graph, s),
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
            self._svg, self.svg_size = svg_element(layout(self.graph.drawing, "svg").decode("utf-8"))
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


def _labels(graph: Graph, step: dict) -> list:
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


# ---------------------------------------------------------------------- page helpers


def controls(steps: int, start: int, speeds: tuple[tuple[int, str], ...]) -> str:
    """The toolbar common.js drives: jump to the first or last step, previous and next, play at
    a speed (milliseconds per step, the second one chosen), a slider, the step counter. Left
    open: the caller adds its own buttons, then closes it with </div>."""
    options = "".join(
        f'<option value="{ms}"{" selected" if i == 1 else ""}>{name}</option>'
        for i, (ms, name) in enumerate(speeds)
    )
    return f"""<div class="controls" role="toolbar" aria-label="steps">
<button id="first" type="button" title="the first step (Home)">|◀</button>
<button id="prev" type="button" title="previous step (←)">◀</button>
<button id="play" type="button" title="play or pause (space)">play</button>
<button id="next" type="button" title="next step (→)">▶</button>
<button id="last" type="button" title="the last step (End)">▶|</button>
<label>speed <select id="speed">{options}</select></label>
<input id="scrub" type="range" min="0" max="{steps - 1}" value="{start}" aria-label="step">
<span id="counter"></span>"""


@contextmanager
def lent_grads(values: Iterable, grads: dict) -> Iterator[None]:
    """Inside the block, the Values among `values` show `grads` as their ``.grad``; after it,
    their own again.

    draw_dot sizes each box for the numbers it shows; a page that changes them step by step
    draws its boxes for the final gradients (the widest, as a rule), then gives them back.
    """
    saved = [(v, v.grad) for v in values if isinstance(v, Value)]
    try:
        for v, _ in saved:
            v.grad = float(grads.get(v, 0.0))
        yield
    finally:
        for v, g in saved:
            v.grad = g


def layout(drawing: Any, fmt: str) -> bytes:
    """Run Graphviz's ``dot`` on a drawing: 'svg', 'json' (positions and drawing operations)...

    With a time limit (`LAYOUT_TIMEOUT`); any failure of dot is one `viz.RenderError` line
    (`viz.GraphvizNotFoundError` when it is missing), instead of a hang or a traceback.
    """
    return run_dot(
        [f"-T{fmt}"], drawing.source, LAYOUT_TIMEOUT, "explore: cannot lay out the graph", quiet=True,
        advice="pass model= for one box per neuron, or explore a smaller graph",
    )  # fmt: skip


MARGIN = 40  # points above and below the drawing, where edge labels may go


def svg_element(svg: str) -> tuple[str, tuple[float, float]]:
    """Graphviz's SVG document as an element to put in a page, and its size in points.

    Drops the XML prologue and doctype and the fixed width and height (the page scales it),
    and adds `MARGIN` above and below.
    """
    svg = svg[svg.index("<svg") :]
    found = re.match(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="([-\d. ]+)"', svg)
    if found is None:
        raise RuntimeError(
            "explore: Graphviz's SVG does not start as expected (<svg width=.. height=.. viewBox=..)"
        )
    w, h = float(found.group(1)), float(found.group(2)) + 2 * MARGIN
    x0, y0, vw, vh = (float(v) for v in found.group(3).split())
    head = (
        f'<svg data-width="{w:g}" data-height="{h:g}" data-margin="{MARGIN}" '
        f'viewBox="{x0:g} {y0 - MARGIN:g} {vw:g} {vh + 2 * MARGIN:g}"'
    )
    body = re.sub(
        r"<!--.*?-->\n?", "", svg[found.end() :], flags=re.DOTALL
    )  # Graphviz's comments: the names again
    return head + body, (w, h)


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside a <script> element: no '<', '>' or '&' (so no
    '</script>' nor '<!--'), and no U+2028/U+2029 (line breaks to some JavaScript parsers)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                        ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, escaped)
    return text


def asset(name: str) -> str:
    """A script or style sheet shipped in autograd_tiny/see/assets/."""
    from importlib import resources

    # one name per step: Python 3.10's Traversable.joinpath takes one (3.11's take several)
    text = (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower() or "<!--" in text:
        raise RuntimeError(f"explore: the asset {name} would end its element early")
    return text


def _hash(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def page(title: str, script: str, body: str, data: Any) -> str:
    """A whole page: `body` (HTML, escaped by the caller), `data` embedded as JSON for the
    script assets/`script`.js (after common.js), the shared style sheet. Nothing is
    fetched: the Content-Security-Policy allows no request and runs only this page's script."""
    css = asset("page.css")
    js = asset("common.js") + asset(f"{script}.js")
    policy = (
        f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head><body>
{body}
<script type="application/json" id="page-data">{script_json(data)}</script>
<script>{js}</script>
</body></html>
"""


def iframe(document: str, height: int) -> str:
    """The page in an iframe (srcdoc): its script runs apart from the notebook's, in
    JupyterLab, the classic Notebook and VS Code alike, and its ids clash with nothing."""
    return (
        f'<div><iframe srcdoc="{html.escape(document, quote=True)}" sandbox="allow-scripts" '
        f'style="width: 100%; height: {height}px; border: 1px solid #e7e5e4; border-radius: 4px" '
        'title="autograd_tiny explorer">'
        # what shows where iframes are stripped (an untrusted notebook, GitHub's viewer)
        "This view needs a trusted notebook: run the cell again, or save the page with .save() "
        "and open it in a browser.</iframe></div>"
    )


def frame_height(size: tuple[float, float]) -> int:
    w, h = size
    graph = h * min(1.0, 880 / max(w, 1.0)) * 4 / 3  # points to pixels, scaled to the frame's width
    return int(min(820, max(420, 260 + graph)))
