"""What a drawing shows, planned from a `Trace` before Graphviz is involved: boxes, op nodes, edges.

One record per value (its label if any, as `style.user_text` shows it: as typed, a line break
starting a new line; ``data``; ``grad``), one small node per operation, and an edge for every
argument in argument order (``a * a`` has two edges). Names are stable, for tools built on the
drawing: the box of the i-th node of the trace is ``v{i}``, the op node that made it ``v{i}op``
(a copy of a value drawn again beside a far use is ``v{i}again{k}``).

Where the order of an op's inputs matters, the op node has a slot per input and each edge ends
in its slot, named by the op's roles in the engine's table (``base`` and ``exponent`` for
``**``, ``numerator`` and ``denominator`` for ``/``, ``x`` and ``slope`` for ``leaky_relu``);
a neuron node's slots are its groups, numbered: ``w1``, ..., ``x1``, ..., ``b``; a custom
primitive of two or more inputs has no roles, and its slots are its parameters' names. An op
without roles whose rule is the table's (``+``, ``*``, ``sum``) takes its inputs in any order.

`draw_dot` turns a sketch into Graphviz's source; the explorer and the training view read the
same sketch for what is drawn where.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.see.trace import walk
    >>> a, b = Value(3.0, label="a"), Value(2.0, label="b")
    >>> plan = sketch(walk(a / b))
    >>> [box.fields for box in plan.boxes]
    [['a', 'data 3', 'grad 0'], ['b', 'data 2', 'grad 0'], ['data 1.5', 'grad 0']]
    >>> plan.ops
    [('v2op', '/', None, ['numerator', 'denominator'])]
    >>> plan.edges
    [('v0', 'v2op', 'numerator'), ('v1', 'v2op', 'denominator'), ('v2op', 'v2', '')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..engine import Value
from ..neuron import NeuronOp
from . import neurons
from .neurons import Neuron, activation_name, inner_activation, is_neuron_node, slope
from .style import data_text, grad_text, user_text
from .trace import Constant, Trace, check_size

__all__ = ["Box", "Sketch", "op_text", "parameter_places", "sketch", "slots"]


class Box:
    """A value's record: its node name, kind, text fields and the grad it is shaded by.
    A copy drawn again beside a far use names the box it copies (`copy_of`)."""

    __slots__ = ("copy_of", "fields", "grad", "kind", "name", "stacked")

    def __init__(self, name: str, kind: str, fields: list[str], grad: float | None, stacked: bool = False):
        self.name, self.kind, self.fields, self.grad, self.stacked = name, kind, fields, grad, stacked
        self.copy_of: str | None = None


class Sketch:
    """The plan of a drawing.

    Attributes:
        trace: the `Trace` it was planned from.
        name: each value's box name, ``v{i}``, by value (drawn or not).
        boxes: the value boxes, copies included.
        ops: (name, text, backward step or None, slots) per op node.
        edges: (tail, head, slot) per edge, in the order drawn; the slot is '' where the
            order of the op's inputs does not matter.
        hidden: the values folded into neuron boxes, not drawn.
        neuron_at: each collapsed neuron by the value that ends it (its box).
        labels: what to write on some edges, by their place in `edges`: lines of text, laid
            out by Graphviz with the graph (the explorer's local × grad = adds).
        limits: the layout's bounds on dot's work, once `layout.lay_out` has planned it.
    """

    def __init__(self, traced: Trace) -> None:
        self.trace = traced
        self.name = {v: f"v{i}" for i, v in enumerate(traced.nodes)}
        self.boxes: list[Box] = []
        self.ops: list[tuple[str, str, int | None, list[str]]] = []
        self.edges: list[tuple[str, str, str]] = []
        self.hidden: set = set()
        self.neuron_at: dict[Value, Neuron] = {}
        self.labels: dict[int, list[str]] = {}
        self.limits: dict[str, str] | None = None

    def size(self) -> int:
        """How many nodes the drawing has: boxes and op nodes."""
        return len(self.boxes) + len(self.ops)


def sketch(
    traced: Trace,
    *,
    params: Iterable[Value] = (),
    model: Any = None,
    show_grad: bool = True,
    collapse: str | None = None,
    expand_dot: bool = False,
    number_backward: bool = False,
    max_nodes: int | None = None,
    grads: dict | None = None,
) -> Sketch:
    """Plan the drawing of a traced graph (the options are `draw_dot`'s).

    `grads`, when given, are the grads the boxes show (a Value missing from it: 0), in place
    of the values' own ``.grad``. Raises `GraphTooLargeError` past `max_nodes`.
    """
    plan = Sketch(traced)
    pa = traced.inputs
    if collapse:
        plan.hidden, plan.neuron_at = neurons.collapse(traced, model)
    hidden, neuron_at, name = plan.hidden, plan.neuron_at, plan.name
    if not expand_dot:  # the exact size, known before any label is made
        shown = [v for v in traced.nodes if v not in hidden]
        check_size(len(shown) + sum(1 for v in shown if pa[v] and v not in neuron_at), 0, max_nodes, collapse)
    steps = _steps(traced, hidden) if number_backward else {}
    places, _ = parameter_places(model)
    params = set(params)

    def grad(v) -> float | None:  # what v's box shows as its grad (a constant has none)
        if isinstance(v, Constant):
            return None
        if grads is not None:
            return float(grads.get(v, 0.0))
        return None if v.grad is None else float(v.grad)

    for v in traced.nodes:
        if v in hidden:
            continue
        g = grad(v)
        shown_grad = g if show_grad else None
        if v in neuron_at:  # a collapsed neuron: one box, its inputs wired straight in
            _neuron_box(plan, neuron_at[v], v is traced.root, places, steps.get(v), g, shown_grad)
            continue
        plan.boxes.append(Box(name[v], _kind(v, traced.root, params, pa), fields(v.label, v.data, shown_grad), g))
        if not pa[v]:
            continue
        if expand_dot and is_neuron_node(v) and len(pa[v]) >= 2:
            _expand(plan, v, g, show_grad, steps.get(v))
            continue
        op = f"{name[v]}op"
        roles = slots(v, len(pa[v]))
        plan.ops.append((op, op_text(v, len(pa[v])), steps.get(v), [r for r in roles if r]))
        plan.edges.extend((name[p], op, role) for p, role in zip(pa[v], roles))
        plan.edges.append((op, name[v], ""))
    check_size(plan.size(), len(plan.edges), max_nodes, collapse)
    return plan


def fields(label: str, data: float, grad: float | None) -> list[str]:
    """A record's fields: the label if any (as `user_text` shows it), the data, and the grad
    unless it is None."""
    shown = [user_text(label)] if label else []
    shown.append(data_text(data))
    if grad is not None:
        shown.append(grad_text(grad))
    return shown


def _kind(v, root: Value, params: set, pa: dict) -> str:
    if v is root:
        return "output"
    if pa[v]:
        return "value"
    if v in params:
        return "param"
    return "const" if isinstance(v, Constant) else "input"


def slots(v: Value, n: int) -> list[str]:
    """What each of v's n inputs is, where their order matters ('' where it does not).

    Example:
        >>> x = Value(2.0)
        >>> slots(x ** 3, 2), slots(x * 3, 2)
        (['base', 'exponent'], ['', ''])
    """
    op = v.grad_fn
    if op is None:  # a leaf: no inputs
        return [""] * n
    if op.roles:
        return list(op.roles)
    if isinstance(op, NeuronOp):  # its groups (w..., x..., b), numbered
        w, x, b = op.inputs
        k = n // 2
        return [f"{w}{i}" for i in range(1, k + 1)] + [f"{x}{i}" for i in range(1, k + 1)] + [b] * (n - 2 * k)
    if n < 2 or op.from_formulas:  # the table's own ops without roles: order does not matter
        return [""] * n
    if len(op.inputs) >= n:  # a custom primitive: its parameters' names
        return list(op.inputs[:n])
    return [str(i) for i in range(1, n + 1)]  # one taking *args: the argument's position


def op_text(v: Value, n: int) -> str:
    """What the op node of v (of n inputs) says: the op's name, or for a neuron node its
    formula, 'tanh(w·x+b)'."""
    act = inner_activation(v)
    if act is None:
        return v.op
    return f"{act}(w·x+b)" if n % 2 else f"{act}(w·x)"


def _steps(traced: Trace, hidden: set) -> dict:
    """Each drawn op's step in backward(), which visits interior nodes from the root down."""
    order = [v for v in reversed(traced.order) if v not in hidden]
    return {v: k for k, v in enumerate(order, start=1)}  # a neuron box: one step


def parameter_places(model: Any) -> tuple[dict[Value, str], dict[Value, str]]:
    """For a model made of layers of neurons (counted from 1): parameter -> 'layer.neuron',
    and parameter -> its own name, 'w1.3[2]' (weight 2 of neuron 3 of layer 1) or 'b1.3'.

    Example:
        >>> from autograd_tiny import nn
        >>> model = nn.MLP(2, [3, 1], seed=0)
        >>> places, names = parameter_places(model)
        >>> w = model.layers[0].neurons[2].w[1]
        >>> places[w], names[w]
        ('1.3', 'w1.3[2]')
    """
    where: dict[Value, str] = {}
    names: dict[Value, str] = {}
    for i, layer in enumerate(getattr(model, "layers", []) or [], start=1):
        for j, unit in enumerate(getattr(layer, "neurons", []) or [], start=1):
            where.update((p, f"{i}.{j}") for p in unit.parameters())
            names.update((w, f"w{i}.{j}[{k}]") for k, w in enumerate(getattr(unit, "w", []), start=1))
            if isinstance(getattr(unit, "b", None), Value):
                names[unit.b] = f"b{i}.{j}"
    return where, names


def neuron_title(neuron: Neuron, places: dict) -> str:
    """'neuron 1.3 (relu)' (layer, neuron) with a model, else 'relu neuron'."""
    act = activation_name(neuron.end)
    where = next((places[p] for p in neuron.folded if p in places), None)
    return f"{act} neuron" if where is None else f"neuron {where} ({act})"


def _neuron_box(plan: Sketch, neuron: Neuron, is_root: bool, places: dict, step, g, shown_grad) -> None:
    v = neuron.end
    title = neuron_title(neuron, places)
    if step is not None:
        title = f"{step}: {title}"
    box = Box(plan.name[v], "output" if is_root else "neuron", [title] + fields(v.label, v.data, shown_grad), g,
              stacked=True)  # fmt: skip
    plan.boxes.append(box)
    plan.edges.extend((plan.name[p], plan.name[v], "") for p in neuron.inputs)


def _expand(plan: Sketch, v: Value, g_out: float | None, show_grad: bool, step) -> None:
    """Draw a neuron node as micrograd would: w*x products, then a chain of + (bias last).
    With an activation inside, also the box z = w · x + b and the activation op leading to v."""
    pa, name = plan.trace.inputs[v], plan.name
    n = len(pa) // 2
    w, x, bias = pa[:n], pa[n : 2 * n], pa[2 * n :]
    act = inner_activation(v)
    z = 0.0
    for term in [w[j].data * x[j].data for j in range(n)] + [b.data for b in bias]:
        z += term  # in the order a chain of + adds them
    if act is None:  # the sum is v itself
        z_node, g = name[v], g_out
    else:  # the chain rule inside the node: z's grad = act'(z) * v's grad
        z_node, g = f"{name[v]}z", (slope(v, z) or 0.0) * (g_out or 0.0)
    # d z / d (each product or partial sum) is 1: they all carry z's grad, g
    on_z = step if act is None else None  # the step goes on the op that makes v
    shown = g if show_grad else None
    terms: list[tuple[str, float]] = []  # (drawn node, its data)
    for j in range(n):
        data = w[j].data * x[j].data
        last = n == 1 and not bias  # the only term: the product is the sum
        node = z_node if last else f"{name[v]}p{j}"
        op = f"{name[v]}m{j}"
        plan.ops.append((op, "*", on_z if last else None, []))
        plan.edges += [(name[w[j]], op, ""), (name[x[j]], op, ""), (op, node, "")]
        if not last:
            plan.boxes.append(Box(node, "value", fields("", data, shown), g))
        terms.append((node, data))
    terms += [(name[b], b.data) for b in bias]
    acc_node, acc = terms[0]
    for j, (node, data) in enumerate(terms[1:], start=1):
        acc += data  # in the order a chain of + adds them: the same float as per op
        last = j == len(terms) - 1
        out = z_node if last else f"{name[v]}s{j}"
        op = f"{name[v]}a{j}"
        plan.ops.append((op, "+", on_z if last else None, []))
        plan.edges += [(acc_node, op, ""), (node, op, ""), (op, out, "")]
        if not last:
            plan.boxes.append(Box(out, "value", fields("", acc, shown), g))
        acc_node = out
    if act is not None:  # z = w · x + b, then the activation
        plan.boxes.append(Box(z_node, "value", fields("", acc, shown), g))
        op = f"{name[v]}op"
        plan.ops.append((op, act, step, []))
        plan.edges += [(z_node, op, ""), (op, name[v], "")]
