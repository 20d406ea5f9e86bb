"""The writer: a graph and its loops written out as one Python function on plain floats.

The function ``step(D, A, backward)`` reads the numbers passed as arguments (D) and the Values
passed as arguments (A), runs the forward pass node by node, and, if backward, the backward
pass, in the reverse of the order fn made the nodes (the order backward() goes): at each node,
for each input, the chain rule as the engine does it, ``g_input += d * g_node``, with d the
input's local derivative written out from the op's formula (`formulas`). Where the formula
says None in a branch (no gradient flows), the addition sits inside an ``if``. An op without
usable formulas (a custom `primitive`) has its own rule called in the forward pass, as the
engine does. The code holds no user text but in comments, quoted; the objects it needs are in
its namespace, under safe names.

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

import builtins
import collections
import functools
import keyword
import math
import operator
from collections.abc import Sequence

from ..engine import ADD, BUILTIN_OPS, NEURONS, Op, Value, enable_grad, topological_order
from ..ieee import FORMULA_NAMES
from .arguments import each
from .formulas import Branch, Code, Formulas, Local, faster, function, shown
from .graph import Graph, Node, neuron_op_of, op_of
from .loops import Loop
from .source import WORD, Source, identifier, literal, natural, quote, wrap

__all__ = ["Writer", "Retrace"]


class Retrace(Exception):
    """Raised by the generated code when a comparison fn made while traced comes out otherwise."""


# the names the code itself uses (its arguments, its namespace, its loop variables)
_FIXED = frozenset({"D", "A", "E", "backward", "step", "data_of", "grad_of", "inf", "nan", "Retrace",
                    "backward_through", "reduce", "add", "pos", "p", "g", "shape"})  # fmt: skip
# names a label never takes: those, Python's, the formulas' functions and the table's ops'
_RESERVED = (
    frozenset(keyword.kwlist) | frozenset(dir(builtins)) | _FIXED | frozenset(FORMULA_NAMES)
    | frozenset(name for op in BUILTIN_OPS for name in (op.name, getattr(op.fn, "__name__", "")))
)  # fmt: skip
_ONE = Code("1.0", frozenset(), one=True, simple=True)


def _safe_name(label: str) -> bool:
    """A label usable as a variable: a short ASCII identifier, none of the code's own names."""
    return identifier(label) and label not in _RESERVED


class Writer(Source):
    """Writes the step function of a graph: inputs, forward pass, backward pass, outputs."""

    def __init__(self, graph: Graph, loops: list[Loop], fn_name: str) -> None:
        super().__init__(_FIXED, {
            "inf": math.inf, "nan": math.nan, "data_of": operator.attrgetter("data"),
            "grad_of": operator.attrgetter("grad"), "Retrace": Retrace, "backward_through": _backward_through,
            "reduce": functools.reduce, "add": operator.add,
        })  # fmt: skip
        # a formula's function may take a name of Python's own (pow): the code never calls Python's
        self.taken.difference_update(name for name in FORMULA_NAMES if name not in self.namespace)
        self.graph = graph
        self.formulas = Formulas()
        self.loops_of: dict[Node, list[Loop]] = collections.defaultdict(list)
        for loop in loops:
            self.loops_of[loop.total].append(loop)
        self.val: dict[Node, str] = {}  # node -> its forward value: a variable or a number
        self.grad: dict[Node, str] = {}  # node -> the variable of its gradient
        self.helper: dict[Node, str] = {}  # ops run by their rule -> the variable of their local derivatives
        self.zs: dict[Node, str] = {}  # neurons -> the variable of w·x+b
        self.inited: set[Node] = set()  # nodes whose gradient variable has a value
        self.const_of: dict[tuple[Node, int], str] = {}  # numbers that vary from term to term
        self.terms: dict[Node, str] = {}  # a total computed by loops -> the list of its terms
        self.merged: dict[Node, str] = {}  # a total of several loops -> what its terms keep
        self.exports: list[str] = []  # lists of per-term outputs, returned after the outputs
        self.outside: list[Value] = []  # Values the code reads: E[0], E[1], ...
        self.grad_objects: list[Value] = []  # Values whose .grad the code reads and writes
        self._write(fn_name)
        self.namespace["E"] = tuple(self.outside)

    # -------------------------------------------------------------- names

    def name(self, node: Node, prefix: str, label: bool = True) -> str:
        """A new variable for node: its label if that is a safe, free name, else prefix + number."""
        if label and _safe_name(node.label) and node.label not in self.taken:
            self.taken.add(node.label)
            name = node.label
        else:
            name = self.fresh(prefix)
        self.val[node] = name
        self.grad[node] = "g_" + name  # no variable starts with g_, so these never collide
        return name

    def v(self, node: Node) -> str:
        return self.val[node]

    def arg(self, node: Node, i: int) -> str:
        """The code for input i of node: a variable, or a number written out."""
        p = node.ins[i]
        if p.__class__ is Node:
            return self.v(p)
        name = self.const_of.get((node, i))
        return literal(p) if name is None else name

    def number(self, node: Node, i: int) -> float | None:
        """Input i of node if it is a number known now (the same in every term), else None."""
        p = node.ins[i]
        if p.__class__ is Node:
            return p.data if p.how == "leaf" and p.kind == "constant" and p.loop is None else None
        return None if (node, i) in self.const_of else p

    def fill(self, code: Code, args: Sequence[str], out: str) -> str:
        """code with its holes filled: the inputs' code, the output's variable, the functions'
        names in the namespace."""
        return code.fill(args, out, {name: self.register(function(name), name) for name in code.calls})

    def function_of(self, op: Op) -> str:
        """The name under which the code calls op's function: the function's own name for the
        engine's ops (sum's is total), the op's for a custom primitive (its function is wrapped)."""
        own = getattr(op.fn, "__name__", "")
        wanted = own if op.from_formulas and identifier(own) else op.name if identifier(op.name) else "op"
        return self.register(faster(op.fn), wanted)

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

    # -------------------------------------------------------------- forward

    def _forward_pass(self) -> None:
        graph = self.graph
        guards_at = collections.defaultdict(list)
        for k, guard in enumerate(graph.guards):
            guards_at[guard[4]].append((k, guard))
        for i, node in enumerate(graph.nodes):
            for k, guard in guards_at.pop(i, ()):
                self._guard(k, guard)
            if node.loop is None:
                if node in self.loops_of:
                    self._loops_forward(node)
                self._forward(node)
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

    def _forward(self, node: Node) -> None:
        how = node.how
        o = self.val[node] if node in self.val else self.name(node, "v")
        comment = _describe(node, o)
        if node in self.terms:  # a total whose terms loops computed
            lst = self.terms[node]
            if how == "chain":  # the chain's additions, one by one, in order
                start = "" if node.start is None else f", {literal(node.start)}"
                self.line(f"{o} = reduce(add, {lst}{start})", comment)
            else:
                self.line(f"{o} = {self.function_of(op_of(node))}(*{lst})", comment)
            return
        a = [self.arg(node, i) for i in range(len(node.ins))]
        if how == "chain":
            start = "" if node.start is None else f", {literal(node.start)}"
            self.wrapped(f"{o} = reduce(add, (", a, f"){start})", comment)
        elif how == "neuron":
            self._neuron_forward(node, o, a, comment)
        elif how == "detach":
            self.line(f"{o} = {a[0]}", comment)
        else:
            self._op_forward(node, o, a, comment)

    def _op_forward(self, node: Node, o: str, a: list[str], comment: str) -> None:
        """out = the op's operator, or its function's own expression, or a call of its function;
        for an op without usable formulas, its rule too, now, as the engine does."""
        op = op_of(node)
        code = self.formulas.forward(op, [self.number(node, i) for i in range(len(a))])
        if code is not None:
            self.line(f"{o} = {self.fill(code, a, o)}", comment)
        else:
            self.wrapped(f"{o} = {self.function_of(op)}(", a, ")", comment)
        if not self.formulas.usable(op):
            rule = self.register(op.rule, f"{self.function_of(op)}_rule")
            d = self.helper.get(node) or self.fresh("d")  # (a loop names it beforehand)
            self.helper[node] = d
            self.wrapped(f"{d} = {rule}(", [*a, o], ")", "its local derivatives")

    def _neuron_forward(self, node: Node, o: str, a: list[str], comment: str) -> None:
        n = len(a) // 2
        products = [f"{a[i]} * {a[n + i]}" for i in range(n)]  # as the engine's sum(map(mul, w, x))
        bias = f" + {a[2 * n]}" if len(a) % 2 else ""
        act = neuron_op_of(node).act
        z = self.zs[node] = o if act is None else self.zs.get(node) or self.fresh("z")
        if n <= 2:  # sum() of two floats is their + (the sign of a zero aside)
            self.line(f"{z} = {' + '.join(products) or '0'}{bias}", comment)
        else:
            self.wrapped(f"{z} = sum((", products, f")){bias}", comment)
        if act is not None:
            code = self.formulas.forward(act, [None])
            self.line(f"{o} = {self.fill(code, [z], o) if code else f'{self.function_of(act)}({z})'}")

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
                self._backward(node)
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

    def _add(self, cond: str | None, items: list, otherwise: Sequence = ()) -> None:
        """Add each (input, expression) to that input's gradient: if cond, else `otherwise`."""
        items = [(p, e) for p, e in items if p.__class__ is Node and p.wants]
        otherwise = [(p, e) for p, e in otherwise if p.__class__ is Node and p.wants]
        if cond is None:
            for p, e in items:
                g = self.grad[p]
                self.line(f"{g} += {e}" if p in self.inited else f"{g} = {e}")
                self.inited.add(p)
            return
        for p, _ in (*items, *otherwise):
            if p not in self.inited:  # backward() starts every gradient at 0
                self.line(f"{self.grad[p]} = 0.0")
                self.inited.add(p)
        if items:
            self.line(f"if {cond}:")
        elif otherwise:
            self.line(f"if not ({cond}):")
        for p, e in items or otherwise:
            self.lines.append([self.depth + 1, f"{self.grad[p]} += {e}"])
        if items and otherwise:
            self.line("else:")
            for p, e in otherwise:
                self.lines.append([self.depth + 1, f"{self.grad[p]} += {e}"])

    def _backward(self, node: Node) -> None:
        how, ins = node.how, node.ins
        if node not in self.inited:
            self.line(f"{self.grad[node]} = 0.0", "no gradient arrived here")
            self.inited.add(node)
        g, o = self.grad[node], self.v(node)
        self.line(f"# {_describe(node, o)}; {_rule(node)}")
        if how == "chain":  # every term gets the total's gradient
            self._add(None, [(p, g) for p in ins if p.loop is None])
        elif how == "neuron":
            self._neuron_backward(node, g, o, [self.arg(node, i) for i in range(len(ins))])
        elif not self.formulas.usable(op_of(node)):  # the op's own rule, computed in the forward pass
            d = self.helper[node]
            for i, p in enumerate(ins):
                self._add(f"{d}[{i}] is not None", [(p, f"{d}[{i}] * {g}")])
        else:
            terms = node in self.terms  # a total computed by loops: the terms outside them, here
            self._flow([self._edge(node, i, g) for i, p in enumerate(ins)
                        if p.__class__ is Node and p.wants and not (terms and p.loop is not None)], o)  # fmt: skip

    def _edge(self, node: Node, i: int, g: str) -> tuple:
        """The addition to input i's gradient, as a part for `_flow`: the formula's inputs are
        the node's (for an op of any number of inputs, x is input i alone)."""
        op, p, o = op_of(node), node.ins[i], self.v(node)
        ks = [i] if op.each else range(len(node.ins))
        args = [self.arg(node, k) for k in ks]
        local = self.formulas.local(op, i, [self.number(node, k) for k in ks])
        return local, args, lambda code: [(p, self._times(code, args, o, g))], [p]

    def _times(self, code: Code, args: Sequence[str], out: str, g: str) -> str:
        """d * g, the chain rule's product, with d the local derivative's code (d = 1: g itself)."""
        if code.one:
            return g
        d = self.fill(code, args, out)
        return f"{d} * {g}" if code.simple else f"({d}) * {g}"

    def _flow(self, parts: list[tuple], out: str) -> None:
        """The gradient additions of parts (local, args, leaf, targets): local is a local
        derivative (`Code`, `Branch`, or None where nothing flows) whose holes args fill,
        leaf(code) the additions [(input, expression)] where it is code, targets the inputs
        they add to. Consecutive parts that branch on the same test share one ``if``."""
        i = 0
        while i < len(parts):
            local, args = parts[i][:2]
            if not isinstance(local, Branch):
                if local is not None:
                    self._add(None, parts[i][2](local))
                i += 1
                continue
            test = self.fill(local.test, args, out)
            j = i + 1
            while j < len(parts) and isinstance(parts[j][0], Branch):
                if self.fill(parts[j][0].test, parts[j][1], out) != test:
                    break
                j += 1
            self._branch(parts[i:j], out)
            i = j

    def _branch(self, group: list[tuple], out: str, word: str = "if") -> None:
        """``if test:`` the parts' ``then``, ``else:`` their ``otherwise`` (a side where nothing
        flows is left out: ``if not test:``); an ``else`` that is one more test is an ``elif``."""
        local, args = group[0][:2]
        then = [(b.then, *rest) for b, *rest in group if b.then is not None]
        otherwise = [(b.otherwise, *rest) for b, *rest in group if b.otherwise is not None]
        if not then and not otherwise:
            return
        for *_, targets in group:
            for p in targets:
                if p not in self.inited:  # backward() starts every gradient at 0
                    self.line(f"{self.grad[p]} = 0.0")
                    self.inited.add(p)
        if not then:
            self.line(f"{word} {self.fill(local.negated, args, out)}:")
            self._indented(otherwise, out)
            return
        self.line(f"{word} {self.fill(local.test, args, out)}:")
        self._indented(then, out)
        if not otherwise:
            return
        first = otherwise[0][0]
        if isinstance(first, Branch) and all(
            isinstance(b, Branch) and self.fill(b.test, b_args, out) == self.fill(first.test, otherwise[0][1], out)
            for b, b_args, *_ in otherwise
        ):
            self._branch(otherwise, out, "elif")
        else:
            self.line("else:")
            self._indented(otherwise, out)

    def _indented(self, parts: list[tuple], out: str) -> None:
        self.depth += 1
        self._flow(parts, out)
        self.depth -= 1

    def _neuron_backward(self, node: Node, g: str, o: str, a: list[str]) -> None:
        """d out / d w[i] = s x[i], d out / d x[i] = s w[i], d out / d b = s, with s the slope of
        the activation at z = w·x+b, from the activation's own formula."""
        ins = node.ins
        n = len(ins) // 2
        act = neuron_op_of(node).act
        z = self.zs[node]
        targets = [p for p in ins if p.__class__ is Node and p.wants]

        def leaf(code: Code) -> list[tuple]:
            s = ""
            if not code.one:
                s = self.fill(code, [z], o)
                if not code.simple or code.calls:
                    name = self.fresh("s")
                    self.line(f"{name} = {s}", f"{act.name if act else 'dot'}'(z)")
                    s = name
                s += " * "
            items = [(ins[i], f"{s}{a[n + i]} * {g}") for i in range(n)]  # d/dw[i] = s x[i]
            items += [(ins[n + i], f"{s}{a[i]} * {g}") for i in range(n)]  # d/dx[i] = s w[i]
            if len(ins) % 2:
                items.append((ins[2 * n], f"{s}{g}" if s else g))  # d/db = s
            return items

        if act is None:
            slope: Local = _ONE
        elif self.formulas.usable(act):
            slope = self.formulas.local(act, 0, [None])
        else:  # the activation's own rule
            s = self.fresh("s")
            self.line(f"{s} = {self.register(act.rule, f'{self.function_of(act)}_rule')}({z}, {o})[0]")
            is_none = Code(f"{s} is None", frozenset())
            slope = Branch(is_none, None, Code(s, frozenset(), simple=True), Code(f"{s} is not None", frozenset()))
        self._flow([(slope, [z], leaf, targets)], o)

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
        for node in loop.template:
            self._forward(node)
        self.line(f"{lst}.append({root})" if whole else f"{lst}[pos] = {root}")
        for template_node, name in loop.export_names.items():
            self.line(f"{name}.append({self.val[template_node]})")
        loop.saved_spot = self.placeholder() if loop.saved else None
        self.depth -= 1

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
        self.line("# d total / d term, times the total's gradient")
        if total.how == "chain":
            self._add(None, [(root, g_total)])
        else:  # the total's formula, at this term
            op, args, out = op_of(total), [self.val[root]], self.val[total]
            self._flow([(self.formulas.local(op, 0, [None]), args,
                         lambda code: [(root, self._times(code, args, out, g_total))], [root])], out)  # fmt: skip
        for node in reversed(loop.template):
            if node.reach and node.wants:
                self._backward(node)
        used = {word for _, text in self.lines[body:] for word in WORD.findall(text.split("#")[0])}
        return sorted(used & loop.locals, key=natural)


def _describe(node: Node, name: str) -> str:
    """A comment for a node: what it is, and its label when the variable is not named after it."""
    if node.how == "neuron":
        act = neuron_op_of(node).activation
        text = f"a neuron, {act}(w·x+b)" if act else "a neuron, w·x+b"
        text += f" of {len(node.ins) // 2} input(s)"
    elif node.how == "detach":
        text = "detach(): the same number, no gradient"
    elif node.how == "chain":
        text = f"{len(node.ins)} '+' nodes in a chain, as Python's sum() makes"
    elif op_of(node).from_formulas:
        text = quote(op_of(node).name)
    else:
        text = f"custom primitive {quote(op_of(node).name)}"
    if node.nograd:
        text += ", under no_grad"
    if node.unused:
        text += ", unused: computed as the engine did, for the errors it may raise"
    if node.label and node.label != name:
        text += f", label {quote(node.label)}"
    return f"{name}: {text}"


def _rule(node: Node) -> str:
    """The local derivatives of a node, from its op's formulas, for the comment above its lines
    in the backward pass (a custom primitive's formula is the user's text: never written)."""
    if node.how == "chain":
        return f"at each '+', {_formulas_shown(ADD)}: each term gets the total's gradient"
    op = op_of(node)
    if node.how == "neuron":
        act = neuron_op_of(node).act
        texts = shown(op, extra=("s",)) if op in NEURONS.values() else None
        if texts is None:
            return "its own rule, computed in the forward pass"
        rule = ", ".join(f"d/d{name} = {text}" for name, text in zip(op.inputs, texts))
        slope = "1" if act is None else f"{act.name}'(z) = {_formulas_shown(act, each_input=False)}"
        return f"{rule}, with s = {slope}"
    if not op.from_formulas:
        return "its own rule, computed in the forward pass"
    return _formulas_shown(op)


def _formulas_shown(op: Op, each_input: bool = True) -> str:
    texts = shown(op) if op.from_formulas else None
    if texts is None:
        return "its own rule, computed in the forward pass"
    if op.each:
        text = f"d/dx = {texts[0]} for each input x" if each_input else texts[0]
    elif each_input:
        text = ", ".join(f"d/d{name} = {t}" for name, t in zip(op.inputs, texts))
    else:
        text = texts[0]
    return text + (" (None: no gradient flows)" if any("None" in t for t in texts) else "")


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
