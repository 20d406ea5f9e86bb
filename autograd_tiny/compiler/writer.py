"""The writer: a graph and its loops written out as one Python function on plain floats.

The function ``step(D, A, backward)`` reads the numbers passed as arguments (D), the Values
passed as arguments (A) and those fn reached outside (E), runs the forward pass node by node
in the order fn made them, with fn's guards where fn compared or read a number; then, if
backward, the backward pass in the reverse order (the order backward() goes), and writes the
new gradients into ``.grad``. Each node's own code comes from `node_code`. A sum over many
terms of the same shape (`loops`) is one term's code inside a ``for`` loop, forward and back.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.compiler.graph import traced
    >>> x = Value(0.5, label="x")
    >>> writer = Writer(traced(lambda: (x * x).tanh(), ()), [], "f")
    >>> print(writer.text[writer.text.index("# the leaves'"):])
    # the leaves' gradients so far: backward() adds to them
        g_x = E[0].grad
    <BLANKLINE>
        g_v1 = 1.0  # d loss / d loss
        # v1: 'tanh'; d/dx = 1 - out * out
        g_v0 = (1 - v1 * v1) * g_v1
        # v0: '*'; d/dx = y, d/dy = x
        g_x += x * g_v0
        g_x += x * g_v0
    <BLANKLINE>
        # the new gradients
        E[0].grad = g_x
        return (v1,)
    <BLANKLINE>
"""

from __future__ import annotations

import collections
import operator

from ..engine import Value, topological_order
from ..grad_mode import enable_grad
from .arguments import each
from .formulas import Code
from .graph import Graph, Node, neuron_op_of, op_of
from .loops import Loop
from .node_code import NodeCode
from .source import WORD, literal, natural, quote, wrap

__all__ = ["Writer", "Retrace"]


class Retrace(Exception):
    """Raised by the generated code when a comparison fn made while traced comes out otherwise."""


# the names the code itself uses (its arguments, its namespace, its loop variables)
_FIXED = frozenset({"D", "A", "E", "backward", "step", "data_of", "grad_of", "Retrace", "backward_through",
                    "pos", "p", "g", "shape"})  # fmt: skip


class Writer(NodeCode):
    """Writes the step function of a graph: inputs, forward pass, backward pass, outputs."""

    def __init__(self, graph: Graph, loops: list[Loop], fn_name: str) -> None:
        super().__init__(_FIXED, {
            "data_of": operator.attrgetter("data"), "grad_of": operator.attrgetter("grad"), "Retrace": Retrace,
            "backward_through": _backward_through,
        })  # fmt: skip
        self.graph = graph
        self.loops_of: dict[Node, list[Loop]] = collections.defaultdict(list)
        for loop in loops:
            self.loops_of[loop.total].append(loop)
        self.merged: dict[Node, str] = {}  # a total of several loops -> what its terms keep
        self.exports: list[str] = []  # lists of per-term outputs, returned after the outputs
        self.outside: list[Value] = []  # Values the code reads: E[0], E[1], ...
        self.grad_objects: list[Value] = []  # Values whose .grad the code reads and writes
        self._write(fn_name)
        self.namespace["E"] = tuple(self.outside)

    # -------------------------------------------------------------- the whole function

    def _write(self, fn_name: str) -> None:
        graph = self.graph
        self.depth = 0
        self.line("def step(D, A, backward):")
        self.depth = 1
        self.line('"""The forward pass, then (if backward) the backward pass, on plain floats.')
        self.line("")
        self.line("D: the numbers passed as arguments; A: the Values passed as arguments.")
        self.line('"""')
        self.line(f"# written by autograd_tiny.compile from the function {quote(fn_name)}")
        self._inputs()
        self.line("")
        self.line("# ---------------------------------------------------------------- forward pass")
        self._forward_pass()
        returned = [self.val[node] for node in each(graph.outputs, Node) if node.loop is None] + self.exports
        outputs = f"({', '.join(returned)},)" if returned else "()"
        if graph.loss is not None and graph.loss.reach:
            self.line("if not backward:")
            self.lines.append([2, f"return {outputs}"])
            self.line("")
            self.line("# ---------------------------------------------------------------- backward pass")
            self._backward_pass(graph.loss)
        self.line(f"return {outputs}")

    def _inputs(self) -> None:
        leaves = [leaf for leaf in self.graph.leaves if leaf.loop is None]
        for leaf in leaves:
            if leaf.kind == "constant":
                self.val[leaf] = literal(leaf.data)
        kinds = [
            ("number", "x", "the numbers passed as arguments"),
            ("value", "a", "the Values passed as arguments"),
            ("outside", "p", "the Values fn reached outside its arguments (parameters)"),
            ("upstream", "u", "Values made by ops before fn ran (the engine follows their graphs)"),
        ]
        for kind, prefix, what in kinds:
            group = [leaf for leaf in leaves if leaf.kind == kind]
            if not group:
                continue
            self.line("")
            self.line(f"# {what}")
            names = [self.name(leaf, prefix) for leaf in group]
            if kind in ("number", "value"):
                where = [leaf.slot for leaf in group]
            else:
                where = list(range(len(self.outside), len(self.outside) + len(group)))
                self.outside += [leaf.obj for leaf in group]
            source = {"number": "D", "value": "A"}.get(kind, "E")
            if len(group) <= 6:
                for name, k, leaf in zip(names, where, group):
                    label = f"label {quote(leaf.label)}" if leaf.label and leaf.label != name else ""
                    self.line(f"{name} = {source}[{k}]" + ("" if kind == "number" else ".data"), label)
            else:
                every = source == "E" and where == list(range(len(self.outside)))
                items = (
                    source
                    if every
                    else f"{self.register(operator.itemgetter(*where), 'ITEMS', True)}({source})"
                )
                self.wrapped("(", names, f") = {items}" if kind == "number" else f") = map(data_of, {items})")

    # -------------------------------------------------------------- forward

    def _forward_pass(self) -> None:
        graph = self.graph
        guards_at = collections.defaultdict(list)
        looped = {k for loops in self.loops_of.values() for loop in loops for k in loop.all_guards}
        for k, guard in enumerate(graph.guards):
            if k not in looped:  # (a term's comparison is checked in its loop)
                guards_at[guard[4]].append((k, guard))
        for i, node in enumerate(graph.nodes):
            for k, guard in guards_at.pop(i, ()):
                self._guard(k, guard)
            if node.loop is None:
                if node in self.loops_of:
                    self._loops_forward(node)
                self.forward(node)
        for pending in guards_at.values():
            for k, guard in pending:
                self._guard(k, guard)

    def _guard(self, k: int, guard: tuple) -> None:
        x, symbol, y, outcome, _ = guard
        a = self.v(x) if x.__class__ is Node else literal(x)
        if symbol == "same":  # fn read the number out of the Value: it must be the same number
            test = f"{a} != {a}" if y != y else f"{a} == {literal(y)}"
            why = "fn read this number while traced"
        else:
            test = f"{a} {symbol} {self.v(y) if y.__class__ is Node else literal(y)}"
            why = f"fn compared these while traced ({outcome})"
        self.line(f"if {'not ' if outcome else ''}({test}):", f"{why}: else trace again")
        self.lines.append([self.depth + 1, f"raise Retrace({k})"])

    # -------------------------------------------------------------- backward

    def _backward_pass(self, loss: Node) -> None:
        graph = self.graph
        leaves = [leaf for leaf in graph.leaves if leaf.reach and leaf.loop is None]
        self.line("# the leaves' gradients so far: backward() adds to them")
        for leaf in leaves:
            if leaf.kind == "value":
                self.line(f"{self.grad[leaf]} = A[{leaf.slot}].grad")
        outside = [leaf for leaf in leaves if leaf.kind == "outside"]
        self.grad_objects += [leaf.obj for leaf in outside]
        if len(outside) <= 6:
            for leaf in outside:
                self.line(f"{self.grad[leaf]} = E[{self.outside.index(leaf.obj)}].grad")
        else:
            self._outside_grads = self.register(tuple(leaf.obj for leaf in outside), "EG", True)
            self.wrapped(
                "(", [self.grad[leaf] for leaf in outside], f") = map(grad_of, {self._outside_grads})"
            )
        for leaf in leaves:
            if leaf.kind == "upstream":  # made by an op: backward() starts those from 0
                self.line(f"{self.grad[leaf]} = 0.0")
        self.inited.update(leaves)
        self.line("")
        if loss.how == "leaf":
            self.line(f"{self.grad[loss]} += 1.0", "the loss is a leaf: d loss / d loss = 1")
        else:
            self.line(f"{self.grad[loss]} = 1.0", "d loss / d loss")
            self.inited.add(loss)
        for node in reversed(graph.nodes):
            if node.loop is None and node.reach and node.wants:
                self.backward(node)
                if node in self.loops_of:
                    self._loops_backward(node)
        self._write_grads(leaves, outside)

    def _write_grads(self, leaves: list[Node], outside: list[Node]) -> None:
        self.line("")
        self.line("# the new gradients")
        for leaf in leaves:
            if leaf.kind == "value":
                self.line(f"A[{leaf.slot}].grad = {self.grad[leaf]}")
        if len(outside) <= 6:
            for leaf in outside:
                self.line(f"E[{self.outside.index(leaf.obj)}].grad = {self.grad[leaf]}")
        else:
            self.wrapped(
                f"for p, g in zip({self._outside_grads}, (", [self.grad[leaf] for leaf in outside], ")):"
            )
            self.lines.append([self.depth + 1, "p.grad = g"])
        upstream = [leaf for leaf in leaves if leaf.kind == "upstream"]
        if upstream:
            objects = self.register(tuple(leaf.obj for leaf in upstream), "UP", True)
            self.wrapped(f"backward_through({objects}, (", [self.grad[leaf] for leaf in upstream], ",))")

    # -------------------------------------------------------------- loops

    def _loops_forward(self, total: Node) -> None:
        loops = self.loops_of[total]
        lst = self.terms[total] = self.fresh("T")
        whole = len(loops) == 1 and loops[0].positions == list(range(len(total.ins)))
        self.line("")
        if not whole:
            self.line(f"{lst} = [0.0] * {len(total.ins)}", "the terms, filled in below")
        if (
            len(loops) > 1
            and all(t.loop is not None for t in total.ins)
            and total.reach
            and total.wants
            and not any(h.reach and h.kind in ("value", "outside") for loop in loops for h in loop.holes)
        ):
            # terms of several shapes, all in loops: the backward pass walks them in one loop
            shared = self.merged[total] = self.fresh("S")
            self.line(f"{shared} = [None] * {len(total.ins)}", "what each term keeps for the backward pass")
        for loop in loops:
            self._loop_forward(loop, lst, whole)
        if not whole:
            for q, t in enumerate(total.ins):
                if t.loop is None:
                    self.line(f"{lst}[{q}] = {self.v(t)}")

    def _loop_forward(self, loop: Loop, lst: str, whole: bool) -> None:
        n = loop.size
        loop.names, loop.columns, loop.objects = [], [], {}
        self.line(f"# {n} terms of the same shape: the code of one, run for each")
        for hole, column in zip(loop.holes, loop.hole_columns):
            loop.names.append(self.name(hole, "h", label=False))
            loop.columns.append(self._hole_column(loop, hole, column))
        for (node, i), column in zip(loop.const_slots, loop.const_columns):
            if any(c != column[0] and not (c != c and column[0] != column[0]) for c in column):
                name = self.const_of[(node, i)] = self.fresh("c")  # a number that varies
                loop.names.append(name)
                loop.columns.append(self.register(tuple(column), "C", True))
        loop.pos = None
        if not whole:
            loop.pos = self.register(tuple(loop.positions), "POS", True)
        for node in loop.template:  # the terms' variables, named beforehand
            self.name(node, "t", label=False)
            if node.how == "op" and not self.formulas.usable(op_of(node)):
                self.helper[node] = self.fresh("d")
            elif node.how == "neuron" and neuron_op_of(node).act is not None:
                self.zs[node] = self.fresh("z")
        loop.locals = {self.val[node] for node in (*loop.template, *loop.holes)} | set(loop.names)
        loop.locals |= {names[node] for names in (self.helper, self.zs) for node in loop.template if node in names}
        root = self.val[loop.root]
        for template_node in loop.exports:
            name = loop.export_names[template_node] = self.fresh("X")
            self.exports.append(name)
        if not loop.template and whole:  # the terms are leaves: the list is their column
            self.line(f"{lst} = list({loop.columns[0]})")
            for name in loop.export_names.values():
                self.line(f"{name} = {lst}", "an output of each term")
            loop.saved = None
            return
        for name in loop.export_names.values():
            self.line(f"{name} = []", "an output of each term")
        if whole:
            self.line(f"{lst} = []")
        loop.saved = None
        if loop.total in self.merged:
            loop.saved = self.merged[loop.total]
        elif loop.root.wants and loop.total.reach:
            loop.saved = self.fresh("S")
            loop.saved_start = self.placeholder()
        names, columns = list(loop.names), list(loop.columns)
        if loop.pos and not whole:
            names.append("pos")
            columns.append(loop.pos)
        what = []
        if loop.holes:
            what.append("h: the term's own leaves")
        if any(name.startswith("c") for name in names):
            what.append("c: its numbers that differ from term to term")
        self._for(names, columns, n, comment="; ".join(what))
        self.depth += 1
        checks = self._term_checks(loop)
        for k in checks.pop(-1, ()):
            self._guard(k, self.graph.guards[k])
        for j, node in enumerate(loop.template):
            self.forward(node)
            for k in checks.pop(j, ()):
                self._guard(k, self.graph.guards[k])
        self.line(f"{lst}.append({root})" if whole else f"{lst}[pos] = {root}")
        for template_node, name in loop.export_names.items():
            self.line(f"{name}.append({self.val[template_node]})")
        loop.saved_spot = self.placeholder() if loop.saved else None
        self.depth -= 1

    def _term_checks(self, loop: Loop) -> dict[int, list[int]]:
        """The comparisons each term makes (the first term's, in the template's names), by the
        template op after which they are checked (-1: on the term's own leaves alone, first)."""
        at = {node: j for j, node in enumerate(loop.template)}
        checks: dict[int, list[int]] = collections.defaultdict(list)
        causes = self.graph.causes
        for k in loop.guards:
            x, _, y, _, _ = self.graph.guards[k]
            checks[max(at.get(n, -1) for n in (x, y) if n.__class__ is Node)].append(k)
            causes[k] += f" (or the same in another of the {loop.size} terms)"
        return checks

    def _hole_column(self, loop: Loop, hole: Node, column: list[Node]) -> str:
        """The code's list of a term leaf's numbers, one per term."""
        kind = hole.kind
        if kind == "constant":
            return self.register(tuple(leaf.data for leaf in column), "H", True)
        name = self.fresh("H")
        if kind == "number":
            slots = [leaf.slot for leaf in column]
            step = slots[1] - slots[0] if len(slots) > 1 else 1
            if step > 0 and all(b - a == step for a, b in zip(slots, slots[1:])):
                stride = f":{step}" if step > 1 else ""
                self.line(f"{name} = D[{slots[0]}:{slots[-1] + 1}{stride}]")
            else:
                self.line(f"{name} = list({self.register(operator.itemgetter(*slots), 'ITEMS', True)}(D))")
            return name
        if kind == "value":
            objects = self.fresh("O")
            getter = self.register(operator.itemgetter(*[leaf.slot for leaf in column]), "ITEMS", True)
            self.line(f"{objects} = {getter}(A)")
        else:
            objects = self.register(tuple(leaf.obj for leaf in column), "O", True)
            if hole.reach:
                self.grad_objects += [leaf.obj for leaf in column]
        loop.objects[hole] = objects
        self.line(f"{name} = list(map(data_of, {objects}))")
        return name

    def _for(
        self, names: list[str], columns: list[str], n: int, reverse: bool = False, comment: str = ""
    ) -> None:
        if reverse:
            columns = [f"reversed({c})" for c in columns]
        if not names:
            self.line(f"for _ in range({n}):", comment)
        elif len(names) == 1:
            self.line(f"for {names[0]} in {columns[0]}:", comment)
        else:
            self.line(f"for {', '.join(names)} in zip({', '.join(columns)}):", comment)

    def _loops_backward(self, total: Node) -> None:
        """Back through the terms computed by loops, last first, as backward() goes."""
        loops = [loop for loop in self.loops_of[total] if loop.root.wants]
        if not loops:
            return
        self.line(
            f"# back through the {sum(loop.size for loop in loops)} terms, last first, as backward() goes"
        )
        for loop in loops:
            for node in loop.template:  # the gradients the terms add to (shared nodes) start here
                for p in node.ins:
                    if p.__class__ is Node and p.wants and p.loop is not loop and p not in self.inited:
                        self.line(f"{self.grad[p]} = 0.0")
                        self.inited.add(p)
        if total in self.merged:
            self._merged_backward(total, loops)
        else:
            for loop in loops:
                self._loop_backward(loop)

    def _merged_backward(self, total: Node, loops: list[Loop]) -> None:
        """One loop over terms of several shapes, each term by the code of its shape: the
        parameters' gradients add up in the engine's order (shape loops one after the other
        would add the same numbers in another order)."""
        kinds = [0] * len(total.ins)
        for k, loop in enumerate(loops):
            for q in loop.positions:
                kinds[q] = k
        shapes = self.register(tuple(kinds), "SHAPE", True)
        kept = self.fresh("kept")
        lst = self.merged[total]
        self.line(f"for shape, {kept} in zip(reversed({shapes}), reversed({lst})):")
        self.depth += 1
        for k, loop in enumerate(loops):
            self.line(f"{'if' if k == 0 else 'elif'} shape == {k}:")
            self.depth += 1
            unpack = self.placeholder()
            saved = self._term_backward(loop, [])
            if saved:
                assert loop.saved_spot is not None  # the forward loop of a merged total's terms keeps a spot
                packed = f"({', '.join(saved)},)" if len(saved) > 1 else saved[0]
                loop.saved_spot[1] = (
                    wrap(f"{lst}[pos] = (", saved, ",)") if len(saved) > 1 else f"{lst}[pos] = {packed}"
                )
                unpack[1] = wrap("(", saved, f",) = {kept}") if len(saved) > 1 else f"{saved[0]} = {kept}"
            self.depth -= 1
        self.depth -= 1

    def _loop_backward(self, loop: Loop) -> None:
        holes = [h for h in loop.holes if h.reach and h.kind in ("value", "outside")]
        collected = {h: self.fresh("GH") for h in holes}
        objects = {h: self.fresh("o") for h in holes}
        for h in holes:
            self.line(f"{collected[h]} = []", "the new gradients of the terms' own leaves")
        header = self.placeholder()
        self.depth += 1
        unpack = self.placeholder()
        for h in holes:
            self.line(f"{self.grad[h]} = {objects[h]}.grad")
        saved = self._term_backward(loop, holes)
        for h in holes:
            self.line(f"{collected[h]}.append({self.grad[h]})")
        self.depth -= 1
        names, columns = [], []
        if saved and loop.saved:  # the numbers the forward loop kept for this
            assert loop.saved_start is not None and loop.saved_spot is not None  # placed with loop.saved
            packed = f"({', '.join(saved)},)" if len(saved) > 1 else saved[0]
            loop.saved_start[1] = f"{loop.saved} = []"
            loop.saved_spot[1] = (
                wrap(f"{loop.saved}.append((", saved, ",))")
                if len(saved) > 1
                else f"{loop.saved}.append({packed})"
            )
            if len(saved) > 1:
                kept = self.fresh("kept")
                names.append(kept)
                unpack[1] = wrap("(", saved, f",) = {kept}")
            else:
                names.append(saved[0])
            columns.append(loop.saved)
        else:  # no forward loop: what it reads are the loop's columns themselves
            for name in saved:
                names.append(name)
                columns.append(loop.columns[loop.names.index(name)])
        for h in holes:
            names.append(objects[h])
            columns.append(loop.objects[h])
        depth, self.depth = self.depth, header[0]
        self._for(names, columns, loop.size, reverse=True)
        self.depth = depth
        header[1] = self.lines.pop()[1]
        for h in holes:
            self.line(f"for p, g in zip(reversed({loop.objects[h]}), {collected[h]}):")
            self.lines.append([self.depth + 1, "p.grad = g"])

    def _term_backward(self, loop: Loop, holes: list[Node]) -> list[str]:
        """One term's backward pass (the template's); returns the names it reads from the
        forward pass, which the forward loop must keep."""
        body = len(self.lines)
        total = loop.total
        self.inited.difference_update(loop.template)
        self.inited.update(holes)
        g_total, root = self.grad[total], loop.root
        why = "d total / d term, times the total's gradient"
        if total.how == "chain":
            self.add(None, [(root, g_total)], why)
        else:  # the total's formula, at this term
            op, args, out = op_of(total), [self.val[root]], self.val[total]
            local = self.formulas.local(op, 0, [None])
            if isinstance(local, Code):
                self.add(None, [(root, self.times(local, args, out, g_total))], why)
            else:
                self.line(f"# {why}")
                self.flow([(local, args, lambda code: [(root, self.times(code, args, out, g_total))], [root])], out)
        for node in reversed(loop.template):
            if node.reach and node.wants:
                self.backward(node)
        used = {word for _, text in self.lines[body:] for word in WORD.findall(text.split("#")[0])}
        return sorted(used & loop.locals, key=natural)


def _backward_through(nodes: tuple, grads: tuple) -> None:
    """backward() through graphs made before fn ran: Values made by ops that fn reached. The
    engine's chain rule over their recorded local derivatives, as one backward() would go."""
    with enable_grad():
        order = topological_order(Value.sum(nodes))
    order.pop()
    for node in order:
        node.grad = 0.0
    for node, g in zip(nodes, grads):
        node.grad += g
    for node in reversed(order):
        g = node.grad
        for p, d in zip(node.parents, node.local_grads):
            if d is not None and p.__class__ is Value:
                p.grad += d * g
