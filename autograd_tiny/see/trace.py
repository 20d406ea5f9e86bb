"""The one walk of a graph: every value the root depends on, each one's inputs, and the caps.

A drawing, the explorer's page and the training view all start from one `Trace` of the graph:
its nodes in a deterministic topological order (the order `draw_dot` names them in: the i-th
is ``v{i}``), each node's inputs in argument order (a number written in the expression as a
`Constant`), and, when asked for, the order ``backward()`` visits them in. Each value's inputs
are read once.

Graphviz gets slow, and a picture unreadable, past a few hundred nodes, so a drawing has a cap
(``max_nodes``): `walk` stops soon after the cap is passed, without looking at the rest of a
huge graph, and `check_size` counts the drawing exactly once it is planned
(`GraphTooLargeError`).

Example:
    >>> from autograd_tiny import Value
    >>> a = Value(3.0, label="a")
    >>> t = walk(a * a + 1)
    >>> [getattr(v, "label", "") or v.op or v.data for v in t.nodes], len(t.edges)
    (['a', '*', 1.0, '+'], 4)
"""

from __future__ import annotations

from functools import cached_property

from ..engine import Value, topological_order

__all__ = [
    "COUNT_AHEAD",
    "EDGES_PER_NODE",
    "LOOK_THROUGH",
    "Constant",
    "GraphTooLargeError",
    "Trace",
    "TooManyValues",
    "check_size",
    "trace",
    "walk",
]

COUNT_AHEAD = 10  # past the cap, count up to 10 x max_nodes for the message, then stop
LOOK_THROUGH = 1000  # collapse='neuron' looks through up to 1000 x max_nodes values
EDGES_PER_NODE = 5  # Graphviz slows down sharply with edges too: at most 5 x max_nodes


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


class Trace:
    """What one walk found: `nodes` (every node after its inputs, root last), `inputs` (each
    node's inputs in argument order, numbers as Constants; [] for a leaf), `edges` (input,
    node) pairs, and `order`, the nodes with inputs in the order ``backward()`` visits them,
    reversed (asked of the engine when first needed)."""

    def __init__(self, root: Value, nodes: list, inputs: dict) -> None:
        self.root, self.nodes, self.inputs = root, nodes, inputs

    @property
    def edges(self) -> list[tuple]:
        """(input, node) for every argument of every node, in argument order."""
        return [(p, v) for v in self.nodes for p in self.inputs[v]]

    @cached_property
    def order(self) -> list[Value]:
        """The nodes with inputs, each after its inputs: ``backward()`` visits them in reverse."""
        return topological_order(self.root)


class GraphTooLargeError(ValueError):
    """More to draw than ``max_nodes`` allows: the picture would be unreadable and slow.

    Attributes:
        max_nodes: the cap that was passed.
        nodes: how many nodes to draw were counted; the drawing's whole count if ``exact``,
            otherwise counting stopped there (the graph has more).
        exact: whether ``nodes`` is the whole count.
        edges: the number of edges when they were too many (None when nodes were).

    Example:
        >>> from autograd_tiny import draw_dot
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


class TooManyValues(Exception):
    """`walk` met more than its ``max_values`` values (`count`, where it stopped counting)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"more than {count - 1} values")
        self.count = count


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
    found = walk(root)
    return found.nodes, found.edges


def walk(
    root: Value, *, max_nodes: int | None = None, collapse: str | None = None, max_values: int | None = None
) -> Trace:
    """The `Trace` of `root`, stopping early when a drawing of it is sure to pass a cap.

    Args:
        root: the value whose graph to walk.
        max_nodes: a drawing's cap on its boxes and op nodes (None: no cap). Past about
            `COUNT_AHEAD` times it (`LOOK_THROUGH` times when collapsing neurons, which hides
            most values), raises `GraphTooLargeError` without looking further.
        collapse: 'neuron' when the drawing will collapse neurons (see `max_nodes`).
        max_values: raise `TooManyValues` past this many Values (None: no limit). It wins over
            the node cap: raising max_nodes would not help.

    Example:
        >>> x = Value(1.0)
        >>> y = x
        >>> for _ in range(50):
        ...     y = y * 2.0
        >>> walk(y, max_nodes=10)
        Traceback (most recent call last):
        ...
        autograd_tiny.see.trace.GraphTooLargeError: draw_dot: the graph has over 100 nodes to draw ...
    """
    limit = None if max_nodes is None else max_nodes * (LOOK_THROUGH if collapse else COUNT_AHEAD)
    inputs: dict = {}

    def inputs_of(v) -> list:  # the only place the walk reads a value's inputs
        found = inputs[v] = [p if isinstance(p, Value) else Constant(p) for p in v.parents]
        return found

    nodes: list = []
    seen = {id(root)}
    values = 1
    found = 2 if inputs_of(root) else 1  # a box, and an op node if it has inputs
    stack = [(root, iter(inputs[root]))]
    while stack:
        if max_values is not None and values > max_values:
            raise TooManyValues(values)
        if limit is not None and found > limit:
            if max_values is not None and _more_values_than(root, max_values):
                raise TooManyValues(max_values + 1)
            raise too_large(max_nodes, limit, exact=False, collapse=collapse)  # type: ignore[arg-type]
        node, parents = stack[-1]
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                if isinstance(parent, Value):
                    values += 1
                    found += 2 if inputs_of(parent) else 1
                else:
                    inputs[parent] = []
                    found += 1
                stack.append((parent, iter(inputs[parent])))
                break
        else:  # every input is placed: the node can follow them
            stack.pop()
            nodes.append(node)
    return Trace(root, nodes, inputs)


def _more_values_than(root: Value, limit: int) -> bool:
    """Whether root depends on more than `limit` Values (counting stops there). Asked only when
    a drawing's cap has stopped the walk, to tell which error to give."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in stack.pop().parents:
            if isinstance(p, Value) and id(p) not in seen:
                seen.add(id(p))
                if len(seen) > limit:
                    return True
                stack.append(p)
    return False


def check_size(nodes: int, edges: int, max_nodes: int | None, collapse: str | None) -> None:
    """Refuse a planned drawing of more than `max_nodes` nodes, or `EDGES_PER_NODE` times as many edges.

    Example:
        >>> check_size(3, 2, 10, None)  # fits: nothing happens
        >>> check_size(30, 2, 10, None)
        Traceback (most recent call last):
        ...
        autograd_tiny.see.trace.GraphTooLargeError: draw_dot: the graph has 30 nodes to draw, ...
    """
    if max_nodes is None:
        return
    if nodes > max_nodes:
        raise too_large(max_nodes, nodes, exact=True, collapse=collapse)
    if edges > EDGES_PER_NODE * max_nodes:
        raise too_large(max_nodes, nodes, exact=True, collapse=collapse, edges=edges)


def too_large(
    max_nodes: int, nodes: int, *, exact: bool, collapse: str | None, edges: int | None = None
) -> GraphTooLargeError:
    """draw_dot's one-line error for a drawing past its cap, with the ways out."""
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
