"""The engine: the rule of every operation, a scalar `Value`, and `backward()`. Top to bottom:

1. **The rules**: one line per primitive op: its name, its function on floats, and the local
   derivative of its output with respect to each input (``*``: d out / d x = y, d out / d y = x).
2. **Value**: a number that remembers how it was made. Every operation computes its output,
   records its inputs and their local derivatives (numbers, from the op's rule) and returns
   the output as a new Value. ``-``, ``mean``, ``sqrt`` are compositions of the primitives.
3. **Recording a node**: the few lines every operation goes through.
4. **The walk**: every node the output depends on, each after all of its inputs.
5. **Backward**: from the output back to the inputs, the chain rule at every node, once per
   input: ``parent.grad += local * node.grad``. That line is all of backpropagation.

A number in an expression (``x * 0.999``) has no gradient: its local derivative is None, and
nothing flows back along that edge; nor where an op is flat (relu below 0).

Left to the neighbours: ieee.py (numbers at the edges), formulas.py, neuron.py (a neuron as one
node), full_backward.py (create_graph, hooks), grad_mode.py, inputs.py, primitives.py (your own
ops). While `compile` traces a function, compiler/tracing.py wraps some of Value's methods.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from itertools import count
from typing import Any, cast

from . import ieee
from .formulas import rule_from
from .grad_mode import OFF, is_grad_enabled
from .ieee import domain_error
from .inputs import Handoff, as_float, as_inputs, compared, number_of

__all__ = ["Op", "Value", "BUILTIN_OPS", "record", "apply", "topological_order", "backpropagate"]


# ---------------------------------------------------------------------- the rules  # --8<-- [start:rules]


class Op:
    """A primitive operation: its name, its function on floats, and the rule of its derivatives.

    A formula per input, in the inputs' names and ``out``: ``Op("*", operator.mul, x="y",
    y="x")`` says d out / d x = y, d out / d y = x (``each=``: one formula for every input x, at
    position i of them all, xs; None: no gradient flows). The op makes them into `rule`, which
    works on floats and on Values (formulas.py); the explorer shows them, `compile` writes them
    out. Given a ``rule`` function instead, ``inputs=`` and ``texts=`` are for show only.
    """

    __slots__ = ("name", "fn", "rule", "inputs", "formulas", "each", "roles", "from_formulas", "hooks")

    def __init__(self, name: str, fn: Callable[..., float], rule: Callable[..., Any] | None = None, *,
                 roles: tuple[str, ...] | None = None, inputs: Sequence[str] | None = None,
                 texts: Sequence[str] | None = None, **formulas: str) -> None:  # fmt: skip
        self.name, self.fn, self.roles, self.hooks = name, fn, roles, ()
        self.each = list(formulas) == ["each"]
        self.inputs: tuple[str, ...] = ("x",) if self.each else tuple(formulas or inputs or ())
        self.formulas: tuple[str, ...] | None = tuple(formulas.values() or texts or ()) or None
        self.from_formulas = rule is None
        if rule is None and not self.formulas:
            raise TypeError(f"Op {name!r}: give a formula for each input, or a rule")
        self.rule = rule or rule_from(self.inputs, self.formulas, self.each)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# fmt: off
#  the op's name, its function on floats,       d out / d each input (x, y: the inputs; out: the output)
ADD        = Op("+",          operator.add,     x="1.0",              y="1.0")
MUL        = Op("*",          operator.mul,     x="y",                y="x")
DIV        = Op("/",          ieee.div,         x="1 / y",            y="-out / y",  roles=("numerator", "denominator"))
POW        = Op("**",         ieee.power,       x="None if y == 0 else y * pow(x, y - 1)",  # x**0 is flat in x
                                                y="out * log(x) if x > 0 else 0.0 if x >= 0 else nan",
                roles=("base", "exponent"))
EXP        = Op("exp",        ieee.exp,         x="out")
LOG        = Op("log",        ieee.log,         x="1 / x")
TANH       = Op("tanh",       math.tanh,        x="1 - out * out")
SIGMOID    = Op("sigmoid",    ieee.sigmoid,     x="out * (1 - out)")
SOFTPLUS   = Op("softplus",   ieee.softplus,    x="sigmoid(x)")
RELU       = Op("relu",       ieee.relu,        x="None if out <= 0 else 1.0")  # flat below 0: nothing flows
LEAKY_RELU = Op("leaky_relu", ieee.leaky_relu,  x="1.0 if x > 0 else s", s="0.0 if x > 0 else x", roles=("x", "slope"))
ABS        = Op("abs",        abs,              x="sign(x)")
SIN        = Op("sin",        ieee.sin,         x="cos(x)")
COS        = Op("cos",        ieee.cos,         x="-sin(x)")
SUM        = Op("sum",        ieee.total,       each="1.0")
LOGSUMEXP  = Op("logsumexp",  ieee.logsumexp,   each="exp(x - out)")  # the softmax, never overflowing
PICK       = Op("pick",       ieee.pick,        each="1.0 if i == xs[-1] else 0.0")  # row[label]: k is the last input
# fmt: on
BUILTIN_OPS = (ADD, MUL, DIV, POW, EXP, LOG, TANH, SIGMOID, SOFTPLUS, RELU, LEAKY_RELU, ABS, SIN, COS, SUM, LOGSUMEXP,
               PICK)

# --8<-- [end:rules]
# ---------------------------------------------------------------------- Value  # --8<-- [start:value]


class Value:
    """A scalar that remembers how it was computed, so that `backward()` can find its gradient.

    ``Value(data, label="")``: the number (an int becomes a float), and a name for drawings.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    # _x, _y: the inputs, Values or numbers written in the expression (_y None for one input; for three or more, _x is
    # the tuple of them all, but a neuron's: see neuron.py); _dx, _dy: their local derivatives; _op: the `Op` that made
    # the node (None for a leaf); _t: when it was made; _walk: the mark of the last walk that found it.
    __slots__ = ("data", "grad", "label", "_op", "_x", "_y", "_dx", "_dy", "_t", "_walk")

    def __init__(self, data: float, label: str = "") -> None:
        self.data: float = as_float("Value", data)
        self.grad: Any = 0.0  # a float; a Value after backward(create_graph=True)
        self.label: str = label
        self._op = self._x = self._y = self._dx = self._dy = self._t = self._walk = cast(Any, None)  # a leaf

    def __repr__(self) -> str:
        show = lambda g: f"{g:.6g}" if isinstance(g, float) else repr(g)  # noqa: E731
        return f"Value({f'label={self.label!r}, ' if self.label else ''}data={show(self.data)}, grad={show(self.grad)})"

    # ------------------------------------------------------------------ arithmetic
    # + * / ** have a rule in the table above; - and negation are compositions. Just an optimization:
    # + and * make most nodes, so their commonest case does _binary's work without calling it (-15%).
    # fmt: off
    def __add__(self, other: Value | float) -> Value:  # x + y
        if other.__class__ is not Value:
            return _binary(ADD, self, other)
        out = self.data + other.data
        dx, dy = ADD.rule(self.data, other.data, out)
        return record(ADD, out, self, other, dx, dy)

    def __mul__(self, other: Value | float) -> Value:  # x * y
        if other.__class__ is not float:
            return _binary(MUL, self, other)
        out = self.data * other
        return record(MUL, out, self, other, MUL.rule(self.data, other, out)[0], None)  # (a number: no gradient)

    def __truediv__(self, other: Value | float) -> Value: return _binary(DIV, self, other)  # x / y
    def __rtruediv__(self, other: float) -> Value: return _binary(DIV, other, self)  # other / self
    def __pow__(self, other: Value | float) -> Value: return _binary(POW, self, other)  # self is the base
    def __rpow__(self, other: float) -> Value: return _binary(POW, other, self)  # the number is the base
    def __neg__(self) -> Value: return self * -1.0
    def __pos__(self) -> Value: return self
    __radd__, __rmul__ = __add__, __mul__
    # fmt: on

    def __sub__(self, other: Value | float) -> Value:  # self + (-other)
        return self + (-other) if number_of(other, Value) is not None else NotImplemented

    def __rsub__(self, other: float) -> Value:  # other + (-self)
        return -self + other if number_of(other, Value) is not None else NotImplemented
    # --8<-- [end:value]
    # ------------------------------------------------------------------ functions

    def exp(self) -> Value:
        """e ** self (``inf`` past e ** 709)."""
        return _unary(EXP, self)

    def log(self) -> Value:
        """Natural logarithm; `DomainError` unless self > 0."""
        return _unary(LOG, self)

    def sqrt(self) -> Value:
        """self ** 0.5; `DomainError` for a negative number. sqrt'(0) is ``inf``."""
        if self.data < 0:
            return domain_error(f"sqrt: argument must be >= 0, got {self.data!r}", lambda: self**0.5)
        return self**0.5

    def tanh(self) -> Value:
        """Hyperbolic tangent (a primitive: composed from exp it would overflow)."""
        return _unary(TANH, self)

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -self), computed without overflow for any float."""
        return _unary(SIGMOID, self)

    def softplus(self) -> Value:
        """log(1 + e ** self), computed without overflow; its derivative is `sigmoid`."""
        return _unary(SOFTPLUS, self)

    def relu(self) -> Value:
        """max(self, 0). relu'(0) is taken as 0, as in PyTorch; relu(nan) is nan."""
        return _unary(RELU, self)

    def leaky_relu(self, slope: Value | float = 0.01) -> Value:
        """self if self > 0 else slope * self. At 0 the derivative is `slope`."""
        if number_of(slope, Value) is None:
            raise TypeError(f"leaky_relu: slope must be a number or a Value, got {type(slope).__name__}: {slope!r}")
        return _binary(LEAKY_RELU, self, slope)

    def abs(self) -> Value:
        """|self|. abs'(0) is taken as 0, as in PyTorch."""
        return _unary(ABS, self)

    def sin(self) -> Value:
        """Sine (``nan`` for an infinite argument)."""
        return _unary(SIN, self)

    def cos(self) -> Value:
        """Cosine (``nan`` for an infinite argument)."""
        return _unary(COS, self)

    __abs__ = abs

    # ------------------------------------------------------------------ many values at once

    @staticmethod
    def sum(values: Iterable[Value | float]) -> Value:
        """values[0] + values[1] + ... as one node (Python's `sum` builds a chain of `+`)."""
        return apply(SUM, values)

    @staticmethod
    def mean(values: Iterable[Value | float]) -> Value:
        """The average of the values, as ``Value.sum(values) * (1 / n)``."""
        try:
            inputs = as_inputs("mean", values, Value)
        except Handoff as other:  # dual numbers take their mean themselves
            return other.kind.mean(other.values)
        if not inputs:
            raise ValueError("mean: needs at least one value, got none")
        return apply(SUM, inputs) * (1.0 / len(inputs))

    @staticmethod
    def logsumexp(values: Iterable[Value | float]) -> Value:
        """log(e**v[0] + e**v[1] + ...) without overflow: the heart of softmax cross-entropy."""
        return apply(LOGSUMEXP, values)

    @staticmethod
    def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float],
            bias: Value | float | None = None, activation: str | None = None) -> Value:  # fmt: skip
        """w[0]*x[0] + w[1]*x[1] + ... (+ bias), then the activation (None, 'relu', 'tanh' or
        'sigmoid'), as one node: a whole neuron (neuron.py)."""
        from .neuron import dot

        return dot(weights, inputs, bias, activation)

    # ------------------------------------------------------------------ as a number
    # Comparisons, float(), round(), f"{v:.4f}" use `data`; == stays identity (nodes go in sets).
    # fmt: off
    def __lt__(self, other: Value | float) -> bool: return self.data < compared(other, Value)
    def __le__(self, other: Value | float) -> bool: return self.data <= compared(other, Value)
    def __gt__(self, other: Value | float) -> bool: return self.data > compared(other, Value)
    def __ge__(self, other: Value | float) -> bool: return self.data >= compared(other, Value)
    def __float__(self) -> float: return float(self.data)
    def __round__(self, ndigits: int | None = None) -> float | int: return round(self.data, ndigits)
    def __format__(self, spec: str) -> str: return format(self.data, spec) if spec else repr(self)
    def item(self) -> float: return float(self.data)  # as PyTorch's tensor.item()
    # fmt: on

    # ------------------------------------------------------------------ the graph, for tools

    @property
    def op(self) -> str:
        """The name of the op that made this value ('' for a leaf)."""
        return self._op.name if self._x is not None else ""

    @property
    def grad_fn(self) -> Op | None:
        """The `Op` that made this value (its name, function, rule and formulas), None for a leaf."""
        return self._op if self._x is not None else None

    @property
    def parents(self) -> tuple:
        """The op's inputs in argument order: Values, and numbers written in the expression."""
        x, y = self._x, self._y
        if x.__class__ is tuple:
            return x if y is None else self._op.in_order(x, y)  # (a neuron: see backpropagate)
        return () if x is None else (x,) if y is None else (x, y)

    @property
    def local_grads(self) -> tuple:
        """d self / d parent for each of `parents`, as recorded (None: no gradient flows)."""
        x, y = self._x, self._y
        if x.__class__ is tuple:
            local = self._dx or (None,) * len(x)
            return local if y is None else self._op.in_order(local, self._dy or (None,) * len(y))
        return () if x is None else (self._dx,) if y is None else (self._dx, self._dy)

    # ------------------------------------------------------------------ backward

    def backward(self, gradient: float | Value = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every value this one depends on with d self / d value.

        Each call starts the interior of the graph from zero and adds to the leaves' ``grad``
        (as PyTorch does), so call `zero_grad` on parameters between steps.

        Args:
            gradient: the seed, d loss / d self, when self is not the loss itself (default 1).
            create_graph: record the backward pass as a graph too, so that the gradients are
                Values that can be differentiated again (second derivatives).

        >>> x = Value(3.0)
        >>> (x * x * x).backward()
        >>> x.grad
        27.0
        """
        backpropagate(self, gradient, create_graph)

    def register_hook(self, hook: Callable[[Any], Any]) -> Any:
        """Call ``hook(grad)`` when backward reaches this value; a returned gradient replaces it
        (see full_backward.py). Returns a handle whose ``remove()`` takes the hook off."""
        global _full_backward_needed
        from .full_backward import add_hook
        _full_backward_needed = True  # from now on, backward takes the path that runs hooks
        return add_hook(self, hook)

    def zero_grad(self) -> None:
        """Set ``grad`` back to 0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """The same number as a new leaf: gradients do not flow through it."""
        return Value(self.data, self.label)


# ---------------------------------------------------------------------- recording a node  # --8<-- [start:record]

_clock = count(1)  # creation order; leaves are 0
_new = object.__new__
NOT_RECORDED = Op("", lambda *x: math.nan, lambda *x: ())  # the mark of a value made under no_grad


def record(op: Op, out: float, x: Any, y: Any, dx: Any, dy: Any) -> Value:
    """The output of an op: a new Value that records its inputs and their local derivatives."""
    node = _new(Value)
    node.data, node.grad, node.label = out, 0.0, ""
    if OFF and not is_grad_enabled():  # inside no_grad: a plain number, no inputs
        op, x, y, dx, dy = NOT_RECORDED, None, None, None, None
    node._op, node._x, node._y = op, x, y
    node._dx, node._dy = dx, dy
    node._t, node._walk = next(_clock), None
    return node


def _unary(op: Op, x: Value) -> Value:
    """One input: out = op.fn(x), and d out / d x from the op's rule."""
    out = op.fn(x.data)
    return record(op, out, x, None, op.rule(x.data, out)[0], None)


def _binary(op: Op, x: Any, y: Any) -> Any:
    """Two inputs, either of which may be a number (kept as a float, with no gradient)."""
    xd = x.data if x.__class__ is Value else number_of(x, Value)
    yd = y.data if y.__class__ is Value else number_of(y, Value)
    if xd is None or yd is None:
        return NotImplemented  # (Python then tries the other operand's method, or raises)
    out = op.fn(xd, yd)
    dx, dy = op.rule(xd, yd, out)
    if x.__class__ is not Value:
        x, dx = xd, None
    if y.__class__ is not Value:
        y, dy = yd, None
    return record(op, out, x, y, dx, dy)


def apply(op: Op, values: Iterable) -> Any:
    """Any number of inputs, as one tuple (numbers get no gradient): what `Value.sum`, your own
    ops and the fused neuron with numbers among its inputs call."""
    try:
        inputs = as_inputs(op.name, values, Value)
    except Handoff as other:  # another kind of number (dual numbers) does the op itself
        return other.kind.apply(op, other.values)
    datas = [v.data if v.__class__ is Value else v for v in inputs]
    out = op.fn(*datas)
    local = op.rule(*datas, out)
    if not all(v.__class__ is Value for v in inputs):
        local = tuple([d if v.__class__ is Value else None for v, d in zip(inputs, local)])
    return record(op, out, inputs, None, local, None)

# --8<-- [end:record]
# ---------------------------------------------------------------------- the walk  # --8<-- [start:walk]


def topological_order(root: Value) -> list[Value]:
    """Every node with inputs that `root` depends on, each after all of its inputs (root last).

    Found breadth-first with no recursion (any depth works), each node marked with this walk's
    token so that it is taken once; then sorted by when each was made, which is always after
    its inputs. (Two threads must not walk one graph at the same time.)

    >>> x = Value(2.0)
    >>> [v.op for v in topological_order((x * x).tanh())]
    ['*', 'tanh']
    """
    walk = object()  # this walk's mark: a node marked with it has been found
    nodes: list[Value] = [root] if root._x is not None else []
    root._walk = walk
    for node in nodes:  # the list grows as we walk it: each node is looked at once
        x, y = node._x, node._y
        if x.__class__ is tuple:
            for parent in x:
                if parent.__class__ is Value and parent._x is not None and parent._walk is not walk:
                    parent._walk = walk
                    nodes.append(parent)
            if y is not None:  # a neuron's layer inputs (the exception: see backpropagate)
                for parent in y:
                    if parent._x is not None and parent._walk is not walk:
                        parent._walk = walk
                        nodes.append(parent)
            continue
        if x.__class__ is Value and x._x is not None and x._walk is not walk:
            x._walk = walk
            nodes.append(x)
        if y.__class__ is Value and y._x is not None and y._walk is not walk:
            y._walk = walk
            nodes.append(y)
    nodes.sort(key=operator.attrgetter("_t"))
    return nodes

# --8<-- [end:walk]
# ---------------------------------------------------------------------- backward  # --8<-- [start:backward]

_full_backward_needed = False  # set for good once a hook or create_graph is used


def backpropagate(root: Value, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """`Value.backward`: the chain rule at every node, from `root` back to the leaves.

    In reversed topological order a node's gradient is complete (all its users have added their
    share) before it passes on to each of its inputs, times that input's local derivative."""
    global _full_backward_needed
    if root._op is NOT_RECORDED:
        raise RuntimeError(f"backward: {root!r} was computed inside no_grad(), so no graph was recorded; "
                           "compute it outside no_grad() to get gradients")  # fmt: skip
    if create_graph or _full_backward_needed:  # gradients as graphs, or hooks: full_backward.py
        _full_backward_needed = True
        from .full_backward import full_backward
        return full_backward(root, gradient, create_graph)
    order = topological_order(root)
    for node in order:  # an interior gradient belongs to this backward alone: from 0
        node.grad = 0.0
    root.grad = gradient if root._x is not None else root.grad + gradient
    for node in reversed(order):
        g = node.grad
        if node._x.__class__ is tuple:  # the inputs, and their local derivatives (None: none flows)
            for parent, local in zip(node._x, node._dx or ()):
                if local is not None:
                    parent.grad += local * g  # the chain rule
            if node._y is not None:  # The one exception (neuron.py): a neuron's layer inputs, kept apart.
                for parent, local in zip(node._y, node._dy or ()):
                    parent.grad += local * g
        else:  # Just an optimization: the same line, for one or two inputs kept in slots.
            if node._dx is not None:
                node._x.grad += node._dx * g
            if node._dy is not None:
                node._y.grad += node._dy * g
