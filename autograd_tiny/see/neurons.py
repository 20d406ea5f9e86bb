"""Finding neurons in a traced graph, for drawings of one box per neuron (``collapse='neuron'``).

A neuron is either one engine node (a `NeuronOp`: act(w · x + b)), with the activation after
it when it has none inside, or, with ``model=``, the per-op w*x products of one neuron's
parameters, the + chain adding them and the bias up, and the activation after it. Its box
stands for all of them; its weights and bias are folded in.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.see.trace import walk
    >>> w, x = [Value(0.5), Value(-1.0)], [Value(1.0, label="x1"), Value(2.0, label="x2")]
    >>> hidden, neuron_at = collapse(walk(Value.dot(w, x, bias=Value(0.1), activation="tanh")), None)
    >>> [(activation_name(end), [v.label for v in n.inputs]) for end, n in neuron_at.items()]
    [('tanh', ['x1', 'x2'])]
"""

from __future__ import annotations

from typing import Any

from ..engine import Value
from ..neuron import NeuronOp
from .trace import Trace

__all__ = [
    "ACTIVATION_OP_NAMES",
    "Neuron",
    "activation_name",
    "collapse",
    "inner_activation",
    "is_neuron_node",
    "slope",
]

# The ops a neuron box takes in as its activation: applied to the weighted sum, their other
# inputs (leaky_relu's slope) leaves.
ACTIVATION_OP_NAMES = frozenset({"tanh", "relu", "sigmoid", "softplus", "leaky_relu", "abs"})


def is_neuron_node(v) -> bool:
    """Whether v was made by one engine node act(w · x + b) (a `NeuronOp`)."""
    return isinstance(v.grad_fn, NeuronOp) if isinstance(v, Value) else False


def inner_activation(v) -> str | None:
    """'tanh' for a tanh neuron node; None for any other node (a plain dot included)."""
    return v.grad_fn.activation if is_neuron_node(v) else None


def activation_name(end: Value) -> str:
    """The activation of the neuron that `end` ends: 'tanh', 'leaky_relu', ... or 'linear'."""
    return inner_activation(end) or (end.op if end.op in ACTIVATION_OP_NAMES else "linear")


def slope(v: Value, z: float) -> float | None:
    """act'(z) of a neuron node's activation at its z = w · x + b, from the activation's own
    rule (None where it is flat: nothing flows; 1 for a plain dot).

    Example:
        >>> slope(Value.dot([Value(2.0)], [Value(1.0)], activation="relu"), 2.0)
        1.0
    """
    act = v.grad_fn.act if isinstance(v.grad_fn, NeuronOp) else None
    return 1.0 if act is None else act.rule(z, v.data)[0]


class Neuron:
    """A neuron found in the graph: the node that ends it, its other nodes, its inputs."""

    def __init__(self, end: Value, members: list[Value], inputs: list[Value], folded: list) -> None:
        self.end = end  # the activation (or the weighted sum of a linear neuron, or a neuron node)
        self.members = members  # the neuron's nodes, end included
        self.inputs = inputs  # the values it weighs (the x's), in order
        self.folded = folded  # leaves drawn inside the box: weights, bias, e.g. a slope


def collapse(traced: Trace, model: Any) -> tuple[set, dict[Value, Neuron]]:
    """The values folded into neuron boxes (not drawn), and each neuron by the node that ends it.

    Raises ValueError when the graph holds no neuron.
    """
    pa = traced.inputs
    edges = traced.edges
    consumers: dict = {}
    for parent, child in edges:
        consumers.setdefault(parent, []).append(child)
    found = _fused_neurons(traced.nodes, consumers, pa)
    if model is not None:
        found += _model_neurons(traced.nodes, consumers, model, pa)
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
        hidden.update(p for p in neuron.folded if id(p) not in used and p is not traced.root)
    return hidden, neuron_at


def _activation_after(v: Value, consumers: dict, pa: dict) -> Value | None:
    """The activation applied to `v` if it is v's only consumer (its other inputs leaves)."""
    users = consumers.get(v, [])
    act = users[0] if len(users) == 1 else None
    if (act is not None and act.op in ACTIVATION_OP_NAMES and pa[act][0] is v
            and all(not pa[p] for p in pa[act][1:])):  # fmt: skip
        return act  # its other inputs are leaves, e.g. leaky_relu's slope
    return None


def _fused_neurons(nodes: list, consumers: dict, pa: dict) -> list[Neuron]:
    """Each neuron node with an activation inside is a whole neuron; a plain 'dot' node
    (w · x + b) is one with the activation after it, if any."""
    found = []
    for v in nodes:
        if not is_neuron_node(v):
            continue
        n = len(pa[v]) // 2
        weights = list(pa[v][:n]) + list(pa[v][2 * n :])
        act = _activation_after(v, consumers, pa) if inner_activation(v) is None else None
        members, extra = ([v], []) if act is None else ([v, act], list(pa[act][1:]))
        inputs = list(pa[v][n : 2 * n]) + [w for w in weights if pa[w]]  # a computed weight stays
        folded = [w for w in weights if not pa[w]] + extra
        found.append(Neuron(members[-1], members, inputs, folded))
    return found


def _model_neurons(nodes: list, consumers: dict, model: Any, pa: dict) -> list[Neuron]:
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
        extra = list(pa[end][1:]) if end.op in ACTIVATION_OP_NAMES else []
        found.append(Neuron(end, members[k], inputs.get(k, []), units[k].parameters() + extra))
    return found
