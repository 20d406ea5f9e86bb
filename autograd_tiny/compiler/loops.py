"""Loops: a sum over many terms of the same shape is written once, as one term's code in a loop.

A sum (or logsumexp) over many terms that all have the same shape, such as a loss averaged over
the examples of a batch, is written once: one term's code inside a loop over the terms. A term
is the part of the graph only that term uses (the model applied to one example, its loss);
what the terms share (the parameters) stays outside. Two terms have the same shape if their
parts are the same ops wired the same way to the same shared nodes; their own leaves (the
example's numbers) and the numbers in their expressions may differ: those become columns the
loop walks through. Python's sum() makes a chain of '+' nodes instead of one sum node: a long
chain is folded into its last node first, so that its terms can become a loop too.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.compiler.graph import traced
    >>> w = Value(0.5)
    >>> [loop] = plan_loops(traced(lambda X: Value.sum([(w * x).tanh() for x in X]), ([0.1 * i for i in range(10)],)))
    >>> loop.size, [node.op.name for node in loop.template]
    (10, ['*', 'tanh'])
"""

from __future__ import annotations

import functools
import operator

from ..engine import ADD, Op
from .arguments import each
from .formulas import Formulas, shown
from .graph import Graph, Node

__all__ = ["ROLL_MIN", "Loop", "Folded", "FOLDED", "plan_loops"]

ROLL_MIN = 8  # terms of the same shape, at least, for a loop instead of straight-line code
SHAPES = 8  # shapes of terms tried per sum


class _Template:
    """A term's own nodes (the first term of a shape), and what each of their inputs is."""

    def __init__(self, root: Node) -> None:
        own = _own_nodes(root)
        attached = _attached(own)
        self.usable = attached is not None
        self.ops = sorted((n for n in (*own, *(attached or ())) if n.how != "leaf"), key=_position)  # creation order
        self.holes = [] if self.ops else [root]  # the term's own leaves
        local = {n: j for j, n in enumerate(self.ops)}
        hole_at: dict[Node, int] = {}
        # The order `match` walks: the ops fn uses, the root first, then the unused ones (or only
        # compared) in creation order, each found as the k-th such user of its anchor (its first
        # input of the term's own). Per op (j, anchor or None, k, specs), with a spec per input: ('n', j)
        # own op, ('h', k) own leaf, ('s', node) shared, ('c',) a number.
        self.steps: list[tuple[int, tuple | None, int, list[tuple]]] = []
        self.const_slots: list[tuple[Node, int]] = []
        side = attached or set()  # (unused, or only compared)
        live = [j for j in range(len(self.ops) - 1, -1, -1) if self.ops[j] not in side]
        for j in [*live, *(j for j in range(len(self.ops)) if self.ops[j] in side)]:
            node = self.ops[j]
            specs: list[tuple] = []
            for i, p in enumerate(node.ins):
                if p.__class__ is not Node:
                    specs.append(("c",))
                    self.const_slots.append((node, i))
                elif p in local:
                    specs.append(("n", local[p]))
                elif p in own:
                    self.usable = self.usable and p.kind != "upstream"
                    if p not in hole_at:
                        hole_at[p] = len(self.holes)
                        self.holes.append(p)
                    specs.append(("h", hole_at[p]))
                else:
                    specs.append(("s", p))
            if node not in side:
                self.steps.append((j, None, 0, specs))
            else:
                anchor = next(spec for spec in specs if spec[0] in ("n", "h"))
                model = self.ops[anchor[1]] if anchor[0] == "n" else self.holes[anchor[1]]
                self.steps.append((j, anchor, _distinct(model.unused_users).index(node), specs))
        if not self.ops:
            self.usable = root.how == "leaf" and root.kind != "upstream" and not root.unused_users

    def match(self, root: Node) -> tuple[list, list, list] | None:
        """The term at root as (its ops, its own leaves, its numbers), if it has this shape."""
        if not self.ops:
            hole = self.holes[0]
            same = root.how == "leaf" and root.kind == hole.kind and root.users == hole.users
            return ([], [root], []) if same and not root.unused_users else None
        ops: list = [None] * len(self.ops)
        ops[-1] = root
        holes: list = [None] * len(self.holes)
        consts: list[float] = []
        for j, anchor, k, specs in self.steps:
            if anchor is not None:  # an unused op: found through its anchor, known by now
                found = _distinct((ops if anchor[0] == "n" else holes)[anchor[1]].unused_users)
                if k >= len(found) or ops[j] not in (None, found[k]) or found[k].loop is not None:
                    return None
                ops[j] = found[k]
            t, u = self.ops[j], ops[j]
            if (u.how != t.how or u.op is not t.op or u.nograd is not t.nograd or u.users != t.users
                    or (u.unused_users or t.unused_users) and len(u.unused_users) != len(t.unused_users)
                    or len(u.ins) != len(specs)):  # fmt: skip
                return None  # (equal use counts make sure nothing outside the term uses it)
            for spec, p in zip(specs, u.ins):
                tag = spec[0]
                if tag == "c":
                    if p.__class__ is Node:
                        return None
                    consts.append(p)
                elif tag == "s":
                    if p is not spec[1]:
                        return None
                elif p.__class__ is not Node:
                    return None
                else:
                    into, i = (ops, spec[1]) if tag == "n" else (holes, spec[1])
                    if into[i] is None:
                        model = self.ops[i] if tag == "n" else self.holes[i]
                        if ((p.how == "leaf") != (tag == "h") or p.kind != model.kind or p.users != model.users
                                or (p.unused_users or model.unused_users)
                                and len(p.unused_users) != len(model.unused_users)):  # fmt: skip
                            return None
                        into[i] = p
                    elif into[i] is not p:
                        return None
        return ops, holes, consts


_position = operator.attrgetter("index")


def _distinct(nodes: list[Node]) -> list[Node]:
    return list(dict.fromkeys(nodes))


def _live_users(node: Node) -> int:
    return node.users - len(node.unused_users)


def _own_nodes(root: Node) -> set[Node]:
    """root and the nodes only root uses: a node is root's once every use of it is (the uses
    by unused nodes aside: see _attached)."""
    own = {root}
    remaining: dict[Node, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        for p in node.ins:
            if p.__class__ is Node:
                left = remaining.get(p, _live_users(p)) - 1
                remaining[p] = left
                if left == 0:
                    own.add(p)
                    if p.how != "leaf":
                        stack.append(p)
    return own


def _attached(own: set[Node]) -> set[Node] | None:
    """The unused nodes (or only compared: graph.py) that go with a term, computed in its loop:
    those that use its nodes, and those that use them. None if one of them cannot be computed
    there: it uses a node of another loop, or is in one already."""
    found: set[Node] = set()
    todo = [u for node in own for u in node.unused_users]
    while todo:
        u = todo.pop()
        if u not in found:
            found.add(u)
            todo += u.unused_users
    for u in found:
        if u.loop is not None:
            return None
        for p in u.ins:
            if p.__class__ is Node and p.loop is not None and p not in own and p not in found:
                return None
    return found


class Loop:
    """Terms of `total` (positions in total.ins) computed by one template inside a for loop."""

    def __init__(self, total: Node, template: _Template, positions: list[int], terms: list[tuple]) -> None:
        self.total = total
        self.positions = positions
        self.template = template.ops  # the code of every term
        self.root = total.ins[positions[0]]
        self.holes = template.holes
        self.hole_columns = [[term[1][k] for term in terms] for k in range(len(template.holes))]
        self.const_slots = template.const_slots
        self.const_columns = [[term[2][c] for term in terms] for c in range(len(template.const_slots))]
        self.size = len(terms)
        self.guards: list[int] = []  # the first term's comparisons (indices in graph.guards): checked for each term
        self.all_guards: set[int] = set()  # those of every term
        self.exports: dict[Node, list[Node | None]] = {}  # template node -> the same node of each term
        # filled in by the writer: the loop's variables and their columns, the columns of the
        # terms' own Values, the saved numbers of each term for the backward loop, ...
        self.names: list[str] = []
        self.columns: list[str] = []
        self.objects: dict[Node, str] = {}
        self.export_names: dict[Node, str] = {}
        self.locals: set[str] = set()
        self.pos: str | None = None
        self.saved: str | None = None
        self.saved_start: list | None = None
        self.saved_spot: list | None = None


class Folded:
    """The `loop` of a '+' node folded into a chain: written by the chain's last node."""


FOLDED = Folded()


def _fold_chains(graph: Graph, outputs: set, guarded: set) -> None:
    """Python's sum(), and `total = total + term` in a loop, make a chain of '+' nodes, one per
    term. Fold each long chain into its last node, which then holds the terms (as Value.sum
    would), so that they can become a loop; the code still adds them one by one, in order."""
    if shown(ADD) != ["1.0", "1.0"]:
        return  # each term gets the total's gradient only where + passes it on unchanged
    for last in reversed(graph.nodes):
        if last.op is not ADD or last.how != "op" or last.loop is not None:
            continue
        links, terms, node = [last], [], last
        while True:
            i = _previous_link(node, outputs, guarded)
            if i is None:
                break
            terms.append(node.ins[1 - i])
            node = node.ins[i]
            links.append(node)
        a, b = node.ins  # the chain's first node: sum() starts it with 0 + the first term
        init = a if a.__class__ is not Node else b if b.__class__ is not Node else None
        first = [t for t in (a, b) if t.__class__ is Node]
        terms = first + terms[::-1]
        if len(terms) < ROLL_MIN or any(t.__class__ is not Node for t in terms):
            continue
        for node in links[1:]:
            node.loop = FOLDED
        last.how, last.ins, last.start = "chain", terms, init


def _previous_link(node: Node, outputs: set, guarded: set) -> int | None:
    """Which input of a '+' node is the previous node of a chain of '+' (used by it alone)."""
    for i, p in enumerate(node.ins):
        if (p.__class__ is Node and p.op is ADD and p.how == "op" and p.users == 1 and p.nograd is node.nograd
                and p not in outputs and p not in guarded):  # fmt: skip
            return i
    return None


def _is_total(node: Node) -> bool:
    """A node whose terms may become a loop: a chain of '+', or an op of any number of inputs
    (sum, logsumexp) whose one formula the writer can write for each term (not pick's, which
    treats each input by its position)."""
    op = node.op
    return node.how == "chain" or (node.how == "op" and op is not None and op.each and _sums(op))


@functools.lru_cache(maxsize=256)
def _sums(op: Op) -> bool:
    """An op of any number of inputs whose formula the writer can write for each input alike."""
    formulas = Formulas()
    return formulas.usable(op) and not formulas.by_position(op)


def plan_loops(graph: Graph) -> list[Loop]:
    """The loops of the graph: for each sum of many terms, one per shape of its terms that has
    at least ROLL_MIN of them (the nodes of those terms then know their loop)."""
    loops: list[Loop] = []
    guarded = {n for x, _, y, _, _ in graph.guards for n in (x, y) if n.__class__ is Node}
    guards_of: dict[Node, list[int]] = {}
    for k, (x, _, y, _, _) in enumerate(graph.guards):
        for n in {x, y} & guarded:
            guards_of.setdefault(n, []).append(k)
    outputs = set(each(graph.outputs, Node))
    _fold_chains(graph, outputs, guarded)
    for total in reversed(graph.nodes):
        terms = total.ins
        if not _is_total(total) or total.loop is not None or len(terms) < ROLL_MIN:
            continue
        if any(t.__class__ is not Node or _live_users(t) != 1 for t in terms):
            continue
        shapes: list[tuple[_Template, list[int], list]] = []  # template, positions, matches
        for q, t in enumerate(terms):
            for template, positions, matches in shapes:
                found = template.match(t)
                if found is not None:
                    positions.append(q)
                    matches.append(found)
                    break
            else:
                if len(shapes) < SHAPES:
                    template = _Template(t)
                    if template.usable:
                        shapes.append((template, [q], [template.match(t)]))
        for template, positions, matches in shapes:
            if len(positions) < ROLL_MIN:
                continue
            checks = _term_guards(graph.guards, guards_of, matches) if guards_of else ([], set())
            if checks is None:
                continue  # comparisons that differ from term to term: straight-line code checks them
            loop = Loop(total, template, positions, matches)
            loop.guards, loop.all_guards = checks
            for ops, holes, _ in matches:
                for node in ops:
                    node.loop = loop
                for node in holes:
                    node.loop = loop
            if any(node.loop is loop for node in outputs):  # outputs inside terms: the loop collects them
                for k, (ops, holes, _) in enumerate(matches):
                    for same, node in (*zip(template.ops, ops), *zip(template.holes, holes)):
                        if node in outputs:
                            loop.exports.setdefault(same, [None] * loop.size)[k] = node
            loops.append(loop)
    return loops


def _term_guards(guards: list[tuple], guards_of: dict[Node, list[int]], matches: list) -> tuple | None:
    """The comparisons on the terms' own nodes, if every term makes the same ones (the same
    test on its own numbers, with the same outcome: 0 <= label < 10 for each label): then the
    loop checks them for each term. Returns (the first term's, every term's) as indices in
    `guards`; None if they differ, or one compares nodes of two terms or a shared node."""
    model: list[tuple] | None = None
    first: list[int] = []
    every: set[int] = set()
    for ops, holes, _ in matches:
        place = {n: ("n", j) for j, n in enumerate(ops)} | {n: ("h", j) for j, n in enumerate(holes)}
        ks = sorted({k for n in place for k in guards_of.get(n, ())})
        specs = []
        for k in ks:
            x, symbol, y, outcome, _ = guards[k]
            if x not in place or (y.__class__ is Node and y not in place):
                return None
            specs.append((symbol, outcome, place[x], place[y] if y.__class__ is Node else ("c", y)))
        if model is None:
            model, first = specs, ks
        elif specs != model:
            return None
        every.update(ks)
    return first, every
