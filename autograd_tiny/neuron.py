"""A whole neuron, act(w · x + b), as one node of the graph.

A speed-up, not a new idea: one node with 2n + 1 inputs (w..., x..., b) instead of n ``*``
nodes, n ``+`` nodes and an activation node. Its local derivatives follow from the chain rule
inside the node::

    d out / d w[i] = s * x[i]      d out / d x[i] = s * w[i]      d out / d b = s

where s = act'(z) at z = w · x + b comes from the activation's own rule in the engine's table
(tanh: ``1 - out * out``). `nn` builds its neurons with `neuron`; `Value.dot` comes here too.

The node keeps its inputs in two tuples, the engine's one marked exception to "a tuple of all
the inputs": (w..., b), which `nn.Neuron` keeps from call to call, and x, which the neurons of
a layer share. One tuple of 2n + 1 inputs per call costs the demo's forward pass 13% more
instructions (the cyclic garbage collector tracks one more object per neuron node). The
engine's walk and backward take the second tuple, `_y`, in one marked branch each, and
`NeuronOp.in_order` shows the inputs in argument order, (w..., x..., b).

Example:
    >>> from autograd_tiny import Value
    >>> w, x, b = [Value(2.0)], [Value(3.0)], Value(-1.0)
    >>> out = neuron(w, x, b, "relu")
    >>> out.backward()
    >>> out.data, w[0].grad, x[0].grad, b.grad
    (5.0, 3.0, 2.0, 1.0)
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

from .engine import RELU, SIGMOID, TANH, Op, Value, apply, record
from .inputs import Handoff, as_inputs, describe

__all__ = ["NeuronOp", "NEURONS", "neuron", "neuron_inputs", "dot"]

_mul = operator.mul

_ACTIVATION_OPS: dict[str | None, Op] = {"relu": RELU, "tanh": TANH, "sigmoid": SIGMOID}


class NeuronOp(Op):
    """The op of a neuron node: act(w · x + b), act one of the activations' Ops (or none).

    Its inputs are (w..., x..., b), the bias optional; its formulas, for show, are those of
    the groups w, x and b, in s = act'(z), the activation's own formula.
    """

    __slots__ = ("activation", "act")

    def __init__(self, activation: str | None) -> None:
        act = _ACTIVATION_OPS.get(activation)
        super().__init__("dot" if act is None else f"{activation}(w·x+b)", self._forward, self._rule,
                         inputs=("w", "x", "b"), texts=("s * x", "s * w", "s"))  # fmt: skip
        self.activation, self.act = activation, act

    @staticmethod
    def in_order(wb: tuple, x: tuple) -> tuple:
        """A neuron node's two tuples, (w..., b) and x (or their local derivatives), in argument
        order: (w..., x..., b)."""
        n = len(x)
        return (*wb[:n], *x, *wb[n:])

    def slope(self, z: Any, out: Any) -> Any:
        """act'(z), from the activation's own rule (None where it is flat; 1 for a plain dot)."""
        return 1.0 if self.act is None else self.act.rule(z, out)[0]

    def _forward(self, *inputs: float) -> float:
        n = len(inputs) // 2
        z = sum(map(operator.mul, inputs[:n], inputs[n : 2 * n])) + sum(inputs[2 * n :])
        return z if self.act is None else self.act.fn(z)

    def _rule(self, *args: Any) -> tuple:
        # The rule on any numbers or Values (backward(create_graph=True), dual numbers).
        *inputs, out = args
        n = len(inputs) // 2
        w, x, b = inputs[:n], inputs[n : 2 * n], inputs[2 * n :]
        s = 1.0 if self.act is None else self.slope(_dot(w, x) + (b[0] if b else 0.0), out)
        if s is None:  # flat: nothing flows back to any input
            return (None,) * len(inputs)
        return (*[s * v for v in x], *[s * v for v in w], *[s] * len(b))


NEURONS: dict[str | None, NeuronOp] = {name: NeuronOp(name) for name in (None, "relu", "tanh", "sigmoid")}


def neuron(w: Sequence[Value], x: Sequence[Value], b: Value | None, activation: str | NeuronOp | None = None, *,
           inputs: tuple[tuple, tuple] | None = None, params: tuple | None = None) -> Value:  # fmt: skip
    """act(w · x + b) as one node, for inputs that are all Values (`Value.dot` takes numbers too).

    Args:
        w, x, b: the weights, the inputs and the bias (None: no bias).
        activation: None, 'relu', 'tanh' or 'sigmoid' (or its `NeuronOp`).
        inputs: what every neuron of a layer shares, `neuron_inputs(x)`, read once per layer.
        params: (w..., b) as one tuple (w alone without a bias), if the caller keeps it.

    Example:
        >>> neuron([Value(2.0)], [Value(3.0)], Value(-1.0), "tanh").op
        'tanh(w·x+b)'
    """
    op = activation if isinstance(activation, NeuronOp) else NEURONS[activation]
    xs, xd1 = inputs if inputs is not None else neuron_inputs(x)
    if params is None:
        params = (*w, b) if b is not None else tuple(w)
    try:
        wd = tuple([v.data for v in w])
        z = sum(map(_mul, wd, xd1))  # (xd1 has a 1.0 more, which map leaves out)
        if b is not None:
            z += b.data
    except AttributeError:
        _only_values("weights and bias", (*w, b))
        raise
    if op.act is None:
        out, s = z, 1.0
    else:
        out = op.act.fn(z)
        s = op.act.rule(z, out)[0]  # act'(z), from the activation's own rule
    if s is None:  # flat (relu below 0): nothing flows back to any input
        d_params = d_xs = None
    else:  # d out / d (w..., b) = s (x..., 1); d out / d x = s w
        d_params = xd1 if b is not None else xd1[:-1]
        d_xs = wd
        if s != 1.0:  # (1: a plain dot, or relu above 0; nothing to multiply)
            d_params, d_xs = tuple([s * v for v in d_params]), tuple([s * v for v in wd])
    return record(op, out, params, xs, d_params, d_xs)


def neuron_inputs(x: Sequence[Value]) -> tuple[tuple, tuple]:
    """What every neuron of a layer shares: the inputs as a tuple, and their numbers with a 1.0
    after them (d (w · x + b) / d (w..., b) is (x..., 1)). Pass it to `neuron` as ``inputs=``.

    Example:
        >>> neuron_inputs([Value(1.5)])[1]
        (1.5, 1.0)
    """
    try:
        return tuple(x), (*[v.data for v in x], 1.0)
    except AttributeError:
        _only_values("inputs", x)
        raise


def dot(weights: Sequence[Any], inputs: Sequence[Any], bias: Any = None, activation: str | None = None) -> Any:
    """`Value.dot`: w · x (+ bias), then the activation, as one node; numbers allowed among the inputs.

    Example:
        >>> dot([Value(2.0), Value(3.0)], [1.0, -1.0], activation="relu").data
        0.0
    """
    if activation is not None and activation not in NEURONS:
        raise ValueError(f"dot: activation must be None, 'relu', 'tanh' or 'sigmoid', got {activation!r}")
    op = NEURONS[activation]
    try:
        w, x = as_inputs("dot", weights, Value), as_inputs("dot", inputs, Value)
        b = () if bias is None else as_inputs("dot", [bias], Value)
    except Handoff as other:  # dual numbers do the op themselves
        return other.kind.dot(weights, inputs, bias, activation)
    if len(w) != len(x):
        raise ValueError(f"dot: {len(w)} weights but {len(x)} inputs")
    everything = (*w, *x, *b)
    if all(v.__class__ is Value for v in everything):
        return neuron(w, x, b[0] if b else None, op)
    return apply(op, everything)  # numbers among the inputs: they get no gradient


def _dot(w: Sequence[Any], x: Sequence[Any]) -> Any:
    if any(v.__class__ is Value for v in (*w, *x)):
        return dot(w, x)  # (numbers written in a Value.dot stay numbers)
    return sum(map(operator.mul, w, x))


def _only_values(what: str, values: Any) -> None:
    for v in values:
        if v.__class__ is not Value and v is not None:
            raise TypeError(f"neuron: {what} must be Values (Value.dot takes numbers too), "
                            f"got {type(v).__name__}: {describe(v)}")  # fmt: skip
