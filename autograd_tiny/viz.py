"""Drawing computation graphs: `trace` the nodes and edges, `draw_dot` them with Graphviz.

A drawing shows one record per `Value` (its label if any, ``data``, ``grad``) and one small
node per operation, with an edge for every argument in argument order (``a * a`` has two
edges). Numbers are shown with `DIGITS` (4) significant digits: ``f"{x:.4g}"``.

Kinds of values, told apart by shape and colour:

* input: a leaf made by the user (``Value(2.0, label="x")``): rounded, blue;
* parameter: a leaf in ``params`` (or ``model.parameters()``): bold, amber;
* constant: a leaf made from a number in an expression (``x * 2``): dashed, grey;
* output: the root: rounded, bold, green;
* any other value (an intermediate result): plain.

Only `draw_dot` and `save_graph` need the ``graphviz`` package, imported when first called;
rendering to svg/png/pdf needs the Graphviz program ``dot`` as well, the ``.dot`` source never.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ._files import write_atomically
from .engine import NEURONS, NeuronOp, Value, topological_order

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = [
    "DIGITS",
    "trace",
    "draw_dot",
    "save_graph",
    "format_number",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
]

DIGITS = 4  # significant digits of data and grad in a drawing

INSTALL_HINT = (
    "install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz)"
)


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``: drawing it would be unreadable and slow."""


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs the Graphviz program ``dot``, which is not on PATH."""


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


def _trace(root: Value) -> tuple[list, list[tuple], dict]:
    """`trace`, and each node's list of inputs (numbers as Constants), by node."""
    memo: dict = {}
    nodes: list = []
    seen = {id(root)}
    stack = [(root, iter(_parents(root, memo)))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(_parents(parent, memo))))
                break
        else:  # every input is placed: the node can follow them
            stack.pop()
            nodes.append(node)
    edges = [(parent, node) for node in nodes for parent in _parents(node, memo)]
    return nodes, edges, memo


# ---------------------------------------------------------------------- the sketch
# draw_dot first builds a plain description of the picture (boxes, op nodes, edges), so that
# its size can be checked before Graphviz is involved, then turns it into a Digraph.

ACTIVATIONS = {"tanh", "relu", "sigmoid", "softplus", "leaky_relu", "abs"}

# A whole neuron as one engine node (`engine.neuron`): activation(w · x + b). Drawings need the
# slope of the activation at z = w · x + b: the activation's own rule gives it.


def _is_dot(v) -> bool:
    return isinstance(v.primitive, NeuronOp) if isinstance(v, Value) else False


def _inner_activation(v) -> str | None:
    """'tanh' for a tanh neuron node; None for any other node."""
    return v.primitive.activation if _is_dot(v) else None


def _slope(activation: str, z: float, out: float) -> float:
    s = NEURONS[activation].slope(z, out)
    return 0.0 if s is None else s


def _op_text(v: Value) -> str:
    """What an op node says: the op's name, or for a fused neuron its formula, 'tanh(w·x+b)'."""
    act = _inner_activation(v)
    if act is None:
        return v.op
    return f"{act}(w·x+b)" if len(v.parents) % 2 else f"{act}(w·x)"


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
KIND_NAMES = {"input": "input", "param": "parameter", "const": "constant", "value": "value",
              "output": "output", "neuron": "neuron"}  # fmt: skip


class _Sketch:
    def __init__(self) -> None:
        self.boxes: list[tuple[str, str, list[str], float, bool]] = []  # name, kind, fields, |grad|, stacked
        self.ops: list[tuple[str, str]] = []  # name, text
        self.edges: list[tuple[str, str]] = []

    def box(self, name: str, kind: str, fields: list[str], grad: float, stacked: bool = False) -> None:
        self.boxes.append((name, kind, fields, grad, stacked))

    def size(self) -> int:
        return len(self.boxes) + len(self.ops)


def _grad(v) -> float:
    """The number a drawing shows as v's grad (a constant has none: 0 for shading)."""
    if v.grad is None:
        return 0.0
    return v.grad.data if isinstance(v.grad, Value) else v.grad


def _fields(label: str, data: float, grad: float, show_grad: bool) -> list[str]:
    fields = [label] if label else []
    fields.append(f"data {format_number(data)}")
    if show_grad:
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


class _Neuron:
    """A neuron found in the graph: the node that ends it, its other nodes, its inputs."""

    def __init__(self, end: Value, members: list[Value], inputs: list[Value], folded: list[Value]):
        self.end = end  # the activation (or the weighted sum of a linear neuron, or a 'dot+act' node)
        self.members = members  # the neuron's nodes, end included
        self.inputs = inputs  # the values it weighs (the x's), in order
        self.folded = folded  # leaves drawn inside the box: weights, bias, e.g. a slope


def _activation_after(v: Value, consumers: dict, pa: dict) -> Value | None:
    """The activation applied to `v` if it is v's only consumer (its other inputs leaves)."""
    users = consumers.get(v, [])
    act = users[0] if len(users) == 1 else None
    if act is not None and act.op in ACTIVATIONS and pa[act][0] is v:
        if all(not pa[p] for p in pa[act][1:]):  # e.g. leaky_relu's slope
            return act
    return None


def _fused_neurons(nodes: list, consumers: dict, pa: dict) -> list[_Neuron]:
    """Each 'dot+act' node is a whole neuron; each 'dot' node (w · x + b) is one with the
    activation after it, if any."""
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


def _sketch(root, *, params, model, show_grad, collapse, expand_dot, number_backward, max_nodes):
    nodes, edges, pa = _trace(root)
    name = {v: f"v{i}" for i, v in enumerate(nodes)}
    hidden: set[Value] = set()  # nodes folded into a neuron box
    neuron_at: dict[Value, _Neuron] = {}  # a neuron's end node -> the neuron
    unit_names: dict[Value, str] = {}  # with a model: parameter -> "layer.neuron", from 1
    for i, layer in enumerate(getattr(model, "layers", [])):
        for j, unit in enumerate(getattr(layer, "neurons", [])):
            unit_names.update((p, f"{i + 1}.{j + 1}") for p in unit.parameters())
    if collapse == "neuron":
        consumers: dict[Value, list[Value]] = {}
        for parent, child in edges:
            consumers.setdefault(parent, []).append(child)
        found = _fused_neurons(nodes, consumers, pa)
        if model is not None:
            found += _model_neurons(nodes, consumers, model, pa)
        if not found:
            raise ValueError(
                "draw_dot: collapse='neuron' found no neuron in the graph: neither a fused 'dot' or "
                "'dot+tanh' (relu, sigmoid) node nor, with model=, a neuron's w*x + b; pass the model, "
                "or draw without collapse"
            )
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

    if not expand_dot:  # the exact size, known before any label is made
        shown = [v for v in nodes if v not in hidden]
        _check_size(len(shown) + sum(1 for v in shown if pa[v] and v not in neuron_at), max_nodes, collapse)

    steps = {}
    if number_backward:  # backward() visits interior nodes from the root down
        order = [v for v in reversed(topological_order(root)) if v not in hidden]
        steps = {v: k for k, v in enumerate(order, start=1)}  # a neuron box: one step

    sketch = _Sketch()
    for v in nodes:
        if v in hidden:
            continue
        kind = _kind(v, root, params, pa)
        step = steps.get(v)
        if v in neuron_at:  # a collapsed neuron: one box, its inputs wired straight in
            neuron = neuron_at[v]
            act = _inner_activation(v) or (v.op if v.op in ACTIVATIONS else "linear")
            where = next((unit_names[p] for p in neuron.folded if p in unit_names), None)
            title = f"{act} neuron" if where is None else f"neuron {where} ({act})"
            if step is not None:
                title = f"{step}: {title}"
            fields = [title] + _fields(v.label, v.data, _grad(v), show_grad)
            sketch.box(name[v], "output" if v is root else "neuron", fields, abs(_grad(v)), stacked=True)
            sketch.edges.extend((name[p], name[v]) for p in neuron.inputs)
            continue
        has_grad = show_grad and kind != "const"  # nothing flows back to a number
        sketch.box(name[v], kind, _fields(v.label, v.data, _grad(v), has_grad), abs(_grad(v)))
        if not pa[v]:
            continue
        if expand_dot and _is_dot(v) and len(pa[v]) >= 2:
            _expand(sketch, v, name, show_grad, step, pa)
            continue
        op = f"{name[v]}op"
        sketch.ops.append((op, _op_text(v) if step is None else f"{step}: {_op_text(v)}"))
        sketch.edges.extend((name[p], op) for p in pa[v])
        sketch.edges.append((op, name[v]))
    _check_size(sketch.size(), max_nodes, collapse)
    return sketch


def _check_size(size: int, max_nodes: int | None, collapse: str | None) -> None:
    if max_nodes is not None and size > max_nodes:
        hint = "" if collapse else "pass collapse='neuron' for one box per neuron, or "
        raise GraphTooLargeError(
            f"draw_dot: the graph has {size} nodes to draw, more than max_nodes={max_nodes}; "
            f"{hint}raise max_nodes (Graphviz gets slow and the picture unreadable past a few hundred)"
        )


def _expand(sketch: _Sketch, v: Value, name: dict, show_grad: bool, step, pa: dict) -> None:
    """Draw a fused 'dot' node as micrograd would: w*x products, then a chain of + (bias last).
    A 'dot+act' node adds the box z = w · x + b and the activation op leading to v."""
    n = len(pa[v]) // 2
    w, x, bias = pa[v][:n], pa[v][n : 2 * n], pa[v][2 * n :]
    act = _inner_activation(v)
    z = 0.0
    for term in [w[j].data * x[j].data for j in range(n)] + [b.data for b in bias]:
        z += term  # in the order a chain of + adds them
    if act is None:  # the sum is v itself
        z_node, g = name[v], _grad(v)
    else:  # the chain rule inside the node: z's grad = act'(z) * v's grad
        z_node, g = f"{name[v]}z", _slope(act, z, v.data) * _grad(v)
    # d z / d (each product or partial sum) is 1: they all carry z's grad, g
    on_z = step if act is None else None  # the step goes on the op that makes v
    terms: list[tuple[str, float]] = []  # (drawn node, its data)
    for j in range(n):
        data = w[j].data * x[j].data
        last = n == 1 and not bias  # the only term: the product is the sum
        node = z_node if last else f"{name[v]}p{j}"
        op = f"{name[v]}m{j}"
        sketch.ops.append((op, "*" if not (last and on_z) else f"{on_z}: *"))
        sketch.edges += [(name[w[j]], op), (name[x[j]], op), (op, node)]
        if not last:
            sketch.box(node, "value", _fields("", data, g, show_grad), abs(g))
        terms.append((node, data))
    terms += [(name[b], b.data) for b in bias]
    acc_node, acc = terms[0]
    for j, (node, data) in enumerate(terms[1:], start=1):
        acc += data  # in the order a chain of + adds them: the same float as per op
        last = j == len(terms) - 1
        out = z_node if last else f"{name[v]}s{j}"
        op = f"{name[v]}a{j}"
        sketch.ops.append((op, "+" if not (last and on_z) else f"{on_z}: +"))
        sketch.edges += [(acc_node, op), (node, op), (op, out)]
        if not last:
            sketch.box(out, "value", _fields("", acc, g, show_grad), abs(g))
        acc_node = out
    if act is not None:  # z = w · x + b, then the activation
        sketch.box(z_node, "value", _fields("", acc, g, show_grad), abs(g))
        op = f"{name[v]}op"
        sketch.ops.append((op, act if step is None else f"{step}: {act}"))
        sketch.edges += [(z_node, op), (op, name[v])]


# ---------------------------------------------------------------------- draw_dot


def _record(fields: list[str], rankdir: str, stacked: bool = False) -> str:
    """Fields side by side (or, for a neuron box, one above the other)."""
    text = " | ".join(_escape(f) for f in fields)
    return "{ " + text + " }" if (rankdir in ("LR", "RL")) != stacked else text


def _escape(text: str) -> str:
    for ch in '\\{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def _shade(t: float) -> str:
    """White (t=0) to orange-red (t=1): how large |grad| is next to the largest one."""
    if not math.isfinite(t):
        t = 1.0
    lo, hi = (255, 255, 255), (251, 146, 60)
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


_Drawing = None


def _drawing_class():
    """graphviz.Digraph whose render/pipe (and so Jupyter's inline SVG) explain a missing `dot`."""
    global _Drawing
    if _Drawing is None:
        import graphviz

        class Drawing(graphviz.Digraph):
            def pipe(self, *args, **kwargs):
                try:
                    return super().pipe(*args, **kwargs)
                except graphviz.ExecutableNotFound:
                    raise GraphvizNotFoundError(_not_found("render")) from None

            def render(self, *args, **kwargs):
                try:
                    return super().render(*args, **kwargs)
                except graphviz.ExecutableNotFound:
                    raise GraphvizNotFoundError(_not_found("render")) from None

        _Drawing = Drawing
    return _Drawing


def _not_found(what: str) -> str:
    return (
        f"{what}: the Graphviz program 'dot' was not found on PATH; {INSTALL_HINT}, "
        "or save the DOT source instead (save_graph(graph, 'graph.dot'))"
    )


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
) -> graphviz.Digraph:
    """Draw the graph that computed `root` as a `graphviz.Digraph` (rendered inline by Jupyter).

    Args:
        root: the output value.
        rankdir: 'LR' (left to right, the default), 'TB', 'RL' or 'BT'.
        format: what ``.render()`` and ``.pipe()`` produce: 'svg', 'png', 'pdf', ...
        show_grad: show each value's ``grad`` beside its ``data``.
        color_by_grad: fill each value with a shade proportional to |grad| / max |grad|
            (the border still tells its kind).
        number_backward: number the op nodes 1, 2, ... in the order ``backward()`` visits
            them (reverse topological order): follow the chain rule step by step. With
            ``collapse``, a neuron box counts as one step; with ``expand_dot``, an expanded
            node's step goes on its last op (the activation, or the last ``+`` of a 'dot').
        collapse: 'neuron' draws each neuron (a 'dot+tanh'-like node, or a 'dot' node and
            the activation after it, or with ``model`` a per-op neuron) as one box, its
            weights and bias folded in: a whole MLP stays readable.
        expand_dot: draw each fused 'dot' node as its products w*x and a chain of + (bias
            last), as a per-op graph would be (each piece's grad is the dot node's grad); a
            'dot+tanh' (relu, sigmoid) node also gets the box z = w·x + b (grad
            act'(z) * the node's grad) and its activation. Unexpanded, such a node's op
            reads 'tanh(w·x+b)'.
        params: leaves to mark as parameters (e.g. ``model.parameters()``).
        model: anything with ``parameters()``: the same as ``params=model.parameters()``.
        legend: add a small key of the kinds of node.
        max_nodes: refuse (`GraphTooLargeError`) to draw more nodes than this; None: no cap.

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
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"draw_dot: max_nodes must be a positive number or None, got {max_nodes!r}")
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: root must be a Value, got {type(root).__name__}: {root!r}")
    chosen = set(params) if params is not None else set()
    if model is not None:
        chosen.update(model.parameters())
    sketch = _sketch(
        root, params=chosen, model=model, show_grad=show_grad, collapse=collapse, expand_dot=expand_dot,
        number_backward=number_backward, max_nodes=max_nodes,
    )  # fmt: skip

    graph = _drawing_class()(
        format=format,
        graph_attr={"rankdir": rankdir, "bgcolor": "white", "nodesep": "0.2", "ranksep": "0.3"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "height": "0.3"},
        edge_attr={"color": "#57534e", "arrowsize": "0.6"},
    )
    top = max((b[3] for b in sketch.boxes if math.isfinite(b[3])), default=0.0) or 1.0
    for name, kind, fields, g, stacked in sketch.boxes:
        style = dict(STYLE[kind])
        if color_by_grad:
            style["fillcolor"] = _shade(g / top)
        graph.node(name, _record(fields, rankdir, stacked), tooltip=KIND_NAMES[kind], **style)
    for name, text in sketch.ops:
        numbered = {"color": "#b91c1c", "fontcolor": "#b91c1c"} if ":" in text else {}
        graph.node(name, text, tooltip="operation", **(OP_STYLE | numbered))
    for tail, head in sketch.edges:
        graph.edge(tail, head)
    if collapse:  # keep each layer's neurons in their order, top to bottom
        graph.attr(ordering="out")
    if legend:
        _legend(graph, {b[1] for b in sketch.boxes})
    return graph


def _legend(graph, kinds: set[str]) -> None:
    """A key of the kinds of value in the drawing, as a row of sample boxes."""
    shown = [k for k in ("input", "param", "const", "neuron", "output") if k in kinds]
    with graph.subgraph(name="cluster_legend") as key:
        key.attr(label="key", fontname="Helvetica", fontsize="10", color="#d6d3d1", style="rounded")
        for kind in shown:
            key.node(f"legend_{kind}", KIND_NAMES[kind], tooltip="key", fontsize="10", **STYLE[kind])
        for a, b in zip(shown, shown[1:]):
            key.edge(f"legend_{a}", f"legend_{b}", style="invis")


# ---------------------------------------------------------------------- saving


SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


def save_graph(graph: graphviz.Digraph, path: str | os.PathLike) -> Path:
    """Write a drawing to `path`, the format chosen by its suffix: .svg .png .pdf or .dot.

    ``.dot`` (the Graphviz source) needs no Graphviz program; the others need ``dot`` and
    raise `GraphvizNotFoundError`, saying how to install it, when it is missing. The file
    appears complete or not at all.

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
        import graphviz

        try:
            data = graph.pipe(format=fmt)
        except (graphviz.ExecutableNotFound, GraphvizNotFoundError):
            raise GraphvizNotFoundError(_not_found(f"save_graph: cannot write {path.name}")) from None
    write_atomically(path, data)
    return path
