"""The engine: a scalar `Value`, the local derivative of every operation, and `backward()`.

Every operation does three things during the forward pass:

1. compute its output from its inputs' ``data``;
2. record its inputs (``_prev``, a tuple in argument order) and the local derivative of the
   output with respect to each input (``_local``: d out / d input, one number per input);
3. return the output as a new `Value`.

``backward()`` then visits the nodes from the output back to the inputs, in topological order,
and applies the chain rule at every node::

    parent.grad += local * node.grad

That line is all of backpropagation. The rest of this file is the list of operations.
"""

from __future__ import annotations

import math
import numbers
import operator
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Sequence

__all__ = ["Value", "DomainError", "no_grad", "enable_grad", "is_grad_enabled"]


class DomainError(ValueError):
    """An operation got an input outside its domain, e.g. ``log(-1.0)`` or ``x / 0``."""


# When False, operations compute values only and record no graph (see `no_grad`).
_grad_enabled = True


@contextmanager
def no_grad() -> Iterator[None]:
    """Compute values without recording a graph, for evaluation and parameter updates.

    Example:
        >>> w = Value(2.0)
        >>> with no_grad():
        ...     y = w * 3
        >>> y.data, y._prev
        (6.0, ())
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextmanager
def enable_grad() -> Iterator[None]:
    """Record graphs again inside a `no_grad` block."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default)."""
    return _grad_enabled


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

    # No __dict__ and no closures: a node holds only numbers and references to its inputs,
    # so a graph is never a reference cycle and is freed by reference counting alone.
    # What backward needs is kept in one tuple, _links: the inputs, then the local derivative
    # for each, (x, y, d self/d x, d self/d y); `_prev` and `_local` read its two halves.
    # (One tuple rather than two saves 40 bytes a node: every op node fits in 200 bytes.)
    __slots__ = ("data", "grad", "label", "_op", "_links")

    def __init__(self, data: float, label: str = "") -> None:
        if type(data) is not float and not isinstance(data, numbers.Real):
            raise TypeError(f"Value: data must be a real number, got {type(data).__name__}: {data!r}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._links: tuple = ()  # a leaf: no inputs, no local derivatives
        self._op = ""  # the op that made it ("const" for a number in an expression)

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The inputs of the op that made this value, in argument order (a leaf has none)."""
        links = self._links
        return links[: len(links) // 2]

    @property
    def _local(self) -> tuple:
        """d self / d input, for each of `_prev`, recorded during the forward pass."""
        links = self._links
        return links[len(links) // 2 :]

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={_show(self.grad)})"

    # ------------------------------------------------------------------ arithmetic
    # Primitives (+, *, **) carry a rule in PRIMITIVES below; the rest are compositions.

    def __add__(self, other):
        other = _lift(other)
        return NotImplemented if other is None else _apply("+", self, other)

    def __mul__(self, other):
        other = _lift(other)
        return NotImplemented if other is None else _apply("*", self, other)

    def __pow__(self, other):
        if isinstance(other, Value):
            return _apply("pow", self, other)  # the exponent varies too
        if isinstance(other, numbers.Real):
            return _apply("**", self, _const(other))
        return NotImplemented

    def __rpow__(self, other):  # number ** self
        other = _lift(other)
        return NotImplemented if other is None else _apply("pow", other, self)

    def __neg__(self):  # -self
        return self * -1

    def __sub__(self, other):  # self - other
        other = _lift(other)
        return NotImplemented if other is None else self + (-other)

    def __rsub__(self, other):  # other - self
        other = _lift(other)
        return NotImplemented if other is None else other + (-self)

    def __truediv__(self, other):  # self * other**-1
        other = _lift(other)
        if other is None:
            return NotImplemented
        if other.data == 0:
            raise DomainError(f"div: division by zero ({self.data!r} / {other.data!r})")
        return self * other**-1

    def __rtruediv__(self, other):  # other * self**-1
        other = _lift(other)
        if other is None:
            return NotImplemented
        if self.data == 0:
            raise DomainError(f"div: division by zero ({other.data!r} / {self.data!r})")
        return other * self**-1

    __radd__ = __add__
    __rmul__ = __mul__

    # ------------------------------------------------------------------ functions

    def exp(self) -> Value:
        """e ** self (``inf`` past e ** 709)."""
        return _apply("exp", self)

    def log(self) -> Value:
        """Natural logarithm; `DomainError` unless self > 0."""
        return _apply("log", self)

    def sqrt(self) -> Value:
        """self ** 0.5; `DomainError` for a negative number. sqrt'(0) is ``inf``."""
        if self.data < 0:
            raise DomainError(f"sqrt: argument must be >= 0, got {self.data!r}")
        return self**0.5

    def tanh(self) -> Value:
        """Hyperbolic tangent (a primitive: composed from exp it would overflow)."""
        return _apply("tanh", self)

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -self), computed without overflow for any float."""
        return _apply("sigmoid", self)

    def softplus(self) -> Value:
        """log(1 + e ** self), computed without overflow; its derivative is `sigmoid`."""
        return _apply("softplus", self)

    def relu(self) -> Value:
        """max(self, 0). relu'(0) is taken as 0, as in PyTorch."""
        return _apply("relu", self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """self if self > 0 else slope * self. At 0 the derivative is `slope`."""
        return _apply("leaky_relu", self, _lift(slope))

    def abs(self) -> Value:
        """|self|. abs'(0) is taken as 0, as in PyTorch."""
        return _apply("abs", self)

    def sin(self) -> Value:
        """Sine (``nan`` for an infinite argument)."""
        return _apply("sin", self)

    def cos(self) -> Value:
        """Cosine (``nan`` for an infinite argument)."""
        return _apply("cos", self)

    __abs__ = abs

    # ------------------------------------------------------------------ many values at once
    # One node with many inputs instead of a chain of thousands of `+` nodes.

    @staticmethod
    def sum(values: Iterable[Value | float]) -> Value:
        """values[0] + values[1] + ... as a single node (Python's `sum` builds a chain).

        Example:
            >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
            6.0
        """
        return _apply_many("sum", _lift_all("sum", values))

    @staticmethod
    def mean(values: Iterable[Value | float]) -> Value:
        """The average of the values, as ``sum(values) / n``."""
        values = _lift_all("mean", values)
        if not values:
            raise ValueError("mean: needs at least one value, got none")
        return Value.sum(values) * (1.0 / len(values))

    @staticmethod
    def dot(
        weights: Sequence[Value | float],
        inputs: Sequence[Value | float],
        bias: Value | float | None = None,
        activation: str | None = None,
    ) -> Value:
        """w[0]*x[0] + w[1]*x[1] + ... (+ bias) as a single node: a neuron's weighted sum.

        Args:
            weights, inputs: two sequences of the same length.
            bias: added to the sum, if given.
            activation: None, or 'relu', 'tanh' or 'sigmoid' applied to the sum in the same
                node (a whole neuron, one node: half the graph of a separate activation).

        Example:
            >>> Value.dot([Value(2.0), Value(3.0)], [1.0, -1.0], bias=Value(0.5)).data
            -0.5
            >>> Value.dot([Value(2.0), Value(3.0)], [1.0, -1.0], activation="relu").data
            0.0
        """
        op = "dot" if activation is None else f"dot+{activation}"
        if op not in MANY_INPUTS:
            raise ValueError(f"dot: activation must be None, 'relu', 'tanh' or 'sigmoid', got {activation!r}")
        if len(weights) != len(inputs):
            raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
        args = (*weights, *inputs) if bias is None else (*weights, *inputs, bias)
        if set(map(type, args)) != _ONLY_VALUES:  # numbers among them: make them constants
            args = tuple(_lift_all("dot", args))
        return _apply_many(op, args)

    @staticmethod
    def logsumexp(values: Iterable[Value | float]) -> Value:
        """log(e**v[0] + e**v[1] + ...) without overflow: the heart of softmax cross-entropy."""
        values = _lift_all("logsumexp", values)
        if not values:
            raise ValueError("logsumexp: needs at least one value, got none")
        return _apply_many("logsumexp", values)

    # ------------------------------------------------------------------ comparisons
    # They compare `data`. == and hash stay those of the object, so that graphs can keep
    # nodes in sets and dicts: Value(1) == Value(1) is False (two different nodes).

    def __lt__(self, other):
        return self.data < _number(other)

    def __le__(self, other):
        return self.data <= _number(other)

    def __gt__(self, other):
        return self.data > _number(other)

    def __ge__(self, other):
        return self.data >= _number(other)

    # ------------------------------------------------------------------ backward

    def backward(self, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every value this one depends on with d self / d value.

        Each call starts the interior of the graph from zero and adds to the leaves' ``grad``
        (as PyTorch does), so call `zero_grad` on parameters between steps.

        Args:
            create_graph: also record the backward pass as a graph, so the gradients are
                Values that can be differentiated again (second derivatives).

        Example:
            >>> x = Value(3.0)
            >>> (x * x * x).backward()
            >>> x.grad
            27.0
        """
        order = topological_order(self)
        for node in order:  # interior nodes start from zero on every call
            node.grad = 0.0
        self.grad = self.grad + 1.0 if not self._prev else 1.0
        with enable_grad() if create_graph else no_grad():
            for node in reversed(order):
                for parent, d in _edges(node, create_graph):
                    parent.grad += d * node.grad  # the chain rule
        if create_graph:
            # An interior gradient graph refers back to its own node (e.g. tanh's rule uses the
            # output), a reference cycle: keep interior grads as plain numbers. The leaves'
            # grads stay Values; `zero_grad()` them (or use `grad()`) when done.
            for node in order:
                node.grad = _data(node.grad)

    def zero_grad(self) -> None:
        """Set ``grad`` back to 0."""
        self.grad = 0.0

    def detach(self) -> Value:
        """The same number as a new leaf: gradients do not flow through it."""
        return Value(self.data, self.label)


# ---------------------------------------------------------------------- the rules
#
# Each primitive: how to compute its output from plain floats, and its local derivatives.
# Vocabulary: x, y are the inputs, out is the output; a rule returns d out / d input for each
# input. Rules are written with operations that work on floats *and* on Values, so one line
# serves both the fast backward() (floats, computed once during the forward pass) and
# backward(create_graph=True) (Values, so the gradient can be differentiated again).


def _float_pow(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise DomainError(f"pow: 0 cannot be raised to a negative power ({x!r} ** {y!r})")
    if x < 0 and not float(y).is_integer():
        raise DomainError(f"pow: negative base with a non-integer exponent ({x!r} ** {y!r})")
    try:
        return x**y
    except OverflowError:  # float semantics: too large is inf, with the right sign
        return -math.inf if x < 0 and int(y) % 2 else math.inf


def _float_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _float_log(x: float) -> float:
    if not x > 0:
        if x != x:  # nan in, nan out
            return x
        raise DomainError(f"log: argument must be > 0, got {x!r}")
    return math.log(x)


def _float_sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # x < 0: e ** x cannot overflow
    return e / (1.0 + e)


def _float_softplus(x: float) -> float:
    # log(1 + e**x) = max(x, 0) + log(1 + e**-|x|): the exponent is never positive.
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _float_trig(fn: Callable[[float], float]) -> Callable[[float], float]:
    return lambda x: math.nan if math.isinf(x) else fn(x)


def _float_dot(xs: list[float]) -> float:
    # xs = w[0..n-1], x[0..n-1], (bias)
    n = len(xs) // 2
    total = sum(map(operator.mul, xs[:n], xs[n : 2 * n]))
    return total + xs[-1] if len(xs) % 2 else total


def _float_logsumexp(xs: list[float]) -> float:
    top = max(xs)
    if math.isinf(top):  # all -inf, or some +inf: the answer is top itself
        return top
    return top + math.log(math.fsum(math.exp(x - top) for x in xs))


def _data(v) -> float:
    return v.data if isinstance(v, Value) else v


def _either(method: str, fn: Callable[[float], float]) -> Callable:
    """A function that works on floats (fn) and on Values (the method of that name)."""
    return lambda v: getattr(v, method)() if isinstance(v, Value) else fn(v)


def _pow(x, y):
    """x ** y on floats (overflow gives inf) or on Values."""
    return _float_pow(x, y) if type(x) is float and type(y) is float else x**y


exp = _either("exp", _float_exp)
log = _either("log", _float_log)
sin = _either("sin", _float_trig(math.sin))
cos = _either("cos", _float_trig(math.cos))
sigmoid = _either("sigmoid", _float_sigmoid)


def _d_pow_const(x, c, out):
    # x ** c for a number c: only x varies. At x == 0, c * x**(c-1) needs care.
    c = _data(c)
    if c == 0:
        return 0.0, 0.0
    if _data(x) == 0 and c < 1:  # e.g. sqrt at 0: the slope is infinite
        return math.inf, 0.0
    return c * _pow(x, c - 1), 0.0


def _d_pow(x, y, out):
    # x ** y with both varying: d/dx = y * x**(y-1), d/dy = out * log(x) (only for x > 0).
    if _data(x) > 0:
        return y * _pow(x, y - 1), out * log(x)
    if _data(x) == 0:  # out is 0 (y > 0) or 1 (y == 0); the one-sided slope in y is 0
        dx = _d_pow_const(0.0, _data(y), out)[0]
        return dx, 0.0
    return y * _pow(x, y - 1), math.nan  # x < 0, integer y: no real derivative in y


def _d_dot(xs, out):
    # xs = w[0..n-1], x[0..n-1], (bias): d out/d w[i] = x[i], d out/d x[i] = w[i], d out/d bias = 1.
    n = len(xs) // 2
    return (*xs[n : 2 * n], *xs[:n], *(1.0,) * (len(xs) - 2 * n))


def _d_logsumexp(xs, out):
    # d/dx[i] log(sum(e**x)) = e**(x[i] - out): the softmax, never overflowing.
    return tuple([exp(x - out) for x in xs])


def _neuron(activation: Callable[[float], float], slope: Callable) -> tuple[Callable, Callable]:
    """activation(w · x + b) as one node. Its local derivatives follow from the chain rule
    inside the node: slope * (those of the dot product), the slope written from the output."""

    def forward(xs):
        return activation(_float_dot(xs))

    def local(xs, out):
        s = slope(out)
        if type(s) is float and (s == 0.0 or s == 1.0):  # relu's slope: nothing to multiply
            return _d_dot(xs, out) if s else (0.0,) * len(xs)
        return tuple([s * d for d in _d_dot(xs, out)])

    return forward, local


def _sign(x) -> float:  # the slope of abs; abs'(0) = 0
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


PRIMITIVES: dict[str, tuple[Callable, Callable]] = {
    # name:       (forward on floats,         local derivatives: d out / d each input)
    "+":          (lambda x, y: x + y,         lambda x, y, out: (1.0, 1.0)),
    "*":          (lambda x, y: x * y,         lambda x, y, out: (y, x)),
    "**":         (_float_pow,                 _d_pow_const),
    "pow":        (_float_pow,                 _d_pow),
    "exp":        (_float_exp,                 lambda x, out: (out,)),
    "log":        (_float_log,                 lambda x, out: (1 / x,)),
    "tanh":       (math.tanh,                  lambda x, out: (1 - out * out,)),
    "sigmoid":    (_float_sigmoid,             lambda x, out: (out * sigmoid(-x),)),
    "softplus":   (_float_softplus,            lambda x, out: (sigmoid(x),)),
    "relu":       (lambda x: x if x > 0 else 0.0, lambda x, out: (1.0,) if x > 0 else (0.0,)),  # relu'(0) = 0
    "leaky_relu": (lambda x, s: x if x > 0 else s * x,
                   lambda x, s, out: (1.0, 0.0) if x > 0 else (s, x)),
    "abs":        (abs,                        lambda x, out: (_sign(x),)),
    "sin":        (_float_trig(math.sin),      lambda x, out: (cos(x),)),
    "cos":        (_float_trig(math.cos),      lambda x, out: (-sin(x),)),
}  # fmt: skip

# The activations a neuron node can hold: the function on floats, and its slope written from
# the output (drawings use the slopes too, to show z = w · x + b and its gradient).
NEURON_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "relu":    (lambda z: z if z > 0 else 0.0, lambda out: 1.0 if out > 0 else 0.0),
    "tanh":    (math.tanh,                     lambda out: 1 - out * out),
    "sigmoid": (_float_sigmoid,                lambda out: out * (1 - out)),
}  # fmt: skip

# Primitives with any number of inputs: one node instead of a long chain of binary ops, for a
# smaller graph. Their rules take the list of inputs, xs.
MANY_INPUTS: dict[str, tuple[Callable, Callable]] = {
    # name:        (forward on floats,   local derivatives: d out / d each input)
    "sum":         (sum,                 lambda xs, out: (1.0,) * len(xs)),
    "dot":         (_float_dot,          _d_dot),  # xs = w[0..n-1], x[0..n-1], (bias)
    "logsumexp":   (_float_logsumexp,    _d_logsumexp),
    # "dot+relu", "dot+tanh", "dot+sigmoid": a whole neuron, activation(w · x + b)
    **{f"dot+{name}": _neuron(*fns) for name, fns in NEURON_ACTIVATIONS.items()},
}  # fmt: skip


# ---------------------------------------------------------------------- recording the graph


def _apply(op: str, *inputs: Value) -> Value:
    """Run primitive `op` forward and, unless in `no_grad`, record its inputs and local derivatives."""
    forward, local = PRIMITIVES[op]
    xs = [v.data for v in inputs]
    data = forward(*xs)
    out = _new_value(Value)  # skips __init__'s checks: data is a float already
    out.data, out.grad, out.label = data, 0.0, ""
    if _grad_enabled:
        out._links, out._op = inputs + local(*xs, data), op
    else:
        out._links, out._op = (), ""
    return out


def _apply_many(op: str, inputs: Sequence[Value]) -> Value:
    """`_apply` for a primitive of MANY_INPUTS: its rules take the list of inputs' data."""
    forward, local = MANY_INPUTS[op]
    xs = [v.data for v in inputs]
    data = forward(xs)
    out = _new_value(Value)
    out.data, out.grad, out.label = data, 0.0, ""
    if _grad_enabled:
        out._links, out._op = tuple(inputs) + local(xs, data), op
    else:
        out._links, out._op = (), ""
    return out


_new_value = object.__new__


def local_derivatives(node: Value) -> tuple:
    """The node's local derivatives as Values built from its inputs, for create_graph."""
    if node._op in MANY_INPUTS:
        return MANY_INPUTS[node._op][1](node._prev, node)
    return PRIMITIVES[node._op][1](*node._prev, node)


def _edges(node: Value, create_graph: bool = False) -> Iterable[tuple[Value, float | Value]]:
    """(input, d node / d input) for each input of the node.

    With create_graph the derivatives are Values, and constants (numbers in the expression)
    get none: their gradient graph would only refer back to the graph and keep it alive.
    """
    if not create_graph:
        links = node._links  # (inputs..., local derivatives...)
        return zip(links, links[len(links) // 2 :])  # zip stops after the inputs
    return [(p, d) for p, d in zip(node._prev, local_derivatives(node)) if p._op != "const"]


def topological_order(root: Value) -> list[Value]:
    """Every non-leaf node that `root` depends on, each after all of its inputs (root last).

    An iterative depth-first search (no recursion limit), deterministic. Leaves are left out:
    backward only needs to visit nodes that have inputs to pass gradients on to.
    """
    order: list[Value] = []
    visited = set()
    stack = [root] if root._links else []
    while stack:
        node = stack.pop()
        if node is None:  # all inputs of the node below the marker are placed
            order.append(stack.pop())
        elif node not in visited:
            visited.add(node)
            stack += (node, None)
            links = node._links  # (inputs..., local derivatives...)
            stack += [p for p in reversed(links[: len(links) // 2]) if p._links and p not in visited]
    return order


# ---------------------------------------------------------------------- helpers


def _const(x: float) -> Value:
    """A number in an expression: a leaf marked as a constant (drawn as one, never a parameter)."""
    c = Value(x)
    c._op = "const"
    return c


def _lift(x) -> Value | None:
    """A Value for x (numbers become constant leaves), or None if x is not a number."""
    if isinstance(x, Value):
        return x
    if type(x) is float or type(x) is int or isinstance(x, numbers.Real):
        return _const(x)
    return None


def _lift_or_fail(op: str, x) -> Value:
    v = _lift(x)
    if v is None:
        raise TypeError(f"{op}: expected a Value or a number, got {type(x).__name__}: {x!r}")
    return v


_ONLY_VALUES = {Value}


def _lift_all(op: str, values: Iterable) -> list[Value]:
    return [v if type(v) is Value else _lift_or_fail(op, v) for v in values]


def _number(x) -> float:
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"comparison: expected a Value or a number, got {type(x).__name__}: {x!r}")


def _show(g) -> str:
    return f"{g:.6g}" if isinstance(g, float) else repr(g)
