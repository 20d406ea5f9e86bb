"""The engine: a scalar `Value`, the local derivative of every operation, and `backward()`.

Every operation does three things during the forward pass:

1. compute its output ``out`` from its inputs' numbers;
2. record its inputs ``x, y`` and the local derivatives ``dx = d out / d x`` and
   ``dy = d out / d y``, numbers computed there and then from the op's rule;
3. return ``out`` as a new `Value`.

``backward()`` then visits the nodes from the output back to the inputs, each node after every
node that uses it, and applies the chain rule at every node, once per input::

    x.grad += dx * node.grad

That line is all of backpropagation. The rest of this file is the list of operations and
their rules (one line each, in one table), then the numeric helpers they use.

A number in an expression (``x * 0.999``) is stored in the node as it is: it has no
gradient, so its local derivative is None, which means "nothing flows back along this edge".
A rule also says None where the op is flat (relu below 0): no gradient flows there, even an
infinite one.
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import numbers
import operator
from _thread import allocate_lock, get_ident
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import ieee
from .ieee import FORMULA_NAMES, DomainError, domain_error, ieee_results

__all__ = [
    "Value",
    "Op",
    "DomainError",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "gc_paused",
    "primitive",
    "topological_order",
    "gradients",
    "neuron",
    "neuron_inputs",
    "NeuronOp",
    "NEURONS",
]

Number = int | float


# ---------------------------------------------------------------------- Value


class Value:
    """A scalar that remembers how it was computed, so that `backward()` can find its gradient.

    Args:
        data: the number (ints and bools become floats).
        label: an optional name, shown in drawings.

    Example:
        >>> a, b = Value(2.0), Value(-3.0)
        >>> c = a * b + a
        >>> c.backward()
        >>> c.data, a.grad, b.grad
        (-4.0, -2.0, 2.0)
    """

    # Flat slots, no closures and no tuples for one or two inputs: a node is one object the
    # garbage collector tracks, and a graph is never a reference cycle, so it is freed by
    # reference counting alone.
    #   _x, _y    the inputs (Values, or numbers written in the expression); for an op of
    #             three or more inputs, _x is the tuple of them all and _y is None; for a
    #             neuron, two tuples: _x its (w..., b), _y the x it shares with its layer
    #   _dx, _dy  the local derivatives d self / d _x and d self / d _y (tuples for tuples)
    #   _op       the `Op` that made the node (None for a leaf)
    #   _t        when the node was made: inputs are always made before the ops that use
    #             them, so sorting by _t puts every node after its inputs
    __slots__ = ("data", "grad", "label", "_op", "_x", "_y", "_dx", "_dy", "_t")

    def __init__(self, data: float, label: str = "") -> None:
        self.data: float = _number("Value", data)
        self.grad: Any = 0.0  # a float; a Value after backward(create_graph=True)
        self.label: str = label
        self._op: Any = None  # the graph's fields hold several kinds: see the comment above
        self._x: Any = None
        self._y: Any = None
        self._dx: Any = None
        self._dy: Any = None
        self._t: int = 0

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={_show(self.data)}, grad={_show(self.grad)})"

    # ------------------------------------------------------------------ arithmetic
    # + * / ** carry a rule (see the table below); - and negation are compositions.

    def __add__(self, other: Value | Number) -> Value:  # x + y
        y = other.data if other.__class__ is Value else other if other.__class__ is float else _data(other)
        if y is None:
            return NotImplemented
        x = self.data
        out = x + y
        dx, dy = ADD.rule(x, y, out)
        if other.__class__ is not Value:
            other, dy = y, None  # a number: kept as a float, no gradient
        return _node(ADD, out, self, other, dx, dy)

    def __mul__(self, other: Value | Number) -> Value:  # x * y
        y = other.data if other.__class__ is Value else other if other.__class__ is float else _data(other)
        if y is None:
            return NotImplemented
        x = self.data
        out = x * y
        dx, dy = MUL.rule(x, y, out)
        if other.__class__ is not Value:
            other, dy = y, None  # a number: kept as a float, no gradient
        return _node(MUL, out, self, other, dx, dy)

    def __truediv__(self, other: Value | Number) -> Value:  # x / y
        y = _data(other)
        return NotImplemented if y is None else _binary(DIV, self, other, self.data, y)

    def __rtruediv__(self, other: Number) -> Value:  # other / self
        x = _data(other)
        return NotImplemented if x is None else _binary(DIV, other, self, x, self.data)

    def __pow__(self, other: Value | Number) -> Value:  # x ** y, the base x is self
        y = _data(other)
        return NotImplemented if y is None else _binary(POW, self, other, self.data, y)

    def __rpow__(self, other: Number) -> Value:  # other ** self: the base is the number
        x = _data(other)
        return NotImplemented if x is None else _binary(POW, other, self, x, self.data)

    def __neg__(self) -> Value:  # -self
        return self * -1.0

    def __sub__(self, other: Value | Number) -> Value:  # self + (-other)
        return self + (-other) if _data(other) is not None else NotImplemented

    def __rsub__(self, other: Number) -> Value:  # other + (-self)
        return -self + other if _data(other) is not None else NotImplemented

    def __pos__(self) -> Value:  # +self is self, as for numbers
        return self

    __radd__ = __add__
    __rmul__ = __mul__

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
        s = _data(slope)
        if s is None:
            raise TypeError(f"leaky_relu: slope must be a number or a Value, got {type(slope).__name__}: {slope!r}")
        return _binary(LEAKY_RELU, self, slope, self.data, s)

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
    # One node with many inputs instead of a chain of thousands of `+` nodes.

    @staticmethod
    def sum(values: Iterable[Value | Number]) -> Value:
        """values[0] + values[1] + ... as a single node (Python's `sum` builds a chain).

        Example:
            >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
            6.0
        """
        try:
            values = _inputs("sum", values)
        except _OtherKind as other:  # e.g. dual numbers: they do the op themselves
            return other.kind.sum(other.values)
        return _many(SUM, values, _datas(values))

    @staticmethod
    def mean(values: Iterable[Value | Number]) -> Value:
        """The average of the values, as ``sum(values) * (1 / n)``.

        Example:
            >>> Value.mean([Value(1.0), 2.0]).data
            1.5
        """
        try:
            values = _inputs("mean", values)
        except _OtherKind as other:
            return other.kind.mean(other.values)
        if not values:
            raise ValueError("mean: needs at least one value, got none")
        return Value.sum(values) * (1.0 / len(values))

    @staticmethod
    def dot(
        weights: Sequence[Value | Number],
        inputs: Sequence[Value | Number],
        bias: Value | Number | None = None,
        activation: str | None = None,
    ) -> Value:
        """w[0]*x[0] + w[1]*x[1] + ... (+ bias) as a single node: a neuron's weighted sum.

        Args:
            weights, inputs: two sequences of the same length.
            bias: added to the sum, if given.
            activation: None, or 'relu', 'tanh' or 'sigmoid' applied to the sum in the same
                node (a whole neuron, one node: see `neuron`).

        Example:
            >>> Value.dot([Value(2.0), Value(3.0)], [1.0, -1.0], bias=Value(0.5)).data
            -0.5
            >>> Value.dot([Value(2.0), Value(3.0)], [1.0, -1.0], activation="relu").data
            0.0
        """
        if activation is not None and activation not in NEURONS:
            raise ValueError(f"dot: activation must be None, 'relu', 'tanh' or 'sigmoid', got {activation!r}")
        try:
            weights, inputs = _inputs("dot", weights), _inputs("dot", inputs)
            bias = bias if bias is None else _inputs("dot", [bias])[0]
        except _OtherKind as other:
            return other.kind.dot(weights, inputs, bias, activation)
        if len(weights) != len(inputs):
            raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
        everything = (*weights, *inputs) if bias is None else (*weights, *inputs, bias)
        if all(v.__class__ is Value for v in everything):
            return neuron(weights, inputs, bias, activation)
        return _many(NEURONS[activation], everything, _datas(everything))  # numbers: no gradient

    @staticmethod
    def logsumexp(values: Iterable[Value | Number]) -> Value:
        """log(e**v[0] + e**v[1] + ...) without overflow: the heart of softmax cross-entropy.

        Example:
            >>> Value.logsumexp([0.0, math.log(3.0)]).data == math.log(4.0)
            True
        """
        try:
            values = _inputs("logsumexp", values)
        except _OtherKind as other:
            return other.kind.logsumexp(other.values)
        if not values:
            raise ValueError("logsumexp: needs at least one value, got none")
        return _many(LOGSUMEXP, values, _datas(values))

    # ------------------------------------------------------------------ as a number
    # Comparisons, float(), round() and formatting use `data`. == and hash stay those of the
    # object, so that graphs can keep nodes in sets and dicts: Value(1) == Value(1) is False.

    def __lt__(self, other: Value | Number) -> bool:
        return self.data < _compared(other)

    def __le__(self, other: Value | Number) -> bool:
        return self.data <= _compared(other)

    def __gt__(self, other: Value | Number) -> bool:
        return self.data > _compared(other)

    def __ge__(self, other: Value | Number) -> bool:
        return self.data >= _compared(other)

    def __float__(self) -> float:
        return float(self.data)

    def item(self) -> float:
        """The number, as PyTorch's ``tensor.item()``: ``Value(2.5).item() == 2.5``."""
        return float(self.data)

    def __round__(self, ndigits: int | None = None) -> float | int:
        """round(v) rounds the number, as for a float; the result is a plain number."""
        return round(self.data, ndigits)

    def __format__(self, spec: str) -> str:
        """f"{v:.4f}" formats the number; f"{v}" is the repr."""
        return format(self.data, spec) if spec else repr(self)

    # ------------------------------------------------------------------ the graph, for tools
    # Read-only views of what the node recorded, for drawings, the explorer and `compile`.

    @property
    def op(self) -> str:
        """The name of the op that made this value ('' for a leaf)."""
        return self._op.name if self._op is not None else ""

    @property
    def grad_fn(self) -> Op | None:
        """The `Op` that made this value (its name, function, rule and formulas), None for a leaf."""
        return self._op if self._x is not None else None

    @property
    def parents(self) -> tuple:
        """The op's inputs in argument order: Values, and numbers written in the expression."""
        if self._x is None:
            return ()
        if self._y.__class__ is tuple:  # a neuron: _x is (w..., b), _y is x
            return _neuron_order(self._x, self._y)
        if self._x.__class__ is tuple:
            return self._x
        return (self._x,) if self._y is None else (self._x, self._y)

    @property
    def local_grads(self) -> tuple:
        """d self / d parent for each of `parents`, recorded in the forward pass (None: no
        gradient flows back to that parent: a number, or a flat region such as relu below 0)."""
        if self._x is None:
            return ()
        if self._y.__class__ is tuple:  # a neuron: d/d(w..., b) and d/dx (None: nothing flows)
            if self._dx is None:
                return (None,) * (len(self._x) + len(self._y))
            return _neuron_order(self._dx, self._dy)
        if self._x.__class__ is tuple:
            return self._dx if self._dx is not None else (None,) * len(self._x)
        return (self._dx,) if self._y is None else (self._dx, self._dy)

    # ------------------------------------------------------------------ backward

    def backward(self, gradient: float | Value = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every value this one depends on with d self / d value.

        Each call starts the interior of the graph from zero and adds to the leaves' ``grad``
        (as PyTorch does), so call `zero_grad` on parameters between steps.

        Args:
            gradient: the seed, d loss / d self, when self is not the loss itself (default 1).
            create_graph: also record the backward pass as a graph, so the gradients are
                Values that can be differentiated again (second derivatives).

        Example:
            >>> x = Value(3.0)
            >>> (x * x * x).backward()
            >>> x.grad
            27.0
        """
        if self._op is NOT_RECORDED:
            raise RuntimeError(
                f"backward: {self!r} was computed inside no_grad(), so no graph was recorded; "
                "compute it outside no_grad() to get gradients"
            )
        order = _backward_order(self)  # interior nodes start from zero on every call
        leaves = _leaves_to_tend(order, self, create_graph)
        self.grad = gradient if self._x is not None else self.grad + gradient
        if create_graph:
            _backward_graph(order)
            # An interior gradient graph refers back to its own node (tanh's rule uses its
            # output): a reference cycle. Keep interior grads as numbers, leaves' as Values.
            for node in order:
                node.grad = _plain(node.grad)
        else:
            hooks = _hooks_in_use
            for node in reversed(order):
                if hooks and node._op.hooks:
                    node.grad = _run_hooks(node._op.hooks, node.grad)
                g = node.grad
                dx = node._dx
                if dx.__class__ is tuple:  # a tuple of inputs: a local derivative each
                    for x, d in zip(node._x, dx):
                        if d is not None:
                            x.grad += d * g  # the chain rule
                elif dx is not None:
                    node._x.grad += dx * g  # the chain rule
                dy = node._dy
                if dy is None:
                    pass
                elif dy.__class__ is tuple:  # a neuron's x
                    for y, d in zip(node._y, dy):
                        y.grad += d * g  # the chain rule
                else:
                    node._y.grad += dy * g  # the chain rule
        if leaves:
            _finish_leaves(leaves)

    def register_hook(self, hook: Callable[[Any], Any]) -> Hook:
        """Call ``hook(grad)`` when backward reaches this value; a returned gradient replaces it.

        For an interior value the hook sees its whole gradient before it flows on to the
        inputs; for a leaf, the gradient of this backward before it is added to ``.grad``. A
        hook that returns None leaves the gradient as it is (as PyTorch).

        Returns:
            a handle whose ``remove()`` takes the hook off again.

        Example:
            >>> x = Value(3.0)
            >>> y = x * x
            >>> handle = y.register_hook(lambda g: g * 10)
            >>> y.backward()
            >>> x.grad
            60.0
        """
        if not callable(hook):
            raise TypeError(f"register_hook: expected a function, got {type(hook).__name__}: {hook!r}")
        global _hooks_in_use
        _hooks_in_use = True
        op = self._op if self._op is not None else Op("", _no_op, _no_op)
        self._op = op.with_hooks(op.hooks + (hook,))  # this node's own copy of its op
        return Hook(self, hook)

    def zero_grad(self) -> None:
        """Set ``grad`` back to 0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """The same number as a new leaf: gradients do not flow through it."""
        return Value(self.data, self.label)


# ---------------------------------------------------------------------- recording a node


_new = object.__new__
_clock = itertools.count(1)  # creation order; leaves are 0


def _node(op: Op, data: float, x, y, dx, dy) -> Value:
    """The output of an op: a new Value that records its inputs and their local derivatives.

    The caller passes None as the local derivative of an input that is a number.
    """
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _threads_without_grad and get_ident() in _threads_without_grad:  # no_grad: a plain number
        out._op = NOT_RECORDED
        out._x = out._y = out._dx = out._dy = None
        out._t = 0
        return out
    out._op = op
    out._x = x
    out._y = y
    out._dx = dx
    out._dy = dy
    out._t = next(_clock)
    return out


def _unary(op: Op, x: Value) -> Value:
    """Run a one-input op forward and record it: out = op.fn(x), dx from op's rule."""
    xd = x.data
    out = op.fn(xd)
    return _node(op, out, x, None, op.rule(xd, out)[0], None)


def _binary(op: Op, x, y, xd: float, yd: float) -> Value:
    """Run a two-input op forward and record it (x or y may be a number: no gradient)."""
    out = op.fn(xd, yd)
    dx, dy = op.rule(xd, yd, out)
    if x.__class__ is not Value:
        x, dx = xd, None  # a number is kept as a float, and gets no gradient
    if y.__class__ is not Value:
        y, dy = yd, None
    return _node(op, out, x, y, dx, dy)


def _many(op: Op, inputs: tuple, datas: list[float]) -> Value:
    """Run an op of any number of inputs forward and record it, inputs as one tuple."""
    out = op.fn(*datas)
    local = op.rule(*datas, out)
    if not all(v.__class__ is Value for v in inputs):  # numbers get no gradient
        local = tuple([d if v.__class__ is Value else None for v, d in zip(inputs, local)])
    return _node(op, out, inputs, None, local, None)


def _apply(op: Op, inputs: Sequence) -> Value:
    """Run any op on Values or numbers: what `primitive` functions and tools call."""
    inputs = _inputs(op.name, inputs)
    datas = _datas(inputs)
    if len(inputs) == 1:
        return _unary(op, inputs[0]) if inputs[0].__class__ is Value else _many(op, inputs, datas)
    if len(inputs) == 2:
        return _binary(op, inputs[0], inputs[1], datas[0], datas[1])
    return _many(op, inputs, datas)


# ---------------------------------------------------------------------- the order of backward


def topological_order(root: Value) -> list[Value]:
    """Every node with inputs that `root` depends on, each after all of its inputs (root last).

    `backward` visits them in reverse. No recursion (a graph of any depth works), and the
    order is deterministic: nodes are found breadth-first, then sorted by creation, since a
    node is always made after its inputs.

    Example:
        >>> x = Value(2.0)
        >>> y = (x * x).tanh()
        >>> [v.op for v in topological_order(y)]
        ['*', 'tanh']
    """
    nodes: list[Value] = [root] if root._x is not None else []
    seen = set(nodes)
    for node in nodes:  # the list grows as we walk it: each node is looked at once
        x = node._x
        if x.__class__ is Value:
            if x._x is not None and x not in seen:
                seen.add(x)
                nodes.append(x)
        elif x.__class__ is tuple:
            for p in x:
                if p.__class__ is Value and p._x is not None and p not in seen:
                    seen.add(p)
                    nodes.append(p)
        y = node._y
        if y is None:
            continue
        if y.__class__ is Value:
            if y._x is not None and y not in seen:
                seen.add(y)
                nodes.append(y)
        elif y.__class__ is tuple:  # a neuron's x
            for p in y:
                if p._x is not None and p not in seen:
                    seen.add(p)
                    nodes.append(p)
    nodes.sort(key=_created)
    return nodes


_created = operator.attrgetter("_t")


def _backward_order(root: Value) -> list[Value]:
    """`topological_order`, for backward itself: every node's grad set to 0.

    Faster than the walk above (one test per edge instead of a set): a node found is marked
    by setting its grad to FOUND, a private object; then every grad found becomes 0, even if
    the walk is interrupted (Ctrl-C), so that no mark is left behind.
    """
    found = _FOUND
    nodes: list[Value] = []
    if root._x is not None:
        root.grad = found
        nodes.append(root)
    try:
        for node in nodes:  # the list grows as we walk it
            x = node._x
            if x.__class__ is Value:
                if x._x is not None and x.grad is not found:
                    x.grad = found
                    nodes.append(x)
            elif x.__class__ is tuple:
                for p in x:
                    if p.__class__ is Value and p._x is not None and p.grad is not found:
                        p.grad = found
                        nodes.append(p)
            y = node._y
            if y is None:
                continue
            if y.__class__ is Value:
                if y._x is not None and y.grad is not found:
                    y.grad = found
                    nodes.append(y)
            elif y.__class__ is tuple:  # a neuron's x
                for p in y:
                    if p._x is not None and p.grad is not found:
                        p.grad = found
                        nodes.append(p)
    finally:
        for node in nodes:
            node.grad = 0.0
    nodes.sort(key=_created)
    return nodes


_FOUND = object()  # see _backward_order


# ---------------------------------------------------------------------- the rules


class Op:
    """A primitive operation: its name, its function on floats, and the rule of its derivatives.

    The rule is written as one formula per input, Python text in the inputs' names and ``out``
    (the output): ``Op("*", operator.mul, x="y", y="x")`` says d out / d x = y and
    d out / d y = x. An op of any number of inputs gives one formula, ``each=``, in ``x`` (each
    input in turn). None in a formula means no gradient flows there (a flat region). The
    formulas use + - * / ** and comparisons, which work on floats and on Values alike, and the
    functions of `ieee.FORMULA_NAMES` (exp, log, sigmoid, sin, cos, pow, sign), so the same
    rule serves ``backward()`` (floats) and ``backward(create_graph=True)`` (Values).

    From the formulas the op makes `rule`, the function ``rule(*inputs, out)`` that returns
    the local derivatives; the explorer shows the formulas, and `compile` writes them out. An
    op may instead be given its rule as a function (``rule=``), with formulas for show only.

    Attributes:
        name: shown in drawings and errors.
        fn: the function on floats, ``fn(*inputs) -> out``.
        rule: ``rule(*inputs, out)``, a tuple of local derivatives, one per input.
        inputs: the inputs' names in the formulas, e.g. ("x", "y"); ("x",) with `each`.
        formulas: the formula of each input (None when the op has none to show).
        each: True when one formula serves every input of an op of any number of inputs.
        roles: what each input is, where the order matters to a reader, e.g. ("base", "exponent").
        from_formulas: True when `rule` was made from `formulas` (they are the code that runs).

    ``Op(name, fn, rule, inputs=names, texts=formulas)`` gives the formulas of an op with a
    rule of its own (a custom `primitive`'s), for show only.
    """

    __slots__ = ("name", "fn", "rule", "inputs", "formulas", "each", "roles", "from_formulas", "hooks")

    def __init__(
        self,
        name: str,
        fn: Callable[..., float],
        rule: Callable[..., Any] | None = None,
        *,
        roles: tuple[str, ...] | None = None,
        hooks: tuple = (),
        inputs: Sequence[str] | None = None,
        texts: Sequence[str] | None = None,
        **formulas: str,
    ) -> None:
        self.name, self.fn, self.roles, self.hooks = name, fn, roles, hooks
        self.each = list(formulas) == ["each"]
        if self.each:
            self.inputs: tuple[str, ...] = ("x",)
        else:
            self.inputs = tuple(formulas) if formulas else tuple(inputs or ())
        shown = tuple(formulas.values()) if formulas else tuple(texts or ())
        self.formulas: tuple[str, ...] | None = shown or None
        self.from_formulas = rule is None
        if rule is None:
            if self.formulas is None:
                raise TypeError(f"Op {name!r}: give a formula for each input, or a rule")
            rule = _rule_from_formulas(self.inputs, self.formulas, self.each)
        self.rule = rule

    def with_hooks(self, hooks: tuple) -> Op:
        """A copy of this op carrying `hooks` (each node with hooks gets its own copy)."""
        twin = type(self).__new__(type(self))
        for slot in _op_slots(type(self)):
            setattr(twin, slot, getattr(self, slot))
        twin.hooks = hooks
        return twin

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


def _rule_from_formulas(inputs: tuple[str, ...], formulas: tuple[str, ...], each: bool) -> Callable:
    """The function ``rule(*inputs, out)`` that evaluates the formulas (the table's own text)."""
    if not each:
        source = f"lambda {', '.join(inputs)}, out: ({', '.join(formulas)},)"
    elif formulas[0] in ("0.0", "1.0"):  # the same number for every input (sum): no loop
        source = f"lambda *xs_out: ({formulas[0]},) * (len(xs_out) - 1)"
    else:
        source = f"lambda *xs_out: (lambda out: tuple([{formulas[0]} for x in xs_out[:-1]]))(xs_out[-1])"
    return eval(source, dict(FORMULA_NAMES))


def _op_slots(cls: type) -> list[str]:
    return [s for c in cls.__mro__ for s in getattr(c, "__slots__", ())]


# fmt: off
# Each line: the op's name, its function on floats, and d out / d each input (x, y: the inputs,
# in argument order; out: the output).
ADD        = Op("+",          operator.add,     x="1.0",              y="1.0")
MUL        = Op("*",          operator.mul,     x="y",                y="x")
DIV        = Op("/",          ieee.div,         x="1 / y",            y="-out / y",  # -x/y**2, sure not to overflow
                roles=("numerator", "denominator"))
POW        = Op("**",         ieee.power,       x="None if y == 0 else y * pow(x, y - 1)",  # x**0 is flat in x
                                                y="out * log(x) if x > 0 else 0.0 if x >= 0 else nan",
                roles=("base", "exponent"))
EXP        = Op("exp",        ieee.exp,         x="out")
LOG        = Op("log",        ieee.log,         x="1 / x")
TANH       = Op("tanh",       math.tanh,        x="1 - out * out")
SIGMOID    = Op("sigmoid",    ieee.sigmoid,     x="out * (1 - out)")
SOFTPLUS   = Op("softplus",   ieee.softplus,    x="sigmoid(x)")
RELU       = Op("relu",       ieee.relu,        x="None if out <= 0 else 1.0")   # flat below 0: nothing flows
LEAKY_RELU = Op("leaky_relu", lambda x, s: x if x > 0 else s * x,
                                                x="1.0 if x > 0 else s", s="0.0 if x > 0 else x",
                roles=("x", "slope"))
ABS        = Op("abs",        abs,              x="sign(x)")
SIN        = Op("sin",        ieee.sin,         x="cos(x)")
COS        = Op("cos",        ieee.cos,         x="-sin(x)")
SUM        = Op("sum",        ieee.total,       each="1.0")
LOGSUMEXP  = Op("logsumexp",  ieee.logsumexp,   each="exp(x - out)")   # the softmax, never overflowing
# fmt: on

BUILTIN_OPS = (ADD, MUL, DIV, POW, EXP, LOG, TANH, SIGMOID, SOFTPLUS, RELU, LEAKY_RELU, ABS, SIN, COS, SUM, LOGSUMEXP)


# Not an op: the mark of a value computed under no_grad (it has no inputs and no rule).
def _no_op(*args: Any) -> Any:
    raise RuntimeError("a value with no inputs has no function or rule")


NOT_RECORDED = Op("", _no_op, _no_op)


# ---------------------------------------------------------------------- a neuron in one node
#
# A speed-up, not a new idea: act(w · x + b) as ONE node with 2n + 1 inputs instead of n `*`
# nodes, n `+` nodes and an activation node. Its local derivatives follow from the chain rule
# inside the node: d out / d w[i] = act'(z) * x[i], d out / d x[i] = act'(z) * w[i],
# d out / d b = act'(z), with act'(z) taken from the activation's own rule above.

NEURONS: dict[str | None, NeuronOp] = {}


def neuron(w: Sequence[Value], x: Sequence[Value], b: Value | None, activation: str | NeuronOp | None = None,
           inputs: tuple | None = None, params: tuple | None = None) -> Value:
    """act(w · x + b) as one node, for inputs that are all Values (`Value.dot` takes numbers too).

    `nn` calls it; activation: None, 'relu', 'tanh' or 'sigmoid' (or its `NeuronOp`). A layer
    passes what all its neurons share: inputs=`neuron_inputs(x)`; a neuron may pass params,
    the tuple (*w, b) (or tuple(w) without a bias) it keeps between calls.

    Example:
        >>> neuron([Value(2.0)], [Value(3.0)], Value(-1.0), "relu").data
        5.0
    """
    op = activation if isinstance(activation, NeuronOp) else NEURONS[activation]
    act = op.act  # the activation's own Op (None: a plain dot product)
    xs, xd1 = inputs if inputs is not None else neuron_inputs(x)
    if params is None:
        params = (*w, b) if b is not None else tuple(w)
    try:
        wd = tuple([v.data for v in w])  # (a comprehension: attrgetter looks data up the slow way)
        z = sum(map(_mul, wd, xd1))  # (xd1 has a 1.0 more, which map leaves out)
        if b is not None:
            z += b.data
    except AttributeError:
        _only_values("weights and bias", (*w, b))
        raise
    if act is None:
        out, s = z, 1.0
    else:
        out = act.fn(z)
        s = act.rule(z, out)[0]  # act'(z), from the activation's rule
    d_params, d_xs = _neuron_locals(s, wd, xd1, b is not None)
    return _node(op, out, params, xs, d_params, d_xs)


def neuron_inputs(x: Sequence[Value]) -> tuple[tuple, tuple]:
    """What every neuron of a layer shares: the inputs x as a tuple, and their numbers with a
    1.0 after them (d (w · x + b) / d (w..., b) is (x..., 1)). Pass it to `neuron` as inputs."""
    try:
        return tuple(x), (*[v.data for v in x], 1.0)
    except AttributeError:
        _only_values("inputs", x)
        raise


def _only_values(what: str, values: Iterable) -> None:
    for v in values:
        if v.__class__ is not Value and v is not None:
            raise TypeError(f"neuron: {what} must be Values (Value.dot takes numbers too), "
                            f"got {type(v).__name__}: {_short(v)}")


def _neuron_locals(s, w, x1, bias: bool) -> tuple:
    """(d out / d (w..., b), d out / d x) of act(w · x + b) when act'(z) = s: s * (x..., 1) and
    s * w, where x1 is x with a 1 after it. (None, None) where s is None (a flat region, a relu
    below 0): nothing flows back to any input."""
    if s is None:
        return None, None
    x_or_x1 = x1 if bias else x1[:-1]
    if s.__class__ is float and s == 1.0:  # a plain dot, or an active relu: nothing to multiply
        return x_or_x1, w
    return tuple([s * v for v in x_or_x1]), tuple([s * v for v in w])


def _neuron_order(wb: tuple, x: tuple) -> tuple:
    """A neuron's two groups, (w..., b) and x, in its argument order (w..., x..., b)."""
    n = len(x)
    return (*wb[:n], *x, *wb[n:])


_mul = operator.mul


class NeuronOp(Op):
    """The op of a neuron node: act(w · x + b) with act one of the activations' Ops (or none)."""

    __slots__ = ("activation", "act")

    def __init__(self, activation: str | None) -> None:
        act = _ACTIVATION_OPS.get(activation)
        # The formulas are for show: s is act'(z), the slope of the activation at z = w · x + b.
        super().__init__("dot" if act is None else f"{activation}(w·x+b)", self._forward, self._rule,
                         w="s * x", x="s * w", b="s")
        self.activation, self.act = activation, act

    def slope(self, z, out):
        """act'(z), from the activation's own rule (None where it is flat; 1 for a plain dot)."""
        return 1.0 if self.act is None else self.act.rule(z, out)[0]

    def _forward(self, *inputs: float) -> float:
        n = len(inputs) // 2
        z = sum(map(operator.mul, inputs[:n], inputs[n : 2 * n])) + sum(inputs[2 * n :])
        return z if self.act is None else self.act.fn(z)

    def _rule(self, *args):
        # d out / d w[i] = act'(z) x[i], d out / d x[i] = act'(z) w[i], d out / d b = act'(z)
        *inputs, out = args
        n = len(inputs) // 2
        w, x, b = inputs[:n], inputs[n : 2 * n], inputs[2 * n :]
        s = 1.0 if self.act is None else self.slope(_dot_of(w, x) + (b[0] if b else 0.0), out)
        d_wb, d_x = _neuron_locals(s, w, (*x, 1.0), bool(b))
        return (None,) * len(inputs) if d_x is None else _neuron_order(d_wb, d_x)


def _dot_of(w, x):
    if any(v.__class__ is Value for v in (*w, *x)):
        return Value.dot(w, x)  # (numbers written in a Value.dot stay numbers)
    return sum(map(operator.mul, w, x))


_ACTIVATION_OPS: dict[str | None, Op] = {"relu": RELU, "tanh": TANH, "sigmoid": SIGMOID}
NEURONS.update({name: NeuronOp(name) for name in (None, "relu", "tanh", "sigmoid")})


# ---------------------------------------------------------------------- backward, rarer paths
# Hooks, and gradients that are Values, make backward look at the leaves too, which it
# otherwise never visits; create_graph recomputes each node's local derivatives as Values;
# gradients() is backward for `grad` and friends.


class Hook:
    """What `Value.register_hook` returns: ``remove()`` takes the hook off."""

    def __init__(self, value: Value, hook: Callable) -> None:
        self._value, self._hook = value, hook

    def remove(self) -> None:
        """Take the hook off (doing it twice is harmless)."""
        op = self._value._op
        if op is not None and self._hook in op.hooks:
            self._value._op = op.with_hooks(tuple(h for h in op.hooks if h is not self._hook))


def _leaf_parents(order: list[Value]) -> Iterable[Value]:
    for node in order:
        for p in node.parents:
            if p.__class__ is Value and p._x is None:
                yield p


# Set once a leaf may hold a Value gradient (after backward(create_graph=True)) or a hook:
# then backward also looks at the leaves, which it otherwise never visits.
_graph_grads_given = False
_hooks_in_use = False


def _leaves_to_tend(order: list[Value], root: Value, create_graph: bool) -> dict[Value, Any]:
    """Leaves whose gradient needs care in this backward, with the gradient they had.

    A leaf holding a Value gradient from an earlier backward(create_graph=True) gets a plain
    number again (so ``p.data -= lr * p.grad`` keeps ``data`` a float); a leaf with hooks
    collects this backward's gradient apart, for its hooks to see.
    """
    if not (_graph_grads_given or _hooks_in_use):
        return {}
    leaves: dict[Value, Any] = {}
    candidates = list(_leaf_parents(order)) + ([root] if root._x is None else [])
    for leaf in candidates:
        if leaf in leaves:
            continue
        if leaf.grad.__class__ is Value and not create_graph:
            leaf.grad = leaf.grad.data
        if leaf._op is not None and leaf._op.hooks:
            leaves[leaf] = leaf.grad
            leaf.grad = 0.0
    return leaves


def _finish_leaves(leaves: dict[Value, Any]) -> None:
    for leaf, before in leaves.items():
        new = _run_hooks(leaf._op.hooks, leaf.grad)
        leaf.grad = new if isinstance(before, float) and before == 0.0 else before + new


def _run_hooks(hooks: tuple, grad):
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad


def _backward_graph(order: list[Value]) -> None:
    """backward(create_graph=True): the same chain rule, with each node's local derivatives
    recomputed as Values by its rule, so that the gradients are graphs too."""
    global _graph_grads_given
    _graph_grads_given = True
    with enable_grad(), ieee_results():
        for node in reversed(order):
            if node._op.hooks:
                node.grad = _run_hooks(node._op.hooks, node.grad)
            g = node.grad
            inputs = node.parents
            local = node._op.rule(*inputs, node)
            _check_unchanged(node, local)
            for x, dx in zip(inputs, local):
                if dx is not None and x.__class__ is Value:
                    x.grad = x.grad + dx * g  # the chain rule


def gradients(out: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """d out / d input for each of `inputs`, leaving every ``.grad`` in the graph as it was.

    The engine of `grad` and friends (as ``torch.autograd.grad``): the same chain rule as
    `Value.backward`, with the graph's ``.grad`` fields used as scratch space and restored.

    Example:
        >>> x, y = Value(2.0), Value(5.0)
        >>> gradients(x * y, [x, y]), x.grad
        ([5.0, 2.0], 0.0)
    """
    order = topological_order(out)
    touched = {v: v.grad for v in (*order, *_leaf_parents(order), *inputs, out)}
    try:
        for v in inputs:
            v.grad = 0.0
        if create_graph:
            for node in order:
                node.grad = 0.0
            out.grad = 1.0
            _backward_graph(order)
        else:
            out.backward()
        return [v.grad for v in inputs]
    finally:
        for v, g in touched.items():  # also breaks the cycles of interior gradient graphs
            v.grad = g


def _check_unchanged(node: Value, local: Sequence) -> None:
    """The rule's local derivatives now must be those recorded in the forward pass: if an
    input's ``data`` was changed since, the graph no longer says how the output was made."""
    for recorded, now in zip(node.local_grads, local):
        if recorded is None or now is None:
            continue
        a, b = _plain(recorded), _plain(now)
        if a != b and not (a != a and b != b) and not abs(a - b) <= 1e-12 * max(abs(a), abs(b)):
            raise ValueError(
                f"backward(create_graph=True): an input of a '{node.op}' node changed after the "
                f"forward pass (its local derivative was {a!r}, now {b!r}); build the graph again"
            )


# ---------------------------------------------------------------------- custom primitives


def primitive(
    derivatives: Callable, formula: str | Sequence[str] | None = None
) -> Callable[[Callable], Callable[..., Value]]:
    """Make a function on floats into an op of its own, with your derivative rule.

    The decorated function computes the output from plain floats. ``derivatives(*inputs,
    out)`` returns one local derivative per input, written with operations that work on floats
    and on Values (``+ - * / **``, ``abs``, Value methods), so that second derivatives work.
    The op accepts Values and numbers, and drawings show it under the function's name.
    `gradcheck` tells you if the rule is wrong.

    Args:
        derivatives: the rule, ``derivatives(*inputs, out) -> (d out / d input, ...)``.
        formula: optionally, the rule as text for people to read (one per input, in the
            names of the function's parameters and ``out``), shown by the explorer. It is
            only shown, never run.

    Example:
        >>> @primitive(derivatives=lambda x, out: (1 / (1 + abs(x)) ** 2,), formula="1 / (1 + |x|)**2")
        ... def softsign(x):
        ...     return x / (1 + abs(x))
        >>> x = Value(1.0)
        >>> y = softsign(x)
        >>> y.backward()
        >>> y.data, x.grad, y.op, y.grad_fn.formulas
        (0.5, 0.25, 'softsign', ('1 / (1 + |x|)**2',))
    """
    if not callable(derivatives):
        raise TypeError(f"primitive: derivatives must be a function, got {type(derivatives).__name__}")
    texts = (formula,) if isinstance(formula, str) else formula
    if texts is not None and not (isinstance(texts, Sequence) and all(isinstance(t, str) for t in texts)):
        raise TypeError(f"primitive: formula must be a string or a list of strings, got {_short(formula)}")

    def make(fn: Callable) -> Callable[..., Value]:
        name = getattr(fn, "__name__", "primitive")
        names = _parameter_names(fn)
        if texts is not None and (names is None or len(texts) != len(names)):
            raise TypeError(f"primitive {name!r}: formula gives {len(texts)} text(s), for the inputs {names}")
        op = Op(name, _checked_forward(name, fn), _checked_rule(name, derivatives), inputs=names, texts=texts)

        @functools.wraps(fn)
        def apply(*inputs: Value | Number) -> Value:
            try:
                return _apply(op, inputs)
            except _OtherKind as other:  # e.g. dual numbers: they do the op themselves
                return other.kind.apply(op, other.values)

        apply.op = op  # type: ignore[attr-defined]
        return apply

    return make


def _parameter_names(fn: Callable) -> tuple[str, ...] | None:
    """The names of fn's positional parameters, None if it takes any number (*args) or has no signature."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _checked_forward(name: str, fn: Callable) -> Callable:
    def forward(*xs: float) -> float:
        out = fn(*xs)
        if isinstance(out, bool) or not isinstance(out, numbers.Real):
            raise TypeError(f"{name}: the function must return a real number, got {type(out).__name__}: {out!r}")
        return float(out)

    return forward


def _checked_rule(name: str, rule: Callable) -> Callable:
    def checked(*args):
        local = rule(*args)
        if not isinstance(local, (tuple, list)) or len(local) != len(args) - 1:
            raise TypeError(
                f"{name}: derivatives must return a tuple of {len(args) - 1} local derivative(s), got {local!r}"
            )
        return tuple(local)

    return checked


# ---------------------------------------------------------------------- grad mode, per thread
# The threads that are inside `no_grad` (as PyTorch, the mode belongs to a thread). Ops check
# the set only when it is not empty, so the common case costs one test.
_threads_without_grad: set[int] = set()


class _GradMode:
    """A context manager and decorator that turns recording on or off in the current thread."""

    _enabled = True
    _saved: dict[int, list[bool]]

    def __new__(cls, fn: Callable | None = None):
        mode = super().__new__(cls)
        mode._saved = {}
        return mode if fn is None else mode(fn)  # `@no_grad` without parentheses

    def __enter__(self) -> None:
        me = get_ident()
        self._saved.setdefault(me, []).append(me in _threads_without_grad)
        if self._enabled:
            _threads_without_grad.discard(me)
        else:
            _threads_without_grad.add(me)

    def __exit__(self, *exc: object) -> None:
        me = get_ident()
        saved = self._saved[me]
        if saved.pop():
            _threads_without_grad.add(me)
        else:
            _threads_without_grad.discard(me)
        if not saved:
            del self._saved[me]

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapped


class no_grad(_GradMode):
    """Compute values without recording a graph, in this thread: for evaluation and updates.

    Works as ``with no_grad():``, as ``@no_grad()`` and as ``@no_grad``. Other threads keep
    recording.

    Example:
        >>> w = Value(2.0)
        >>> with no_grad():
        ...     y = w * 3
        >>> y.data, y.parents
        (6.0, ())
    """

    _enabled = False


class enable_grad(_GradMode):
    """Record graphs again inside a `no_grad` block (this thread only).

    Example:
        >>> with no_grad():
        ...     with enable_grad():
        ...         y = Value(2.0) * 3
        >>> y.op
        '*'
    """

    _enabled = True


def is_grad_enabled() -> bool:
    """True when operations in this thread record the graph (the default)."""
    return get_ident() not in _threads_without_grad


# ---------------------------------------------------------------------- an opt-in knob: the collector
# Reference counting frees a dropped graph (a graph is never a reference cycle), but Python's
# cyclic garbage collector does not know that: it scans every node again and again while a
# big graph grows, about a third of the time of building one. `gc_paused` switches it off for
# a block, when you ask. Nothing in autograd_tiny does it for you.

_pause_lock = allocate_lock()
_pauses = 0  # blocks inside gc_paused, in all threads
_collector_was_on = False


class gc_paused:
    """Switch Python's cyclic garbage collector off for a block; back on after, if it was on.

    Building a big graph gets faster: the chain ``tanh(z * c) + x`` by about 30%, forward and
    backward together by about 20% (benchmarks/bench_engine.py). Graphs need no collector:
    reference counting frees them. The collector is process-wide, so the pause is too: other
    threads' reference cycles wait until the last block ends (``gc.collect()`` still works
    inside). Works as ``with gc_paused():``, as ``@gc_paused()`` and as ``@gc_paused``; blocks
    may nest and overlap across threads.

    Example:
        >>> import gc
        >>> with gc_paused():
        ...     y = (Value(2.0) * 3).tanh()
        ...     gc.isenabled()
        False
    """

    def __new__(cls, fn: Callable | None = None):
        pause = super().__new__(cls)
        return pause if fn is None else pause(fn)  # `@gc_paused` without parentheses

    def __enter__(self) -> None:
        global _pauses, _collector_was_on
        with _pause_lock:
            if _pauses == 0:
                _collector_was_on = gc.isenabled()
                gc.disable()
            _pauses += 1

    def __exit__(self, *exc: object) -> None:
        global _pauses
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapped


# ---------------------------------------------------------------------- checking inputs


def _data(x) -> float | None:
    """A Value's number, a number as a float, or None if x is neither."""
    if x.__class__ is Value:
        return x.data
    if x.__class__ is float:
        return x
    if isinstance(x, numbers.Real):
        return _number("Value", x)
    return None


def _number(op: str, x) -> float:
    """x as a float: any real number (bools and ints too); a clear TypeError otherwise."""
    if x.__class__ is float:
        return x
    if not isinstance(x, numbers.Real):
        raise TypeError(f"{op}: expected a real number, got {type(x).__name__}: {_short(x)}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"{op}: the number {_short(x)} is too large for a float") from None


def _inputs(op: str, values: Iterable) -> tuple:
    """The inputs of a many-input op: Values stay, numbers become floats, anything else fails."""
    if isinstance(values, (Value, str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{op}: expected a list of Values or numbers, got {type(values).__name__}: {_short(values)}")
    values = list(values)
    out = []
    for v in values:
        if v.__class__ is Value or v.__class__ is float:
            out.append(v)
        elif isinstance(v, numbers.Real):
            out.append(_number(op, v))
        elif _is_other_kind(v):
            raise _OtherKind(type(v), values)
        else:
            raise TypeError(f"{op}: expected a Value or a number, got {type(v).__name__}: {_short(v)}")
    return tuple(out)


class _OtherKind(Exception):
    """An input is another kind of number that does ops itself: a dual number in forward mode."""

    def __init__(self, kind: Any, values: list) -> None:
        self.kind, self.values = kind, values


def _is_other_kind(v) -> bool:
    return hasattr(v, "apply") and hasattr(v, "tangent")


def _datas(values: Sequence) -> list[float]:
    return [v.data if v.__class__ is Value else v for v in values]


def _compared(x) -> float:
    y = _data(x)
    if y is None:
        raise TypeError(f"comparison: expected a Value or a number, got {type(x).__name__}: {_short(x)}")
    return y


def _plain(v):
    return v.data if v.__class__ is Value else v


def _short(x, limit: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 4 :]} ({len(text)} characters)"


def _show(g) -> str:
    return f"{g:.6g}" if isinstance(g, float) else repr(g)
