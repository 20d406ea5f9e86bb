"""Int arguments while fn is traced: a stand-in that passes for the int and records how fn uses it.

An int passed to a compiled function is either data, a number fn computes with (a class label
in cross_entropy's ``pick(*row, label)``, hinge's ``s * -y``), or part of the call's shape, a
number Python itself needs (``range(n)``, ``row[label]``, a dict key). Which one, only fn's use
of it tells. So while fn is traced it gets a `TracedInt` (``isinstance(y, int)`` holds, as for
the int) that records each use:

- **as a number**: with a Value (``s * y``, ``v < y``) or in an op (pick, `Value.sum`), it is
  a leaf of the graph, a number of the call that the code reads anew on every call, as it
  reads a float argument; ``-y``, ``abs(y)`` and + - * with ints give stand-ins too;
- **compared** (``y < 10``, ``y == 3``, ``if y:``): a guard, checked on every call, as a
  comparison on a Value is (another outcome traces again);
- **as itself** (``range(y)``, ``row[y]``, ``hash(y)``, ``int(y)``, ``float(y)``, ``y // 2``,
  printing): the number is part of the call's shape: the code is for this number only, and
  another one traces again (see program.py).

Never silently wrong: whatever fn does with the int, either the code computes it from the new
number or a check sends the call elsewhere. Only ``type(y)`` tells the stand-in apart.

Example:
    >>> from autograd_tiny import Value
    >>> from autograd_tiny.compiler.tracing import Trace, recording
    >>> trace = Trace()
    >>> y = TracedInt(3, frozenset({0}), lambda: Value(3.0))
    >>> with recording(trace):
    ...     s = Value(0.5) * -y             # a number: the graph computes it from the leaf
    ...     ok = 0 <= y < 10                # compared: two guards
    ...     row = [1.0, 2.0, 3.0, 4.0][y]   # itself: the call's shape from now on
    >>> s.data, ok, row, isinstance(y, int), len(trace.comparisons), trace.static_slots
    (-1.5, True, 4.0, True, 2, {0})
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable
from typing import Any, cast

from ..engine import Value, apply
from ..inputs import HANDS_OFF
from .tracing import current

__all__ = ["TracedInt", "EXACT", "plain"]

EXACT = 2**53  # ints smaller than this are exact as floats: numbers of the call; larger ones are static
_INT_ATTRIBUTES = frozenset(name for name in dir(int) if not name.startswith("_"))  # y.bit_length(), y.real, ...


class TracedInt:
    """An int argument (or one computed from them: ``-y``) while fn is traced: see the module's
    documentation. ``number`` is the int; ``slots`` the call's numbers it comes from."""

    __slots__ = ("number", "slots", "_make", "_value", "_adopt")

    def __init__(self, number: int, slots: frozenset[int], make: Callable[[], Value],
                 adopt: Callable[[Value], None] | None = None) -> None:  # fmt: skip
        self.number, self.slots, self._make, self._adopt = number, slots, make, adopt
        self._value: Value | None = None

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(y, int) holds, as for the int itself
        return int

    def value(self) -> Value:
        """The Value this int is in the graph (made the first time fn computes with it)."""
        if self._value is None:
            self._value = self._make()
        return self._value

    def number_of(self, v: Value) -> float:
        """For ``Value(y)``, v being made: the number, v a leaf standing for the argument (else read)."""
        if self._adopt is None:  # (one computed from the arguments: -y)
            return float(self.read())
        self._adopt(v)
        return float(self.number)

    def read(self) -> int:
        """The int itself, for a use the graph cannot follow: the call's shape from now on."""
        trace = current()
        if trace is not None:
            trace.readings.append((self.value(), float(self.number), trace.marker()))
            trace.static_slots.update(self.slots)
        return self.number

    # ------------------------------------------------------------------ comparisons: guards

    def _compare(self, other: Any, symbol: str) -> Any:
        number: float | int
        if type(other) is TracedInt:
            operand: Value | float = other.value()
            number = other.number
        elif other.__class__ is Value and symbol not in ("==", "!="):  # (a Value's == is identity)
            operand, number = other, other.data
        elif type(other) in (int, float, bool):
            operand, number = float(other), other
        elif isinstance(other, numbers.Number):  # a Fraction, a NumPy number: compared as Python does, with the int
            return _COMPARE[symbol](self.read(), cast(Any, other))
        else:
            return NotImplemented  # (as an int's own comparison says)
        outcome = _COMPARE[symbol](self.number, number)
        trace = current()
        if trace is not None:
            trace.comparisons.append((self.value(), symbol, operand, outcome, trace.marker()))
        return outcome

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, "<")

    def __le__(self, other: Any) -> Any:
        return self._compare(other, "<=")

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, ">")

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, ">=")

    def __eq__(self, other: Any) -> Any:
        return self._compare(other, "==")

    def __ne__(self, other: Any) -> Any:
        return self._compare(other, "!=")

    def __bool__(self) -> bool:
        return self._compare(0, "!=")

    # ------------------------------------------------------------------ arithmetic: numbers of the graph

    def _arithmetic(self, other: Any, op: Callable, reflected: bool = False) -> Any:
        a, b = (other, self) if reflected else (self, other)
        if other.__class__ is Value:  # a Value's op, on this int's leaf
            return op(_value_of(a), _value_of(b))
        if op in _EXACT_OPS and type(other) in (int, TracedInt):  # another int: another stand-in
            number = op(_number(a), _number(b))
            if -EXACT < number < EXACT:
                return TracedInt(number, self.slots | _slots(other), lambda: op(_value_of(a), _value_of(b)))
        return op(other, self.read()) if reflected else op(self.read(), other)

    def __add__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.add)

    def __radd__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.add, reflected=True)

    def __sub__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.sub)

    def __rsub__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.sub, reflected=True)

    def __mul__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.mul)

    def __rmul__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.mul, reflected=True)

    def __truediv__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.truediv)

    def __rtruediv__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.truediv, reflected=True)

    def __pow__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.pow)

    def __rpow__(self, other: Any) -> Any:
        return self._arithmetic(other, operator.pow, reflected=True)

    def __neg__(self) -> TracedInt:
        return TracedInt(-self.number, self.slots, lambda: -self.value())

    def __pos__(self) -> TracedInt:
        return self

    def __abs__(self) -> TracedInt:
        return TracedInt(abs(self.number), self.slots, lambda: self.value().abs())

    # ------------------------------------------------------------------ ops on many inputs (Handoff)

    @staticmethod
    def apply(op: Any, values: list) -> Any:
        """An op of the engine with stand-ins among its inputs (pick's label): on their leaves."""
        return apply(op, [_value_of(v) for v in values])

    @staticmethod
    def mean(values: list) -> Value:
        return Value.mean([_value_of(v) for v in values])

    @staticmethod
    def dot(weights: list, inputs: list, bias: Any, activation: str | None) -> Value:
        return Value.dot([_value_of(v) for v in weights], [_value_of(v) for v in inputs],
                         None if bias is None else _value_of(bias), activation)  # fmt: skip

    # ------------------------------------------------------------------ the int itself: the call's shape

    def __index__(self) -> int:
        return self.read()

    def __invert__(self) -> int:
        return ~self.read()

    def __int__(self) -> int:
        return self.read()

    def __float__(self) -> float:
        return float(self.read())

    def __complex__(self) -> complex:
        return complex(self.read())

    def __hash__(self) -> int:
        return hash(self.read())

    def __round__(self, ndigits: int | None = None) -> int:
        return round(self.read(), ndigits)

    def __trunc__(self) -> int:
        return self.read()

    def __floor__(self) -> int:
        return self.read()

    def __ceil__(self) -> int:
        return self.read()

    def __format__(self, spec: str) -> str:
        return format(self.read(), spec)

    def __repr__(self) -> str:
        return repr(self.read())

    def __str__(self) -> str:
        return str(self.read())

    def __getattr__(self, name: str) -> Any:  # y.bit_length(), y.real, ...
        if name in _INT_ATTRIBUTES:
            return getattr(self.read(), name)
        raise AttributeError(f"'int' object has no attribute {name!r}")


# the operations on the int itself: the call's shape (y // 2, y % 10, y & 1, divmod(y, 3), ...)
for _name, _op in [("floordiv", operator.floordiv), ("mod", operator.mod), ("divmod", divmod),
                   ("lshift", operator.lshift), ("rshift", operator.rshift), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor)]:  # fmt: skip
    setattr(TracedInt, f"__{_name}__", lambda self, other, op=_op: op(self.read(), other))
    setattr(TracedInt, f"__r{_name}__", lambda self, other, op=_op: op(other, self.read()))

HANDS_OFF.add(TracedInt)  # Values hand their ops to it (inputs.py)

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
            "!=": operator.ne}  # fmt: skip
_EXACT_OPS = (operator.add, operator.sub, operator.mul)  # of two ints: an int, exact as a float if small


def _value_of(x: Any) -> Any:
    return x.value() if type(x) is TracedInt else x


def _number(x: Any) -> Any:
    return x.number if type(x) is TracedInt else x


def _slots(x: Any) -> frozenset[int]:
    return x.slots if type(x) is TracedInt else frozenset()


def plain(x: Any) -> Any:
    """fn's result with every stand-in its int (read: fn returned it); x itself if it holds none."""
    if type(x) is TracedInt:
        return x.read()
    if isinstance(x, (list, tuple, dict)):
        items = list(x.values() if isinstance(x, dict) else x)
        new = [plain(v) for v in items]
        if any(a is not b for a, b in zip(new, items)):
            return dict(zip(x, new)) if isinstance(x, dict) else type(x)(new)
    return x
