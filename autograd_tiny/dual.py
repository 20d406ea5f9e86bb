"""Forward mode: dual numbers, and `jvp`, the derivative of a function in one direction.

A `Dual` carries a number and its derivative along one direction of the inputs, the tangent.
Every op computes both at once, by the same chain rule as `backward()` but run forwards:

    out.tangent = sum(local * x.tangent for each input x)

with the local derivatives from the op's own rule in the engine (one rule serves both modes).
One pass gives the derivative of every output along one direction of the inputs: forward
mode is cheap when there are few inputs and many outputs; reverse mode (`backward`) when
there are many inputs and one output, a loss.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence

from .engine import (
    ABS,
    ADD,
    COS,
    DIV,
    EXP,
    LEAKY_RELU,
    LOG,
    LOGSUMEXP,
    MUL,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SOFTPLUS,
    SUM,
    TANH,
    Op,
    Value,
)  # fmt: skip
from .ieee import DomainError
from .inputs import HANDS_OFF, as_float
from .neuron import NEURONS

__all__ = ["Dual", "jvp"]

Number = float | int


class Dual:
    """A number (``primal``) and its derivative in one direction (``tangent``).

    Functions written with Value operations run on Duals unchanged: ``x * y``, ``x.tanh()``,
    ``Value.sum([...])``, custom `primitive` ops. Values met along the way count as constants.

    Example:
        >>> import math
        >>> x = Dual(3.0, 1.0)  # d/dx at x = 3
        >>> y = x * x + x.sin()
        >>> y.primal == 9 + math.sin(3.0), y.tangent == 6 + math.cos(3.0)
        (True, True)
    """

    __slots__ = ("primal", "tangent")

    def __init__(self, primal: Number, tangent: Number = 0.0) -> None:
        self.primal = as_float("Dual", primal)
        self.tangent = as_float("Dual", tangent)

    def __repr__(self) -> str:
        return f"Dual(primal={self.primal!r}, tangent={self.tangent!r})"

    @staticmethod
    def apply(op: Op, inputs: Sequence) -> Dual:
        """Run `op` on Duals (and numbers): its function on the primals, its rule for the tangent."""
        primals = [_primal(v) for v in inputs]
        out = op.fn(*primals)
        local = op.rule(*primals, out)
        tangent = 0.0
        for v, d in zip(inputs, local):
            # A number or a Value has no tangent; None is a flat region; a zero tangent takes
            # no part in this direction (so 0 * inf does not make a nan).
            if d is not None and v.__class__ is Dual and v.tangent != 0:
                tangent += d * v.tangent  # the chain rule, forwards
        return Dual(out, tangent)

    # arithmetic: the engine's ops, and the same compositions as Value's
    def __add__(self, other):
        return Dual.apply(ADD, (self, other)) if _ok(other) else NotImplemented

    def __radd__(self, other):
        return Dual.apply(ADD, (other, self)) if _ok(other) else NotImplemented

    def __mul__(self, other):
        return Dual.apply(MUL, (self, other)) if _ok(other) else NotImplemented

    def __rmul__(self, other):
        return Dual.apply(MUL, (other, self)) if _ok(other) else NotImplemented

    def __truediv__(self, other):
        return Dual.apply(DIV, (self, other)) if _ok(other) else NotImplemented

    def __rtruediv__(self, other):
        return Dual.apply(DIV, (other, self)) if _ok(other) else NotImplemented

    def __pow__(self, other):
        return Dual.apply(POW, (self, other)) if _ok(other) else NotImplemented

    def __rpow__(self, other):
        return Dual.apply(POW, (other, self)) if _ok(other) else NotImplemented

    def __neg__(self):
        return self * -1.0

    def __pos__(self):
        return self

    def __sub__(self, other):
        return self + (-other) if _ok(other) else NotImplemented

    def __rsub__(self, other):
        return -self + other if _ok(other) else NotImplemented

    # functions
    def exp(self):
        return Dual.apply(EXP, (self,))

    def log(self):
        return Dual.apply(LOG, (self,))

    def sqrt(self):
        if self.primal < 0:
            raise DomainError(f"sqrt: argument must be >= 0, got {self.primal!r}")
        return self**0.5

    def tanh(self):
        return Dual.apply(TANH, (self,))

    def sigmoid(self):
        return Dual.apply(SIGMOID, (self,))

    def softplus(self):
        return Dual.apply(SOFTPLUS, (self,))

    def relu(self):
        return Dual.apply(RELU, (self,))

    def leaky_relu(self, slope=0.01):
        return Dual.apply(LEAKY_RELU, (self, slope))

    def abs(self):
        return Dual.apply(ABS, (self,))

    def sin(self):
        return Dual.apply(SIN, (self,))

    def cos(self):
        return Dual.apply(COS, (self,))

    __abs__ = abs

    # many values at once, as Value.sum and friends (which hand Duals over to these)
    @staticmethod
    def sum(values: Iterable) -> Dual:
        return Dual.apply(SUM, list(values))

    @staticmethod
    def mean(values: Iterable) -> Dual:
        values = list(values)
        if not values:
            raise ValueError("mean: needs at least one value, got none")
        return Dual.sum(values) * (1.0 / len(values))

    @staticmethod
    def dot(weights: Sequence, inputs: Sequence, bias=None, activation: str | None = None) -> Dual:
        if len(weights) != len(inputs):
            raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
        everything = [*weights, *inputs] + ([] if bias is None else [bias])
        return Dual.apply(NEURONS[activation], everything)

    @staticmethod
    def logsumexp(values: Iterable) -> Dual:
        values = list(values)
        if not values:
            raise ValueError("logsumexp: needs at least one value, got none")
        return Dual.apply(LOGSUMEXP, values)

    # comparisons and conversions use the primal, as Value's use data
    def __lt__(self, other):
        return self.primal < _primal(other)

    def __le__(self, other):
        return self.primal <= _primal(other)

    def __gt__(self, other):
        return self.primal > _primal(other)

    def __ge__(self, other):
        return self.primal >= _primal(other)

    def __float__(self) -> float:
        return self.primal


HANDS_OFF.add(Dual)  # Value.sum, Value.dot and your own ops hand themselves over to Duals


def jvp(f: Callable, primals: Sequence[Number], tangents: Sequence[Number]) -> tuple:
    """f's value at `primals` and its derivative in the direction `tangents` (forward mode).

    ``jvp(f, x, v)`` returns ``(f(x), J(x) @ v)`` in one pass, without building a graph,
    where J is f's Jacobian; f takes numbers and returns a Value, a number, or a list of them.

    Example:
        >>> jvp(lambda x, y: x * y + y, [2.0, 3.0], [1.0, 0.0])  # d/dx of x*y + y is y
        (9.0, 3.0)
    """
    primals, tangents = list(primals), list(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    out = f(*[Dual(p, t) for p, t in zip(primals, tangents)])
    if isinstance(out, (list, tuple)):
        pairs = [_split(o) for o in out]
        return [p for p, _ in pairs], [t for _, t in pairs]
    return _split(out)


def _split(out) -> tuple[float, float]:
    if out.__class__ is Dual:
        return out.primal, out.tangent
    if out.__class__ is Value or (isinstance(out, numbers.Real) and not isinstance(out, bool)):
        return float(out), 0.0  # does not depend on the inputs
    raise TypeError(f"jvp: the function must return a Value, a number or a list of them, got {type(out).__name__}")


def _primal(v) -> float:
    """A Dual's number; a Value's or a real number's as it is (they have no tangent)."""
    return v.primal if v.__class__ is Dual else as_float("Dual", v.data if v.__class__ is Value else v)


def _ok(v) -> bool:
    return v.__class__ is Dual or v.__class__ is Value or isinstance(v, numbers.Real)

