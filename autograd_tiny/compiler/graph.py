"""The graph: a trace read into nodes, in the order fn made them, with every leaf classified.

The forward pass runs the nodes in the engine's order (creation order), the backward pass in
its reverse. A leaf is a number passed as an argument, a Value passed as an argument, a Value
fn reached outside its arguments (a parameter), one made by an op before fn ran (whose graph the
engine follows), or a constant. The Graph keeps no Value but the leaves fn reached outside its
arguments: the rest of the trace's graph is freed once it is read.

Example:
    >>> from autograd_tiny import Value
    >>> w = Value(0.5, label="w")
    >>> graph = traced(lambda x: (w * x).tanh(), (2.0,))
    >>> [(leaf.kind, leaf.label) for leaf in graph.leaves], [node.op.name for node in graph.nodes]
    ([('outside', 'w'), ('number', 'x')], ['*', 'tanh'])
"""

from __future__ import annotations

import collections
import itertools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..engine import Op, Value, topological_order
from ..grad_mode import enable_grad
from ..neuron import NeuronOp
from .arguments import Arguments, each
from .ints import plain
from .tracing import CompileError, Trace, recording

if TYPE_CHECKING:
    from .loops import Folded, Loop

__all__ = ["traced", "Node", "Graph", "Static", "op_of", "neuron_op_of", "loss_of"]


def traced(fn: Callable, args: tuple, backward: bool = True) -> Graph:
    """Run fn on Values, recording; read the graph it built (freed when this returns)."""
    call = Arguments(fn, args)
    trace = Trace()
    with enable_grad():
        with recording(trace):
            start = trace.marker()
            result = plain(fn(*call.converted))  # (an int argument fn returns: its number)
        return Graph(trace, result, start, call, backward)


class Node:
    """One node of the compiled graph: a leaf, an op, or the copy made by detach()."""

    __slots__ = (
        "how",
        "op",
        "ins",
        "data",
        "label",
        "kind",
        "slot",
        "obj",
        "nograd",
        "wants",
        "reach",
        "users",
        "loop",
        "index",
        "start",
        "unused",
        "unused_users",
    )

    def __init__(self, how: str, data: float, label: str = "") -> None:
        self.how = how  # 'leaf', 'op', 'neuron' (a fused neuron), 'detach', 'chain' (see loops.py)
        self.op: Op | None = None  # the engine's Op (None for leaves and detach copies)
        self.ins: list = []  # the inputs: _Nodes, and floats for numbers written in the expression
        self.data = data  # the number seen while tracing
        self.label = label
        self.kind = ""  # leaves: 'number' (a float argument), 'value' (a Value argument),
        # 'outside' (a Value fn reached: a parameter), 'upstream' (the same, made by an op before
        # fn ran: its graph is followed by the engine), 'constant' (made inside fn, then dropped)
        self.slot = -1  # arguments: the index in the call's floats or Values
        self.obj: Value  # outside / upstream leaves: the Value (other nodes never have one)
        self.nograd = False  # made inside no_grad(): no gradient flows through it
        self.wants = False  # a gradient flows from it to a leaf that keeps it
        self.reach = False  # the loss depends on it
        self.users = 0  # how many op inputs are this node
        self.loop: Loop | Folded | None = None  # the loop it is computed in, if any
        self.index = -1  # ops: the position in the graph's list of nodes
        self.start: float | None = None  # a chain of '+' (see _fold_chains): the number sum() starts from, if any
        self.unused = False  # nothing fn returned or compared depends on it (it is computed all the same)
        self.unused_users: list[Node] | tuple = ()  # the unused nodes, or those only comparisons use, that use it


def op_of(node: Node) -> Op:
    """The engine's Op of an op node (the writer never asks a leaf or a detach() copy, which have none)."""
    assert node.op is not None, node.how
    return node.op


def neuron_op_of(node: Node) -> NeuronOp:
    """The engine's op of a neuron node: its activation's name and Op."""
    assert isinstance(node.op, NeuronOp), node.how
    return node.op


class Graph:
    """The trace read into nodes: leaves, ops in creation order, guards, outputs, loss.

    It keeps no Value but the leaves fn reached outside its arguments: the rest of the trace's
    graph is freed once this is built.
    """

    def __init__(self, trace: Trace, result: Any, start: Value, call: Arguments, backward: bool) -> None:
        self.trace, self.call = trace, call
        self.paths = call.paths  # where each argument is in the call (yb[3]), for words about it
        self.leaves: list[Node] = []
        self.nodes: list[Node] = []  # ops (and detach copies) in creation order
        self._of: dict[Value, Node] = {}
        self._pending: list[tuple[Value, Node]] = []  # leaves fn made: constants, or kept?
        self._detached_of = collections.defaultdict(list)  # source -> the leaves detach() made
        for new, source in trace.detached.items():
            self._detached_of[source].append(new)
        loss = loss_of(result) if backward else None
        marks_at = self._read(_creation_order(trace, result, start), start)
        self.guards = self._guards(trace, marks_at)
        self.causes = [_cause(guard, call) for guard in self.guards]  # what each guard is about, in words
        self.static_slots = frozenset(trace.static_slots)  # the int arguments fn used as Python ints
        self.outputs = _map_values(result, self._value)
        self.loss = self._value(loss) if loss is not None else None
        del loss
        self._classify_made_leaves(trace, result)
        dropped = bool(trace.dropped or trace.detached)  # else every node is used
        del self.trace, self.call, self._of, self._pending, self._detached_of
        if self.loss is not None and self.loss.nograd:
            raise RuntimeError("backward: the loss was computed inside no_grad(), so it has no graph; "
                               "compute it outside no_grad() to get gradients")  # fmt: skip
        if dropped:
            self._mark_unused()
        if self.guards:
            self._mark_checked()
        self._mark_reach()

    def _read(self, order: list[Value], start: Value) -> dict[Value, int]:
        """Nodes for the ops fn made, in creation order; returns where each marker fell."""
        trace = self.trace
        marks, switches = trace.marks, dict(trace.modes)
        of, nodes, detached_of = self._of, self.nodes, self._detached_of
        marks_at: dict[Value, int] = {}
        recording = True
        begin = order.index(start) + 1  # what comes before was made before fn ran: 'upstream'
        for v in itertools.islice(order, begin, None):
            if v in marks:
                marks_at[v] = len(nodes)
                recording = switches.get(v, recording)
                continue
            op = v.grad_fn
            node = Node("neuron" if isinstance(op, NeuronOp) else "op", v.data, v.label)
            node.op = op
            wants = False
            ins = []
            for p in v.parents:
                if p.__class__ is Value:
                    p = of.get(p) or self._input(p)
                    p.users += 1
                    wants = wants or p.wants
                else:
                    p = float(p)  # a number written in the expression
                ins.append(p)
            node.ins = ins
            if recording:
                node.wants = wants
            else:  # made inside no_grad(): no gradient flows through it
                node.nograd = True
            node.index = len(nodes)
            of[v] = node
            nodes.append(node)
            if v in detached_of:
                for new in detached_of[v]:
                    self._detach(new, node)
        return marks_at

    def _value(self, v: Value) -> Node:
        return self._of.get(v) or self._input(v)

    def _input(self, p: Value) -> Node:
        """The node of a Value that no op of fn made: a leaf (or a detach() copy)."""
        if p in self.trace.detached:
            return self._detach(p, self._value(self.trace.detached[p]))
        node = Node("leaf", p.data, p.label)
        call = self.call
        if p in call.float_slot:
            node.kind, node.slot = "number", call.float_slot[p]
        elif p in call.value_slot:
            node.kind, node.slot = "value", call.value_slot[p]
        elif p.grad_fn is not None:
            node.kind, node.obj = "upstream", p
        elif p in self.trace.made:
            node.kind = "made"  # decided below: a constant, or a Value kept outside
            self._pending.append((p, node))
        else:
            node.kind, node.obj = "outside", p
        if not node.label:
            node.label = call.names.get(p, "")
        node.wants = node.kind in ("value", "outside", "upstream")
        self._of[p] = node
        self.leaves.append(node)
        return node

    def _detach(self, new: Value, source: Node) -> Node:
        node = self._of.get(new)
        if node is None:
            node = Node("detach", new.data, new.label)
            node.ins = [source]
            source.users += 1
            node.index = len(self.nodes)
            self._of[new] = node
            self.nodes.append(node)
        return node

    def _guards(self, trace: Trace, marks_at: dict) -> list[tuple]:
        """(x, symbol, y, outcome, position): checked before the node at `position` is computed."""
        guards = []
        for x, symbol, y, outcome, mark in trace.comparisons:
            y = self._value(y) if y.__class__ is Value else float(y)
            guards.append((self._value(x), symbol, y, outcome, marks_at[mark]))
        for v, number, mark in trace.readings:
            guards.append((self._value(v), "same", number, True, marks_at[mark]))
        return guards

    def _classify_made_leaves(self, trace: Trace, result: Any) -> None:
        """A leaf fn made (Value(...) inside fn) is a constant if fn dropped it: then nobody can
        see or change it again. One that something still holds (a parameter fn made on its
        first call, say) is read on every call, as a Value from outside.

        A leaf was dropped if every reference to it is one we know of: the graph's edges, our
        records, fn's result. CPython counts references; elsewhere every such leaf is kept.
        """
        if not self._pending:
            return
        known = collections.Counter(id(v) for v in each(result, Value))
        for x, _, y, _, _ in trace.comparisons:
            known.update((id(x), id(y)))
        known.update(id(v) for v, _, _ in trace.readings)
        for new, source in trace.detached.items():
            known.update((id(new), id(source)))
        detached = collections.Counter(id(n.ins[0]) for n in self.nodes if n.how == "detach")
        counts = getattr(sys, "getrefcount", None)
        for leaf, node in self._pending:
            # references: the graph's edges, our records, trace.made, self._of, _pending's
            # tuple, `leaf` here and getrefcount's argument
            edges = node.users - detached[id(node)]  # a detach() copy is no edge of the graph
            dropped = counts is not None and counts(leaf) - 5 <= edges + known[id(leaf)]
            if dropped:
                node.kind = "constant"
            else:
                node.kind, node.obj, node.wants = "outside", leaf, True
        del leaf, node
        if any(n.wants for _, n in self._pending):  # a kept leaf: who depends on it wants gradients
            for node in self.nodes:
                if not node.wants and not node.nograd and node.how != "detach":
                    node.wants = any(p.__class__ is Node and p.wants for p in node.ins)

    def _mark_unused(self) -> None:
        """The nodes fn made and dropped, and those only they use: nothing fn returns or
        compares depends on them. The engine computed them all the same, so the code does too:
        an error one of them raises (log(0), x / 0) is raised by the compiled call as well."""
        used: set[Node] = set()
        stack = [*each(self.outputs, Node), *(n for x, _, y, _, _ in self.guards for n in (x, y))]
        if self.loss is not None:
            stack.append(self.loss)
        while stack:
            node = stack.pop()
            if node.__class__ is Node and node not in used:
                used.add(node)
                stack += node.ins
        for node in self.nodes:
            if node not in used:
                node.unused = True
                for p in node.ins:
                    if p.__class__ is not Node:
                        continue
                    if isinstance(p.unused_users, list):
                        p.unused_users.append(node)
                    else:
                        p.unused_users = [node]

    def _mark_checked(self) -> None:
        """The nodes only comparisons depend on (``abs(y) != 1`` makes abs(y) for a guard alone),
        and those only they use: off the way to the outputs, as unused nodes are (loops.py
        computes them in a term's loop, with the term's comparisons)."""
        kept = {*each(self.outputs, Node), self.loss}
        compared = [n for x, _, y, _, _ in self.guards for n in (x, y) if n.__class__ is Node]
        todo = [n for n in compared if n.how == "op" and n.users == 0 and not n.unused and n not in kept]
        checked: set[Node] = set()
        while todo:
            node = todo.pop()
            if node in checked:
                continue
            checked.add(node)
            for p in node.ins:
                if p.__class__ is not Node:
                    continue
                p.unused_users = [*p.unused_users, node]
                if p.how == "op" and not p.unused and p not in kept and len(p.unused_users) == p.users:
                    todo.append(p)  # every use of it is off the way too

    def _mark_reach(self) -> None:
        """Which nodes the loss depends on through a gradient: the backward pass visits those."""
        if self.loss is None or not self.loss.wants:
            return
        self.loss.reach = True
        for node in reversed(self.nodes):
            if node.reach and node.how != "detach":
                for p in node.ins:
                    if p.__class__ is Node and p.wants:
                        p.reach = True


def _cause(guard: tuple, call: Arguments) -> str:
    """What a guard checks, in words that name the arguments it is about: "a comparison on yb[3]"."""
    x, symbol, y, _, _ = guard
    what = "the number read out of" if symbol == "same" else "a comparison on"
    found: list[str] = []
    seen: set[Node] = set()
    todo = [n for n in (x, y) if n.__class__ is Node]
    while todo and len(seen) < 64:  # the arguments it depends on, near it (its own, for a label)
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if node.kind == "number" and node.slot < len(call.paths.numbers):
            found.append(call.paths.numbers[node.slot])
        elif node.kind == "value" and node.slot < len(call.paths.values):
            found.append(call.paths.values[node.slot])
        todo += [p for p in node.ins if p.__class__ is Node]
    if not found:
        return f"{what} a Value fn computed" + (f" (label {x.label!r})" if x.label else "")
    names = ", ".join(dict.fromkeys(found[:3])) + (", ..." if len(found) > 3 else "")
    return f"{what} {names}" if x.kind in ("number", "value") else f"{what} a Value computed from {names}"


def _creation_order(trace: Trace, result: Any, start: Value) -> list[Value]:
    """Every node fn made (and the markers) in creation order, after the nodes made before it:
    the engine's topological order of one node joining everything the trace needs."""
    roots = [start, *each(result, Value), *(m for m, _ in trace.modes)]
    for x, _, y, _, mark in trace.comparisons:
        roots += [v for v in (x, y) if v.__class__ is Value] + [mark]
    for v, _, mark in trace.readings:
        roots += [v, mark]
    roots += trace.detached.values()
    roots += trace.dropped
    order = topological_order(Value.sum(roots))
    order.pop()  # the node joining the roots
    return order


def loss_of(result: Any) -> Value:
    """The Value backward() starts from: fn's result, or the first item of a tuple result."""
    if isinstance(result, Value):
        return result
    if isinstance(result, tuple) and result and isinstance(result[0], Value):
        return result[0]
    raise CompileError(
        f"compile: fn must return the loss (a Value) or a tuple (loss, ...); it returned "
        f"{type(result).__name__}; use compile(fn, backward=False) for a forward pass only"
    )


def _map_values(x, fn: Callable):
    """x with every Value replaced by fn(Value); floats refused (they cannot be recomputed)."""
    if isinstance(x, Value):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map_values(v, fn) for v in x)
    if isinstance(x, dict):
        return {k: _map_values(v, fn) for k, v in x.items()}
    if isinstance(x, float):
        raise CompileError(
            f"compile: fn returned the number {x!r}, not a Value, so compiled code cannot recompute "
            "it on the next call; return the Value itself"
        )
    return Static(x)


class Static:
    """An object fn returned as it is (an int, a string, ...): returned unchanged."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj
