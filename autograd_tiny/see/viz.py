"""Drawing computation graphs: `trace` the nodes and edges, `draw_dot` them with Graphviz.

A drawing shows one record per `Value` (its label if any, as typed, a line break starting a
new line; ``data``; ``grad``) and one small node per operation, with an edge for every argument
in argument order (``a * a`` has two edges). Numbers are shown with `DIGITS` (4) significant
digits: ``f"{x:.4g}"``.

Kinds of values, told apart by shape and colour:

* input: a leaf made by the user (``Value(2.0, label="x")``): rounded, blue;
* parameter: a leaf in ``params`` (or ``model.parameters()``): bold, amber;
* constant: a number written in the expression (the 2 of ``x * 2``): dashed, grey, and no
  grad: a number is not a Value, nothing flows back to it (d(x**c)/dc exists, but c is not
  something backward() could update);
* output: the root: rounded, bold, green;
* any other value (an intermediate result): plain.

Where the order of the inputs matters, the op node has a slot per input and each edge ends
in its slot: ``base`` and ``exp`` for ``**``, ``num`` and ``den`` for ``/``, ``x`` and ``slope``
for ``leaky_relu``, ``w1``, ..., ``x1``, ..., ``b`` for a neuron node, and the argument's position
for a custom primitive.

Graphviz's layout of a deep graph slows down sharply with the length of its edges (a value
used a hundred steps later is an edge crossing a hundred columns). So `draw_dot` bounds the
layout's work: past a budget, a value used far from where it was made is drawn again, marked
"again", beside each far use; and the effort Graphviz spends on straightening lines is
scaled to the graph's size. Rendering runs ``dot`` with a time limit (`RenderError`).

Only `draw_dot` and `save_graph` need the ``graphviz`` package, imported when first called;
rendering to svg/png/pdf needs the Graphviz program ``dot`` as well, the ``.dot`` source never.
"""

from __future__ import annotations

import html
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import write_atomically
from ..engine import Value, topological_order
from ..neuron import NeuronOp

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = [
    "DIGITS",
    "RENDER_TIMEOUT",
    "Constant",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "RenderError",
    "draw_dot",
    "format_number",
    "run_dot",
    "save_graph",
    "trace",
]

DIGITS = 4  # significant digits of data and grad in a drawing
RENDER_TIMEOUT = 60.0  # seconds `dot` may run; every drawing under the node cap takes a few

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz)"
)


# ---------------------------------------------------------------------- errors


class GraphTooLargeError(ValueError):
    """More to draw than ``max_nodes`` allows: the picture would be unreadable and slow.

    Attributes:
        max_nodes: the cap that was passed.
        nodes: how many nodes to draw were counted; the drawing's whole count if ``exact``,
            otherwise counting stopped there (the graph has more).
        exact: whether ``nodes`` is the whole count.
        edges: the number of edges when they were too many (None when nodes were).

    Example:
        >>> x = Value(1.0, label="x")
        >>> try:
        ...     draw_dot(x * 2 + 1, max_nodes=5)  # x, 2, x*2, 1, x*2+1 and two op nodes
        ... except GraphTooLargeError as err:
        ...     print(err.nodes, err.exact, err.max_nodes)
        7 True 5
    """

    def __init__(self, message: str, *, max_nodes: int, nodes: int, exact: bool, edges: int | None = None):
        super().__init__(message)
        self.max_nodes, self.nodes, self.exact, self.edges = max_nodes, nodes, exact, edges


class RenderError(RuntimeError):
    """The Graphviz program ``dot`` failed, was killed, or ran past its time limit.

    The message is one line: what was being done, and what happened to ``dot``. Catch it to
    handle every rendering failure (a missing ``dot`` included, `GraphvizNotFoundError`).

    Example:
        >>> issubclass(GraphvizNotFoundError, RenderError)
        True
    """


class GraphvizNotFoundError(RenderError):
    """Rendering needs the Graphviz program ``dot``, which is not on PATH.

    Its message says how to install Graphviz, or to save the ``.dot`` source instead.

    Example:
        >>> try:
        ...     raise GraphvizNotFoundError("save_graph: cannot write g.svg: 'dot' was not found")
        ... except RenderError as err:  # one except clause for every rendering failure
        ...     print(type(err).__name__)
        GraphvizNotFoundError
    """


def format_number(x: float | Value) -> str:
    """A number as drawings show it: `DIGITS` significant digits (a Value shows its data).

    Example:
        >>> format_number(0.70710678), format_number(-6.0), format_number(12345.0)
        ('0.7071', '-6', '1.234e+04')
    """
    if isinstance(x, Value):  # a grad after backward(create_graph=True)
        x = x.data
    return f"{x:.{DIGITS}g}"


# ---------------------------------------------------------------------- trace


class Constant:
    """A number written in an expression (the 2 of ``x * 2``), drawn as a box of its own.

    The engine keeps such numbers inside the node that uses them; a drawing shows each one as
    a constant: its number, and no gradient (nothing flows back to a number).

    Example:
        >>> x = Value(3.0)
        >>> nodes, _ = trace(x * 2)
        >>> nodes[1], nodes[1].grad
        (Constant(2.0), None)
    """

    __slots__ = ("data",)
    label = ""
    grad = None
    parents = ()
    op = ""

    def __init__(self, data: float) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Constant({self.data!r})"


def _parents(v, memo: dict) -> list:
    """v's inputs in argument order, each number as a `Constant` (the same one every time)."""
    found = memo.get(v)
    if found is None:
        found = memo[v] = [p if isinstance(p, Value) else Constant(p) for p in v.parents]
    return found


def trace(root: Value) -> tuple[list, list[tuple]]:
    """All values `root` depends on, leaves and constants included, and the edges between them.

    Nodes come in a deterministic topological order (every node after its inputs, root
    last, inputs visited in argument order); edges are ``(input, output)`` pairs, one per
    argument, so ``a * a`` gives two edges. A number in the expression is a `Constant`.
    Iterative: a 100,000-node chain is fine.

    Example:
        >>> a = Value(3.0, label="a")
        >>> nodes, edges = trace(a * a + 1)
        >>> len(nodes), len(edges)
        (4, 4)
    """
    nodes, edges, _ = _trace(root)
    return nodes, edges


class _TooMany(Exception):
    """`_trace` found more than its limit of nodes to draw."""


def _trace(root: Value, limit: int | None = None) -> tuple[list, list[tuple], dict]:
    """`trace`, and each node's list of inputs (numbers as Constants), by node.

    With a `limit`, raises `_TooMany` as soon as the values found and their op nodes
    (what a plain drawing shows) number more than it, without looking further.
    """
    memo: dict = {}
    nodes: list = []
    seen = {id(root)}
    found = 2 if _parents(root, memo) else 1  # a box, and an op node if it has inputs
    stack = [(root, iter(_parents(root, memo)))]
    while stack:
        if limit is not None and found > limit:
            raise _TooMany()
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                inputs = _parents(parent, memo)
                found += 2 if inputs else 1
                stack.append((parent, iter(inputs)))
                break
        else:  # every input is placed: the node can follow them
            stack.pop()
            nodes.append(node)
    edges = [(parent, node) for node in nodes for parent in _parents(node, memo)]
    return nodes, edges, memo


# ---------------------------------------------------------------------- the node cap

COUNT_AHEAD = 10  # past the cap, count up to 10 x max_nodes for the message, then stop
LOOK_THROUGH = 1000  # collapse='neuron' looks through up to 1000 x max_nodes values
EDGES_PER_NODE = 5  # Graphviz slows down sharply with edges too: at most 5 x max_nodes


def _traced(root: Value, max_nodes: int | None, collapse: str | None) -> tuple[list, list[tuple], dict]:
    """`_trace` that stops early when the drawing is sure to be over the cap."""
    if max_nodes is None:
        return _trace(root)
    # Collapsed, a neuron of n inputs hides about 3n values: only the boxes left can be
    # counted against the cap, after the whole graph is seen. Look through a bounded part.
    limit = max_nodes * (LOOK_THROUGH if collapse else COUNT_AHEAD)
    try:
        return _trace(root, limit)
    except _TooMany:
        raise _too_large(max_nodes, limit, exact=False, collapse=collapse) from None


def _check_size(nodes: int, edges: int, max_nodes: int | None, collapse: str | None) -> None:
    if max_nodes is None:
        return
    if nodes > max_nodes:
        raise _too_large(max_nodes, nodes, exact=True, collapse=collapse)
    if edges > EDGES_PER_NODE * max_nodes:
        raise _too_large(max_nodes, nodes, exact=True, collapse=collapse, edges=edges)


def _too_large(max_nodes: int, nodes: int, *, exact: bool, collapse: str | None, edges: int | None = None):
    if edges is not None:
        what = (f"the drawing has {edges} edges, more than {EDGES_PER_NODE} x max_nodes={max_nodes} "
                "(Graphviz slows down sharply with edges)")  # fmt: skip
    elif exact:
        what = f"the graph has {nodes} nodes to draw, more than max_nodes={max_nodes}"
    elif collapse:
        what = (f"the graph has over {nodes} values ({LOOK_THROUGH} x max_nodes={max_nodes}), "
                "too many to look through for neurons")  # fmt: skip
    else:
        what = f"the graph has over {nodes} nodes to draw (counting stopped there), more than max_nodes={max_nodes}"
    network = (
        "" if collapse else "draw a network with collapse='neuron' (and model=) for one box per neuron, "
    )
    return GraphTooLargeError(
        f"draw_dot: {what}; draw a part of it (draw_dot(an inner value)), {network}or raise max_nodes "
        "(None: no cap; Graphviz gets slow and the picture unreadable past a few hundred nodes)",
        max_nodes=max_nodes, nodes=nodes, exact=exact, edges=edges,
    )  # fmt: skip


# ---------------------------------------------------------------------- neurons
# collapse='neuron' draws each neuron as one box. A neuron is either one engine node
# (`engine.neuron`: activation(w · x + b)), or, with model=, the per-op w*x products, the +
# chain adding them and the bias up, and the activation after it.

ACTIVATIONS = {"tanh", "relu", "sigmoid", "softplus", "leaky_relu", "abs"}


def _is_dot(v) -> bool:
    return isinstance(v.grad_fn, NeuronOp) if isinstance(v, Value) else False


def _inner_activation(v) -> str | None:
    """'tanh' for a tanh neuron node; None for any other node."""
    return v.grad_fn.activation if _is_dot(v) else None


def _slope(v: Value, z: float) -> float:
    """act'(z) of a neuron node's activation, from the activation's own rule (0 where flat)."""
    op = v.grad_fn
    s = op.slope(z, v.data) if isinstance(op, NeuronOp) else 1.0
    return 0.0 if s is None else s


class _Neuron:
    """A neuron found in the graph: the node that ends it, its other nodes, its inputs."""

    def __init__(self, end: Value, members: list[Value], inputs: list[Value], folded: list[Value]):
        self.end = end  # the activation (or the weighted sum of a linear neuron, or a neuron node)
        self.members = members  # the neuron's nodes, end included
        self.inputs = inputs  # the values it weighs (the x's), in order
        self.folded = folded  # leaves drawn inside the box: weights, bias, e.g. a slope


def _activation_after(v: Value, consumers: dict, pa: dict) -> Value | None:
    """The activation applied to `v` if it is v's only consumer (its other inputs leaves)."""
    users = consumers.get(v, [])
    act = users[0] if len(users) == 1 else None
    if act is not None and act.op in ACTIVATIONS and pa[act][0] is v and all(not pa[p] for p in pa[act][1:]):
        return act  # its other inputs are leaves, e.g. leaky_relu's slope
    return None


def _fused_neurons(nodes: list, consumers: dict, pa: dict) -> list[_Neuron]:
    """Each neuron node with an activation inside is a whole neuron; a plain 'dot' node
    (w · x + b) is one with the activation after it, if any."""
    found = []
    for v in nodes:
        if not _is_dot(v):
            continue
        n = len(pa[v]) // 2
        weights = list(pa[v][:n]) + list(pa[v][2 * n :])
        act = _activation_after(v, consumers, pa) if _inner_activation(v) is None else None
        members, extra = ([v], []) if act is None else ([v, act], list(pa[act][1:]))
        inputs = list(pa[v][n : 2 * n]) + [w for w in weights if pa[w]]  # a computed weight stays
        folded = [w for w in weights if not pa[w]] + extra
        found.append(_Neuron(members[-1], members, inputs, folded))
    return found


def _model_neurons(nodes: list, consumers: dict, model: Any, pa: dict) -> list[_Neuron]:
    """Neurons of an unfused model: each w*x product, the + chain adding them and the bias up,
    and the activation after it, grouped by whose parameters they use."""
    layers = getattr(model, "layers", None) or [model]
    units = [n for layer in layers for n in getattr(layer, "neurons", [layer])]
    owner = {p: k for k, unit in enumerate(units) for p in unit.parameters()}
    size = [len(unit.parameters()) for unit in units]
    open_: dict[Value, tuple[int, int]] = {}  # node -> (neuron, how many of its params it sums)
    members: dict[int, list[Value]] = {}
    inputs: dict[int, list[Value]] = {}
    ends: dict[int, Value] = {}
    for v in nodes:  # inputs before outputs: a node's inputs are already grouped
        parts = [open_.get(p) or ((owner[p], 1) if not pa[p] and p in owner else None) for p in pa[v]]
        ks = {part[0] for part in parts if part}
        if len(ks) != 1 or not all(consumers.get(p) == [v] for p in pa[v] if p in open_):
            continue
        k = ks.pop()
        if v.op == "*":  # w*x (or x*w): one weight, one input from outside the neuron
            if len(parts) != 2 or all(parts) or any(p in open_ for p in pa[v]):
                continue
            inputs.setdefault(k, []).append(pa[v][1] if parts[0] else pa[v][0])
        elif v.op not in ("+", "sum") or not all(parts):  # a sum of the neuron's own terms
            continue
        members.setdefault(k, []).append(v)
        count = sum(part[1] for part in parts if part)
        open_[v] = (k, count)
        if count == size[k]:  # every parameter is in: the weighted sum is complete
            del open_[v]
            act = _activation_after(v, consumers, pa)
            if act is not None:
                members[k].append(act)
            ends[k] = act or v
    found = []
    for k, end in ends.items():
        extra = list(pa[end][1:]) if end.op in ACTIVATIONS else []
        found.append(_Neuron(end, members[k], inputs.get(k, []), units[k].parameters() + extra))
    return found


def _collapse(root: Value, nodes: list, edges: list, pa: dict, model: Any) -> tuple[set, dict]:
    """The nodes folded into neuron boxes, and each neuron by the node that ends it."""
    consumers: dict[Value, list[Value]] = {}
    for parent, child in edges:
        consumers.setdefault(parent, []).append(child)
    found = _fused_neurons(nodes, consumers, pa)
    if model is not None:
        found += _model_neurons(nodes, consumers, model, pa)
    if not found:
        raise ValueError(
            "draw_dot: collapse='neuron' found no neuron in the graph: neither a fused 'dot' or "
            "'tanh(w·x+b)' (relu, sigmoid) node nor, with model=, a neuron's w*x + b; pass the model, "
            "or draw without collapse"
        )
    hidden: set = set()
    neuron_at = {}
    inside: set[tuple[int, int]] = set()  # (input, node) edges drawn inside a box
    for neuron in found:
        neuron_at[neuron.end] = neuron
        hidden.update(m for m in neuron.members if m is not neuron.end)
        for m in neuron.members:
            inside.update((id(p), id(m)) for p in pa[m])
    # a leaf appears if something outside every neuron box uses it (or it is the root)
    used = {id(p) for p, c in edges if (id(p), id(c)) not in inside}
    for neuron in found:
        hidden.update(p for p in neuron.folded if id(p) not in used and p is not root)
    return hidden, neuron_at


# ---------------------------------------------------------------------- the sketch
# draw_dot first builds a plain description of the picture (boxes, op nodes, edges), so that
# its size can be checked and its layout planned before Graphviz is involved.


class _Box:
    """A value's record: its node name, kind, text fields and the grad it is shaded by."""

    __slots__ = ("again", "fields", "grad", "kind", "name", "stacked")

    def __init__(self, name: str, kind: str, fields: list[str], grad: float | None, stacked: bool = False):
        self.name, self.kind, self.fields, self.grad, self.stacked = name, kind, fields, grad, stacked
        self.again = False  # a second drawing of a value, beside a far use of it


class _Sketch:
    def __init__(self) -> None:
        self.boxes: list[_Box] = []
        self.ops: list[tuple[str, str, int | None, list[str]]] = []  # name, text, backward step, slots
        self.edges: list[tuple[str, str, str]] = []  # tail, head, the input's role ('' if none)

    def size(self) -> int:
        return len(self.boxes) + len(self.ops)


def _grad(v) -> float | None:
    """The number a drawing shows as v's grad; None for a constant, which has none."""
    return None if v.grad is None else float(v.grad)


def _fields(label: str, data: float, grad: float | None) -> list[str]:
    """A record's fields: the label if any, the data, and the grad unless it is None."""
    fields = [label] if label else []
    fields.append(f"data {format_number(data)}")
    if grad is not None:
        fields.append(f"grad {format_number(grad)}")
    return fields


def _kind(v, root: Value, params: set, pa: dict) -> str:
    if v is root:
        return "output"
    if pa[v]:
        return "value"
    if v in params:
        return "param"
    return "const" if isinstance(v, Constant) else "input"


ROLES = {"**": ("base", "exp"), "/": ("num", "den"), "leaky_relu": ("x", "slope")}
SYMMETRIC = {"+", "*", "sum", "logsumexp"}  # the order of their inputs does not matter


def _roles(v: Value, n: int) -> list[str]:
    """What each of v's n inputs is, where their order matters ('' where it does not)."""
    if v.op in ROLES:
        return list(ROLES[v.op])
    if _is_dot(v):
        k = n // 2
        return [f"w{i}" for i in range(1, k + 1)] + [f"x{i}" for i in range(1, k + 1)] + ["b"] * (n - 2 * k)
    if n < 2 or v.op in SYMMETRIC:
        return [""] * n
    return [str(i) for i in range(1, n + 1)]  # a custom primitive: the argument's position


def _op_text(v: Value) -> str:
    """What an op node says: the op's name, or for a neuron node its formula, 'tanh(w·x+b)'."""
    act = _inner_activation(v)
    if act is None:
        return v.op
    return f"{act}(w·x+b)" if len(v.parents) % 2 else f"{act}(w·x)"


def _steps(root: Value, hidden: set) -> dict:
    """Each drawn op's step in backward(), which visits interior nodes from the root down."""
    order = [v for v in reversed(topological_order(root)) if v not in hidden]
    return {v: k for k, v in enumerate(order, start=1)}  # a neuron box: one step


def _unit_names(model: Any) -> dict:
    """With a model: each parameter -> 'layer.neuron' of its neuron, counted from 1."""
    names: dict[Value, str] = {}
    for i, layer in enumerate(getattr(model, "layers", [])):
        for j, unit in enumerate(getattr(layer, "neurons", [])):
            names.update((p, f"{i + 1}.{j + 1}") for p in unit.parameters())
    return names


def _sketch(root, *, params, model, show_grad, collapse, expand_dot, number_backward, max_nodes):
    nodes, edges, pa = _traced(root, max_nodes, collapse)
    hidden, neuron_at = _collapse(root, nodes, edges, pa, model) if collapse else (set(), {})
    if not expand_dot:  # the exact size, known before any label is made
        shown = [v for v in nodes if v not in hidden]
        _check_size(
            len(shown) + sum(1 for v in shown if pa[v] and v not in neuron_at), 0, max_nodes, collapse
        )
    steps = _steps(root, hidden) if number_backward else {}
    name = {v: f"v{i}" for i, v in enumerate(nodes)}
    units = _unit_names(model)
    sketch = _Sketch()
    for v in nodes:
        if v in hidden:
            continue
        if v in neuron_at:  # a collapsed neuron: one box, its inputs wired straight in
            _neuron_box(sketch, neuron_at[v], v is root, name, units, steps.get(v), show_grad)
            continue
        g = _grad(v)
        sketch.boxes.append(
            _Box(name[v], _kind(v, root, params, pa), _fields(v.label, v.data, _shown(g, show_grad)), g)
        )
        if not pa[v]:
            continue
        if expand_dot and _is_dot(v) and len(pa[v]) >= 2:
            _expand(sketch, v, name, show_grad, steps.get(v), pa)
            continue
        op = f"{name[v]}op"
        roles = _roles(v, len(pa[v]))
        sketch.ops.append((op, _op_text(v), steps.get(v), [r for r in roles if r]))
        sketch.edges.extend((name[p], op, role) for p, role in zip(pa[v], roles))
        sketch.edges.append((op, name[v], ""))
    _check_size(sketch.size(), len(sketch.edges), max_nodes, collapse)
    return sketch


def _shown(grad: float | None, show_grad: bool) -> float | None:
    return grad if show_grad else None


def _neuron_box(
    sketch: _Sketch, neuron: _Neuron, is_root: bool, name: dict, units: dict, step, show_grad
) -> None:
    v = neuron.end
    act = _inner_activation(v) or (v.op if v.op in ACTIVATIONS else "linear")
    where = next((units[p] for p in neuron.folded if p in units), None)
    title = f"{act} neuron" if where is None else f"neuron {where} ({act})"
    if step is not None:
        title = f"{step}: {title}"
    g = _grad(v)
    fields = [title] + _fields(v.label, v.data, _shown(g, show_grad))
    sketch.boxes.append(_Box(name[v], "output" if is_root else "neuron", fields, g, stacked=True))
    sketch.edges.extend((name[p], name[v], "") for p in neuron.inputs)


def _expand(sketch: _Sketch, v: Value, name: dict, show_grad: bool, step, pa: dict) -> None:
    """Draw a neuron node as micrograd would: w*x products, then a chain of + (bias last).
    With an activation inside, also the box z = w · x + b and the activation op leading to v."""
    n = len(pa[v]) // 2
    w, x, bias = pa[v][:n], pa[v][n : 2 * n], pa[v][2 * n :]
    act = _inner_activation(v)
    z = 0.0
    for term in [w[j].data * x[j].data for j in range(n)] + [b.data for b in bias]:
        z += term  # in the order a chain of + adds them
    if act is None:  # the sum is v itself
        z_node, g = name[v], _grad(v)
    else:  # the chain rule inside the node: z's grad = act'(z) * v's grad
        z_node, g = f"{name[v]}z", _slope(v, z) * (_grad(v) or 0.0)
    # d z / d (each product or partial sum) is 1: they all carry z's grad, g
    on_z = step if act is None else None  # the step goes on the op that makes v
    shown = _shown(g, show_grad)
    terms: list[tuple[str, float]] = []  # (drawn node, its data)
    for j in range(n):
        data = w[j].data * x[j].data
        last = n == 1 and not bias  # the only term: the product is the sum
        node = z_node if last else f"{name[v]}p{j}"
        op = f"{name[v]}m{j}"
        sketch.ops.append((op, "*", on_z if last else None, []))
        sketch.edges += [(name[w[j]], op, ""), (name[x[j]], op, ""), (op, node, "")]
        if not last:
            sketch.boxes.append(_Box(node, "value", _fields("", data, shown), g))
        terms.append((node, data))
    terms += [(name[b], b.data) for b in bias]
    acc_node, acc = terms[0]
    for j, (node, data) in enumerate(terms[1:], start=1):
        acc += data  # in the order a chain of + adds them: the same float as per op
        last = j == len(terms) - 1
        out = z_node if last else f"{name[v]}s{j}"
        op = f"{name[v]}a{j}"
        sketch.ops.append((op, "+", on_z if last else None, []))
        sketch.edges += [(acc_node, op, ""), (node, op, ""), (op, out, "")]
        if not last:
            sketch.boxes.append(_Box(out, "value", _fields("", acc, shown), g))
        acc_node = out
    if act is not None:  # z = w · x + b, then the activation
        sketch.boxes.append(_Box(z_node, "value", _fields("", acc, shown), g))
        op = f"{name[v]}op"
        sketch.ops.append((op, act, step, []))
        sketch.edges += [(z_node, op, ""), (op, name[v], "")]


# ---------------------------------------------------------------------- layout effort
# Graphviz's dot lays a graph out in columns (ranks, left to right). An edge that crosses k
# columns becomes a chain of k hidden "bend" nodes, and its x-placement step (network simplex)
# costs about (nodes + bends) per iteration: `z = tanh(z*c) + x` at 40 steps has 240 nodes but
# about 9,500 bends (x and c are used in every step), and took 23 s to draw; x+x+...+x with 100
# terms ran for minutes (dot 2.43). Capping the iterations alone (nslimit) is not enough near the
# node cap: the bends still cost minutes. Drawing each far use of such a value again, beside the
# use, and scaling the iterations to the graph's size brought every graph shape we tried under
# the cap to a few seconds of dot's time (tests/test_viz_render.py), while small drawings keep
# their layout exactly (their iterations are never reached).

BEND_BUDGET = 2000  # bends before far uses are drawn again
NEAR = 4  # a use at most this many columns away keeps its edge
LAYOUT_WORK = 1e8  # iterations x (nodes + bends) that dot's network simplex may spend: about 1 s
NO_LIMIT = 1000  # a limit of 1000 x (number of nodes) iterations is never reached: leave it out


def _ranks(sketch: _Sketch) -> dict[str, int]:
    """Each node's column in a longest-path layering: an upper bound on dot's edge lengths."""
    rank = dict.fromkeys([b.name for b in sketch.boxes] + [op[0] for op in sketch.ops], 0)
    waiting = dict.fromkeys(rank, 0)
    heads: dict[str, list[str]] = {}
    for tail, head, _ in sketch.edges:
        heads.setdefault(tail, []).append(head)
        waiting[head] += 1
    ready = [n for n, k in waiting.items() if k == 0]
    for n in ready:  # the list grows as nodes become ready
        for head in heads.get(n, ()):
            rank[head] = max(rank[head], rank[n] + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    return rank


def _lay_out(sketch: _Sketch) -> dict[str, str]:
    """Plan the layout: draw far uses again while the bends exceed `BEND_BUDGET`; return the
    Graphviz settings that bound dot's iterations (small graphs never reach them)."""
    rank = _ranks(sketch)
    spans = [rank[head] - rank[tail] - 1 for tail, head, _ in sketch.edges]
    bends = sum(spans)
    if bends > BEND_BUDGET:
        bends = _draw_again(sketch, spans, bends)
    n, e = sketch.size(), len(sketch.edges)
    # dot's iteration limits are nslimit x (number of nodes): ranking works on the nodes and
    # edges, x-placement on an auxiliary graph of about 2 (nodes + bends) + edges nodes.
    limits = {"nslimit": LAYOUT_WORK / ((2 * (n + bends) + e) * n), "nslimit1": LAYOUT_WORK / ((n + e) * n)}
    return {k: f"{limit:.2f}" for k, limit in limits.items() if limit < NO_LIMIT}


def _draw_again(sketch: _Sketch, spans: list[int], bends: int) -> int:
    """Give far uses of the values with the longest edges a copy of the value beside them,
    until the bends fit the budget; returns the bends left."""
    far: dict[str, list[int]] = {}  # a value's name -> its edges longer than NEAR
    for k, (tail, _, _) in enumerate(sketch.edges):
        if spans[k] > NEAR:
            far.setdefault(tail, []).append(k)
    boxes = {box.name: box for box in sketch.boxes}
    for tail in sorted(far, key=lambda t: -sum(spans[k] for k in far[t])):
        if bends <= BEND_BUDGET:
            break
        box = boxes.get(tail)
        if box is None:  # op nodes feed only their own value, one column on
            continue
        for j, k in enumerate(far[tail], start=1):
            copy = _Box(f"{tail}again{j}", box.kind, box.fields, box.grad, box.stacked)
            copy.again = True
            sketch.boxes.append(copy)
            _, head, role = sketch.edges[k]
            sketch.edges[k] = (copy.name, head, role)
            bends -= spans[k]
    return bends


# ---------------------------------------------------------------------- draw_dot


def _record(fields: list[str], rankdir: str, stacked: bool = False) -> str:
    """Fields side by side (or, for a neuron box, one above the other)."""
    text = " | ".join(_escape(f) for f in fields)
    return "{ " + text + " }" if (rankdir in ("LR", "RL")) != stacked else text


def _escape(text: str) -> str:
    """A record field's text as Graphviz will show it: its syntax characters escaped, '&' too
    (Graphviz reads '&amp;' or '&alpha;' in a record as an entity), each line break a line."""
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    text = text.replace("&", "&amp;")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _shade(t: float) -> str:
    """White (t=0) to orange-red (t=1): how large |grad| is next to the largest one."""
    if not math.isfinite(t):
        t = 1.0
    lo, hi = (255, 255, 255), (251, 146, 60)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "Mrecord", "style": "filled", "fillcolor": "#dbeafe", "color": "#2563eb"},
    "param": {"shape": "record", "style": "filled,bold", "fillcolor": "#fef3c7", "color": "#d97706"},
    "const": {"shape": "record", "style": "filled,dashed", "fillcolor": "#f3f4f6",
              "color": "#9ca3af", "fontcolor": "#4b5563"},
    "value": {"shape": "record", "style": "filled", "fillcolor": "#ffffff", "color": "#6b7280"},
    "output": {"shape": "Mrecord", "style": "filled,bold", "fillcolor": "#dcfce7",
               "color": "#16a34a", "penwidth": "2"},
    "neuron": {"shape": "Mrecord", "style": "filled", "fillcolor": "#ede9fe", "color": "#7c3aed"},
}  # fmt: skip
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#f5f5f4", "color": "#78716c",
            "fontsize": "10", "margin": "0.04,0.02", "width": "0.3", "height": "0.3"}  # fmt: skip
NUMBERED = {"color": "#b91c1c", "fontcolor": "#b91c1c"}  # an op with its backward step
KIND_NAMES = {"input": "input", "param": "parameter", "const": "constant", "value": "value",
              "output": "output", "neuron": "neuron"}  # fmt: skip


def _style(box: _Box, shade: float | None) -> dict[str, str]:
    style = dict(STYLE[box.kind])
    if shade is not None and box.grad is not None:  # a constant keeps its grey: it has no grad
        style["fillcolor"] = _shade(abs(box.grad) / shade)
    if box.again:
        style["style"] = style["style"].replace(",dashed", "") + ",dotted"
    return style


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    format: str = "svg",
    show_grad: bool = True,
    color_by_grad: bool = False,
    number_backward: bool = False,
    collapse: str | None = None,
    expand_dot: bool = False,
    params: Iterable[Value] | None = None,
    model: Any = None,
    legend: bool = False,
    max_nodes: int | None = 1000,
    timeout: float | None = RENDER_TIMEOUT,
) -> graphviz.Digraph:
    """Draw the graph that computed `root` as a `graphviz.Digraph` (rendered inline by Jupyter).

    Save it with ``save_graph(drawing, "graph.svg")`` (or .png .pdf .dot); outside Jupyter
    ``drawing.view()`` opens it. Node names are stable, for tools built on the drawing: the
    box of the i-th value of ``trace(root)[0]`` is ``v{i}``, and the op node that made it
    ``v{i}op`` (a copy of a value drawn again beside a far use is ``v{i}again{k}``).

    Args:
        root: the output value.
        rankdir: 'LR' (left to right, the default), 'TB', 'RL' or 'BT'.
        format: what ``.render()`` and ``.pipe()`` produce: 'svg', 'png', 'pdf', ...
        show_grad: show each value's ``grad`` beside its ``data`` (a constant has none).
        color_by_grad: fill each value with a shade proportional to |grad| / max |grad|
            (the border still tells its kind; a constant stays grey: it has no grad).
        number_backward: number the op nodes 1, 2, ... in the order ``backward()`` visits
            them (reverse topological order): follow the chain rule step by step. With
            ``collapse``, a neuron box counts as one step; with ``expand_dot``, an expanded
            node's step goes on its last op (the activation, or the last ``+`` of a 'dot').
        collapse: 'neuron' draws each neuron (a 'tanh(w·x+b)'-like node, or a 'dot' node and
            the activation after it, or with ``model`` a per-op neuron) as one box, its
            weights and bias folded in: a whole MLP stays readable.
        expand_dot: draw each neuron node as its products w*x and a chain of + (bias last),
            as a per-op graph would be (each piece's grad is the node's z grad); a node with
            an activation inside also gets the box z = w·x + b (grad act'(z) * the node's
            grad) and its activation. Unexpanded, such a node's op reads 'tanh(w·x+b)'.
        params: leaves to mark as parameters (e.g. ``model.parameters()``).
        model: anything with ``parameters()``: the same as ``params=model.parameters()``.
        legend: add a key of the kinds of value (and of the step numbers and the shading,
            when shown).
        max_nodes: refuse (`GraphTooLargeError`) to draw more nodes than this, or more edges
            than 5 times this; counting stops soon after the cap. None: no cap.
        timeout: seconds the Graphviz program ``dot`` may take to render the drawing
            (`RenderError` past it); None: no limit.

    Example:
        >>> x = Value(1.0, label="x")
        >>> y = (x * 2 + 1).relu()
        >>> y.backward()
        >>> g = draw_dot(y)
        >>> "grad 2" in g.source, g.source.count("->")
        (True, 8)
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_dot: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if collapse not in (None, "neuron"):
        raise ValueError(f"draw_dot: collapse must be None or 'neuron', got {collapse!r}")
    if collapse and expand_dot:
        raise ValueError("draw_dot: collapse='neuron' and expand_dot=True contradict each other")
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1
    ):
        raise ValueError(f"draw_dot: max_nodes must be a positive whole number or None, got {max_nodes!r}")
    _check_timeout("draw_dot", timeout)
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}: {root!r}")
    chosen = set(params) if params is not None else set()
    if model is not None:
        chosen.update(model.parameters())
    sketch = _sketch(
        root, params=chosen, model=model, show_grad=show_grad, collapse=collapse, expand_dot=expand_dot,
        number_backward=number_backward, max_nodes=max_nodes,
    )  # fmt: skip
    from graphviz import nohtml

    layout = _lay_out(sketch)

    graph = _drawing_class()(
        format=format,
        graph_attr={"rankdir": rankdir, "bgcolor": "white", "nodesep": "0.2", "ranksep": "0.3", **layout},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "height": "0.3"},
        edge_attr={"color": "#57534e", "arrowsize": "0.6"},
    )
    graph.timeout = timeout
    graph.counts = (len(sketch.boxes), len(sketch.ops), len(sketch.edges))
    grads = [abs(b.grad) for b in sketch.boxes if b.grad is not None and math.isfinite(b.grad)]
    top = max(grads, default=0.0) or 1.0
    for box in sketch.boxes:
        tip = KIND_NAMES[box.kind] + (", drawn again beside this use" if box.again else "")
        fields = ["again"] + box.fields if box.again else box.fields
        style = _style(box, top if color_by_grad else None)
        graph.node(box.name, _record(fields, rankdir, box.stacked), tooltip=tip, **style)
    for name, text, step, slots in sketch.ops:
        label = text if step is None else f"{step}: {text}"
        style = OP_STYLE | (NUMBERED if step is not None else {})
        if slots:  # a record: a slot per input, then the op
            label, style = _slotted(label, slots, rankdir), style | {"shape": "Mrecord"}
        graph.node(name, nohtml(label), tooltip="operation", **style)  # '<lambda>' is text, not HTML
    for tail, head, role in sketch.edges:
        graph.edge(tail, f"{head}:{role}" if role else head)
    if collapse:  # keep each layer's neurons in their order, top to bottom
        graph.attr(ordering="out")
    if legend:
        _legend(graph, sketch, steps=number_backward, top=top if color_by_grad else None)
    return graph


def _slotted(text: str, slots: list[str], rankdir: str) -> str:
    """An op's record: its inputs' slots (ports named as the slots) on the side edges come from."""
    column = "{ " + " | ".join(f"<{slot}> {slot}" for slot in slots) + " }"
    return (
        f"{{ {column} | {_escape(text)} }}"
        if rankdir in ("LR", "TB")
        else f"{{ {_escape(text)} | {column} }}"
    )


LEGEND_TEXT = {
    "input": "a Value you made",
    "param": "a parameter (params= or model=)",
    "const": "a number written in the expression: no grad",
    "neuron": "a whole neuron, weights and bias inside",
    "value": "a value an op computed",
    "output": "the value drawn",
}


def _legend(graph, sketch: _Sketch, *, steps: bool, top: float | None) -> None:
    """A key, one table: the kinds of value drawn, and what step numbers and shading mean."""
    kinds = {b.kind for b in sketch.boxes}
    rows = [_key_row(KIND_NAMES[k], STYLE[k], LEGEND_TEXT[k]) for k in LEGEND_TEXT if k in kinds]
    again = next((b for b in sketch.boxes if b.again), None)
    if again is not None:
        rows.append(_key_row("again", _style(again, None), "a value drawn again, beside a use far from it"))
    if steps:
        rows.append(_key_row("k: op", OP_STYLE | NUMBERED, "step k of backward(), from the output (1) back"))
    if top is not None:
        shades = "".join(_key_cell(f"|grad| {format_number(top * t)}", {"fillcolor": _shade(t), "color": "#6b7280"})
                         for t in (0.0, 0.5, 1.0))  # fmt: skip
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT">fill: |grad|, from 0 (white) to the largest</TD></TR>')
        rows.append(f'<TR><TD COLSPAN="2"><TABLE BORDER="0" CELLSPACING="4"><TR>{shades}</TR></TABLE></TD></TR>')
    table = "".join(rows)
    graph.node(
        "legend", f'<<TABLE BORDER="1" COLOR="#d6d3d1" STYLE="rounded" CELLBORDER="0" CELLSPACING="3" '
        f'CELLPADDING="2"><TR><TD COLSPAN="2"><B>key</B></TD></TR>{table}</TABLE>>',
        shape="plaintext", fontsize="10", tooltip="key",
    )  # fmt: skip


def _key_row(sample: str, style: dict[str, str], meaning: str) -> str:
    return f'<TR>{_key_cell(sample, style)}<TD ALIGN="LEFT">{html.escape(meaning)}</TD></TR>'


def _key_cell(text: str, style: dict[str, str]) -> str:
    """A sample of a node's look as a table cell: fill, border colour, width, rounding, dashes."""
    look = style.get("style", "") + ("rounded" if style.get("shape") in ("Mrecord", "ellipse") else "")
    cell_style = next((s for s in ("dashed", "dotted", "rounded") if s in look), None)
    attrs = {"BORDER": "2" if "bold" in look else "1", "COLOR": style.get("color", "#6b7280"),
             "BGCOLOR": style.get("fillcolor", "#ffffff"), "STYLE": cell_style}  # fmt: skip
    cell = " ".join(f'{k}="{v}"' for k, v in attrs.items() if v)
    font = style.get("fontcolor")
    body = html.escape(text) if font is None else f'<FONT COLOR="{font}">{html.escape(text)}</FONT>'
    return f"<TD {cell}>{body}</TD>"


# ---------------------------------------------------------------------- rendering


def _check_timeout(where: str, timeout: Any) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):  # fmt: skip
        raise ValueError(f"{where}: timeout must be a positive number of seconds or None, got {timeout!r}")


DRAW_LESS = (
    "draw less (max_nodes, collapse='neuron', or a part: draw_dot(an inner value)) or allow more time "
    "(draw_dot(..., timeout=None))"
)


def run_dot(
    options: list[str],
    source: str,
    timeout: float | None,
    what: str,
    quiet: bool = False,
    advice: str = DRAW_LESS,
) -> bytes:
    """Run Graphviz's ``dot`` on `source` with a time limit; any failure is one `RenderError` line.

    Args:
        options: dot's options, e.g. ``["-Tsvg"]``.
        source: the DOT source.
        timeout: seconds dot may run (None: no limit).
        what: how the message starts (e.g. "save_graph: cannot write g.svg").
        quiet: do not pass dot's warnings on to stderr.
        advice: what the message suggests when dot runs out of time.

    Returns:
        what dot wrote.

    Example:
        >>> run_dot(["-Tplain"], "digraph { a -> b }", 10, "example").startswith(b"graph")  # doctest: +SKIP
        True
    """
    try:
        done = subprocess.run(
            ["dot", *options], input=source.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GraphvizNotFoundError(_not_found(what)) from None
    except subprocess.TimeoutExpired:  # subprocess.run has killed dot
        raise RenderError(
            f"{what}: Graphviz's dot ran for more than {timeout:g} s and was stopped; {advice}"
        ) from None
    except OSError as err:
        raise RenderError(f"{what}: cannot run Graphviz's dot: {err.strerror or err}") from None
    if done.returncode != 0:
        if done.returncode < 0:
            try:
                how = f"was killed by signal {signal.Signals(-done.returncode).name}"
            except ValueError:
                how = f"was killed by signal {-done.returncode}"
        else:
            how = f"failed (exit status {done.returncode})"
        said = next(
            (line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()), ""
        )
        said = said if len(said) <= 200 else said[:200] + "..."
        raise RenderError(f"{what}: Graphviz's dot {how}" + (f": {said}" if said else ""))
    if done.stderr and not quiet:  # warnings, as graphviz's own pipe() shows them
        sys.stderr.write(done.stderr.decode("utf-8", "replace"))
    return done.stdout


def _not_found(what: str) -> str:
    return (
        f"{what}: the Graphviz program 'dot' was not found on PATH; {INSTALL_HINT}, "
        "or save the DOT source instead (save_graph(graph, 'graph.dot'))"
    )


_Drawing = None


def _drawing_class():
    """graphviz.Digraph that renders with a time limit and one-line errors, and says what it is."""
    global _Drawing
    if _Drawing is None:
        import graphviz

        class Drawing(graphviz.Digraph):
            """A drawing made by `draw_dot`: a graphviz.Digraph whose rendering (pipe, render,
            view, Jupyter's inline SVG) runs ``dot`` within ``timeout`` seconds."""

            timeout: float | None = RENDER_TIMEOUT
            counts = (0, 0, 0)  # values, ops, edges

            def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None, quiet=False, *,
                     engine=None, encoding=None):  # fmt: skip
                kind = ":".join(f for f in (format or self.format, renderer, formatter) if f)
                options = [f"-K{engine or self.engine}", f"-T{kind}"] + (
                    [f"-n{neato_no_op:d}"] if neato_no_op else []
                )
                data = run_dot(
                    options, self.source, self.timeout, "draw_dot: cannot render the drawing", quiet
                )
                return data if encoding is None else data.decode(encoding)

            def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
                       renderer=None, formatter=None, neato_no_op=None, quiet=False, quiet_view=False, *,
                       outfile=None, engine=None, raise_if_result_exists=False, overwrite_source=False):  # fmt: skip
                # graphviz's render (the source saved, the picture beside it), through pipe()
                if outfile is not None:
                    format = format or Path(outfile).suffix.lstrip(".").lower() or None
                    outfile = Path(outfile) if directory is not None else Path(self.directory, outfile)
                    filename = filename if filename is not None else outfile.with_suffix(".gv")
                source = Path(self.save(filename, directory=directory))
                kind = format or self.format
                suffix = ".".join(f for f in (formatter, renderer, kind) if f)
                out = Path(outfile) if outfile is not None else source.with_name(f"{source.name}.{suffix}")
                if raise_if_result_exists and out.exists():
                    raise graphviz.FileExistsError(f"output file exists: {os.fspath(out)!r}")
                if out.resolve() == source.resolve() and not overwrite_source:
                    raise ValueError(f"draw_dot: the picture {os.fspath(out)!r} would replace its DOT source")
                write_atomically(out, self.pipe(kind, renderer, formatter, neato_no_op, quiet, engine=engine))
                if cleanup:
                    os.remove(source)
                if view or quiet_view:
                    graphviz.view(out, quiet=quiet_view)
                return os.fspath(out)

            def copy(self):
                twin = super().copy()
                twin.timeout, twin.counts = self.timeout, self.counts
                return twin

            def __repr__(self) -> str:
                counted = ", ".join(
                    _count(n, what) for n, what in zip(self.counts, ("value", "operation", "edge"))
                )
                return (
                    f"<draw_dot drawing: {counted}; "
                    "save_graph(drawing, 'graph.svg') saves it (.svg .png .pdf .dot), "
                    "drawing.view() opens it, Jupyter shows it inline>"
                )

        _Drawing = Drawing
    return _Drawing


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


# ---------------------------------------------------------------------- saving


SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def save_graph(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write a drawing to `path`, the format chosen by its suffix: .svg .png .pdf or .dot.

    ``.dot`` (the Graphviz source) needs no Graphviz program; the others run ``dot``, within
    the drawing's ``timeout`` (`RENDER_TIMEOUT` for a Digraph not made by `draw_dot`), and
    raise `GraphvizNotFoundError`, saying how to install it, when it is missing, or
    `RenderError` when it fails or runs too long. The file appears complete or not at all.

    Example:
        >>> import tempfile, pathlib
        >>> x = Value(1.0, label="x")
        >>> out = save_graph(draw_dot(x.tanh()), pathlib.Path(tempfile.mkdtemp()) / "g.dot")
        >>> out.read_text().startswith("digraph")
        True
    """
    path = Path(path)
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"save_graph: cannot tell the format of {str(path)!r} from its suffix; "
            "use .svg, .png, .pdf or .dot"
        )
    if fmt == "dot":
        data = graph.source.encode("utf-8")
    else:
        timeout = getattr(graph, "timeout", RENDER_TIMEOUT)
        data = run_dot([f"-T{fmt}"], graph.source, timeout, f"save_graph: cannot write {path.name}")
    write_atomically(path, data)
    return path
