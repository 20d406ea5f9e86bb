"""The writer: a graph and its loops written out as one Python function on plain floats.

The function ``step(D, A, backward)`` reads the numbers passed as arguments (D) and the Values
passed as arguments (A), runs the forward pass node by node, and, if backward, the backward
pass: each node's local derivatives times its gradient, added to its inputs' gradients, in the
reverse of the order fn made the nodes (the order backward() goes). The code holds no user
text but in comments, quoted; the objects it needs are in its namespace, under safe names.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.compiler.graph import traced
    >>> x = Value(0.5, label="x")
    >>> writer = Writer(traced(lambda: x * x, ()), [], "square")
    >>> print(writer.source[writer.source.index("# the leaves'"):])
    # the leaves' gradients so far: backward() adds to them
        g_x = E[0].grad
    <BLANKLINE>
        g_v0 = 1.0  # d loss / d loss
        # v0: '*'; d/dx = y, d/dy = x
        g_x += x * g_v0
        g_x += x * g_v0
    <BLANKLINE>
        # the new gradients
        E[0].grad = g_x
        return (v0,)
    <BLANKLINE>
"""

from __future__ import annotations

import builtins
import collections
import functools
import keyword
import math
import operator
import re
from collections.abc import Sequence
from typing import Any

from ..engine import Value, enable_grad, topological_order
from .arguments import each
from .graph import Graph, Node, neuron_op_of, op_of
from .loops import Loop

__all__ = ["Writer", "Retrace"]


class Retrace(Exception):
    """Raised by the generated code when a comparison fn made while traced comes out otherwise."""



_RULES = {  # the local derivatives, as comments in the backward pass
    "+": "d/dx = 1, d/dy = 1",
    "*": "d/dx = y, d/dy = x",
    "/": "d/dx = 1/y, d/dy = -out/y",
    "**": "d/dx = y x**(y-1), d/dy = out log(x)",
    "exp": "d/dx = out",
    "log": "d/dx = 1/x",
    "tanh": "d/dx = 1 - out**2",
    "sigmoid": "d/dx = out (1 - out)",
    "softplus": "the engine's rule (sigmoid)",
    "relu": "d/dx = 1 where out > 0; where out = 0, nothing flows",
    "leaky_relu": "d/dx = 1 (x > 0) or slope; d/dslope = 0 or x",
    "abs": "d/dx = sign(x)",
    "sin": "d/dx = cos(x)",
    "cos": "d/dx = -sin(x)",
    "sum": "1 for each input",
    "chain": "1 for each term (through every +)",
    "logsumexp": "softmax: e**(x_i - out) for each input",
    "custom": "its rule, computed in the forward pass",
}

# the names the code itself uses (its arguments, its namespace, its loop variables)
_FIXED = {"D", "A", "E", "backward", "step", "data_of", "grad_of", "exp", "log", "tanh", "sin", "cos", "inf",
          "nan", "Retrace", "backward_through", "reduce", "add", "pos", "p", "g", "shape"}  # fmt: skip
_RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | _FIXED


def _safe_name(label: str) -> bool:
    """A label usable as a variable: a short ASCII identifier, no keyword, none of our names."""
    return (
        isinstance(label, str) and 0 < len(label) <= 24 and label.isascii() and label.isidentifier()
        and not keyword.iskeyword(label) and not label.startswith(("_", "g_")) and label not in _RESERVED
    )  # fmt: skip


def _literal(x: float) -> str:
    x = float(x)
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "(-inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def _quote(text: str, limit: int = 40) -> str:
    """User text in a comment: escaped (no line break can end the comment), and short."""
    text = str(text)
    return ascii(text if len(text) <= limit else text[: limit - 3] + "...")


class Writer:
    """Writes the step function of a graph: inputs, forward pass, backward pass, outputs."""

    def __init__(self, graph: Graph, loops: list[Loop], fn_name: str) -> None:
        self.graph = graph
        self.loops_of: dict[Node, list[Loop]] = collections.defaultdict(list)
        for loop in loops:
            self.loops_of[loop.total].append(loop)
        self.lines: list[list] = []  # [indent, text]: text is None for an unused placeholder
        self.depth = 1
        self.taken: set[str] = set(_RESERVED)
        self.counters: collections.Counter = collections.Counter()
        self.namespace: dict[str, Any] = {
            "exp": math.exp, "log": math.log, "tanh": math.tanh, "sin": math.sin, "cos": math.cos,
            "inf": math.inf, "nan": math.nan, "data_of": operator.attrgetter("data"),
            "grad_of": operator.attrgetter("grad"), "Retrace": Retrace,
            "backward_through": _backward_through,
            "reduce": functools.reduce, "add": operator.add,
        }  # fmt: skip
        self._registered: dict[int, str] = {id(math.tanh): "tanh"}  # the engine's tanh is math's
        self.val: dict[Node, str] = {}  # node -> its forward value: a variable or a number
        self.grad: dict[Node, str] = {}  # node -> the variable of its gradient
        self.helper: dict[Node, str] = {}  # custom ops -> the variable of their local derivatives
        self.inited: set[Node] = set()  # nodes whose gradient variable has a value
        self.const_of: dict[tuple[Node, int], str] = {}  # numbers that vary from term to term
        self.terms: dict[Node, str] = {}  # a total computed by loops -> the list of its terms
        self.slopes: dict[Node, str] = {}  # a logsumexp total -> its local derivatives
        self.merged: dict[Node, str] = {}  # a total of several loops -> what its terms keep
        self.exports: list[str] = []  # lists of per-term outputs, returned after the outputs
        self.outside: list[Value] = []  # Values the code reads: E[0], E[1], ...
        self.grad_objects: list[Value] = []  # Values whose .grad the code reads and writes
        self._write(fn_name)
        self.namespace["E"] = tuple(self.outside)

    # -------------------------------------------------------------- names and lines

    def fresh(self, prefix: str) -> str:
        while True:
            name = f"{prefix}{self.counters[prefix]}"
            self.counters[prefix] += 1
            if name not in self.taken:
                self.taken.add(name)
                return name

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

    def register(self, obj: Any, wanted: str, numbered: bool = False) -> str:
        """obj in the namespace of the code, under a free name (its own, like 'sigmoid', or a
        numbered one, like 'H0'): the code never holds user text, only names."""
        name = self._registered.get(id(obj))
        if name is None:
            if numbered:
                name = self.fresh(wanted)
            elif _safe_name(wanted) and wanted not in self.taken:
                name = wanted
            else:
                name = self.fresh("op")
            self.taken.add(name)
            self.namespace[name] = obj
            self._registered[id(obj)] = name
        return name

    def v(self, node: Node) -> str:
        return self.val[node]

    def arg(self, node: Node, i: int) -> str:
        """The code for input i of node: a variable, or a number written out."""
        p = node.ins[i]
        if p.__class__ is Node:
            return self.v(p)
        name = self.const_of.get((node, i))
        return _literal(p) if name is None else name

    def number(self, node: Node, i: int) -> float | None:
        """Input i of node if it is a number known now (the same in every term), else None."""
        p = node.ins[i]
        if p.__class__ is Node:
            return p.data if p.how == "leaf" and p.kind == "constant" and p.loop is None else None
        return None if (node, i) in self.const_of else p

    def line(self, text: str, comment: str = "") -> None:
        self.lines.append([self.depth, f"{text}  # {comment}" if comment else text])

    def placeholder(self) -> list:
        spot = [self.depth, None]
        self.lines.append(spot)
        return spot

    def wrapped(self, head: str, items: list[str], tail: str, comment: str = "") -> None:
        """head + items joined by commas + tail, over several lines if long (never one huge line)."""
        for depth, text in _wrap(head, items, tail, comment):
            self.lines.append([self.depth + depth, text])

    @property
    def source(self) -> str:
        out = []
        for depth, text in self.lines:
            if isinstance(text, list):  # a placeholder filled with several lines
                out += ["    " * (depth + d) + t + "\n" for d, t in text]
            elif text is not None:
                out.append("    " * depth + text + "\n" if text else "\n")
        return "".join(out)

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
        self.line(f"# written by autograd_tiny.compile from the function {_quote(fn_name)}")
        self._inputs()
        self.line("")
        self.line("# ---------------------------------------------------------------- forward pass")
        self._forward_pass()
        returned = [
            self.val[node] for node in each(graph.outputs, Node) if node.loop is None
        ] + self.exports
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
                self.val[leaf] = _literal(leaf.data)
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
                    label = f"label {_quote(leaf.label)}" if leaf.label and leaf.label != name else ""
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
        a = self.v(x) if x.__class__ is Node else _literal(x)
        if symbol == "same":  # fn read the number out of the Value: it must be the same number
            test = f"{a} != {a}" if y != y else f"{a} == {_literal(y)}"
            why = "fn read this number while traced"
        else:
            test = f"{a} {symbol} {self.v(y) if y.__class__ is Node else _literal(y)}"
            why = f"fn compared these while traced ({outcome})"
        self.line(f"if {'not ' if outcome else ''}({test}):", f"{why}: else trace again")
        self.lines.append([self.depth + 1, f"raise Retrace({k})"])

    def _forward(self, node: Node) -> None:
        how = node.how
        o = self.val[node] if node in self.val else self.name(node, "v")
        comment = _describe(node, o)
        if node in self.terms:  # a total whose terms loops computed
            lst = self.terms[node]
            if how == "sum":
                self.line(f"{o} = sum({lst})", comment)
            elif how == "chain":  # the chain's additions, one by one, in order
                start = "" if node.start is None else f", {_literal(node.start)}"
                self.line(f"{o} = reduce(add, {lst}{start})", comment)
            else:
                self.line(f"{o} = {self.register(op_of(node).fn, 'logsumexp')}(*{lst})", comment)
            return
        a = [self.arg(node, i) for i in range(len(node.ins))]
        if how in ("+", "*", "/"):
            self.line(f"{o} = {a[0]} {how} {a[1]}", comment)
        elif how == "**":
            x, y = self.number(node, 0), self.number(node, 1)
            if (y is not None and math.isfinite(y) and y.is_integer()) or (
                x is not None and 0 < x < math.inf
            ):
                self.line(f"{o} = {a[0]} ** {a[1]}", comment)  # here ** is the engine's pow
            else:
                self.line(f"{o} = {self.register(op_of(node).fn, 'power')}({a[0]}, {a[1]})", comment)
        elif how in ("exp", "log", "tanh", "sin", "cos"):  # math's (an error sends the call to the engine)
            self.line(f"{o} = {how}({a[0]})", comment)
        elif how in ("sigmoid", "softplus"):
            self.line(f"{o} = {self.register(op_of(node).fn, how)}({a[0]})", comment)
        elif how == "relu":
            self.line(f"{o} = 0.0 if {a[0]} <= 0.0 else {a[0]}", comment)
        elif how == "leaky_relu":
            self.line(f"{o} = {a[0]} if {a[0]} > 0.0 else {a[1]} * {a[0]}", comment)
        elif how == "abs":
            self.line(f"{o} = abs({a[0]})", comment)
        elif how == "sum":  # the engine's sum(xs): the same additions in the same order
            self.wrapped(f"{o} = sum((", a, ",))" if len(a) == 1 else "))", comment)
        elif how == "chain":
            start = "" if node.start is None else f", {_literal(node.start)}"
            self.wrapped(f"{o} = reduce(add, (", a, f"){start})", comment)
        elif how == "logsumexp":
            self.wrapped(f"{o} = {self.register(op_of(node).fn, 'logsumexp')}(", a, ")", comment)
        elif how == "neuron":
            self._neuron_forward(node, o, a, comment)
        elif how == "detach":
            self.line(f"{o} = {a[0]}", comment)
        else:  # a custom primitive: its function, and its rule now, as the engine does
            op = op_of(node)
            f = self.register(op.fn, str(op.name))
            r = self.register(op.rule, f"{f}_rule")
            d = self.helper.get(node) or self.fresh("d")  # (a loop names it beforehand)
            self.helper[node] = d
            self.line(f"{o} = {f}({', '.join(a)})", comment)
            self.line(f"{d} = {r}({', '.join([*a, o])})", "its local derivatives")

    def _neuron_forward(self, node: Node, o: str, a: list[str], comment: str) -> None:
        n = len(a) // 2
        products = [f"{a[i]} * {a[n + i]}" for i in range(n)]  # as the engine's sum(map(mul, w, x))
        bias = f" + {a[2 * n]}" if len(a) % 2 else ""
        op = neuron_op_of(node)
        act = op.activation
        z = o if act is None else self.fresh("z")
        if n <= 2:  # sum() of two floats is their + (the sign of a zero aside)
            self.line(f"{z} = {' + '.join(products) or '0'}{bias}", comment)
        else:
            self.wrapped(f"{z} = sum((", products, f")){bias}", comment)
        if act == "relu":
            self.line(f"{o} = 0.0 if {z} <= 0.0 else {z}")
        elif op.act is not None:
            self.line(f"{o} = {self.register(op.act.fn, op.act.name)}({z})")

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
        if node in self.terms:  # a total computed by loops: the terms outside them, here
            lst = self.terms[node]
            rest = [(q, p) for q, p in enumerate(ins) if p.loop is None]
            if how in ("sum", "chain"):
                self._add(None, [(p, g) for _, p in rest])
            else:
                d = self.slopes[node] = self.fresh("d")
                self.line(f"{d} = {self.register(op_of(node).rule, 'logsumexp_rule')}(*{lst}, {o})")
                self._add(None, [(p, f"{d}[{q}] * {g}") for q, p in rest])
            return
        a = [self.arg(node, i) for i in range(len(ins))]
        if how in ("+", "sum", "chain"):
            self._add(None, [(p, g) for p in ins])
        elif how == "*":
            self._add(None, [(ins[0], f"{a[1]} * {g}"), (ins[1], f"{a[0]} * {g}")])
        elif how == "/":
            self._add(None, [(ins[0], f"(1 / {a[1]}) * {g}"), (ins[1], f"(-{o} / {a[1]}) * {g}")])
        elif how == "**":
            self._pow_backward(node, g, o, a)
        elif how == "exp":
            self._add(None, [(ins[0], f"{o} * {g}")])
        elif how == "log":
            self._add(None, [(ins[0], f"(1 / {a[0]}) * {g}")])
        elif how == "tanh":
            self._add(None, [(ins[0], f"(1 - {o} * {o}) * {g}")])
        elif how == "sigmoid":
            self._add(None, [(ins[0], f"({o} * (1 - {o})) * {g}")])
        elif how == "relu":
            self._add(f"{o} != 0.0", [(ins[0], g)])  # relu's output is 0 exactly where it is flat
        elif how == "leaky_relu":
            self._add(f"{a[0]} > 0.0", [(ins[0], g), (ins[1], f"0.0 * {g}")],
                      [(ins[0], f"{a[1]} * {g}"), (ins[1], f"{a[0]} * {g}")])  # fmt: skip
        elif how == "abs":
            self._add(None, [(ins[0], f"(1.0 if {a[0]} > 0.0 else -1.0 if {a[0]} < 0.0 else 0.0) * {g}")])
        elif how in ("softplus", "sin", "cos"):  # the engine's rule itself
            rule = self.register(op_of(node).rule, f"{how}_rule")
            self._add(None, [(ins[0], f"{rule}({a[0]}, {o})[0] * {g}")])
        elif how == "logsumexp":
            d = self.fresh("d")
            self.wrapped(f"{d} = {self.register(op_of(node).rule, 'logsumexp_rule')}(", [*a, o], ")")
            self._add(None, [(p, f"{d}[{i}] * {g}") for i, p in enumerate(ins)])
        elif how == "neuron":
            self._neuron_backward(node, g, o, a)
        elif how == "custom":
            d = self.helper[node]
            for i, p in enumerate(ins):
                self._add(f"{d}[{i}] is not None", [(p, f"{d}[{i}] * {g}")])

    def _pow_backward(self, node: Node, g: str, o: str, a: list[str]) -> None:
        x, y = self.number(node, 0), self.number(node, 1)
        if y is not None:  # x ** number: y x**(y-1); x ** 0 is flat, nothing flows
            if y != 0:
                slope = (
                    f"{_literal(y)} * {a[0]}"
                    if y - 1 == 1
                    else f"{_literal(y)} * {a[0]} ** {_literal(y - 1)}"
                )
                self._add(None, [(node.ins[0], f"({slope}) * {g}")])
        elif x is not None:  # number ** y: out log(x), 0 at x = 0, nan below
            if x > 0:
                self._add(None, [(node.ins[1], f"({o} * {_literal(math.log(x))}) * {g}")])
            else:
                self._add(None, [(node.ins[1], f"{_literal(0.0 if x == 0 else math.nan)} * {g}")])
        else:
            d = self.fresh("d")
            self.line(f"{d} = {self.register(op_of(node).rule, 'power_rule')}({a[0]}, {a[1]}, {o})")
            for i in (0, 1):
                self._add(f"{d}[{i}] is not None", [(node.ins[i], f"{d}[{i}] * {g}")])

    def _neuron_backward(self, node: Node, g: str, o: str, a: list[str]) -> None:
        ins = node.ins
        n = len(ins) // 2
        act = neuron_op_of(node).activation
        cond, s = None, ""
        if act == "relu":
            cond = f"{o} != 0.0"  # a flat relu passes nothing to any input
        elif act in ("tanh", "sigmoid"):
            slope = self.fresh("s")
            self.line(
                f"{slope} = " + (f"1 - {o} * {o}" if act == "tanh" else f"{o} * (1 - {o})"), f"{act}'(z)"
            )
            s = f"{slope} * "
        items = [(ins[i], f"{s}{a[n + i]} * {g}") for i in range(n)]  # d/dw[i] = act'(z) x[i]
        items += [(ins[n + i], f"{s}{a[i]} * {g}") for i in range(n)]  # d/dx[i] = act'(z) w[i]
        if len(ins) % 2:
            items.append((ins[2 * n], f"{s}{g}" if s else g))
        self._add(cond, items)

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
        if not whole or loop.total.how == "logsumexp":
            loop.pos = self.register(tuple(loop.positions), "POS", True)
        for node in loop.template:
            self.name(node, "t", label=False)
            if node.how == "custom":
                self.helper[node] = self.fresh("d")
        loop.locals = {self.val[node] for node in (*loop.template, *loop.holes)} | set(loop.names)
        loop.locals |= {self.helper[node] for node in loop.template if node in self.helper}
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
        if total.how == "logsumexp":
            self.line(
                f"for pos, shape, {kept} in zip(range({len(kinds) - 1}, -1, -1), reversed({shapes}), "
                f"reversed({lst})):"
            )
        else:
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
                    _wrap(f"{lst}[pos] = (", saved, ",)") if len(saved) > 1 else f"{lst}[pos] = {packed}"
                )
                unpack[1] = _wrap("(", saved, f",) = {kept}") if len(saved) > 1 else f"{saved[0]} = {kept}"
            self.depth -= 1
        self.depth -= 1

    def _loop_backward(self, loop: Loop) -> None:
        total = loop.total
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
                _wrap(f"{loop.saved}.append((", saved, ",))")
                if len(saved) > 1
                else f"{loop.saved}.append({packed})"
            )
            if len(saved) > 1:
                kept = self.fresh("kept")
                names.append(kept)
                unpack[1] = _wrap("(", saved, f",) = {kept}")
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
        if total.how == "logsumexp":
            assert loop.pos is not None  # the forward loop of a logsumexp's terms names their positions
            names.append("pos")
            columns.append(loop.pos)
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
        g_total = self.grad[total]
        slope = f"{self.slopes[total]}[pos] * {g_total}" if total.how == "logsumexp" else g_total
        root = loop.root
        if root in self.inited:
            self.line(f"{self.grad[root]} += {slope}")
        else:
            self.line(f"{self.grad[root]} = {slope}", "d total / d term, times the total's gradient")
            self.inited.add(root)
        for node in reversed(loop.template):
            if node.reach and node.wants:
                self._backward(node)
        used = {word for _, text in self.lines[body:] for word in _WORD.findall(text.split("#")[0])}
        return sorted(used & loop.locals, key=_natural)


def _wrap(head: str, items: list[str], tail: str, comment: str = "") -> list[tuple[int, str]]:
    """Lines (relative indent, text) of head + items joined by commas + tail, short ones."""
    text = head + ", ".join(items) + tail
    if len(text) <= 100:
        return [(0, f"{text}  # {comment}" if comment else text)]
    lines = [(0, f"{head}  # {comment}" if comment else head)]
    row = ""
    for item in items:
        if row and len(row) + len(item) > 90:
            lines.append((1, row.rstrip()))
            row = ""
        row += item + ", "
    lines.append((1, row.rstrip()))
    lines.append((0, tail.lstrip(",")))  # the rows end with a comma already
    return lines


_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _natural(name: str) -> tuple:
    head = name.rstrip("0123456789")
    return (head, int(name[len(head) :] or 0))


def _describe(node: Node, name: str) -> str:
    """A comment for a node: what it is, and its label when the variable is not named after it."""
    if node.how == "neuron":
        act = neuron_op_of(node).activation
        text = f"a neuron, {act}(w·x+b)" if act else "a neuron, w·x+b"
        text += f" of {len(node.ins) // 2} input(s)"
    elif node.how == "custom":
        text = f"custom primitive {_quote(op_of(node).name)}"
    elif node.how == "detach":
        text = "detach(): the same number, no gradient"
    elif node.how == "chain":
        text = f"{len(node.ins)} '+' nodes in a chain, as Python's sum() makes"
    else:
        text = f"'{node.how}'"
    if node.nograd:
        text += ", under no_grad"
    if node.label and node.label != name:
        text += f", label {_quote(node.label)}"
    return f"{name}: {text}"


def _rule(node: Node) -> str:
    """The local derivatives of a node, for the comment above its lines in the backward pass."""
    if node.how != "neuron":
        return _RULES.get(node.how, "")
    act = neuron_op_of(node).activation
    if act == "relu":
        return "where relu is on (out > 0): d/dw_i = x_i, d/dx_i = w_i, d/db = 1; where off, nothing flows"
    if act is None:
        return "d/dw_i = x_i, d/dx_i = w_i, d/db = 1"
    slope = {"tanh": "1 - out**2", "sigmoid": "out (1 - out)"}[act]
    return f"d/dw_i = s x_i, d/dx_i = s w_i, d/db = s, with s = {act}'(z) = {slope}"


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
