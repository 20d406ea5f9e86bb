"""A node's code: its statement in the forward pass, and the chain rule along each of its edges.

In the forward pass a node is one statement, ``out = ...``: the op's Python operator, its
function's own expression, or a call of its function (`formulas`). In the backward pass it is,
for each input, the chain rule as the engine's backward() does it, ``g_x += d * g_out``, with d
the input's local derivative, the op's formula written out in the code's variables; where the
formula says None in a branch (no gradient flows), the addition sits inside an ``if``. An op
without usable formulas (a custom `primitive`) has its rule called in the forward pass, as the
engine does, and its derivatives read from that. A fused neuron has code of its own (the
sum w·x+b written out, and s = act'(z) from the activation's formula).

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.compiler.graph import traced
    >>> x, y = Value(0.5, label="x"), Value(3.0, label="y")
    >>> graph = traced(lambda: (x * y).relu(), ())
    >>> code = NodeCode(frozenset(), {})
    >>> for leaf in graph.leaves:
    ...     _ = code.name(leaf, "p")
    >>> for node in graph.nodes:
    ...     code.forward(node)
    >>> code.inited.update(graph.leaves)
    >>> for node in reversed(graph.nodes):
    ...     code.backward(node)
    >>> print(code.text, end="")
    v0 = x * y  # v0: '*'
    v1 = 0.0 if v0 <= 0.0 else v0  # v1: 'relu'
    g_v1 = 0.0  # no gradient arrived here
    # v1: 'relu'; d/dx = None if out <= 0 else 1.0 (None: nothing flows)
    g_v0 = 0.0
    if not v1 <= 0.0:
        g_v0 += g_v1
    # v0: '*'; d/dx = y, d/dy = x
    g_x += y * g_v0
    g_y += x * g_v0
"""

from __future__ import annotations

import builtins
import functools
import keyword
import math
import operator
from collections.abc import Sequence
from typing import Any

from ..engine import ADD, BUILTIN_OPS, Op
from ..formulas import FORMULA_NAMES
from ..neuron import NEURONS
from .formulas import Branch, Code, Formulas, Local, faster, function, shown
from .graph import Node, neuron_op_of, op_of
from .source import Source, identifier, literal, quote

__all__ = ["NodeCode", "describe"]

# names a label never takes: Python's, the formulas' functions and the table's ops' (and the
# code's own, given to NodeCode)
_RESERVED = (
    frozenset(keyword.kwlist) | frozenset(dir(builtins)) | frozenset(FORMULA_NAMES)
    | frozenset(name for op in BUILTIN_OPS for name in (op.name, getattr(op.fn, "__name__", "")))
)  # fmt: skip
_ONE = Code("1.0", frozenset(), one=True, simple=True)
# what the nodes' code itself needs in its namespace: the names of nan and inf (see literal),
# and reduce(add, terms) for a chain of '+'
_OWN = {"inf": math.inf, "nan": math.nan, "reduce": functools.reduce, "add": operator.add}


class NodeCode(Source):
    """The code of nodes, one at a time: each node's variables, its forward statement and its
    backward lines (see the module's documentation).

    Args:
        reserved: the names the code uses for itself.
        namespace: the objects the code starts with, by name.
    """

    def __init__(self, reserved: frozenset, namespace: dict[str, Any]) -> None:
        super().__init__(reserved | frozenset(_OWN), {**_OWN, **namespace})
        # a formula's function may take a name of Python's own (pow): the code never calls Python's
        self.taken.difference_update(name for name in FORMULA_NAMES if name not in self.namespace)
        self.reserved = _RESERVED | reserved
        self.formulas = Formulas()
        self.val: dict[Node, str] = {}  # node -> its forward value: a variable or a number
        self.grad: dict[Node, str] = {}  # node -> the variable of its gradient
        self.helper: dict[Node, str] = {}  # ops run by their rule -> the variable of their local derivatives
        self.zs: dict[Node, str] = {}  # neurons -> the variable of w·x+b
        self.inited: set[Node] = set()  # nodes whose gradient variable has a value
        self.const_of: dict[tuple[Node, int], str] = {}  # numbers that vary from term to term (loops.py)
        self.terms: dict[Node, str] = {}  # a total computed by loops -> the list of its terms

    # -------------------------------------------------------------- names

    def name(self, node: Node, prefix: str, label: bool = True) -> str:
        """A new variable for node: its label if that is a safe, free name, else prefix + number."""
        if label and identifier(node.label) and node.label not in self.reserved and node.label not in self.taken:
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

    # -------------------------------------------------------------- forward

    def forward(self, node: Node) -> None:
        how = node.how
        o = self.val[node] if node in self.val else self.name(node, "v")
        comment = describe(node, o)
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

    def add(self, cond: str | None, items: list, comment: str = "") -> None:
        """Add each (input, expression) to that input's gradient (if cond holds)."""
        items = [(p, e) for p, e in items if p.__class__ is Node and p.wants]
        if cond is None:
            for p, e in items:
                g = self.grad[p]
                self.line(f"{g} += {e}" if p in self.inited else f"{g} = {e}", comment)
                self.inited.add(p)
                comment = ""
            return
        for p, _ in items:
            if p not in self.inited:  # backward() starts every gradient at 0
                self.line(f"{self.grad[p]} = 0.0")
                self.inited.add(p)
        if items:
            self.line(f"if {cond}:", comment)
        for p, e in items:
            self.lines.append([self.depth + 1, f"{self.grad[p]} += {e}"])

    def backward(self, node: Node) -> None:
        how, ins = node.how, node.ins
        if node not in self.inited:
            self.line(f"{self.grad[node]} = 0.0", "no gradient arrived here")
            self.inited.add(node)
        g, o = self.grad[node], self.v(node)
        self.line(f"# {describe(node, o)}; {_rule(node)}")
        if how == "chain":  # every term gets the total's gradient
            self.add(None, [(p, g) for p in ins if p.loop is None])
        elif how == "neuron":
            self._neuron_backward(node, g, o, [self.arg(node, i) for i in range(len(ins))])
        elif not self.formulas.usable(op_of(node)):  # the op's own rule, computed in the forward pass
            d = self.helper[node]
            for i, p in enumerate(ins):
                self.add(f"{d}[{i}] is not None", [(p, f"{d}[{i}] * {g}")])
        else:
            terms = node in self.terms  # a total computed by loops: the terms outside them, here
            self.flow([self._edge(node, i, g) for i, p in enumerate(ins)
                        if p.__class__ is Node and p.wants and not (terms and p.loop is not None)], o)  # fmt: skip

    def _edge(self, node: Node, i: int, g: str) -> tuple:
        """The addition to input i's gradient, as a part for `_flow`: the formula's inputs are
        the node's (for an op of any number of inputs, x is input i alone, unless the formula
        reads them all: pick's)."""
        op, p, o = op_of(node), node.ins[i], self.v(node)
        ks = [i] if op.each and not self.formulas.spans(op) else range(len(node.ins))
        args = [self.arg(node, k) for k in ks]
        local = self.formulas.local(op, i, [self.number(node, k) for k in ks])
        return local, args, lambda code: [(p, self.times(code, args, o, g))], [p]

    def times(self, code: Code, args: Sequence[str], out: str, g: str) -> str:
        """d * g, the chain rule's product, with d the local derivative's code (d = 1: g itself)."""
        if code.one:
            return g
        d = self.fill(code, args, out)
        return f"{d} * {g}" if code.simple else f"({d}) * {g}"

    def flow(self, parts: list[tuple], out: str) -> None:
        """The gradient additions of parts (local, args, leaf, targets): local is a local
        derivative (`Code`, `Branch`, or None where nothing flows) whose holes args fill,
        leaf(code) the additions [(input, expression)] where it is code, targets the inputs
        they add to. Consecutive parts that branch on the same test share one ``if``."""
        i = 0
        while i < len(parts):
            local, args = parts[i][:2]
            if not isinstance(local, Branch):
                if local is not None:
                    self.add(None, parts[i][2](local))
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
        self.flow(parts, out)
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
        self.flow([(slope, [z], leaf, targets)], o)


def describe(node: Node, name: str) -> str:
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
        if each_input and any(name in texts[0] for name in ("i ", "xs[")):
            text += " (i: its position; xs: all the inputs)"
    elif each_input:
        text = ", ".join(f"d/d{name} = {t}" for name, t in zip(op.inputs, texts))
    else:
        text = texts[0]
    return text + (" (None: nothing flows)" if any("None" in t for t in texts) else "")
